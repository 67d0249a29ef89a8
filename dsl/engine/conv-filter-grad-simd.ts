/**
 * The stride-1 conv weight gradient as this project's own wasm SIMD kernel
 * (`simd/conv-filter-grad.c`), running inside tfjs-wasm's memory on the backend's threads.
 *
 * tfjs-wasm has no Conv2DBackpropFilter; as a forward conv (kernels.ts) the gradient packs a
 * fresh "filter" single-threaded on every call and needs transposes around it. The kernel here
 * reads x and dy where they are (NHWC) and writes dW (HWIO) directly: 1.2-2.6x faster per call
 * at the bench's shapes, 1.4-8x for 1x1 kernels (docs/PERFORMANCE.md).
 *
 * Threads: the threaded tfjs build's memory is shared, so `threads - 1` Node workers instantiate
 * the same kernel on it. The calling thread and the workers claim runs of dW's rows from a
 * counter in that memory until none are left (on a shared 2-core VM a thread can be slowed by
 * XNNPACK's pool still spinning, or by another process: the others then take more), and the
 * caller waits for the workers on an Atomics counter (a kernel call is synchronous, like
 * tfjs's own). The result does not depend on the thread count: every dW value is computed by
 * one thread, in the same order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { Worker } from 'node:worker_threads';
import { offsetOf, simdInstance, simdKernelActive, type WasmBackendLike, type WasmModule } from './simd-module.ts';

/** The kernel's name in tfjs's registry (wasm backend only). */
export const ConvFilterGradSimd = 'ConvFilterGradSimd';

type Run = (...args: number[]) => void;

/** One backend's kernel: its instance on the calling thread, and the workers for the other shares. */
interface Instance {
  memory: WebAssembly.Memory;
  run: Run;
  workers: number;
  control?: Int32Array;
}

// control block layout (Int32, shared with the workers)
const GEN = 0; // incremented per call; workers wait on it
const DONE = 1; // workers finished in this call
const FAILED = 2; // a worker threw
const ARGS = 4; // the kernel's arguments; a worker's scratch pointer replaces ARGS + 3
const NARGS = 18;
const SCRATCH = ARGS + NARGS; // per worker: its scratch pointer

/** What each worker runs: the kernel on the shared memory, a call per generation. */
const workerSource = `
const { workerData } = require('node:worker_threads');
const { memory, module, control, index } = workerData;
const run = new WebAssembly.Instance(module, { env: { memory } }).exports.conv_filter_grad;
const c = new Int32Array(control);
let gen = 0;
for (;;) {
  Atomics.wait(c, ${GEN}, gen);
  gen = Atomics.load(c, ${GEN});
  try {
    const a = Array.from(c.subarray(${ARGS}, ${ARGS + NARGS}));
    a[3] = c[${SCRATCH} + index];
    if (a[3] !== 0) run(...a); // 0: not needed in this call
  } catch (e) {
    Atomics.store(c, ${FAILED}, 1);
  }
  Atomics.add(c, ${DONE}, 1);
  Atomics.notify(c, ${DONE});
}
`;

const instances = new WeakMap<WasmModule, Instance>();

/** The kernel instance for a backend's module (made on first use). */
function instanceFor(wasm: WasmModule): Instance {
  const known = instances.get(wasm);
  if (known) return known;
  const { memory, module, exports, shared } = simdInstance(wasm, 'conv-filter-grad');
  const run = exports.conv_filter_grad as Run;
  const workers = shared ? Math.max(0, getThreadsCount() - 1) : 0;
  const instance: Instance = { memory, run, workers };
  if (workers > 0) {
    const control = new Int32Array(new SharedArrayBuffer(4 * (SCRATCH + workers)));
    for (let index = 0; index < workers; index++) {
      const worker = new Worker(workerSource, { eval: true, workerData: { memory, module, control: control.buffer, index }, execArgv: [] });
      worker.unref();
    }
    instance.control = control;
  }
  instances.set(wasm, instance);
  return instance;
}

