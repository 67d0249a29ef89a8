/**
 * Trains StarGAN v1 (one generator conditioned on a label vector) on CelebA's attributes, a
 * folder of single-label domains, or (with no --data) the embedded people emoji with their
 * gender, skin-tone and vendor labels; with --dataset both, on two datasets at once with the
 * mask vector (CelebA + RaFD, or their embedded stand-ins: the people emoji + the smileys' faces
 * by vendor). Writes sample grids, a checkpoint, a losses log and its plot into --out; Ctrl-C
 * saves a checkpoint and exits 130; --resume continues exactly; --resume-official starts from
 * the official yunjey/stargan G/D files.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { adamInit, advance, disposeParams, key as makeKey } from '../dsl/index.ts';
import { loadOfficialV1 } from '../stargan/checkpoints/official-v1.ts';
import { configDiffV1, loadCheckpointV1, saveCheckpointV1 } from '../stargan/checkpoints/v1.ts';
import { CELEBA_DEFAULT_ATTRS } from '../stargan/data/datasets.ts';
import { EMOJI_VENDORS, type EmojiVendor } from '../stargan/data/emoji.ts';
import { labelCounts } from '../stargan/data/labelled.ts';
import { celebaSet, classFolderSet, emojiFacesSet, emojiPeopleSet, type RunSet } from '../stargan/data/v1-sets.ts';
import { createImageCache, decodeUpFront } from '../stargan/data/sampler.ts';
import { disposeBatch, labelledBatch } from '../stargan/v1/batch.ts';
import {
  defaultTrainV1, firstLrChange, validateV1NetConfig, validateV1TrainConfig, type V1NetConfig, type V1TrainConfig,
} from '../stargan/v1/config.ts';
import { initStateV1, lossValuesV1, stepV1, updatesG, type V1Batch, type V1Config, type V1State } from '../stargan/v1/step.ts';
import { prepareRunDir, readLog, runDir } from './lib/run-folder.ts';
import { runTraining } from './lib/run-training.ts';
import { gridColumns, lossSummary, plotLosses, writeSamples, type LogLine } from './lib/v1-outputs.ts';
import { backendFlag, backendFrom, choiceFlag, intFlag, numFlag, parseFlags, runMain, UserError } from './lib/cli.ts';

const usage = `usage: tsx examples/train-stargan-v1.ts [--data DIR | --dataset both [--celeba-dir DIR] [--rafd-dir DIR]] [options]

Trains StarGAN v1. One dataset (--data):
  none               the embedded people emoji (--vendors google,twitter): labels Male, Female,
                     Light_Skin, Medium_Skin, Dark_Skin and one per vendor, from emoji.json
  DIR/img_align_celeba + DIR/list_attr_celeba.txt   CelebA; labels from --attrs
                     (default ${CELEBA_DEFAULT_ATTRS.join(',')}); samples from the held-out split
  DIR/train/<domain>/*.jpg|png   single-label domains (RaFD-like, cross-entropy)
Two datasets with the mask vector (--dataset one|both: default one, both when --celeba-dir or
  --rafd-dir is given; the official --dataset Both): G reads
  [dataset 1 labels | dataset 2 labels | mask (2)]; each iteration trains D (and G every
  --n-critic) on a sub-batch of each dataset in turn. Each dataset defaults to an embedded one:
  --celeba-dir DIR   CelebA layout as above (BCE); default the people emoji with Male, Female,
                     Light_Skin, Medium_Skin, Dark_Skin (no vendor labels)
  --rafd-dir DIR     DIR/train/<class>/ (CE); default the smileys' faces (emoji.json face-*)
                     labelled by vendor: google, twitter
  Grids show every source under every label of both datasets (the labels of the other dataset
  with that dataset's mask: what the mask vector is for).

Model:    --img N (64 for emoji, 128 otherwise) --g-conv-dim N (64) --d-conv-dim N (64)
          --g-repeat N (residual blocks, 6) --d-repeat N (strided D convs; default log2(img) - 1, i.e. 6 at 128)
Training: --batch N (16) --iters N (total iterations, 20000) --iters-decay N (lr decays linearly to 0
          over the last N; default iters/2) --lr-update-step N (iters-decay/100) --g-lr X (1e-4) --d-lr X (1e-4)
          --beta1 X (0.5) --beta2 X (0.999) --n-critic N (5) --lambda-cls X (1) --lambda-rec X (10)
          --lambda-gp X (10) --seed N (0) --no-flip (no random horizontal flip)
Output:   --out DIR (runs/v1-<dataset>-img<N>-<date>-<time>) --sample-every N (500) --ckpt-every N (500)
          --log-every N (10) --resume (continue the run in --out from its checkpoint, exactly; its
          training config continues, except that --iters / --iters-decay may change the schedule
          while every iteration already run keeps its lr)
          --resume-official G.ckpt[,D.ckpt]  start from official yunjey/stargan weights ({iter}-G.ckpt,
          {iter}-D.ckpt: torch.save of the state_dicts): widths and blocks from the files, Adam fresh and
          the iteration from the file name, as the official --resume_iters; without D.ckpt, D starts fresh
Other:    --backend wasm|cpu (wasm) --threads N (wasm threads, 1) --vendors google,twitter --no-yellow
          (emoji: only the skin-toned variants) --attrs A,B,... --test-size N (CelebA held out, 2000) --help

In --out: checkpoint.safetensors (G.*, D.* under the official names), losses.jsonl, losses.png,
samples/<iteration>.png (each row: a source, then one column per label, set or flipped; the
column order is printed at the start and stored in run.json).
Ctrl-C saves a checkpoint and exits (code 130); run again with --resume to continue.`;

const flags = {
  data: { type: 'string' }, dataset: { type: 'string' }, 'celeba-dir': { type: 'string' }, 'rafd-dir': { type: 'string' }, attrs: { type: 'string' }, 'test-size': { type: 'string' }, vendors: { type: 'string' }, 'no-yellow': { type: 'boolean' },
  img: { type: 'string' }, 'g-conv-dim': { type: 'string' }, 'd-conv-dim': { type: 'string' }, 'g-repeat': { type: 'string' }, 'd-repeat': { type: 'string' },
  batch: { type: 'string' }, iters: { type: 'string' }, 'iters-decay': { type: 'string' }, 'lr-update-step': { type: 'string' },
  'g-lr': { type: 'string' }, 'd-lr': { type: 'string' }, beta1: { type: 'string' }, beta2: { type: 'string' }, 'n-critic': { type: 'string' },
  'lambda-cls': { type: 'string' }, 'lambda-rec': { type: 'string' }, 'lambda-gp': { type: 'string' }, seed: { type: 'string' }, 'no-flip': { type: 'boolean' },
  out: { type: 'string' }, 'sample-every': { type: 'string' }, 'ckpt-every': { type: 'string' }, 'log-every': { type: 'string' },
  resume: { type: 'boolean' }, 'resume-official': { type: 'string' }, ...backendFlag,
} as const;

type Values = ReturnType<typeof parseFlags<typeof flags>>['values'];

interface Options {
  readonly data?: string;
  /** Two datasets with the mask vector (--dataset both). */
  readonly both: boolean;
  readonly celebaDir?: string;
  readonly rafdDir?: string;
  readonly attrs: string[];
  readonly testSize: number;
  readonly vendors: EmojiVendor[];
  readonly yellow: boolean;
  /** The network config without its datasets (set from the data). */
  readonly net: Omit<V1NetConfig, 'datasets'>;
  readonly train: V1TrainConfig;
  readonly batch: number;
  readonly seed: number;
  readonly flip: boolean;
  readonly out?: string;
  readonly sampleEvery: number;
  readonly ckptEvery: number;
  readonly logEvery: number;
  readonly resume: boolean;
  /** Official G (and D) files to start from. */
  readonly official?: readonly [string, string | undefined];
  /** Network flags the user gave explicitly (checked against a resumed checkpoint). */
  readonly explicitNet: (keyof V1NetConfig)[];
  /** Training flags the user gave explicitly (on --resume: only the schedule's may change). */
  readonly explicitTrain: (keyof V1TrainConfig)[];
}

