/**
 * Trains StarGAN v2's networks with StEP's staged schedule (stargan/step): style-encoder pretraining
 * on Gram-distance triplets, then G with E frozen, then both, then an IMLE noise -> style mapper.
 * Same data layouts, outputs and conventions as train-celeba.ts; the checkpoint is a StarGAN v2
 * checkpoint (translate.ts reads it) with the StEP schedule in its metadata.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { advance, disposeParams, key as makeKey, split } from '../dsl/index.ts';
import { writeLossPlot } from '../dsl/io/plot.ts';
import { loadCheckpoint, saveCheckpoint } from '../stargan/checkpoints/ours.ts';
import { datasetBatch } from '../stargan/data/batch.ts';
import type { Dataset } from '../stargan/data/datasets.ts';
import { EMOJI_VENDORS } from '../stargan/data/emoji.ts';
import { createImageCache, decodeUpFront, type ImageCache } from '../stargan/data/sampler.ts';
import { sampleGrids, writeGrid } from '../stargan/samples.ts';
import { decoderOf, defaultTrain, validateNetConfig } from '../stargan/v2/config.ts';
import {
  compatibleSchedule, defaultStep, stageAt, stages, stageStart, totalIterations, validateStepConfig,
  type StageLengths, type StepConfig, type StepRunConfig,
} from '../stargan/step/config.ts';
import { initFeatureNet, type FeatureNet } from '../stargan/step/features.ts';
import { gridAnchors, retrievalGrid, tripletGrid } from '../stargan/step/samples.ts';
import {
  fromTrainState, initStepState, step, stepLossNames, stepLossValues, toTrainState, type StepBatch, type StepContext, type StepState,
} from '../stargan/step/step.ts';
import { buildTripletPool, tripletBatch, type TripletPool } from '../stargan/step/triplets.ts';
import { prepareRunDir, readLog, runDir } from './lib/run-folder.ts';
import { runTraining } from './lib/run-training.ts';
import { explicitNetFields, netConfigFrom, type RunOptions, netFlagSpec, openData, resumeConflict, vendorsFrom } from './lib/v2-options.ts';
import { backendFlag, backendFrom, intFlag, numFlag, parseFlags, runMain, UserError } from './lib/cli.ts';

const usage = `usage: tsx examples/train-step.ts [--data DIR] [options]

Trains StarGAN v2's networks with StEP's stages (style-encoder pretraining):
  1 pretrain   E alone: triplet loss, positives among the 5 nearest / negatives among the 13 farthest
               images by a Gram-matrix style distance in a fixed, seeded *random* conv net (not VGG)
  2 generator  G and D with E frozen: LSGAN + L1 and perceptual reconstruction + style reconstruction
  3 finetune   G, E and D together (E at --e-lr)
  4 mapper     F as an IMLE sampler of E's style codes (latent-guided synthesis)
Data (--data): as train-celeba.ts; none: the embedded emoji dataset (--vendors google,twitter)

Model:    --img N (64) --base N (32 at img 64) --max-conv N (256) --mapping-hidden N (512)
          --style-dim N (64) --latent-dim N (16) --decoder adain|modconv (adain)
Stages:   --pretrain-iters N (${defaultStep.stages.pretrain}) --generator-iters N (${defaultStep.stages.generator}) --finetune-iters N (${defaultStep.stages.finetune}) --mapper-iters N (${defaultStep.stages.mapper})
Stage 1:  --pool-size N (images per domain, ${defaultStep.poolSize}) --margin X (${defaultStep.margin}) --lambda-z X (${defaultStep.lambdaZ}) --pretrain-lr X (${defaultStep.pretrainLr})
Stages 2-3: --lr X (G and D, 1e-4) --e-lr X (E in stage 3, ${defaultStep.eLr}) --lambda-adv X (1) --lambda-l1 X (${defaultStep.lambdaL1})
          --lambda-perc X (1) --lambda-sty X (1) --ema-beta X (0.999)
Stage 4:  --mapper-lr X (${defaultStep.mapperLr}) --imle-candidates N (${defaultStep.imleCandidates})
Training: --batch N (8) --seed N (0) --no-augment
Output:   --out DIR (runs/step-<dataset>-img<N>-<date>-<time>) --sample-every N (500) --ckpt-every N (500) --log-every N (10)
          --resume (continue the run in --out exactly; stage lengths may change for stages not yet finished)
Other:    --backend wasm|cpu (wasm) --threads N (1) --vendors google,twitter --help
CelebA:   --attrs A,B (Male) --test-size N (2000)

In --out: checkpoint.safetensors, losses.jsonl, losses.png, run.json, samples/triplets.png (the Gram
neighbours stage 1 learns from), samples/<iteration>_retrieval.png (stage 1: nearest images by E's codes),
samples/<iteration>_{cycle,latent,reference,interpolation}.png (stages 2-4).
Ctrl-C saves a checkpoint and exits (code 130); run again with --resume to continue.`;

const flags = {
  data: { type: 'string' }, attrs: { type: 'string' }, 'test-size': { type: 'string' }, vendors: { type: 'string' },
  ...netFlagSpec,
  'pretrain-iters': { type: 'string' }, 'generator-iters': { type: 'string' }, 'finetune-iters': { type: 'string' }, 'mapper-iters': { type: 'string' },
  'pool-size': { type: 'string' }, margin: { type: 'string' }, 'lambda-z': { type: 'string' }, 'pretrain-lr': { type: 'string' },
  lr: { type: 'string' }, 'e-lr': { type: 'string' }, 'lambda-adv': { type: 'string' }, 'lambda-l1': { type: 'string' },
  'lambda-perc': { type: 'string' }, 'lambda-sty': { type: 'string' }, 'ema-beta': { type: 'string' },
  'mapper-lr': { type: 'string' }, 'imle-candidates': { type: 'string' },
  batch: { type: 'string' }, seed: { type: 'string' }, 'no-augment': { type: 'boolean' },
  out: { type: 'string' }, 'sample-every': { type: 'string' }, 'ckpt-every': { type: 'string' }, 'log-every': { type: 'string' },
  resume: { type: 'boolean' }, ...backendFlag,
} as const;

type Values = ReturnType<typeof parseFlags<typeof flags>>['values'];

interface Options extends RunOptions {
  readonly run: StepRunConfig;
  /** Whether any stage length was given explicitly (a resumed run may then change its schedule). */
  readonly explicitStages: boolean;
}

