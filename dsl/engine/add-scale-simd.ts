/**
 * A residual merge `(a + b) * s` as one pass of this project's wasm SIMD kernel
 * (`simd/add-scale.c`), bit-identical to tfjs's `mul(add(a, b), s)` without its intermediate
 * sum. Its gradient is `dy * s` for both inputs (one product, as the ops' gradient has), so
 * R1's second order runs through it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { offsetOf, simdKernelActive, type WasmBackendLike } from './simd-module.ts';
import { runElementwise } from './simd-threads.ts';

/** The kernel's name in tfjs's registry (wasm backend only). */
export const AddScaleSimd = 'AddScaleSimd';

function kernelFunc({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { a, b: bIn } = inputs as Record<'a' | 'b', tf.TensorInfo>;
  const { s } = attrs as unknown as { s: number };
  const b = backend as unknown as WasmBackendLike;
  const out = b.makeOutput([...a.shape], 'float32');
  runElementwise(b, 'add_scale', [a, bIn, out].map((t) => offsetOf(b, t)), tf.util.sizeFromShape(a.shape), [s]);
  return out;
}

/** Whether the kernel takes a and b: wasm, float32, the same shape. */
export function simdAddScaleApplies(a: tf.Tensor, b: tf.Tensor): boolean {
  return a.dtype === 'float32' && b.dtype === 'float32' && tf.util.arraysEqual(a.shape, b.shape) && simdKernelActive(AddScaleSimd);
}

/** `(a + b) * s` for a and b of one shape. */
export function simdAddScale<T extends tf.Tensor>(a: T, b: T, s: number): T {
  return tf.engine().runKernel(AddScaleSimd, { a, b }, { s } as never) as T;
}

/** Registers the kernel and its gradient for the wasm backend (idempotent). */
export function registerSimdAddScale(): void {
  if (tf.getKernel(AddScaleSimd, 'wasm')) return;
  tf.registerKernel({ kernelName: AddScaleSimd, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: AddScaleSimd,
    gradFunc: (dy, _saved, attrs) => {
      const g = tf.mul(dy as tf.Tensor, (attrs as unknown as { s: number }).s);
      return { a: () => g, b: () => tf.clone(g) }; // one product; the clone shares its buffer
    },
  });
}
