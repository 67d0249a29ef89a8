/**
 * StEP on StarGAN v2's networks as a pure fold: `step(ctx, state, batch) -> state`, one function per
 * stage (config.ts has the schedule). The networks, optimiser states, EMA copies and checkpoints are
 * StarGAN v2's (stargan/v2): StEP's generator is StarGAN v2's G, its style encoder E, its discriminator
 * D, and the IMLE mapper is StarGAN v2's mapping network F (per-domain heads: one noise -> style
 * sampler per domain).
 *
 * What is adopted from StEP (MoustafaMeshry/StEP), and what is simplified:
 * - Stage 1 (pretrain_style.py): E alone, triplet loss with margin 0.1 and the 0.01 L2 penalty on codes,
 *   Adam lr 1e-3, betas (0, 0.99); positives among the 5 nearest and negatives among the 13 farthest
 *   neighbours in a Gram-matrix style distance. Simplified: the distance uses a fixed *random* seeded conv
 *   net (features.ts), not VGG-16, and neighbours are searched within the anchor's domain (StarGAN v2's
 *   E has one head per domain; every code of a triplet comes from that domain's head).
 * - Stages 2-3 (model.py with the default options): LSGAN for D and G; direct reconstruction
 *   G(x, E(x, y)) ~ x with L1 and a perceptual term (in the same fixed random features, not VGG); the L2
 *   penalty on codes while E trains (stage 3, E at a 10x lower learning rate as StEP's ez_lr). Adapted to
 *   StarGAN v2's unpaired multi-domain setting: StEP's task is paired (x -> ground truth), so the direct
 *   reconstruction is x -> x, and translation comes from the adversarial loss on G(x, E(x_ref, y~))
 *   judged as domain y~ plus StarGAN v2's style reconstruction |E(G(x, s), y~) - s|_1 (StEP's optional
 *   z_recon). One D step and one G step per iteration (reference-guided only: StEP trains no latent path);
 *   no R1 penalty, no multi-scale PatchGAN D (StarGAN v2's D is used as is).
 * - Stage 4 (imle_tf.py): IMLE. For each real code t_i = E_ema(x_i, y_i), `imleCandidates * N` latents are
 *   mapped by F's head of each domain, the nearest output to t_i is selected, its latent perturbed by
 *   N(0, 0.01^2), and F moves that output towards t_i (loss 0.5 |F(z_i) - t_i|^2, Adam betas (0.5, 0.999)).
 *   Simplified: the nearest samples are searched anew every step on a fresh candidate set (IMLE reuses
 *   them for `staleness` epochs over a dataset of exported codes); F is StarGAN v2's ReLU mapping network,
 *   not IMLE's 3 x 128 tanh MLP.
 * - EMA (beta from TrainConfig) follows the networks a stage trains: none in stage 1, G in stage 2, G and E
 *   in stage 3, F in stage 4. When stage 1 ends, the EMA copy of E is set to E (so stage 2's G, trained
 *   against E, is sampled with that E); when stage 3 starts, E's Adam state starts afresh (StEP pretrains
 *   with its own optimiser).
 */
import * as tf from '@tensorflow/tfjs-core';
import { match } from 'ts-pattern';
import {
  adamInit, adamStep, add, emaStep, fold, keepParams, labels, mapParams, meanAbsDiff, normal, scale, split, tidyTree, typed, valueAndGrad,
  type AdamConfig, type AdamState, type Key, type Scalar,
} from '../../dsl/index.ts';
import type { Batch } from '../data/batch.ts';
import { discriminator, type DiscriminatorParams } from '../v2/discriminator.ts';
import { generator } from '../v2/generator.ts';
import { mappingNetwork, type MappingParams } from '../v2/mapping.ts';
import type { EmaNets, Nets } from '../v2/nets.ts';
import { initTrainState, type Optimizers, type TrainState } from '../v2/step.ts';
import { styleEncoder, type StyleEncoderParams } from '../v2/style-encoder.ts';
import { stageAt, stageStart, type Stage, type StepRunConfig } from './config.ts';
import { perceptualLoss, type FeatureNet } from './features.ts';
import { codePenalty, lsgan, tripletLoss } from './losses.ts';
import type { TripletBatch } from './triplets.ts';