const trainFlags: [keyof V1TrainConfig, string][] = [
  ['numIters', 'iters'], ['numItersDecay', 'iters-decay'], ['lrUpdateStep', 'lr-update-step'], ['gLr', 'g-lr'], ['dLr', 'd-lr'],
  ['beta1', 'beta1'], ['beta2', 'beta2'], ['nCritic', 'n-critic'], ['lambdaCls', 'lambda-cls'], ['lambdaRec', 'lambda-rec'], ['lambdaGp', 'lambda-gp'],
];

/** The schedule's fields: the ones a resumed run may change (see resumedTrain). */
const scheduleFields: readonly (keyof V1TrainConfig)[] = ['numIters', 'numItersDecay', 'lrUpdateStep'];

const netFlags: [keyof V1NetConfig, string][] = [
  ['img', 'img'], ['gConvDim', 'g-conv-dim'], ['dConvDim', 'd-conv-dim'], ['gRepeat', 'g-repeat'], ['dRepeat', 'd-repeat'],
];

/** --resume-official G.ckpt[,D.ckpt]. */
function officialFlag(v: string | undefined, resume: boolean): readonly [string, string | undefined] | undefined {
  if (v === undefined) return undefined;
  if (resume) throw new UserError('--resume continues our own run; --resume-official starts a new one from official weights: give one of them', 2);
  const files = v.split(',').map((f) => f.trim());
  if (files.length > 2 || !files[0]) throw new UserError(`--resume-official takes G.ckpt or G.ckpt,D.ckpt, got '${v}'`, 2);
  for (const f of files) if (!fs.existsSync(f)) throw new UserError(`--resume-official: ${f}: no such file`);
  return [files[0], files[1]];
}