/** Output rows per chunk: about 256 output pixels (measured: 128-512 are equally fast; the packed operands stay in L1/L2). */
const chunkRows = (wo: number) => Math.max(1, Math.ceil(256 / wo));

interface Attrs {
  kh: number;
  kw: number;
  top: number;
  left: number;
  /** At most this many threads (0: all the backend has). */
  maxThreads: number;
}

function kernelFunc({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { kh, kw, top, left, maxThreads } = attrs as unknown as Attrs;
  const b = backend as unknown as WasmBackendLike;
  const [n, h, w, ci] = x.shape;
  const [, ho, wo, co] = dy.shape;
  const out = b.makeOutput([kh, kw, ci, co], 'float32');
  const items = (kh * kw * ci) / 4;
  const { memory, run, workers, control } = instanceFor(b.wasm);
  const helpers = Math.min(workers, items - 1, (maxThreads || Infinity) - 1);
  // runs of items claimed at a time: ~4 per thread, so a slowed thread's share moves to the others
  // (each run packs dy again: more runs cost more than they balance)
  const block = helpers > 0 ? Math.ceil(items / (4 * (helpers + 1))) : items;
  const rows = chunkRows(wo);
  const scratchBytes = 4 * rows * wo * (co + 4);
  // the claim counter, then each thread's scratch; pointers as unsigned (Emscripten returns them as
  // signed i32, negative above 2 GiB; wasm reads any of them back as the same 32 bits)
  const base = b.wasm._malloc(16 + scratchBytes * (helpers + 1)) >>> 0;
  // offsets read after the allocation (a growing heap moves no tensor, but keeps this obviously safe)
  const args = [offsetOf(b, x), offsetOf(b, dy), offsetOf(b, out),
    base + 16, base, n, h, w, ci, ho, wo, co, kh, kw, top, left, block, rows];
  try {
    Atomics.store(new Int32Array(memory.buffer, base, 1), 0, 0);
    if (helpers > 0 && control) {
      control.set(args, ARGS);
      for (let k = 0; k < workers; k++) control[SCRATCH + k] = k < helpers ? base + 16 + scratchBytes * (k + 1) : 0;
      Atomics.store(control, DONE, 0);
      Atomics.store(control, FAILED, 0);
      Atomics.add(control, GEN, 1);
      Atomics.notify(control, GEN);
    }
    run(...args);
    if (helpers > 0 && control) {
      for (let done = Atomics.load(control, DONE); done < workers; done = Atomics.load(control, DONE)) Atomics.wait(control, DONE, done);
      if (Atomics.load(control, FAILED)) throw new Error('conv-filter-grad-simd: a worker thread failed');
    }
  } catch (e) {
    b.disposeData(out.dataId); // the engine never sees this output: free it here
    throw e;
  } finally {
    b.wasm._free(base);
  }
  return out;
}

/** Whether the kernel handles this gradient: wasm backend, stride 1 (the caller checks), Ci % 4 == 0, Co % 8 == 0. */
export function simdFilterGradApplies(ci: number, co: number): boolean {
  return ci % 4 === 0 && co % 8 === 0 && simdKernelActive(ConvFilterGradSimd);
}

/**
 * dW `[KH, KW, Ci, Co]` of a stride-1, dilation-1 conv with padding (top, left) from x `[N, H, W, Ci]`
 * and dy `[N, Ho, Wo, Co]`, on at most `maxThreads` threads (0: all). A forward op only: it has no gradient (the weight gradient is never
 * differentiated again; R1 differentiates the input gradient).
 */
export function simdFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, top: number, left: number, maxThreads = 0): tf.Tensor4D {
  return tf.engine().runKernel(ConvFilterGradSimd, { x, dy }, { kh, kw, top, left, maxThreads } as never) as tf.Tensor4D;
}

/** Registers the kernel for the wasm backend (idempotent). */
export function registerSimdFilterGrad(): void {
  if (tf.getKernel(ConvFilterGradSimd, 'wasm')) return;
  tf.registerKernel({ kernelName: ConvFilterGradSimd, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}