export const stepLossNames = ['E', 'E/triplet', 'E/reg', 'D', 'D/real', 'D/fake', 'G', 'G/adv', 'G/l1', 'G/perc', 'G/sty', 'G/reg', 'F/imle'] as const;
export type StepLossName = (typeof stepLossNames)[number];
export type StepLosses = { readonly [K in StepLossName]?: Scalar };

/** StarGAN v2's training state with StEP's loss names. */
export interface StepState {
  readonly nets: Nets;
  readonly ema: EmaNets;
  readonly opt: Optimizers;
  /** Iterations completed (the stage of the next one is `stageAt(stages, iteration)`). */
  readonly iteration: number;
  readonly key: Key;
  /** The last iteration's losses. */
  readonly losses: StepLosses;
}

/** What every step needs besides the state: the config and the fixed feature network (constant tensors, not state). */
export interface StepContext {
  readonly cfg: StepRunConfig;
  readonly features: FeatureNet;
}

/** One batch, tagged with the stage it is for. */
export type StepBatch =
  | { readonly stage: 'pretrain'; readonly triplets: TripletBatch }
  | { readonly stage: 'generator' | 'finetune' | 'mapper'; readonly batch: Batch };

export function initStepState(key: Key, cfg: StepRunConfig): StepState {
  return fromTrainState(initTrainState(key, { net: cfg.net, train: cfg.train }));
}

/** A StarGAN v2 state (e.g. a loaded checkpoint) as a StEP state. */
export function fromTrainState(s: TrainState): StepState {
  return { nets: s.nets, ema: s.ema, opt: s.opt, iteration: s.iteration, key: s.key, losses: {} };
}

/** The StarGAN v2 state of a StEP state (for checkpoints: same tensors). */
export function toTrainState(s: StepState): TrainState {
  return { nets: s.nets, ema: s.ema, opt: s.opt, iteration: s.iteration, key: s.key, losses: {} };
}

type Trained = 'pretrainE' | 'finetuneE' | 'generator' | 'discriminator' | 'mapper';

function adamFor(cfg: StepRunConfig, which: Trained): AdamConfig {
  const t = cfg.train;
  return match(which)
    .with('pretrainE', () => ({ lr: cfg.step.pretrainLr, beta1: 0, beta2: 0.99, eps: 1e-8, weightDecay: t.weightDecay }))
    .with('finetuneE', () => ({ lr: cfg.step.eLr, beta1: t.beta1, beta2: t.beta2, eps: 1e-8, weightDecay: t.weightDecay }))
    .with('mapper', () => ({ lr: cfg.step.mapperLr, beta1: 0.5, beta2: 0.999, eps: 1e-8, weightDecay: 0 }))
    .otherwise(() => ({ lr: t.lr, beta1: t.beta1, beta2: t.beta2, eps: 1e-8, weightDecay: t.weightDecay }));
}

function update<K extends keyof Nets>(s: StepState, net: K, grads: Nets[K], adam: AdamConfig): StepState {
  const [p, o] = adamStep(adam, grads, s.opt[net] as AdamState<Nets[K]>, s.nets[net]);
  return { ...s, nets: { ...s.nets, [net]: p }, opt: { ...s.opt, [net]: o } };
}

/** Stage 1: one Adam step of E on the triplet loss. */
export function pretrainStep(ctx: StepContext, s: StepState, t: TripletBatch): StepState {
  const { margin, lambdaZ } = ctx.cfg.step;
  return tidyTree(() => {
    let parts!: { triplet: Scalar; reg: Scalar };
    const { value, grads } = valueAndGrad((e: StyleEncoderParams) => {
      const [a, p, n] = [t.anchor, t.positive, t.negative].map((x) => styleEncoder(e, x, t.y));
      const triplet = tripletLoss(a, p, n, margin);
      const reg = scale(codePenalty(a, p, n), lambdaZ);
      parts = keepParams({ triplet, reg });
      return add(triplet, reg);
    })(s.nets.style_encoder);
    const next = update(s, 'style_encoder', grads, adamFor(ctx.cfg, 'pretrainE'));
    return { ...next, losses: { ...s.losses, E: value, 'E/triplet': parts.triplet, 'E/reg': parts.reg } };
  });
}

