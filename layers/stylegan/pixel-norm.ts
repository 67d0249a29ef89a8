/**
 * Pixel norm (StyleGAN; the official `normalize_2nd_moment`): each feature vector divided by
 * its root mean square over the channel axis, `x / sqrt(mean_c x^2 + eps)`, eps 1e-8.
 * The mapping network applies it to z first, so w does not depend on the scale of z.
 */
import * as tf from '@tensorflow/tfjs-core';
import { typed, type Shape, type Tensor } from '../../dsl/index.ts';

/**
 * `(N, C)` or `(N, C, H, W)` -> same shape, normalised over C. The channel axis is the last
 * memory axis in both layouts (features `[N, C]`, images NHWC), so one reduction serves both.
 */
export function pixelNorm<S extends Shape>(x: Tensor<S>, eps = 1e-8): Tensor<S> {
  return typed(tf.mul(x, tf.rsqrt(tf.add(tf.mean(tf.square(x), -1, true), eps))));
}
