/**
 * One StarGAN v2 training iteration as a pure function `step(state, batch) -> state`
 * (REFERENCE section 3): D step (latent), D step (reference), G step (latent; updates
 * G, F, E), G step (reference; updates G only), then EMA of G, F, E (official 0.999;
 * optionally ramped up, see emaBetaAt).
 *
 * EMA copies start equal to the initial networks (the cleaner of the two choices
 * REFERENCE section 2 describes; the official code starts them from PyTorch's default init).
 */
import {
  adamInit, adamStep, emaStep, keepParams, mapParams, split, tidyTree, valueAndGrad,
  type AdamConfig, type AdamState, type Key, type Scalar,
} from '../../dsl/index.ts';
import * as tf from '@tensorflow/tfjs-core';
import { emaBetaAt, lambdaDsAt, lrScaleAt, type NetConfig, type TrainConfig } from './config.ts';
import type { DiscriminatorParams } from './discriminator.ts';
import { generator } from './generator.ts';
import { discriminatorLoss, generatorLoss, targetStyle, type DLossParts, type GLossParts, type StyleSource } from './losses.ts';
import { initNets, type EmaNets, type Nets } from './nets.ts';
import type { Batch } from '../data/batch.ts';

export type { Batch };

export type Optimizers = { readonly [K in keyof Nets]: AdamState<Nets[K]> };

/** Scalars logged per iteration: the sub-steps' totals and, under the official names, their parts. */
export const lossNames = [
  'D/latent', 'D/ref', 'G/latent', 'G/ref',
  'D/latent_real', 'D/latent_fake', 'D/latent_reg', 'D/ref_real', 'D/ref_fake', 'D/ref_reg',
  'G/latent_adv', 'G/latent_sty', 'G/latent_ds', 'G/latent_cyc', 'G/ref_adv', 'G/ref_sty', 'G/ref_ds', 'G/ref_cyc',
] as const;
export type LossName = (typeof lossNames)[number];
export type Losses = { readonly [K in LossName]?: Scalar };

const tag = (g: Guidance) => (g === 'latent' ? 'latent' : 'ref');

/** `{ 'D/latent': total, 'D/latent_real': part, ... }` for one sub-step. */
function logged(net: 'D' | 'G', g: Guidance, total: Scalar, parts: object): Losses {
  const prefix = `${net}/${tag(g)}`;
  return { [prefix]: total, ...Object.fromEntries(Object.entries(parts).map(([k, v]) => [`${prefix}_${k}`, v])) } as Losses;
}

export interface TrainState {
  readonly nets: Nets;
  readonly ema: EmaNets;
  readonly opt: Optimizers;
  /** Iterations completed. */
  readonly iteration: number;
  /** The key the next iteration's randomness (data, latents) is drawn from. */
  readonly key: Key;
  /** The last iteration's losses. */
  readonly losses: Losses;
}

export interface StarGANConfig {
  readonly net: NetConfig;
  readonly train: TrainConfig;
}

function copy<P>(p: P): P {
  return mapParams((t) => t.clone(), p);
}

/** What a training state may be restored with; whatever is missing starts fresh. */
export interface TrainStateParts {
  /** EMA copies of G, F, E; default: copies of `nets` (EMA starts equal to the networks). */
  readonly ema?: EmaNets;
  /** Adam states; default: fresh (step 0, zero moments). */
  readonly opt?: Optimizers;
  /** Iterations completed; default 0. */
  readonly iteration?: number;
}

/** The one way a {@link TrainState} is made: fresh training, a loaded checkpoint, an imported PyTorch file, a parity run. */
export function trainState(nets: Nets, key: Key, parts: TrainStateParts = {}): TrainState {
  const { generator, mapping_network, style_encoder, discriminator } = nets;
  return {
    nets,
    ema: parts.ema ?? copy({ generator, mapping_network, style_encoder }),
    opt: parts.opt ?? {
      generator: adamInit(generator),
      mapping_network: adamInit(mapping_network),
      style_encoder: adamInit(style_encoder),
      discriminator: adamInit(discriminator),
    },
    iteration: parts.iteration ?? 0,
    key,
    losses: {},
  };
}

/** A fresh training state: He-initialised networks from one half of the key, the run's randomness from the other. */
export function initTrainState(key: Key, cfg: StarGANConfig): TrainState {
  const [kNets, kRun] = split(key, 2);
  return trainState(initNets(kNets, cfg.net), kRun);
}

/** Adam's settings for one network at an iteration (the learning rate follows lrScaleAt). */
export function adamFor(t: TrainConfig, net: keyof Nets, iteration: number): AdamConfig {
  return { lr: (net === 'mapping_network' ? t.fLr : t.lr) * lrScaleAt(t, iteration), beta1: t.beta1, beta2: t.beta2, eps: 1e-8, weightDecay: t.weightDecay };
}

export type Guidance = 'latent' | 'reference';

function sources<N extends number>(b: Batch<N>, g: Guidance): [StyleSource<N>, StyleSource<N>] {
  return g === 'latent'
    ? [{ kind: 'latent', z: b.z1 }, { kind: 'latent', z: b.z2 }]
    : [{ kind: 'reference', xRef: b.xRef }, { kind: 'reference', xRef: b.xRef2 }];
}

