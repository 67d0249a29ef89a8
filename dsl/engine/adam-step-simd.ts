/**
 * Adam's update of one parameter tensor as one pass of this project's wasm SIMD kernel
 * (`simd/adam-step.c`) instead of ~15 tfjs ops, each a pass over the tensor. The same
 * arithmetic in the same order: the results equal dsl/optim.ts's op chain bit for bit.
 * Split across the backend's threads (simd-threads.ts); the pass is memory-bound (7 floats per value).
 */
import * as tf from '@tensorflow/tfjs-core';
import { offsetOf, simdKernelActive, type WasmBackendLike } from './simd-module.ts';
import { runElementwise } from './simd-threads.ts';

/** The kernel's name in tfjs's registry (wasm backend only). */
export const AdamStepSimd = 'AdamStepSimd';

/** The step's float32 constants, as dsl/optim.ts computes them once per step. */
export interface AdamConstants {
  readonly wd: number;
  readonly b1: number;
  readonly c1: number;
  readonly b2: number;
  readonly c2: number;
  readonly bc2: number;
  readonly eps: number;
  readonly lr: number;
}

function kernelFunc({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const { p, g, m, v } = inputs as Record<'p' | 'g' | 'm' | 'v', tf.TensorInfo>;
  const k = attrs as unknown as AdamConstants;
  const b = backend as unknown as WasmBackendLike;
  const outs = [0, 1, 2].map(() => b.makeOutput(p.shape, 'float32'));
  // offsets read after the outputs are allocated (a growing heap keeps offsets, but this is obviously safe)
  runElementwise(b, 'adam_step', [p, g, m, v, ...outs].map((t) => offsetOf(b, t)), tf.util.sizeFromShape(p.shape),
    [k.wd, k.b1, k.c1, k.b2, k.c2, k.bc2, k.eps, k.lr]);
  return outs;
}

/** Whether the kernel can run: the wasm backend is active and the kernel registered. */
export function simdAdamApplies(...tensors: tf.Tensor[]): boolean {
  return tensors.every((t) => t.dtype === 'float32') && simdKernelActive(AdamStepSimd);
}

/** `[p', m', v']` of one Adam step (see simd/adam-step.c). A forward op only: optimizer steps are never differentiated. */
export function simdAdamStep(p: tf.Tensor, g: tf.Tensor, m: tf.Tensor, v: tf.Tensor, k: AdamConstants): [tf.Tensor, tf.Tensor, tf.Tensor] {
  const [pn, mn, vn] = tf.engine().runKernel(AdamStepSimd, { p, g, m, v }, k as never) as unknown as tf.Tensor[];
  return [pn!, mn!, vn!];
}

/** Registers the kernel for the wasm backend (idempotent). */
export function registerSimdAdamStep(): void {
  if (tf.getKernel(AdamStepSimd, 'wasm')) return;
  tf.registerKernel({ kernelName: AdamStepSimd, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}