const stageFlags: [keyof StageLengths, string][] = [
  ['pretrain', 'pretrain-iters'], ['generator', 'generator-iters'], ['finetune', 'finetune-iters'], ['mapper', 'mapper-iters'],
];

function options(v: Values): Options {
  const net = netConfigFrom(v);
  if (net.wHpf !== 0) throw new UserError('--w-hpf: StEP trains without face masks (w_hpf 0)', 2);
  const d = defaultStep;
  const stepCfg: StepConfig = {
    ...d,
    stages: Object.fromEntries(stageFlags.map(([k, f]) => [k, intFlag(f, v[f as keyof Values] as string | undefined, d.stages[k], 0)])) as unknown as StageLengths,
    poolSize: intFlag('pool-size', v['pool-size'], d.poolSize, d.nearest + d.farthest + 1),
    margin: numFlag('margin', v.margin, d.margin), lambdaZ: numFlag('lambda-z', v['lambda-z'], d.lambdaZ),
    pretrainLr: numFlag('pretrain-lr', v['pretrain-lr'], d.pretrainLr), eLr: numFlag('e-lr', v['e-lr'], d.eLr),
    lambdaAdv: numFlag('lambda-adv', v['lambda-adv'], d.lambdaAdv), lambdaL1: numFlag('lambda-l1', v['lambda-l1'], d.lambdaL1),
    lambdaPerc: numFlag('lambda-perc', v['lambda-perc'], d.lambdaPerc), lambdaSty: numFlag('lambda-sty', v['lambda-sty'], d.lambdaSty),
    mapperLr: numFlag('mapper-lr', v['mapper-lr'], d.mapperLr), imleCandidates: intFlag('imle-candidates', v['imle-candidates'], d.imleCandidates),
  };
  const emaBeta = numFlag('ema-beta', v['ema-beta'], defaultTrain.emaBeta);
  if (emaBeta >= 1) throw new UserError(`--ema-beta must be below 1, got '${v['ema-beta']}'`, 2);
  const train = { ...defaultTrain, lr: numFlag('lr', v.lr, defaultTrain.lr), emaBeta };
  const vendors = vendorsFrom(v.vendors, EMOJI_VENDORS, 2, '(one domain each)');
  return {
    data: v.data, testSize: intFlag('test-size', v['test-size'], 2000, 0), attrs: (v.attrs ?? 'Male').split(',').map((s) => s.trim()).filter(Boolean), vendors,
    run: { net, train, step: stepCfg },
    batch: intFlag('batch', v.batch, 8, 1, 1024), seed: intFlag('seed', v.seed, 0, 0, 2 ** 32 - 1), augment: !v['no-augment'], out: v.out,
    sampleEvery: intFlag('sample-every', v['sample-every'], 500), ckptEvery: intFlag('ckpt-every', v['ckpt-every'], 500),
    logEvery: intFlag('log-every', v['log-every'], 10), resume: Boolean(v.resume),
    explicitNet: explicitNetFields(v),
    explicitStages: stageFlags.some(([, f]) => v[f as keyof Values] !== undefined),
  };
}

