/**
 * HighPass (REFERENCE section 1): a fixed depthwise 3x3 Laplacian-like filter
 * [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] / w_hpf, applied per channel with 'same' padding.
 * It has no trainable parameters; the official state_dict stores the filter as the
 * buffer `hpf.filter`, which `highPassFilter` reproduces for export.
 */
import * as tf from '@tensorflow/tfjs-core';
import { dims, typed, type Tensor } from '../dsl/index.ts';

/** The official buffer `hpf.filter`, shape (3, 3). */
export function highPassFilter(wHpf: number): tf.Tensor2D {
  return tf.tensor2d([[-1, -1, -1], [-1, 8, -1], [-1, -1, -1]]).div(wHpf) as tf.Tensor2D;
}

/** `(N, C, H, W) -> (N, C, H, W)`: each channel filtered by the high-pass kernel. */
export function highPass<N extends number, C extends number, H extends number, W extends number>(
  x: Tensor<[N, C, H, W]>, wHpf: number,
): Tensor<[N, C, H, W]> {
  const { c } = dims(x);
  // Depthwise as a grouped conv written as one dense conv with a block-diagonal kernel:
  // dense conv2d is the op whose gradients are complete and fast on wasm.
  const k = tf.tidy(() => tf.mul(
    tf.reshape(highPassFilter(wHpf), [3, 3, 1, 1]),
    tf.reshape(tf.eye(c), [1, 1, c, c]),
  ));
  const y = tf.conv2d(x as tf.Tensor4D, k as tf.Tensor4D, 1, 'same');
  k.dispose();
  return typed(y);
}
