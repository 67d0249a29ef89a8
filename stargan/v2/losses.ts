/**
 * StarGAN v2 objectives (REFERENCE section 3), as scalar functions of the parameters
 * being trained, the others held fixed.
 *
 * D: BCE(D(x, y), 1) + BCE(D(G(x, s~), y~), 0) + lambda_reg * R1,
 *    R1 = 0.5 * mean_n sum_pixels (d sum D(x, y) / dx)^2   (double backprop on reals)
 * G: BCE(D(G(x, s~), y~), 1) + lambda_sty |s~ - E(G(x, s~), y~)|_1
 *    - lambda_ds |G(x, s~1) - G(x, s~2)|_1 + lambda_cyc |x - G(G(x, s~), E(x, y))|_1
 * with s~ = F(z, y~) (latent-guided) or E(x_ref, y~) (reference-guided).
 */
import { match } from 'ts-pattern';
import {
  add, batchSize, bceWithLogits, meanAbsDiff, meanSumSquares, scale, sub, typed,
  type Labels, type Scalar, type Tensor,
} from '../../dsl/index.ts';
import * as tf from '@tensorflow/tfjs-core';
import type { NetConfig, TrainConfig } from './config.ts';
import { discriminator, type DiscriminatorParams } from './discriminator.ts';
import { generator, type Masks } from './generator.ts';
import { mappingNetwork } from './mapping.ts';
import type { EmaNets } from './nets.ts';
import { styleEncoder } from './style-encoder.ts';

type Images<N extends number> = Tensor<[N, 3, number, number]>;

/** Where target styles come from: latent codes through F, or reference images through E. */
export type StyleSource<N extends number> =
  | { readonly kind: 'latent'; readonly z: Tensor<[N, number]> }
  | { readonly kind: 'reference'; readonly xRef: Images<N> };

/** s~ for target domains y~. */
export function targetStyle<N extends number>(nets: EmaNets, src: StyleSource<N>, yTrg: Labels<N>): Tensor<[N, number]> {
  return match(src)
    .with({ kind: 'latent' }, ({ z }) => mappingNetwork(nets.mapping_network, z, yTrg))
    .with({ kind: 'reference' }, ({ xRef }) => styleEncoder(nets.style_encoder, xRef, yTrg))
    .exhaustive();
}

export interface DLossParts { readonly real: Scalar; readonly fake: Scalar; readonly reg: Scalar }
export interface GLossParts { readonly adv: Scalar; readonly sty: Scalar; readonly ds: Scalar; readonly cyc: Scalar }

/**
 * D's logits on reals and R1 = 0.5 * mean_n sum_pixels (d sum D(x, y) / dx)^2, from ONE forward
 * of D: the logits are the value, and the gradient with dy = ones is d(sum of logits)/dx (double
 * backprop: the outer gradient differentiates through it).
 */
export function realLogitsAndR1<N extends number>(d: DiscriminatorParams, x: Images<N>, y: Labels<N>): { logits: Tensor<[N]>; r1: Scalar } {
  const { value, grad } = tf.valueAndGrad((xi: tf.Tensor) => discriminator(d, typed<[N, 3, number, number]>(xi), y) as tf.Tensor)(x, tf.ones([batchSize(x)]));
  return { logits: typed(value), r1: scale(meanSumSquares(typed<[N, 3, number, number]>(grad)), 0.5) };
}

/**
 * The D objective as a function of D's parameters. `xFake` = G(x, s~) is computed by the caller
 * outside the differentiated function (the official `torch.no_grad()`): G stays off D's tape.
 */
export function discriminatorLoss<N extends number>(
  d: DiscriminatorParams, x: Images<N>, y: Labels<N>, xFake: Images<N>, yTrg: Labels<N>, t: TrainConfig,
): { loss: Scalar; parts: DLossParts } {
  const { logits, r1: reg } = realLogitsAndR1(d, x, y);
  const real = bceWithLogits(logits, 1);
  const fake = bceWithLogits(discriminator(d, xFake, yTrg), 0);
  return { loss: add(add(real, fake), scale(reg, t.lambdaReg)), parts: { real, fake, reg } };
}

/**
 * The G objective as a function of G, F, E (D fixed). `xFake2` = G(x, s~2) is computed by
 * the caller outside the differentiated function: that is the official `.detach()`.
 * `masks`: the sources' face masks (w_hpf > 0), given to both generator passes. The official
 * solver gives the cycle's second pass masks of x_fake from a second FAN run; we reuse x's
 * (the translation keeps the face's pose and geometry, and face-api per fake per step would
 * cost ~0.5-1 s per image here, and finds no face in an early run's noisy fakes).
 */
export function generatorLoss<N extends number>(
  g: EmaNets, d: DiscriminatorParams, x: Images<N>, y: Labels<N>, yTrg: Labels<N>,
  src: StyleSource<N>, xFake2: Images<N>, lambdaDs: number, t: TrainConfig, net: NetConfig, masks?: Masks<N>,
): { loss: Scalar; parts: GLossParts } {
  const s = targetStyle(g, src, yTrg);
  const xFake = generator(g.generator, x, s, net, masks);
  const adv = bceWithLogits(discriminator(d, xFake, yTrg), 1);
  const sty = meanAbsDiff(styleEncoder(g.style_encoder, xFake, yTrg), s);
  const ds = meanAbsDiff(xFake, xFake2);
  const xRec = generator(g.generator, xFake, styleEncoder(g.style_encoder, x, y), net, masks);
  const cyc = meanAbsDiff(xRec, x);
  const loss = add(sub(add(adv, scale(sty, t.lambdaSty)), scale(ds, lambdaDs)), scale(cyc, t.lambdaCyc));
  return { loss, parts: { adv, sty, ds, cyc } };
}