/** The state and config: fresh, or the checkpoint's (its config wins; explicit stage lengths may change stages not yet finished). */
function startState(o: Options, run: StepRunConfig, ckpt: string): { run: StepRunConfig; state: StepState } {
  if (!o.resume) return { run, state: initStepState(makeKey(o.seed), run) };
  const loaded = loadCheckpoint(ckpt);
  const fail = (m: string) => {
    disposeParams(loaded.state);
    throw new UserError(`${ckpt}: ${m}`);
  };
  if (!loaded.metadata.step_config) fail('not a StEP run (no step_config in its metadata): continue it with train-celeba.ts');
  const stored = JSON.parse(loaded.metadata.step_config) as StepConfig;
  const conflict = resumeConflict(loaded.cfg.net, run.net, o.explicitNet);
  if (conflict) fail(conflict);
  const done = loaded.state.iteration;
  const lengths = o.explicitStages ? run.step.stages : stored.stages;
  if (!compatibleSchedule(stored.stages, lengths, done)) {
    fail(`the stage lengths ${JSON.stringify(lengths)} would change iterations already run (${done} done with ${JSON.stringify(stored.stages)})`);
  }
  return { run: { net: loaded.cfg.net, train: loaded.cfg.train, step: { ...stored, stages: lengths } }, state: fromTrainState(loaded.state) };
}

interface LogLine { iteration: number; stage: string; elapsed_s: number; [loss: string]: number | string }

function plotLosses(file: string, log: LogLine[]): void {
  if (log.length < 2) return;
  const series: Record<string, number[]> = {};
  for (const name of stepLossNames.filter((n) => n.includes('/'))) {
    if (log.some((l) => l[name] !== undefined)) series[name] = log.map((l) => (typeof l[name] === 'number' ? (l[name] as number) : NaN));
  }
  writeLossPlot(file, series, { title: 'StEP on StarGAN v2: losses by stage', xStart: log[0].iteration, xStep: log.length > 1 ? log[1].iteration - log[0].iteration : 1 });
}

