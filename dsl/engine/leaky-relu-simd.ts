/**
 * Leaky ReLU and its gradient as one pass each of this project's wasm SIMD kernels
 * (`simd/leaky-relu.c`), with the values of tfjs's two-pass `x * step(x, alpha)` forms.
 * The gradient kernel has its own gradient (linear in dy: the same mask), so R1's second
 * order through the discriminator's activations runs through it too.
 */
import * as tf from '@tensorflow/tfjs-core';
import { offsetOf, simdKernelActive, type WasmBackendLike } from './simd-module.ts';
import { runElementwise } from './simd-threads.ts';

/** The gradient kernel's name in tfjs's registry (wasm backend only). */
export const LeakyReluGradSimd = 'LeakyReluGradSimd';

/** The forward, as a kernel function body on tensor infos: y = x > 0 ? x : alpha x (float32). */
export function simdLeakyReluInfo(backend: tf.KernelBackend, x: tf.TensorInfo, alpha: number): tf.TensorInfo {
  const b = backend as unknown as WasmBackendLike;
  const out = b.makeOutput([...x.shape], 'float32');
  runElementwise(b, 'leaky_relu', [offsetOf(b, x), offsetOf(b, out)], tf.util.sizeFromShape(x.shape), [alpha]);
  return out;
}

function gradKernel({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { dy, x } = inputs as Record<'dy' | 'x', tf.TensorInfo>;
  const b = backend as unknown as WasmBackendLike;
  const out = b.makeOutput([...dy.shape], 'float32');
  const { alpha } = attrs as unknown as { alpha: number };
  runElementwise(b, 'leaky_relu_grad', [dy, x, out].map((t) => offsetOf(b, t)), tf.util.sizeFromShape(dy.shape), [alpha]);
  return out;
}

/** Whether the kernels can run on these tensors: the wasm backend, float32. */
export function simdLeakyReluApplies(...ts: tf.TensorInfo[]): boolean {
  return ts.every((t) => t.dtype === 'float32') && simdKernelActive(LeakyReluGradSimd);
}

/** `dy * (x > 0 ? 1 : alpha)`, differentiable again (for dy; x's mask is locally constant). */
export function simdLeakyReluGrad(dy: tf.Tensor, x: tf.Tensor, alpha: number): tf.Tensor {
  return tf.engine().runKernel(LeakyReluGradSimd, { dy, x }, { alpha } as never) as tf.Tensor;
}

/** Registers the gradient kernel and its gradient for the wasm backend (idempotent). */
export function registerSimdLeakyRelu(): void {
  if (tf.getKernel(LeakyReluGradSimd, 'wasm')) return;
  tf.registerKernel({ kernelName: LeakyReluGradSimd, backendName: 'wasm', kernelFunc: gradKernel as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: LeakyReluGradSimd,
    inputsToSave: ['x'],
    gradFunc: (ddx, [x], attrs) => ({
      dy: () => simdLeakyReluGrad(ddx as tf.Tensor, x!, (attrs as unknown as { alpha: number }).alpha),
      x: () => tf.zerosLike(x!),
    }),
  });
}
