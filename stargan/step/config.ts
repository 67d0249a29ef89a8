/**
 * StEP (style-encoder pretraining; Meshry et al., CVPR 2021) on StarGAN v2's networks
 * (REFERENCE section 6): the stage schedule and the hyperparameters of each stage.
 *
 * A run is four consecutive stages, each a number of iterations:
 *   1. pretrain  - the style encoder E alone, triplet loss on Gram-distance neighbours
 *   2. generator - G (and D) with E frozen
 *   3. finetune  - G and E together (and D)
 *   4. mapper    - the mapping network F as an IMLE noise -> style sampler, everything else frozen
 * The stage of an iteration is a function of the iteration alone, so a checkpoint (which stores the
 * iteration) resumes in the right stage.
 */
import * as E from 'fp-ts/lib/Either.js';
import type { NetConfig, TrainConfig } from '../v2/config.ts';

export const stages = ['pretrain', 'generator', 'finetune', 'mapper'] as const;
export type Stage = (typeof stages)[number];

/** Iterations per stage. */
export type StageLengths = { readonly [S in Stage]: number };

export interface StepConfig {
  readonly stages: StageLengths;
  // Stage 1 (StEP's pretrain_style.py).
  /** Triplet margin (StEP 0.1). */
  readonly margin: number;
  /** Weight of the L2 penalty on style codes, `lambdaZ * mean(E^2)` per code (StEP w_loss_z_l2 0.01). */
  readonly lambdaZ: number;
  /** Positives are drawn from this many nearest neighbours of the anchor (StEP 5). */
  readonly nearest: number;
  /** Negatives are drawn from this many farthest neighbours of the anchor (StEP 13). */
  readonly farthest: number;
  /** Images per domain whose pairwise style distances are computed (StEP: up to 8000 per dataset). */
  readonly poolSize: number;
  /** Learning rate of stage 1 (StEP 1e-3, Adam betas (0, 0.99)). */
  readonly pretrainLr: number;
  /** Seed of the fixed random feature network (Gram distances and the perceptual loss). */
  readonly featureSeed: number;
  // Stages 2-3.
  readonly lambdaAdv: number;
  /** Direct reconstruction |G(x, E(x)) - x|_1 (StEP's w_loss_l1 10, its weight when the reconstruction is L1). */
  readonly lambdaL1: number;
  /** Direct reconstruction in the fixed feature network's activations (perceptual). */
  readonly lambdaPerc: number;
  /** Style reconstruction |E(G(x, s), y~) - s|_1 (StarGAN v2's; StEP's optional z_recon). */
  readonly lambdaSty: number;
  /** E's learning rate in stage 3 (StEP: ez_lr = g_lr / 10). */
  readonly eLr: number;
  // Stage 4 (StEP's imle_tf.py).
  readonly mapperLr: number;
  /** Generated candidates per data point in IMLE's nearest-sample search (StEP num_samples_factor 10). */
  readonly imleCandidates: number;
  /** Noise added to the selected latents (StEP noise_perturbation 0.01). */
  readonly imleNoise: number;
}

/** StarGAN v2's network and optimiser settings, plus the stages. */
export interface StepRunConfig {
  readonly net: NetConfig;
  readonly train: TrainConfig;
  readonly step: StepConfig;
}

export const defaultStep: StepConfig = {
  stages: { pretrain: 2000, generator: 6000, finetune: 2000, mapper: 1000 },
  margin: 0.1, lambdaZ: 0.01, nearest: 5, farthest: 13, poolSize: 512, pretrainLr: 1e-3, featureSeed: 0,
  lambdaAdv: 1, lambdaL1: 10, lambdaPerc: 1, lambdaSty: 1, eLr: 1e-5,
  mapperLr: 1e-3, imleCandidates: 10, imleNoise: 0.01,
};

/** The first iteration of a stage. */
export function stageStart(s: StageLengths, stage: Stage): number {
  return stages.slice(0, stages.indexOf(stage)).reduce((n, st) => n + s[st], 0);
}

/** Total iterations of a run. */
export function totalIterations(s: StageLengths): number {
  return stages.reduce((n, st) => n + s[st], 0);
}

/** The stage iteration `it` (0-based) belongs to; 'done' past the last. */
export function stageAt(s: StageLengths, it: number): Stage | 'done' {
  return stages.find((st) => it < stageStart(s, st) + s[st]) ?? 'done';
}

/** Checks a StEP config; the message names the offending field. */
export function validateStepConfig(c: StepConfig): E.Either<string, StepConfig> {
  for (const st of stages) if (!Number.isInteger(c.stages[st]) || c.stages[st] < 0) return E.left(`${st} iterations must be an integer >= 0, got ${c.stages[st]}`);
  for (const k of ['nearest', 'farthest', 'poolSize', 'imleCandidates'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) return E.left(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.poolSize < c.nearest + c.farthest + 1) return E.left(`poolSize must be at least nearest + farthest + 1 = ${c.nearest + c.farthest + 1}, got ${c.poolSize}`);
  return E.right(c);
}

/**
 * Whether a resumed run may use the stage lengths `next` instead of `prev` after `done` iterations: each
 * iteration already run must keep its stage (so a finished stage keeps its length, and the current one
 * may grow, or shrink down to what has run); stages not begun are free.
 */
export function compatibleSchedule(prev: StageLengths, next: StageLengths, done: number): boolean {
  return stages.every((st) => {
    const start = stageStart(prev, st);
    const end = start + prev[st];
    if (start >= done || prev[st] === 0) return true;
    const newEnd = stageStart(next, st) + next[st];
    return stageStart(next, st) === start && (end < done ? newEnd === end : newEnd >= done);
  });
}