/** The pool of stage 1, a pure function of the config (so a resumed run rebuilds it). */
function triplets(ds: Dataset, run: StepRunConfig, features: FeatureNet): TripletPool {
  const s = run.step;
  try {
    return buildTripletPool(ds, split(makeKey(s.featureSeed), 2)[1], { poolSize: s.poolSize, img: run.net.img, nearest: s.nearest, farthest: s.farthest }, features);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

function sampleName(dir: string, it: number, kind: string): string {
  return path.join(dir, 'samples', `${String(it).padStart(6, '0')}_${kind}.png`);
}

/** Stage 1: the encoder's retrieval grid; later stages: StarGAN v2's four grids from the EMA networks. */
function writeSamples(dir: string, s: StepState, run: StepRunConfig, ds: Dataset, cache: ImageCache, seed: number, pool: TripletPool | undefined): void {
  const k = makeKey(seed + 0x5eed);
  if (stageAt(run.step.stages, s.iteration - 1) === 'pretrain') {
    if (pool) writeGrid(sampleName(dir, s.iteration, 'retrieval'), retrievalGrid(s.nets.style_encoder, pool, gridAnchors(pool, k)), run.net.img);
    return;
  }
  const n = Math.min(6, Math.max(2, ds.domains.length * 2));
  tf.tidy(() => {
    const grids = sampleGrids(s.ema, run.net, datasetBatch(ds, cache, k, run.net, n, false), k, s.iteration);
    for (const [kind, g] of Object.entries(grids)) writeGrid(sampleName(dir, s.iteration, kind), g, run.net.img);
  });
}

function lossSummary(l: Record<string, number | undefined>): string {
  return ['E/triplet', 'D', 'G', 'F/imle'].filter((n) => l[n] !== undefined).map((n) => `${n} ${l[n]!.toFixed(3)}`).join(' ');
}

async function main(): Promise<void> {
  const { values } = parseFlags(flags, usage);
  const o = options(values);
  const backend = await backendFrom(values.backend, values.threads);
  const { train: ds, samples } = openData(o);
  const requested: StepRunConfig = { ...o.run, net: { ...o.run.net, domains: ds.domains.length } };
  const invalid = validateNetConfig(requested.net);
  if (invalid._tag === 'Left') throw new UserError(invalid.left, 2);
  const invalidStep = validateStepConfig(requested.step);
  if (invalidStep._tag === 'Left') throw new UserError(invalidStep.left, 2);
  const dir = runDir(o.out, o.resume, 'step-', ds.name, o.run.net.img);
  const ckpt = prepareRunDir(dir, o.resume);
  const cache = createImageCache();
  decodeUpFront(ds.files.flat(), cache, requested.net.img);
  let { run, state } = startState(o, requested, ckpt);
  const total = totalIterations(run.step.stages);
  const features = initFeatureNet(split(makeKey(run.step.featureSeed), 2)[0]);
  const ctx: StepContext = { cfg: run, features };
  const needPool = state.iteration < run.step.stages.pretrain;
  const pool = needPool ? triplets(ds, run, features) : undefined;
  if (pool && state.iteration === 0) writeGrid(path.join(dir, 'samples', 'triplets.png'), tripletGrid(pool, gridAnchors(pool, makeKey(o.seed + 0x5eed))), run.net.img);
  const logFile = path.join(dir, 'losses.jsonl');
  const log = readLog<LogLine>(logFile, state.iteration);
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ dataset: ds.name, source: ds.source, domains: ds.domains, images: ds.files.map((f) => f.length), ...run, batch: o.batch, seed: o.seed, backend }, null, 2));
  console.log(`${o.resume ? 'resuming' : 'training'} StEP on StarGAN v2 on ${ds.name}: ${ds.domains.map((d, i) => `${d} (${ds.files[i].length})`).join(', ')}`);
  console.log(`img ${run.net.img}, base ${run.net.base}, max ${run.net.maxConv}, ${decoderOf(run.net)} decoder, batch ${o.batch}, ${backend}; stages ${stages.map((st) => `${st} ${run.step.stages[st]}`).join(', ')}; iteration ${state.iteration} -> ${total}; output in ${dir}`);

  const save = () => saveCheckpoint(ckpt, { net: run.net, train: run.train }, toTrainState(state), ds.domains, {
    step_config: JSON.stringify(run.step), stage: String(stageAt(run.step.stages, state.iteration)),
  });
  let stage = stageAt(run.step.stages, state.iteration);
  let losses: Record<string, number> = {};
  await runTraining({
    total, dir, ckpt, logFile,
    barFields: { stage },
    iteration: () => state.iteration,
    step: () => {
      const current = stageAt(run.step.stages, state.iteration);
      if (current === 'done') throw new Error(`iteration ${state.iteration} is past the last stage`); // unreachable: total ends the last stage
      stage = current;
      const b: StepBatch = current === 'pretrain'
        ? { stage: current, triplets: tripletBatch(pool!, state.key, o.batch) }
        : { stage: current, batch: datasetBatch(ds, cache, state.key, run.net, o.batch, o.augment) };
      try {
        state = advance((st: StepState, batch: StepBatch) => step(ctx, st, batch), state, b);
      } finally {
        tf.dispose(Object.values(b.stage === 'pretrain' ? b.triplets : b.batch));
      }
      losses = stepLossValues(state.losses);
      return { stage, losses: lossSummary(losses) };
    },
    after: (it, elapsed) => {
      const st = stage;
      if (st === 'done') return;
      const stageEnd = stageStart(run.step.stages, st) + run.step.stages[st] === it;
      if (it % o.logEvery === 0 || it === total || stageEnd) {
        const line = { iteration: it, stage, elapsed_s: Math.round(elapsed * 10) / 10, ...losses } as LogLine;
        log.push(line);
        fs.appendFileSync(logFile, JSON.stringify(line) + '\n');
      }
      if (it % o.sampleEvery === 0 || it === total || stageEnd) {
        writeSamples(dir, state, run, samples, cache, o.seed, pool);
        plotLosses(path.join(dir, 'losses.png'), log);
      }
      if (it % o.ckptEvery === 0 || it === total || stageEnd) save();
    },
    save,
    finish: (ranAny) => {
      if (!ranAny) save();
      plotLosses(path.join(dir, 'losses.png'), log);
    },
  });
}

runMain('train-step', main);

