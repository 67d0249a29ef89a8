/**
 * The conv weight gradient (stride 1 or 2) as this project's own wasm SIMD kernel
 * (`simd/conv-filter-grad.c`), running inside tfjs-wasm's memory on the backend's threads.
 *
 * tfjs-wasm has no Conv2DBackpropFilter; as a forward conv (kernels.ts) the gradient packs a
 * fresh "filter" single-threaded on every call and needs transposes around it. The kernel here
 * reads x and dy where they are (NHWC) and writes dW (HWIO) directly: 1.2-2.6x faster per call
 * at the bench's shapes, 1.4-8x for 1x1 kernels (docs/PERFORMANCE.md).
 *
 * Threads (simd-threads.ts): the calling thread and the workers claim runs of dW's rows from a
 * counter in the shared memory until none are left (on a shared 2-core VM a thread can be slowed
 * by XNNPACK's pool still spinning, or by another process: the others then take more). The result
 * does not depend on the thread count: every dW value is computed by one thread, in the same order.
 */
import * as tf from '@tensorflow/tfjs-core';
import { offsetOf, simdInstance, simdKernelActive, type WasmBackendLike } from './simd-module.ts';
import { runShares, simdThreads } from './simd-threads.ts';

/** The kernel's name in tfjs's registry (wasm backend only). */
export const ConvFilterGradSimd = 'ConvFilterGradSimd';

/** Output rows per chunk: about 256 output pixels (measured: 128-512 are equally fast; the packed operands stay in L1/L2). */
const chunkRows = (wo: number) => Math.max(1, Math.ceil(256 / wo));

interface Attrs {
  kh: number;
  kw: number;
  top: number;
  left: number;
  /** At most this many threads (0: all the backend has). */
  maxThreads: number;
  /** The conv's stride, 1 or 2. */
  stride: number;
}

function kernelFunc({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { x, dy } = inputs as { x: tf.TensorInfo; dy: tf.TensorInfo };
  const { kh, kw, top, left, maxThreads, stride } = attrs as unknown as Attrs;
  const b = backend as unknown as WasmBackendLike;
  const [n, h, w, ci] = x.shape;
  const [, ho, wo, co] = dy.shape;
  const out = b.makeOutput([kh, kw, ci, co], 'float32');
  const items = (kh * kw * ci) / 4;
  const threads = Math.min(simdThreads(b), items, maxThreads || Infinity);
  // runs of items claimed at a time: ~4 per thread, so a slowed thread's share moves to the others
  // (each run packs dy again: more runs cost more than they balance)
  const block = threads > 1 ? Math.ceil(items / (4 * threads)) : items;
  const rows = chunkRows(wo);
  const scratchBytes = 4 * rows * wo * (co + 4);
  // the claim counter, then each thread's scratch; pointers as unsigned (Emscripten returns them as
  // signed i32, negative above 2 GiB; wasm reads any of them back as the same 32 bits)
  const base = b.wasm._malloc(16 + scratchBytes * threads) >>> 0;
  try {
    Atomics.store(new Int32Array(simdInstance(b.wasm, 'conv-filter-grad').memory.buffer, base, 1), 0, 0);
    // offsets read after the allocation (a growing heap moves no tensor, but keeps this obviously safe)
    const share = (k: number) => [offsetOf(b, x), offsetOf(b, dy), offsetOf(b, out),
      base + 16 + scratchBytes * k, base, n, h, w, ci, ho, wo, co, kh, kw, top, left, block, rows, stride];
    runShares(b, 'conv_filter_grad', Array.from({ length: threads }, (_, k) => share(k)));
  } catch (e) {
    b.disposeData(out.dataId); // the engine never sees this output: free it here
    throw e;
  } finally {
    b.wasm._free(base);
  }
  return out;
}

/** Whether the kernel handles this gradient: wasm backend, stride 1 or 2 (the caller checks), Ci % 4 == 0, Co % 8 == 0. */
export function simdFilterGradApplies(ci: number, co: number): boolean {
  return ci % 4 === 0 && co % 8 === 0 && simdKernelActive(ConvFilterGradSimd);
}

/**
 * dW `[KH, KW, Ci, Co]` of a dilation-1 conv of stride `stride` with padding (top, left) from x `[N, H, W, Ci]`
 * and dy `[N, Ho, Wo, Co]`, on at most `maxThreads` threads (0: all). A forward op only: it has no gradient (the weight gradient is never
 * differentiated again; R1 differentiates the input gradient).
 */
export function simdFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, top: number, left: number, maxThreads = 0,
  stride: 1 | 2 = 1): tf.Tensor4D {
  return tf.engine().runKernel(ConvFilterGradSimd, { x, dy }, { kh, kw, top, left, maxThreads, stride } as never) as tf.Tensor4D;
}

/** Registers the kernel for the wasm backend (idempotent). */
export function registerSimdFilterGrad(): void {
  if (tf.getKernel(ConvFilterGradSimd, 'wasm')) return;
  tf.registerKernel({ kernelName: ConvFilterGradSimd, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}