/** Stages 2-3: one Adam step of D on the LSGAN loss, fakes G(x, E(x_ref, y~)) made outside D's tape. */
export function discriminatorStep(ctx: StepContext, s: StepState, b: Batch): StepState {
  return tidyTree(() => {
    const xFake = generator(s.nets.generator, b.x, styleEncoder(s.nets.style_encoder, b.xRef, b.yTrg), ctx.cfg.net);
    let parts!: { real: Scalar; fake: Scalar };
    const { value, grads } = valueAndGrad((d: DiscriminatorParams) => {
      const real = lsgan(discriminator(d, b.x, b.y), 1);
      const fake = lsgan(discriminator(d, xFake, b.yTrg), 0);
      parts = keepParams({ real, fake });
      return add(real, fake);
    })(s.nets.discriminator);
    const next = update(s, 'discriminator', grads, adamFor(ctx.cfg, 'discriminator'));
    return { ...next, losses: { ...s.losses, D: value, 'D/real': parts.real, 'D/fake': parts.fake } };
  });
}

/** Stages 2-3: one Adam step of G (and of E when `trainE`) on adversarial + reconstruction + style losses. */
export function generatorStep(ctx: StepContext, s: StepState, b: Batch, trainE: boolean): StepState {
  const { net, step: c } = ctx.cfg;
  return tidyTree(() => {
    type Sub = Partial<Pick<Nets, 'generator' | 'style_encoder'>>;
    const trained: Sub = trainE ? { generator: s.nets.generator, style_encoder: s.nets.style_encoder } : { generator: s.nets.generator };
    let parts!: Record<'adv' | 'l1' | 'perc' | 'sty' | 'reg', Scalar>;
    const { value, grads } = valueAndGrad((sub: Sub) => {
      const g = sub.generator ?? s.nets.generator;
      const e = sub.style_encoder ?? s.nets.style_encoder;
      const sRef = styleEncoder(e, b.xRef, b.yTrg);
      const fake = generator(g, b.x, sRef, net);
      const adv = lsgan(discriminator(s.nets.discriminator, fake, b.yTrg), 1);
      const sOwn = styleEncoder(e, b.x, b.y);
      const rec = generator(g, b.x, sOwn, net);
      const l1 = meanAbsDiff(rec, b.x);
      const perc = perceptualLoss(ctx.features, rec, b.x);
      const sty = meanAbsDiff(styleEncoder(e, fake, b.yTrg), sRef);
      const reg: Scalar = trainE ? scale(codePenalty(sRef, sOwn), c.lambdaZ) : typed(tf.scalar(0));
      parts = keepParams({ adv, l1, perc, sty, reg });
      return typed(tf.addN([scale(adv, c.lambdaAdv), scale(l1, c.lambdaL1), scale(perc, c.lambdaPerc), scale(sty, c.lambdaSty), reg]));
    })(trained);
    let next = update(s, 'generator', grads.generator!, adamFor(ctx.cfg, 'generator'));
    if (trainE) next = update(next, 'style_encoder', grads.style_encoder!, adamFor(ctx.cfg, 'finetuneE'));
    const logged = { G: value, 'G/adv': parts.adv, 'G/l1': parts.l1, 'G/perc': parts.perc, 'G/sty': parts.sty, 'G/reg': parts.reg };
    return { ...next, losses: { ...s.losses, ...logged } };
  });
}

/**
 * For each target code t_i (domain y_i), the index of the nearest of the candidate outputs of its
 * domain: `outs[d]` holds M codes of width S (row-major), the result has one index in [0, M) per target.
 */
export function nearestCandidates(outs: readonly Float32Array[], targets: Float32Array, ys: readonly number[], width: number): number[] {
  return ys.map((d, i) => {
    const o = outs[d];
    const m = o.length / width;
    let best = 0;
    let bestDist = Infinity;
    for (let j = 0; j < m; j++) {
      let dist = 0;
      for (let k = 0; k < width; k++) dist += (o[j * width + k] - targets[i * width + k]) ** 2;
      if (dist < bestDist) [best, bestDist] = [j, dist];
    }
    return best;
  });
}

