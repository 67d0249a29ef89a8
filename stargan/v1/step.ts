/**
 * One StarGAN v1 training iteration as a pure function `step(cfg, state, batch) -> state`
 * (yunjey/stargan `solver.py` train / train_multi): for each dataset's sub-batch in order,
 * one D update (adversarial + classification + gradient penalty), and, on every nCritic-th
 * iteration (`(i + 1) % n_critic == 0`), one G update against the just-updated D. Adam
 * (lr 1e-4, betas 0.5 / 0.999, no weight decay) for both, the lr from `lrAt` (linear decay).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  adamInit, adamStep, keepParams, split, tidyTree, valueAndGrad,
  type AdamConfig, type AdamState, type Key, type Scalar,
} from '../../dsl/index.ts';
import { lrAt, type V1NetConfig, type V1TrainConfig } from './config.ts';
import { initDiscriminatorV1, type DiscriminatorV1Params } from './discriminator.ts';
import { generatorV1, initGeneratorV1, type GeneratorV1Params } from './generator.ts';
import { conditionVector } from './labels.ts';
import { discriminatorLossV1, generatorLossV1, type DLossParts, type GLossParts, type SubBatch } from './losses.ts';

export interface V1Config {
  readonly net: V1NetConfig;
  readonly train: V1TrainConfig;
}

/** The two networks under the official attribute names (`self.G`, `self.D`), so checkpoint keys read `G.main.0.weight`. */
export interface V1Nets {
  readonly G: GeneratorV1Params;
  readonly D: DiscriminatorV1Params;
}

/** Scalars of the last iteration under the official names (`D/loss_real`, ...); G's only on G iterations. */
export type V1Losses = { readonly [name: string]: Scalar };

export interface V1State {
  readonly nets: V1Nets;
  readonly opt: { readonly G: AdamState<GeneratorV1Params>; readonly D: AdamState<DiscriminatorV1Params> };
  /** Iterations completed. */
  readonly iteration: number;
  /** The key the next iteration's randomness (data, targets, interpolation weights) comes from. */
  readonly key: Key;
  readonly losses: V1Losses;
}

/** An iteration's batch: one sub-batch per dataset, in dataset order (one for a single dataset). */
export type V1Batch = readonly SubBatch[];

export function initStateV1(key: Key, cfg: V1Config): V1State {
  const [kG, kD, kRun] = split(key, 3);
  const nets = { G: initGeneratorV1(kG, cfg.net), D: initDiscriminatorV1(kD, cfg.net) };
  return { nets, opt: { G: adamInit(nets.G), D: adamInit(nets.D) }, iteration: 0, key: kRun, losses: {} };
}

/** torch.optim.Adam as the official code sets it up, at the scheduled lr. */
export function adamV1(t: V1TrainConfig, lr: number): AdamConfig {
  return { lr, beta1: t.beta1, beta2: t.beta2, eps: 1e-8, weightDecay: 0 };
}

/** Whether the iteration after `completed` ones updates G. */
export function updatesG(t: V1TrainConfig, completed: number): boolean {
  return (completed + 1) % t.nCritic === 0;
}

/** Loss names: the official ones, prefixed by the dataset's name when training on several. */
function logged(cfg: V1NetConfig, b: SubBatch, net: 'D' | 'G', total: Scalar, parts: object): V1Losses {
  const prefix = cfg.datasets.length > 1 ? `${cfg.datasets[b.dataset].name}:` : '';
  return {
    [`${prefix}${net}/loss`]: total,
    ...Object.fromEntries(Object.entries(parts).map(([k, v]) => [`${prefix}${net}/loss_${k}`, v])),
  };
}

/** The D objective's value, parts and gradient w.r.t. D's parameters (G's output is a constant). */
export function dGradsV1(cfg: V1Config, s: V1State, b: SubBatch) {
  const xFake = generatorV1(s.nets.G, b.x, conditionVector(cfg.net, b.dataset, b.labelTrg)); // detached: outside D's tape
  let parts!: DLossParts;
  const { value, grads } = valueAndGrad((d: DiscriminatorV1Params) => {
    const r = discriminatorLossV1(d, cfg.net, cfg.train, b, xFake);
    parts = keepParams(r.parts); // made inside the gradient's own tidy; the fold frees them when replaced
    return r.loss;
  })(s.nets.D);
  return { value, grads, parts };
}

/** The G objective's value, parts and gradient w.r.t. G's parameters (D fixed). */
export function gGradsV1(cfg: V1Config, s: V1State, b: SubBatch) {
  let parts!: GLossParts;
  const { value, grads } = valueAndGrad((g: GeneratorV1Params) => {
    const r = generatorLossV1(g, s.nets.D, cfg.net, cfg.train, b);
    parts = keepParams(r.parts);
    return r.loss;
  })(s.nets.G);
  return { value, grads, parts };
}

/** One Adam step of D on one sub-batch. */
export function dStepV1(cfg: V1Config, s: V1State, b: SubBatch): V1State {
  return tidyTree(() => {
    const { value, grads, parts } = dGradsV1(cfg, s, b);
    const [D, opt] = adamStep(adamV1(cfg.train, lrAt(cfg.train, cfg.train.dLr, s.iteration)), grads, s.opt.D, s.nets.D);
    return { ...s, nets: { ...s.nets, D }, opt: { ...s.opt, D: opt }, losses: { ...s.losses, ...logged(cfg.net, b, 'D', value, parts) } };
  });
}

/** One Adam step of G on one sub-batch. */
export function gStepV1(cfg: V1Config, s: V1State, b: SubBatch): V1State {
  return tidyTree(() => {
    const { value, grads, parts } = gGradsV1(cfg, s, b);
    const [G, opt] = adamStep(adamV1(cfg.train, lrAt(cfg.train, cfg.train.gLr, s.iteration)), grads, s.opt.G, s.nets.G);
    return { ...s, nets: { ...s.nets, G }, opt: { ...s.opt, G: opt }, losses: { ...s.losses, ...logged(cfg.net, b, 'G', value, parts) } };
  });
}

/** One full iteration. The caller (a fold: dsl `advance`) frees what it replaced. */
export function stepV1(cfg: V1Config, s: V1State, batch: V1Batch): V1State {
  if (batch.length !== cfg.net.datasets.length) throw new Error(`stepV1: ${batch.length} sub-batches for ${cfg.net.datasets.length} datasets`);
  let st: V1State = { ...s, losses: {} };
  batch.forEach((b, k) => {
    if (b.dataset !== k) throw new Error(`stepV1: sub-batch ${k} is from dataset ${b.dataset}`);
    st = dStepV1(cfg, st, b);
    if (updatesG(cfg.train, s.iteration)) st = gStepV1(cfg, st, b);
  });
  return { ...st, iteration: s.iteration + 1, key: split(s.key, 1)[0] };
}

/** Reads the logged losses as numbers (one sync), in name order. */
export function lossValuesV1(l: V1Losses): Record<string, number> {
  const names = Object.keys(l).sort();
  if (names.length === 0) return {};
  const values = tf.tidy(() => tf.stack(names.map((n) => l[n])).dataSync());
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}
