/** Broadcasting features over a map (StarGAN v1 feeds its target labels to G this way). */
import * as tf from '@tensorflow/tfjs-core';
import { batchSize, typed, type Tensor } from './tensor.ts';

/**
 * Repeats each sample's features at every pixel (PyTorch `c.view(N, C, 1, 1).repeat(1, 1, H, W)`):
 * `(N, C), h, w -> (N, C, H, W)`. A broadcast product with ones (exact), so its gradient is a sum.
 */
export function tileSpatial<N extends number, C extends number, H extends number, W extends number>(
  c: Tensor<[N, C]>, h: H, w: W,
): Tensor<[N, C, H, W]> {
  return typed(tf.mul(tf.reshape(c, [batchSize(c), 1, 1, c.shape[1]!]), tf.ones([1, h, w, 1])));
}