/** Stage 4: one IMLE step of F towards the EMA encoder's codes of real images. */
export function mapperStep(ctx: StepContext, s: StepState, b: Batch): StepState {
  const { net, step: c } = ctx.cfg;
  return tidyTree(() => {
    const ys = Array.from(b.y.dataSync());
    const n = ys.length;
    const targets = styleEncoder(s.ema.style_encoder, b.x, b.y);
    const m = c.imleCandidates * n;
    const z = normal(fold(s.key, 0x1a1e), [m, net.latentDim] as const);
    const domains = [...new Set(ys)];
    const outs: Float32Array[] = [];
    for (const d of domains) outs[d] = mappingNetwork(s.nets.mapping_network, z, labels(new Array<number>(m).fill(d))).dataSync() as Float32Array;
    const chosen = nearestCandidates(outs, targets.dataSync() as Float32Array, ys, net.styleDim);
    const zSel = typed<[number, number]>(tf.add(tf.gather(z, chosen), normal(fold(s.key, 0x1a1f), [n, net.latentDim] as const, 'plain', c.imleNoise)));
    const { value, grads } = valueAndGrad((f: MappingParams) =>
      typed<[]>(tf.mul(tf.mean(tf.sum(tf.squaredDifference(mappingNetwork(f, zSel, b.y), targets), 1)), 0.5)))(s.nets.mapping_network);
    const next = update(s, 'mapping_network', grads, adamFor(ctx.cfg, 'mapper'));
    return { ...next, losses: { ...s.losses, 'F/imle': value } };
  });
}

function copy<P>(p: P): P {
  return mapParams((t) => t.clone(), p);
}

/** What changes when a stage begins: E's EMA copy after stage 1, E's optimiser at stage 3. */
function enterStage(ctx: StepContext, s: StepState, stage: Stage): StepState {
  const { stages: lengths } = ctx.cfg.step;
  let t = s;
  if (lengths.pretrain > 0 && s.iteration === lengths.pretrain) t = { ...t, ema: { ...t.ema, style_encoder: copy(t.nets.style_encoder) } };
  if (stage === 'finetune' && s.iteration === stageStart(lengths, 'finetune')) t = { ...t, opt: { ...t.opt, style_encoder: adamInit(t.nets.style_encoder) } };
  return t;
}

/** The networks whose EMA copies a stage updates. */
const emaOf: Record<Stage, readonly (keyof EmaNets)[]> = {
  pretrain: [], generator: ['generator'], finetune: ['generator', 'style_encoder'], mapper: ['mapping_network'],
};

function emaUpdate(ctx: StepContext, s: StepState, stage: Stage): StepState {
  const beta = ctx.cfg.train.emaBeta;
  const ema = Object.fromEntries(emaOf[stage].map((n) => [n, emaStep(beta, s.nets[n] as unknown, s.ema[n] as unknown)]));
  return { ...s, ema: { ...s.ema, ...ema } };
}

/** One iteration of the stage the state is in. The batch must be for that stage. The caller (a fold) frees what it replaced. */
export function step(ctx: StepContext, s: StepState, b: StepBatch): StepState {
  const stage = stageAt(ctx.cfg.step.stages, s.iteration);
  if (stage === 'done') throw new Error(`step: iteration ${s.iteration} is past the last stage`);
  if (b.stage !== stage) throw new Error(`step: iteration ${s.iteration} is in stage '${stage}', got a '${b.stage}' batch`);
  const entered = { ...tidyTree(() => enterStage(ctx, s, stage)), losses: {} }; // this iteration's losses only
  const trained = match(b)
    .with({ stage: 'pretrain' }, ({ triplets }) => pretrainStep(ctx, entered, triplets))
    .with({ stage: 'generator' }, ({ batch }) => generatorStep(ctx, discriminatorStep(ctx, entered, batch), batch, false))
    .with({ stage: 'finetune' }, ({ batch }) => generatorStep(ctx, discriminatorStep(ctx, entered, batch), batch, true))
    .with({ stage: 'mapper' }, ({ batch }) => mapperStep(ctx, entered, batch))
    .exhaustive();
  const next = tidyTree(() => emaUpdate(ctx, trained, stage));
  return { ...next, iteration: s.iteration + 1, key: split(s.key, 1)[0] };
}

/** Reads the logged losses as numbers (one sync). */
export function stepLossValues(l: StepLosses): Partial<Record<StepLossName, number>> {
  const names = stepLossNames.filter((n) => l[n] !== undefined);
  if (names.length === 0) return {};
  const values = tf.tidy(() => tf.stack(names.map((n) => l[n]!)).dataSync());
  return Object.fromEntries(names.map((n, i) => [n, values[i]]));
}

