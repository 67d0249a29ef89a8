/**
 * StEP's objectives (MoustafaMeshry/StEP pretrain_style.py, losses.py), on StarGAN v2's networks.
 *
 * Stage 1, triplet loss on style codes with margin m (0.1) and an L2 penalty (0.01):
 *   mean_n max(|E(a) - E(p)|^2 - |E(a) - E(n)|^2 + m, 0) + lambdaZ (mean E(a)^2 + mean E(p)^2 + mean E(n)^2)
 * Stages 2-3, LSGAN (StEP's lsgan_loss): D: mean (D(x) - 1)^2 + mean D(G(..))^2; G: mean (D(G(..)) - 1)^2.
 */
import * as tf from '@tensorflow/tfjs-core';
import { typed, type Scalar, type Tensor } from '../../dsl/index.ts';

type Codes = Tensor<[number, number]>;

/** The hinge part: `mean_n max(|a - p|^2 - |a - n|^2 + margin, 0)` over codes `(N, S)`. */
export function tripletLoss(a: Codes, p: Codes, n: Codes, margin: number): Scalar {
  const dPos = tf.sum(tf.squaredDifference(a, p), 1);
  const dNeg = tf.sum(tf.squaredDifference(a, n), 1);
  return typed(tf.mean(tf.relu(tf.add(tf.sub(dPos, dNeg), margin))));
}

/** StEP's l2_regularize summed over codes: `sum_codes mean(c^2)`. */
export function codePenalty(...codes: Codes[]): Scalar {
  return typed(tf.addN(codes.map((c) => tf.mean(tf.square(c)))));
}

/** Least-squares GAN loss of outputs `(N,)` against a constant target: `mean (out - target)^2`. */
export function lsgan(out: Tensor<[number]>, target: 0 | 1): Scalar {
  return typed(tf.mean(tf.square(target === 1 ? tf.sub(out, 1) : out)));
}
