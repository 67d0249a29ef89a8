/**
 * Loading this project's wasm SIMD kernels (`simd/*.c`, built by `simd/build.sh`) into tfjs-wasm's
 * own memory, so they read and write the backend's tensors where they are. One instance per
 * backend module and kernel file, made on first use.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as fs from 'node:fs';

/** The Emscripten module parts used here (as the backend holds it). */
export interface WasmModule {
  wasmMemory?: WebAssembly.Memory;
  asm?: { memory?: WebAssembly.Memory };
  _malloc(bytes: number): number;
  _free(ptr: number): void;
}

/** The wasm backend parts used here. */
export interface WasmBackendLike {
  wasm: WasmModule;
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  disposeData(dataId: tf.DataId): boolean;
}

/** A kernel file instantiated on a backend's memory. */
export interface SimdInstance {
  memory: WebAssembly.Memory;
  /** The compiled module (workers instantiate it again on the same shared memory). */
  module: WebAssembly.Module;
  exports: WebAssembly.Exports;
  /** Whether the memory is shared (tfjs's threaded build). */
  shared: boolean;
}

const cache = new WeakMap<WasmModule, Map<string, SimdInstance>>();

/** `simd/<name>.wasm` (or its shared-memory build) instantiated on the module's memory. */
export function simdInstance(wasm: WasmModule, name: string): SimdInstance {
  const known = cache.get(wasm)?.get(name);
  if (known) return known;
  const memory = wasm.wasmMemory ?? wasm.asm?.memory;
  if (!memory) throw new Error(`${name}: the wasm backend exposes no memory`);
  const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
  const bytes = new Uint8Array(fs.readFileSync(new URL(`./simd/${name}${shared ? '.shared' : ''}.wasm`, import.meta.url)));
  const module = new WebAssembly.Module(bytes);
  const instance: SimdInstance = { memory, module, exports: new WebAssembly.Instance(module, { env: { memory } }).exports, shared };
  cache.set(wasm, (cache.get(wasm) ?? new Map()).set(name, instance));
  return instance;
}

/** A tensor's byte offset in the backend's memory, as an unsigned pointer (Emscripten's are signed above 2 GiB). */
export function offsetOf(b: WasmBackendLike, t: tf.TensorInfo): number {
  return b.dataIdMap.get(t.dataId)!.memoryOffset >>> 0;
}

/** Whether a kernel of ours is usable now: the wasm backend is active and the kernel registered. */
export function simdKernelActive(kernelName: string): boolean {
  return tf.getBackend() === 'wasm' && tf.getKernel(kernelName, 'wasm') !== undefined;
}
