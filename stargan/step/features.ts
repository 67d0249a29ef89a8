/**
 * The fixed feature network StEP's style distance and perceptual loss are computed in.
 *
 * StEP uses ImageNet-pretrained VGG-16 (Gram matrices of conv1_2..conv5_2 for the distance,
 * activations for the perceptual loss). No pretrained weights can be downloaded here, so this
 * is a *randomly initialised, seeded* conv net (REFERENCE section 6 allows any fixed feature
 * network): three conv3x3 + ReLU stages (3 -> 16 -> 32 -> 64 channels, He init, 2x2 average
 * pooling between them), never trained. Gram matrices of random convolutional features
 * are a known texture descriptor (Ustyuzhaninov et al. 2017, "What does it take to generate
 * natural textures?"); the raw pixels' 3x3 Gram (colour statistics) is included as layer 0.
 * What it measures is colour and local texture statistics, not VGG's semantic style.
 *
 * Gram of a layer with C channels on an H x W map: `G = F^T F / (C H W)` (StEP's
 * normalisation), F the (HW, C) activations. Style distance (StEP's
 * compute_pairwise_style_loss_v2): `sum_layers mean_{c,c'} (G_i - G_j)^2`.
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  avgPool2, conv2d, dims, initConv, relu, split, typed,
  type ConvParams, type Key, type Poolable, type Scalar, type Tensor,
} from '../../dsl/index.ts';

export interface FeatureNet {
  readonly convs: readonly ConvParams<number, number, 3>[];
}

/** Widths of the three conv stages. */
export const featureWidths = [16, 32, 64] as const;

export function initFeatureNet(key: Key): FeatureNet {
  const ks = split(key, featureWidths.length);
  let din = 3;
  const convs = featureWidths.map((dout, i) => {
    const c = initConv(ks[i], din, dout, 3) as ConvParams<number, number, 3>;
    din = dout;
    return c;
  });
  return { convs };
}

type Maps = Tensor<[number, number, number, number]>;

/** The activations used: the pixels, then each ReLU stage (pooled by 2 before every stage but the first). */
export function featureMaps(net: FeatureNet, x: Tensor<[number, 3, number, number]>): Maps[] {
  const out: Maps[] = [x];
  let h: Maps = x;
  net.convs.forEach((c, i) => {
    if (i > 0) h = avgPool2(h as Maps & Poolable<number, number>);
    h = relu(conv2d(h, c));
    out.push(h);
  });
  return out;
}

/**
 * Gram matrices of every layer, flattened and scaled by 1 / C so that the squared euclidean
 * distance between two rows is the StEP style distance: `(N, sum_l C_l^2)`.
 */
export function gramVectors(net: FeatureNet, x: Tensor<[number, 3, number, number]>): Tensor<[number, number]> {
  return tf.tidy(() => typed(tf.concat(featureMaps(net, x).map((f) => {
    const { n, c, h, w } = dims(f);
    const flat = tf.reshape(f, [n, h * w, c]);
    const gram = tf.div(tf.matMul(flat, flat, true, false), c * h * w);
    return tf.reshape(tf.div(gram, c), [n, c * c]);
  }), 1)));
}

/** Pairwise squared euclidean distances of the rows of v `(P, F)`, as a P x P row-major array (diagonal 0). */
export function pairwiseDistances(v: Tensor<[number, number]>): Float64Array {
  const [p] = v.shape;
  const d = tf.tidy(() => {
    const c = tf.sub(v, tf.mean(v, 0, true)); // centring first: fewer digits lost in |a|^2 + |b|^2 - 2ab
    const sq = tf.sum(tf.square(c), 1);
    const dots = tf.matMul(c, c, false, true);
    return tf.relu(tf.sub(tf.add(tf.reshape(sq, [p, 1]), tf.reshape(sq, [1, p])), tf.mul(dots, 2))).dataSync();
  });
  const out = Float64Array.from(d);
  for (let i = 0; i < p; i++) out[i * p + i] = 0;
  return out;
}

/** Perceptual distance `sum_layers mean (f_l(a) - f_l(b))^2` over the ReLU stages (not the pixels). */
export function perceptualLoss(net: FeatureNet, a: Tensor<[number, 3, number, number]>, b: Tensor<[number, 3, number, number]>): Scalar {
  const fa = featureMaps(net, a).slice(1);
  const fb = featureMaps(net, b).slice(1);
  return typed(tf.addN(fa.map((f, i) => tf.mean(tf.squaredDifference(f, fb[i])))));
}
