/**
 * StarGAN v1 objectives (REFERENCE section 4; yunjey/stargan `solver.py`), as scalar
 * functions of the network being trained, the other held fixed. For samples of dataset k,
 * labels c (original) and c~ (target), and G's label inputs v(c) (see labels.ts):
 *
 * D: -mean D_src(x) + mean D_src(G(x, v(c~))) + lambda_cls cls(D_cls(x), c) + lambda_gp GP,
 *    GP = mean_n (||d sum D_src(x^) / dx^||_2 - 1)^2 at x^ = a x + (1 - a) G(x, v(c~)),
 *    a ~ U[0, 1) per sample (WGAN-GP; double backprop through D)
 * G: -mean D_src(G(x, v(c~))) + lambda_cls cls(D_cls(G(x, v(c~))), c~)
 *    + lambda_rec mean |x - G(G(x, v(c~)), v(c))|
 */
import * as tf from '@tensorflow/tfjs-core';
import { add, batchSize, gradInput, mean, meanAbsDiff, scale, typed, type Scalar, type Tensor } from '../../dsl/index.ts';
import { sampleNorms } from '../../dsl/losses.ts';
import type { V1NetConfig, V1TrainConfig } from './config.ts';
import { discriminatorV1, type DiscriminatorV1Params } from './discriminator.ts';
import { generatorV1, type GeneratorV1Params } from './generator.ts';
import { classificationLoss, conditionVector } from './labels.ts';

type Images<N extends number> = Tensor<[N, 3, number, number]>;

/** One dataset's part of an iteration's batch. */
export interface SubBatch<N extends number = number> {
  /** Which dataset (index into the config's datasets) the samples come from. */
  readonly dataset: number;
  /** Real images `(N, 3, H, W)` in [-1, 1]. */
  readonly x: Images<N>;
  /** Their labels, `(N, size_k)`: multi-hot, or one-hot for a single-label dataset. */
  readonly labelOrg: Tensor<[N, number]>;
  /** Target labels `(N, size_k)` (official: the batch's labels in a random order). */
  readonly labelTrg: Tensor<[N, number]>;
  /** The gradient penalty's interpolation weights, `(N,)` in [0, 1). */
  readonly alpha: Tensor<[N]>;
}

export interface DLossParts { readonly real: Scalar; readonly fake: Scalar; readonly cls: Scalar; readonly gp: Scalar }
export interface GLossParts { readonly fake: Scalar; readonly rec: Scalar; readonly cls: Scalar }

/** `alpha x + (1 - alpha) y` per sample: `(N, ...), (N, ...), (N,) -> (N, ...)`. */
function interpolate<N extends number>(x: Images<N>, y: Images<N>, alpha: Tensor<[N]>): Images<N> {
  const a = tf.reshape(alpha, [batchSize(alpha), 1, 1, 1]);
  return typed(tf.add(tf.mul(a, x), tf.mul(tf.sub(1, a), y)));
}

/**
 * WGAN-GP: `mean_n (||d sum D_src(x^) / dx^||_2 - 1)^2` (the official grad_outputs of ones is
 * the gradient of the sum). The input gradient is taped, so the caller's gradient w.r.t. D's
 * parameters differentiates through it (double backprop).
 */
export function gradientPenalty<N extends number>(d: DiscriminatorV1Params, xHat: Images<N>): Scalar {
  const g = gradInput((xi: Images<N>) => typed<[]>(tf.sum(discriminatorV1(d, xi).src)))(xHat);
  return mean(typed(tf.square(tf.sub(sampleNorms(g), 1))));
}

/**
 * The D objective as a function of D's parameters. `xFake` = G(x, v(c~)) is computed by the
 * caller outside the differentiated function (the official `x_fake.detach()`).
 */
export function discriminatorLossV1<N extends number>(
  d: DiscriminatorV1Params, cfg: V1NetConfig, t: V1TrainConfig, b: SubBatch<N>, xFake: Images<N>,
): { loss: Scalar; parts: DLossParts } {
  const outReal = discriminatorV1(d, b.x);
  const real = scale(mean(outReal.src), -1);
  const cls = classificationLoss(cfg, b.dataset, outReal.cls, b.labelOrg);
  const fake = mean(discriminatorV1(d, xFake).src);
  const gp = gradientPenalty(d, interpolate(b.x, xFake, b.alpha));
  const loss = add(add(add(real, fake), scale(cls, t.lambdaCls)), scale(gp, t.lambdaGp));
  return { loss, parts: { real, fake, cls, gp } };
}

/** The G objective as a function of G's parameters (D fixed). */
export function generatorLossV1<N extends number>(
  g: GeneratorV1Params, d: DiscriminatorV1Params, cfg: V1NetConfig, t: V1TrainConfig, b: SubBatch<N>,
): { loss: Scalar; parts: GLossParts } {
  const xFake = generatorV1(g, b.x, conditionVector(cfg, b.dataset, b.labelTrg));
  const out = discriminatorV1(d, xFake);
  const fake = scale(mean(out.src), -1);
  const cls = classificationLoss(cfg, b.dataset, out.cls, b.labelTrg);
  const rec = meanAbsDiff(b.x, generatorV1(g, xFake, conditionVector(cfg, b.dataset, b.labelOrg)));
  const loss = add(add(fake, scale(rec, t.lambdaRec)), scale(cls, t.lambdaCls));
  return { loss, parts: { fake, rec, cls } };
}