/** The D objective's value, parts and gradient w.r.t. D's parameters. */
export function dGrads(cfg: StarGANConfig, s: TrainState, b: Batch, g: Guidance) {
  const [src] = sources(b, g);
  const xFake = generator(s.nets.generator, b.x, targetStyle(s.nets, src, b.yTrg), cfg.net, b.masks); // no_grad: outside D's tape
  let parts!: DLossParts;
  const { value, grads } = valueAndGrad((d: DiscriminatorParams) => {
    const r = discriminatorLoss(d, b.x, b.y, xFake, b.yTrg, cfg.train);
    parts = keepParams(r.parts); // computed inside the gradient's own tidy; the fold frees them when replaced
    return r.loss;
  })(s.nets.discriminator);
  return { value, grads, parts };
}

/** The networks a G sub-step trains: G, F, E when latent-guided, G alone when reference-guided. */
export function trainedBy(g: Guidance): readonly (keyof EmaNets)[] {
  return g === 'latent' ? ['generator', 'mapping_network', 'style_encoder'] : ['generator'];
}

/** The G objective's value, parts and gradients w.r.t. the networks the sub-step trains (others constant). */
export function gGrads(cfg: StarGANConfig, s: TrainState, b: Batch, g: Guidance) {
  const [src1, src2] = sources(b, g);
  const lambdaDs = lambdaDsAt(cfg.train, s.iteration);
  const xFake2 = generator(s.nets.generator, b.x, targetStyle(s.nets, src2, b.yTrg), cfg.net, b.masks); // detached: outside the gradient
  const trained = Object.fromEntries(trainedBy(g).map((n) => [n, s.nets[n]])) as Partial<EmaNets>;
  let parts!: GLossParts;
  const { value, grads } = valueAndGrad((sub: Partial<EmaNets>) => {
    const r = generatorLoss({ ...s.nets, ...sub }, s.nets.discriminator, b.x, b.y, b.yTrg, src1, xFake2, lambdaDs, cfg.train, cfg.net, b.masks);
    parts = keepParams(r.parts);
    return r.loss;
  })(trained);
  return { value, grads, parts };
}

/** D sub-step: one Adam step of D on the D objective. */
export function dStep(cfg: StarGANConfig, s: TrainState, b: Batch, g: Guidance): TrainState {
  return tidyTree(() => {
    const { value, grads, parts } = dGrads(cfg, s, b, g);
    const [d, opt] = adamStep(adamFor(cfg.train, 'discriminator', s.iteration), grads, s.opt.discriminator, s.nets.discriminator);
    return { ...s, nets: { ...s.nets, discriminator: d }, opt: { ...s.opt, discriminator: opt }, losses: { ...s.losses, ...logged('D', g, value, parts) } };
  });
}

/** G sub-step: latent-guided updates G, F, E; reference-guided updates G only. */
export function gStep(cfg: StarGANConfig, s: TrainState, b: Batch, g: Guidance): TrainState {
  return tidyTree(() => {
    const { value, grads, parts } = gGrads(cfg, s, b, g);
    let nets: Nets = s.nets;
    let opt: Optimizers = s.opt;
    for (const n of trainedBy(g)) {
      const [p, o] = adamStep(adamFor(cfg.train, n, s.iteration), grads[n]!, s.opt[n] as AdamState<unknown>, s.nets[n] as unknown);
      nets = { ...nets, [n]: p };
      opt = { ...opt, [n]: o };
    }
    return { ...s, nets, opt, losses: { ...s.losses, ...logged('G', g, value, parts) } };
  });
}

/** EMA of G, F, E: `ema <- p + beta (ema - p)`, beta from the iterations completed before this one. */
export function emaUpdate(cfg: StarGANConfig, s: TrainState): TrainState {
  const beta = emaBetaAt(cfg.train, s.iteration);
  return tidyTree(() => ({
    ...s,
    ema: {
      generator: emaStep(beta, s.nets.generator, s.ema.generator),
      mapping_network: emaStep(beta, s.nets.mapping_network, s.ema.mapping_network),
      style_encoder: emaStep(beta, s.nets.style_encoder, s.ema.style_encoder),
    },
  }));
}

/** One full iteration. The caller (a fold) frees what it replaced. */
export function step(cfg: StarGANConfig, s: TrainState, b: Batch): TrainState {
  const d1 = dStep(cfg, s, b, 'latent');
  const d2 = dStep(cfg, d1, b, 'reference');
  const g1 = gStep(cfg, d2, b, 'latent');
  const g2 = gStep(cfg, g1, b, 'reference');
  const e = emaUpdate(cfg, g2);
  return { ...e, iteration: s.iteration + 1, key: split(s.key, 1)[0] };
}

/** Reads the logged losses as numbers (one sync). */
export function lossValues(l: Losses): Partial<Record<LossName, number>> {
  const names = lossNames.filter((n) => l[n] !== undefined);
  const values = tf.tidy(() => tf.stack(names.map((n) => l[n]!)).dataSync());
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}
