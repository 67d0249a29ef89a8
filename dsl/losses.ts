/**
 * Losses against label vectors (StarGAN v1's domain classification) and the per-sample
 * gradient norm of WGAN-GP. The constant-target BCE and L1 of StarGAN v2 are in ops.ts.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Shape } from './shape.ts';
import { batchSize, typed, type Scalar, type Tensor } from './tensor.ts';

/**
 * Binary cross-entropy with logits against target probabilities, summed over labels and
 * averaged over the batch (PyTorch `binary_cross_entropy_with_logits(x, t, reduction='sum') / N`,
 * StarGAN v1's multi-attribute loss): `(N, K), (N, K) -> ()`. Written `softplus(x) - t x`, stable for any x.
 */
export function bceWithLogitsPerSample<N extends number, K extends number>(logits: Tensor<[N, K]>, target: Tensor<[NoInfer<N>, NoInfer<K>]>): Scalar {
  return typed(tf.div(tf.sum(tf.sub(tf.softplus(logits), tf.mul(target, logits))), batchSize(logits)));
}

/**
 * Softmax cross-entropy against one-hot targets, averaged over the batch (PyTorch
 * `cross_entropy(x, argmax t)`, StarGAN v1's single-label loss): `(N, K), (N, K) -> ()`.
 */
export function crossEntropyOneHot<N extends number, K extends number>(logits: Tensor<[N, K]>, target: Tensor<[NoInfer<N>, NoInfer<K>]>): Scalar {
  return typed(tf.neg(tf.mean(tf.sum(tf.mul(target, tf.logSoftmax(logits)), 1))));
}

/** Columns `[begin, begin + size)` of features: `(N, F) -> (N, size)` (one dataset's labels in a concatenated vector). */
export function featureSlice<N extends number, S extends number>(x: Tensor<[N, number]>, begin: number, size: S): Tensor<[N, S]> {
  return typed(tf.slice(x, [0, begin], [-1, size]));
}

/** The L2 norm of each sample: `(N, ...) -> (N,)` (over all of a sample's elements, in any layout). */
export function sampleNorms<N extends number, S extends Shape>(x: Tensor<[N, ...S]>): Tensor<[N]> {
  return typed(tf.sqrt(tf.sum(tf.square(tf.reshape(x, [batchSize(x), -1])), 1)));
}
