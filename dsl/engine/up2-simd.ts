/**
 * Nearest-neighbour upsampling by 2 (NHWC) as one pass of this project's wasm SIMD kernel
 * (`simd/up2.c`): a copy, where tfjs-wasm's fastest form is a 6-d broadcasting multiply by ones.
 * A forward op only: dsl/ops.ts's up2 defines its gradient (a pooling) around it.
 */
import * as tf from '@tensorflow/tfjs-core';
import { offsetOf, simdKernelActive, type WasmBackendLike } from './simd-module.ts';
import { runSplit } from './simd-threads.ts';

/** The kernel's name in tfjs's registry (wasm backend only). */
export const Up2Simd = 'Up2Simd';

function kernelFunc({ inputs, backend }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo {
  const { x } = inputs as { x: tf.TensorInfo };
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const b = backend as unknown as WasmBackendLike;
  const out = b.makeOutput([n, 2 * h, 2 * w, c], 'float32');
  const [xp, op] = [offsetOf(b, x), offsetOf(b, out)];
  // split by input rows: each writes its own 2 output rows
  runSplit(b, 'up2', n * h, (r, k) => [xp + 4 * r * w * c, op + 16 * r * w * c, k, w, c], 1, Math.ceil(65536 / (w * c)));
  return out;
}

/** Whether the kernel takes x: wasm, float32, rank 4. */
export function simdUp2Applies(x: tf.Tensor): boolean {
  return x.rank === 4 && x.dtype === 'float32' && simdKernelActive(Up2Simd);
}

/** `[N, H, W, C] -> [N, 2H, 2W, C]`, each pixel repeated 2x2. */
export function simdUp2(x: tf.Tensor4D): tf.Tensor4D {
  return tf.engine().runKernel(Up2Simd, { x }) as tf.Tensor4D;
}

/** Registers the kernel for the wasm backend (idempotent). */
export function registerSimdUp2(): void {
  if (tf.getKernel(Up2Simd, 'wasm')) return;
  tf.registerKernel({ kernelName: Up2Simd, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
}