function options(v: Values): Options {
  const dataset = choiceFlag('dataset', v.dataset, ['one', 'both'] as const, v['celeba-dir'] || v['rafd-dir'] ? 'both' : 'one');
  const both = dataset === 'both';
  if (both && v.data) throw new UserError('--data is for one dataset; with --dataset both give --celeba-dir and/or --rafd-dir', 2);
  if (!both && (v['celeba-dir'] || v['rafd-dir'])) throw new UserError('--celeba-dir and --rafd-dir need --dataset both', 2);
  const realData = Boolean(v.data || v['celeba-dir'] || v['rafd-dir']);
  const img = intFlag('img', v.img, realData ? 128 : 64, 8, 1024);
  const net = {
    img,
    gConvDim: intFlag('g-conv-dim', v['g-conv-dim'], 64),
    dConvDim: intFlag('d-conv-dim', v['d-conv-dim'], 64),
    gRepeat: intFlag('g-repeat', v['g-repeat'], 6, 0, 64),
    dRepeat: intFlag('d-repeat', v['d-repeat'], Math.max(1, Math.floor(Math.log2(img)) - 1), 1, 12),
  };
  const iters = intFlag('iters', v.iters, 20_000);
  const decay = intFlag('iters-decay', v['iters-decay'], Math.floor(iters / 2), 0);
  const train: V1TrainConfig = {
    ...defaultTrainV1,
    numIters: iters, numItersDecay: decay,
    lrUpdateStep: intFlag('lr-update-step', v['lr-update-step'], Math.max(1, Math.round(decay / 100))),
    gLr: numFlag('g-lr', v['g-lr'], defaultTrainV1.gLr), dLr: numFlag('d-lr', v['d-lr'], defaultTrainV1.dLr),
    beta1: numFlag('beta1', v.beta1, defaultTrainV1.beta1), beta2: numFlag('beta2', v.beta2, defaultTrainV1.beta2),
    nCritic: intFlag('n-critic', v['n-critic'], defaultTrainV1.nCritic),
    lambdaCls: numFlag('lambda-cls', v['lambda-cls'], defaultTrainV1.lambdaCls),
    lambdaRec: numFlag('lambda-rec', v['lambda-rec'], defaultTrainV1.lambdaRec),
    lambdaGp: numFlag('lambda-gp', v['lambda-gp'], defaultTrainV1.lambdaGp),
  };
  const invalid = validateV1TrainConfig(train);
  if (invalid._tag === 'Left') throw new UserError(invalid.left, 2);
  const vendors = (v.vendors ?? EMOJI_VENDORS.join(',')).split(',').map((s) => s.trim()) as EmojiVendor[];
  const known = ['google', 'twitter', 'apple', 'facebook'];
  const bad = vendors.find((x) => !known.includes(x));
  if (bad) throw new UserError(`--vendors: unknown vendor '${bad}' (choose from ${known.join(', ')})`, 2);
  return {
    data: v.data, both, celebaDir: v['celeba-dir'], rafdDir: v['rafd-dir'], testSize: intFlag('test-size', v['test-size'], 2000, 0),
    attrs: (v.attrs ?? CELEBA_DEFAULT_ATTRS.join(',')).split(',').map((s) => s.trim()).filter(Boolean),
    vendors, yellow: !v['no-yellow'], net, train,
    batch: intFlag('batch', v.batch, 16, 1, 1024), seed: intFlag('seed', v.seed, 0, 0, 2 ** 32 - 1),
    flip: !v['no-flip'], out: v.out,
    sampleEvery: intFlag('sample-every', v['sample-every'], 500), ckptEvery: intFlag('ckpt-every', v['ckpt-every'], 500),
    logEvery: intFlag('log-every', v['log-every'], 10), resume: Boolean(v.resume), official: officialFlag(v['resume-official'], Boolean(v.resume)),
    explicitNet: netFlags.filter(([, flag]) => v[flag as keyof Values] !== undefined).map(([k]) => k),
    explicitTrain: trainFlags.filter(([, flag]) => v[flag as keyof Values] !== undefined).map(([k]) => k),
  };
}

