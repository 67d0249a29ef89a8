/**
 * The conv input gradient's kernel, `[KH, KW, Ci, Co] -> [KH, KW, Co, Ci]` flipped spatially,
 * as one pass of this project's wasm SIMD kernel (`simd/flip-filter.c`) instead of a Transpose
 * (a generic per-element loop on wasm) and a Reverse. Its own gradient: the map is its own
 * inverse, and a permutation's adjoint is its inverse (R1 differentiates through it).
 */
import * as tf from '@tensorflow/tfjs-core';
import { offsetOf, simdInstance, simdKernelActive, type WasmBackendLike } from './simd-module.ts';

/** The kernel's name in tfjs's registry (wasm backend only). */
export const FlipFilterSimd = 'FlipFilterSimd';

function kernelFunc({ inputs, backend }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { filter } = inputs as { filter: tf.TensorInfo };
  const [kh, kw, ci, co] = filter.shape as [number, number, number, number];
  const b = backend as unknown as WasmBackendLike;
  const out = b.makeOutput([kh, kw, co, ci], 'float32');
  (simdInstance(b.wasm, 'flip-filter').exports.flip_filter as (...a: number[]) => void)(offsetOf(b, filter), offsetOf(b, out), kh, kw, ci, co);
  return out;
}

/** Whether the kernel takes this filter: wasm, float32, Ci % 4 == 0 and Co % 4 == 0. */
export function simdFlipFilterApplies(filter: tf.Tensor4D): boolean {
  const [, , ci, co] = filter.shape;
  return filter.dtype === 'float32' && ci % 4 === 0 && co % 4 === 0 && simdKernelActive(FlipFilterSimd);
}

/** `reverse(transpose(filter, [0, 1, 3, 2]), [0, 1])`. */
export function simdFlipFilter(filter: tf.Tensor4D): tf.Tensor4D {
  return tf.engine().runKernel(FlipFilterSimd, { filter }) as tf.Tensor4D;
}

/** Registers the kernel and its gradient for the wasm backend (idempotent). */
export function registerSimdFlipFilter(): void {
  if (tf.getKernel(FlipFilterSimd, 'wasm')) return;
  tf.registerKernel({ kernelName: FlipFilterSimd, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  tf.registerGradient({ kernelName: FlipFilterSimd, gradFunc: (dy) => ({ filter: () => simdFlipFilter(dy as tf.Tensor4D) }) });
}