/** The run's datasets, in label-vector order; a problem with them is the user's to fix (one line, exit 1). */
function openData(o: Options): RunSet[] {
  try {
    if (o.both) {
      if (!o.rafdDir && o.vendors.length < 2) throw new Error(`--dataset both: the embedded second dataset labels faces by vendor and needs two vendors or more (--vendors ${o.vendors.join(',')})`);
      return [
        o.celebaDir ? celebaSet(o.celebaDir, o.attrs, o.testSize, 'CelebA') : emojiPeopleSet(o.vendors, o.yellow, false, 'emoji-people'),
        o.rafdDir ? classFolderSet(o.rafdDir, 'RaFD') : emojiFacesSet(o.vendors),
      ];
    }
    if (!o.data) return [emojiPeopleSet(o.vendors, o.yellow, true)];
    if (!fs.existsSync(o.data)) throw new Error(`--data ${o.data}: no such folder`);
    // (one dataset: named by its data, as before the mask vector existed, so older checkpoints resume)
    const set = fs.existsSync(path.join(o.data, 'list_attr_celeba.txt')) ? celebaSet(o.data, o.attrs, o.testSize, '') : classFolderSet(o.data, '');
    return [{ ...set, name: set.train.name.split('/')[0] }];
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

/** The training state: fresh, or restored from the run's checkpoint (whose configs then win). */
function startState(o: Options, net: V1NetConfig, ckpt: string): { cfg: V1Config; state: V1State } {
  if (o.official) return officialStart(o, net, o.official);
  if (!o.resume) {
    const cfg = { net, train: o.train };
    return { cfg, state: initStateV1(makeKey(o.seed), cfg) };
  }
  let loaded: ReturnType<typeof loadCheckpointV1>;
  try {
    loaded = loadCheckpointV1(ckpt);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const asked = Object.fromEntries([...o.explicitNet, 'datasets' as const].map((k) => [k, net[k]]));
  const diff = configDiffV1({ ...loaded.cfg.net, ...asked }, loaded.cfg.net);
  if (diff) {
    disposeParams(loaded.state);
    const stored = loaded.cfg.net.datasets;
    if (stored.length !== net.datasets.length) {
      throw new UserError(`${ckpt}: this run trains ${stored.length} dataset(s) (${stored.map((d) => d.name).join(', ')}), the flags ask for ${net.datasets.length}: ${stored.length > 1 ? 'add --dataset both (and the same --celeba-dir / --rafd-dir)' : 'drop --dataset both'}`);
    }
    throw new UserError(`${ckpt}: checkpoint from a different config (requested ${diff.replace(/(\S+) (\S+) vs (\S+)/g, '$1 $2, checkpoint has $3')}); drop the conflicting flags or use another --out`);
  }
  let train: V1TrainConfig;
  try {
    train = resumedTrain(o, loaded.cfg.train, loaded.state.iteration, ckpt);
  } catch (e) {
    disposeParams(loaded.state);
    throw e;
  }
  return { cfg: { ...loaded.cfg, train }, state: loaded.state };
}

/**
 * The training config of a resumed run: the checkpoint's, except that --iters (with the decay it
 * implies, or --iters-decay / --lr-update-step) may lengthen or shorten the schedule as long as
 * every iteration already run keeps its learning rate, so the run still equals an uninterrupted
 * one with the new schedule. Any other training flag that differs is refused, not ignored.
 */
function resumedTrain(o: Options, stored: V1TrainConfig, done: number, ckpt: string): V1TrainConfig {
  const fixed = o.explicitTrain.filter((k) => !scheduleFields.includes(k) && o.train[k] !== stored[k]);
  if (fixed.length) {
    throw new UserError(`${ckpt}: ${fixed.map((k) => `${k} ${o.train[k]} (checkpoint has ${stored[k]})`).join(', ')}: a resumed run keeps its training config; drop the flag or start a new --out`);
  }
  if (!o.explicitTrain.some((k) => scheduleFields.includes(k))) return stored;
  const next = { ...stored, numIters: o.train.numIters, numItersDecay: o.train.numItersDecay, lrUpdateStep: o.train.lrUpdateStep };
  const changed = firstLrChange(stored, next, done);
  if (changed >= 0) {
    throw new UserError(`${ckpt}: --iters ${next.numIters} with decay over the last ${next.numItersDecay} would change the lr of iteration ${changed + 1}, already run (${done} done with --iters ${stored.numIters}, decay ${stored.numItersDecay}): choose a schedule whose decay starts at or after iteration ${done}`);
  }
  if (next.numIters < done) throw new UserError(`${ckpt}: --iters ${next.numIters} is before the checkpoint's iteration ${done}`);
  return next;
}

/**
 * A new run from official weights: the networks' widths and depths (and, with D, the image size)
 * are the files'; flags given explicitly must agree. Adam starts fresh and the iteration is the
 * file name's `{iter}` (the official `--resume_iters` does both).
 */
function officialStart(o: Options, net: V1NetConfig, [gFile, dFile]: readonly [string, string | undefined]): { cfg: V1Config; state: V1State } {
  let loaded: ReturnType<typeof loadOfficialV1>;
  try {
    loaded = loadOfficialV1(gFile, dFile, { datasets: net.datasets, img: net.img });
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  const fromFiles: V1NetConfig = dFile ? loaded.net : { ...loaded.net, dConvDim: net.dConvDim, dRepeat: net.dRepeat };
  const asked = Object.fromEntries(o.explicitNet.map((k) => [k, net[k]]));
  const diff = configDiffV1({ ...fromFiles, ...asked }, fromFiles);
  const iteration = Number(/^(\d+)-G\.ckpt$/.exec(path.basename(gFile))?.[1] ?? 0);
  const problem = diff ? `the files are a different network (requested ${diff.replace(/(\S+) (\S+) vs (\S+)/g, '$1 $2, files have $3')}): drop the conflicting flags`
    : iteration >= o.train.numIters ? `the file name says iteration ${iteration}, not before --iters ${o.train.numIters}` : '';
  if (problem) {
    disposeParams({ G: loaded.G, D: loaded.D });
    throw new UserError(`${gFile}: ${problem}`);
  }
  loaded.notes.forEach((n) => console.log(`note: ${n}`));
  const cfg = { net: fromFiles, train: o.train };
  const fresh = initStateV1(makeKey(o.seed), cfg);
  const D = loaded.D ?? fresh.nets.D;
  disposeParams({ G: fresh.nets.G, opt: fresh.opt, ...(loaded.D ? { D: fresh.nets.D } : {}) });
  console.log(`starting from ${gFile}${dFile ? ` and ${dFile}` : ' (D fresh)'} at iteration ${iteration}, Adam fresh`);
  return { cfg, state: { ...fresh, nets: { G: loaded.G, D }, opt: { G: adamInit(loaded.G), D: adamInit(D) }, iteration } };
}

async function main(): Promise<void> {
  const { values } = parseFlags(flags, usage);
  const o = options(values);
  const backend = await backendFrom(values.backend, values.threads);
  const sets = openData(o);
  const datasets = sets.map((r) => r.train);
  const net: V1NetConfig = { ...o.net, datasets: sets.map((r) => ({ name: r.name, size: r.train.attrs.length, kind: r.kind })) };
  const invalid = validateV1NetConfig(net);
  if (invalid._tag === 'Left') throw new UserError(invalid.left, 2);
  const runName = sets.length > 1 ? sets.map((r) => r.name).join('+') : datasets[0].name;
  const dir = runDir(o.out, o.resume, 'v1-', runName, o.net.img);
  const ckpt = prepareRunDir(dir, o.resume);
  const cache = createImageCache();
  for (const ds of datasets) decodeUpFront(ds.files, cache, net.img);
  let { cfg, state } = startState(o, net, ckpt);
  const logFile = path.join(dir, 'losses.jsonl');
  const log = readLog<LogLine>(logFile, state.iteration);
  const columns = gridColumns(sets);
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({
    datasets: sets.map((r) => ({
      name: r.name, data: r.train.name, source: r.train.source, kind: r.kind, images: r.train.files.length,
      labels: r.train.attrs, label_counts: labelCounts(r.train), groups: r.train.groups,
    })),
    grid_columns: columns, ...cfg, batch: o.batch, seed: o.seed, backend,
  }, null, 2));
  const iters = cfg.train.numIters;
  for (const r of sets) {
    const counts = labelCounts(r.train);
    console.log(`${o.resume ? 'resuming' : 'training'} StarGAN v1 on ${r.train.name}: ${r.train.files.length} images; ${r.kind === 'multi' ? 'attributes (BCE)' : 'classes (CE)'} ${r.train.attrs.map((a, i) => `${a} (${counts[i]})`).join(', ')}`);
  }
  if (sets.length > 1) console.log(`label vector: ${sets.map((r) => `${r.name} ${r.train.attrs.length}`).join(' | ')} | mask ${sets.length}; per iteration a sub-batch of ${o.batch} from each dataset, in order`);
  console.log(`img ${cfg.net.img}, G ${cfg.net.gConvDim}x${cfg.net.gRepeat} blocks, D ${cfg.net.dConvDim}x${cfg.net.dRepeat} convs, batch ${o.batch}, ${backend}; iteration ${state.iteration} -> ${iters}; output in ${dir}`);
  console.log(`grid columns: ${columns.join(', ')}`);

  const labelNames = sets.flatMap((r) => r.train.attrs);
  const offsets = sets.map((_, k) => sets.slice(0, k).reduce((n, r) => n + r.train.attrs.length, 0));
  const labelGroups = sets.flatMap((r, k) => r.train.groups.map((g) => g.map((i) => i + offsets[k])));
  const save = () => saveCheckpointV1(ckpt, cfg, state, labelNames, labelGroups);
  let lastG: Record<string, number> = {};
  let shown: Record<string, number> = {};
  await runTraining({
    total: iters, dir, ckpt, logFile,
    iteration: () => state.iteration,
    step: () => {
      const batch = labelledBatch(datasets, cache, state.key, o.batch, cfg.net.img, o.flip);
      const gIteration = updatesG(cfg.train, state.iteration);
      try {
        state = advance((st: V1State, b: V1Batch) => stepV1(cfg, st, b), state, batch);
      } finally {
        disposeBatch(batch);
      }
      const losses = lossValuesV1(state.losses);
      if (gIteration) lastG = Object.fromEntries(Object.entries(losses).filter(([n]) => n.includes('G/')));
      shown = { ...lastG, ...losses };
      return { losses: lossSummary(shown, cfg.net) };
    },
    after: (it, elapsed) => {
      if (it % o.logEvery === 0 || it === iters) {
        const line = { iteration: it, elapsed_s: Math.round(elapsed * 10) / 10, ...shown } as LogLine;
        log.push(line);
        fs.appendFileSync(logFile, JSON.stringify(line) + '\n');
      }
      if (it % o.sampleEvery === 0 || it === iters) {
        writeSamples(dir, state, cfg, sets, cache);
        plotLosses(path.join(dir, 'losses.png'), log, cfg.net);
      }
      if (it % o.ckptEvery === 0 || it === iters) save();
    },
    save,
    finish: (ranAny) => {
      if (!ranAny) writeSamples(dir, state, cfg, sets, cache);
      plotLosses(path.join(dir, 'losses.png'), log, cfg.net);
    },
  });
}

runMain('train-stargan-v1', main);
