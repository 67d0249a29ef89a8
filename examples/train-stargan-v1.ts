/**
 * Trains StarGAN v1 (one generator conditioned on a label vector) on CelebA's attributes, a
 * folder of single-label domains, or (with no --data) the embedded people emoji with their
 * gender, skin-tone and vendor labels. Writes sample grids, a checkpoint, a losses log and its
 * plot into --out; Ctrl-C saves a checkpoint and exits 130; --resume continues exactly.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import * as tf from '@tensorflow/tfjs-core';
import { advance, disposeParams, key as makeKey } from '../dsl/index.ts';
import { writeLossPlot } from '../dsl/io/plot.ts';
import { configDiffV1, loadCheckpointV1, saveCheckpointV1 } from '../stargan/checkpoints/v1.ts';
import { CELEBA_DEFAULT_ATTRS, domainFolders } from '../stargan/data/datasets.ts';
import { EMOJI_VENDORS, type EmojiVendor } from '../stargan/data/emoji.ts';
import { emojiPeople } from '../stargan/data/emoji-people.ts';
import { celebaLabelled, domainsAsLabels, labelCounts, labelsOf, type LabelledDataset } from '../stargan/data/labelled.ts';
import { createImageCache, decodeUpFront, type ImageCache } from '../stargan/data/sampler.ts';
import { writeGrid } from '../stargan/samples.ts';
import { disposeBatch, labelledBatch, labelledSubBatch } from '../stargan/v1/batch.ts';
import {
  defaultTrainV1, validateV1NetConfig, validateV1TrainConfig, type V1NetConfig, type V1TrainConfig,
} from '../stargan/v1/config.ts';
import { attributeGrid } from '../stargan/v1/samples.ts';
import { initStateV1, lossValuesV1, stepV1, updatesG, type V1Batch, type V1Config, type V1State } from '../stargan/v1/step.ts';
import { prepareRunDir, readLog, runDir } from './lib/run-folder.ts';
import { backendFlag, backendFrom, intFlag, numFlag, parseFlags, runMain, UserError } from './lib/cli.ts';

const usage = `usage: tsx examples/train-stargan-v1.ts [--data DIR] [options]

Trains StarGAN v1. Data (--data):
  none               the embedded people emoji (--vendors google,twitter): labels Male, Female,
                     Light_Skin, Medium_Skin, Dark_Skin and one per vendor, from emoji.json
  DIR/img_align_celeba + DIR/list_attr_celeba.txt   CelebA; labels from --attrs
                     (default ${CELEBA_DEFAULT_ATTRS.join(',')}); samples from the held-out split
  DIR/train/<domain>/*.jpg|png   single-label domains (RaFD-like, cross-entropy)

Model:    --img N (64 for emoji, 128 otherwise) --g-conv-dim N (64) --d-conv-dim N (64)
          --g-repeat N (residual blocks, 6) --d-repeat N (strided D convs; default log2(img) - 1, i.e. 6 at 128)
Training: --batch N (16) --iters N (total iterations, 20000) --iters-decay N (lr decays linearly to 0
          over the last N; default iters/2) --lr-update-step N (iters-decay/100) --g-lr X (1e-4) --d-lr X (1e-4)
          --beta1 X (0.5) --beta2 X (0.999) --n-critic N (5) --lambda-cls X (1) --lambda-rec X (10)
          --lambda-gp X (10) --seed N (0) --no-flip (no random horizontal flip)
Output:   --out DIR (runs/v1-<dataset>-img<N>-<date>-<time>) --sample-every N (500) --ckpt-every N (500)
          --log-every N (10) --resume (continue the run in --out from its checkpoint, exactly)
Other:    --backend wasm|cpu (wasm) --threads N (wasm threads, 1) --vendors google,twitter --no-yellow
          (emoji: only the skin-toned variants) --attrs A,B,... --test-size N (CelebA held out, 2000) --help

In --out: checkpoint.safetensors (G.*, D.* under the official names), losses.jsonl, losses.png,
samples/<iteration>.png (each row: a source, then one column per label, set or flipped; the
column order is printed at the start and stored in run.json).
Ctrl-C saves a checkpoint and exits (code 130); run again with --resume to continue.`;

const flags = {
  data: { type: 'string' }, attrs: { type: 'string' }, 'test-size': { type: 'string' }, vendors: { type: 'string' }, 'no-yellow': { type: 'boolean' },
  img: { type: 'string' }, 'g-conv-dim': { type: 'string' }, 'd-conv-dim': { type: 'string' }, 'g-repeat': { type: 'string' }, 'd-repeat': { type: 'string' },
  batch: { type: 'string' }, iters: { type: 'string' }, 'iters-decay': { type: 'string' }, 'lr-update-step': { type: 'string' },
  'g-lr': { type: 'string' }, 'd-lr': { type: 'string' }, beta1: { type: 'string' }, beta2: { type: 'string' }, 'n-critic': { type: 'string' },
  'lambda-cls': { type: 'string' }, 'lambda-rec': { type: 'string' }, 'lambda-gp': { type: 'string' }, seed: { type: 'string' }, 'no-flip': { type: 'boolean' },
  out: { type: 'string' }, 'sample-every': { type: 'string' }, 'ckpt-every': { type: 'string' }, 'log-every': { type: 'string' },
  resume: { type: 'boolean' }, ...backendFlag,
} as const;

type Values = ReturnType<typeof parseFlags<typeof flags>>['values'];

interface Options {
  readonly data?: string;
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
  /** Network flags the user gave explicitly (checked against a resumed checkpoint). */
  readonly explicitNet: (keyof V1NetConfig)[];
}

const netFlags: [keyof V1NetConfig, string][] = [
  ['img', 'img'], ['gConvDim', 'g-conv-dim'], ['dConvDim', 'd-conv-dim'], ['gRepeat', 'g-repeat'], ['dRepeat', 'd-repeat'],
];

function options(v: Values): Options {
  const img = intFlag('img', v.img, v.data ? 128 : 64, 8, 1024);
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
    data: v.data, testSize: intFlag('test-size', v['test-size'], 2000, 0),
    attrs: (v.attrs ?? CELEBA_DEFAULT_ATTRS.join(',')).split(',').map((s) => s.trim()).filter(Boolean),
    vendors, yellow: !v['no-yellow'], net, train,
    batch: intFlag('batch', v.batch, 16, 1, 1024), seed: intFlag('seed', v.seed, 0, 0, 2 ** 32 - 1),
    flip: !v['no-flip'], out: v.out,
    sampleEvery: intFlag('sample-every', v['sample-every'], 500), ckptEvery: intFlag('ckpt-every', v['ckpt-every'], 500),
    logEvery: intFlag('log-every', v['log-every'], 10), resume: Boolean(v.resume),
    explicitNet: netFlags.filter(([, flag]) => v[flag as keyof Values] !== undefined).map(([k]) => k),
  };
}

interface RunData {
  readonly train: LabelledDataset;
  readonly samples: LabelledDataset;
  /** `multi` for attribute vectors (BCE), `single` for one-hot domains (CE). */
  readonly kind: 'multi' | 'single';
}

/** The run's data; a problem with it is the user's to fix (one line, exit 1). */
function openData(o: Options): RunData {
  try {
    if (!o.data) {
      const ds = emojiPeople({ vendors: o.vendors, yellow: o.yellow });
      return { train: ds, samples: ds, kind: 'multi' };
    }
    if (!fs.existsSync(o.data)) throw new Error(`--data ${o.data}: no such folder`);
    if (fs.existsSync(path.join(o.data, 'list_attr_celeba.txt'))) {
      const train = celebaLabelled(o.data, o.attrs, { testSize: o.testSize });
      const test = celebaLabelled(o.data, o.attrs, { split: 'test', testSize: o.testSize });
      return { train, samples: test.files.length > 0 ? test : train, kind: 'multi' };
    }
    const train = domainsAsLabels(domainFolders(o.data, 'train'));
    const val = fs.existsSync(path.join(o.data, 'val')) ? domainsAsLabels(domainFolders(o.data, 'val')) : train;
    if (val.attrs.join() !== train.attrs.join()) throw new Error(`${o.data}: val/ domains (${val.attrs.join(', ')}) differ from train/ domains (${train.attrs.join(', ')})`);
    return { train, samples: val, kind: 'single' };
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

/** The training state: fresh, or restored from the run's checkpoint (whose configs then win). */
function startState(o: Options, net: V1NetConfig, ckpt: string): { cfg: V1Config; state: V1State } {
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
    throw new UserError(`${ckpt}: checkpoint from a different config (requested ${diff.replace(/(\S+) (\S+) vs (\S+)/g, '$1 $2, checkpoint has $3')}); drop the conflicting flags or use another --out`);
  }
  return loaded;
}

interface LogLine { iteration: number; elapsed_s: number; [loss: string]: number }

const plotted = ['D/loss_real', 'D/loss_fake', 'D/loss_cls', 'D/loss_gp', 'G/loss_fake', 'G/loss_rec', 'G/loss_cls'];

function plotLosses(file: string, log: LogLine[]): void {
  if (log.length < 2) return;
  const series: Record<string, number[]> = {};
  for (const name of plotted) if (log.some((l) => l[name] !== undefined)) series[name] = log.map((l) => l[name] ?? NaN);
  writeLossPlot(file, series, { title: 'StarGAN v1 losses', xStart: log[0].iteration, xStep: log[1].iteration - log[0].iteration });
}

/** Fixed sample sources: n images spread evenly over the dataset (for the emoji: different emoji, tones and vendors). */
function sampleIndices(ds: LabelledDataset, n: number): number[] {
  const m = Math.min(n, ds.files.length);
  return Array.from({ length: m }, (_, i) => Math.floor((i * ds.files.length) / m) + (i % 3));
}

/** Writes the attribute grid of the current G on the fixed sample images. */
function writeSamples(dir: string, s: V1State, cfg: V1Config, ds: LabelledDataset, cache: ImageCache): string {
  const indices = sampleIndices(ds, 8).filter((i) => i < ds.files.length);
  const file = path.join(dir, 'samples', `${String(s.iteration).padStart(6, '0')}.png`);
  tf.tidy(() => {
    const b = labelledSubBatch(ds, 0, cache, makeKey(0), indices.length, cfg.net.img, false, indices);
    writeGrid(file, attributeGrid(s.nets.G, cfg.net, 0, b.x, indices.map((i) => labelsOf(ds, i)), ds.groups), cfg.net.img);
  });
  return file;
}

function lossSummary(l: Record<string, number | undefined>): string {
  const f = (n: string, label: string) => `${label} ${(l[n] ?? NaN).toFixed(3)}`;
  return [f('D/loss', 'D'), f('D/loss_gp', 'gp'), f('D/loss_cls', 'Dcls'), f('G/loss_rec', 'rec'), f('G/loss_cls', 'Gcls')].join(' ');
}

async function main(): Promise<void> {
  const { values } = parseFlags(flags, usage);
  const o = options(values);
  const backend = await backendFrom(values.backend, values.threads);
  const { train: ds, samples, kind } = openData(o);
  const net: V1NetConfig = { ...o.net, datasets: [{ name: ds.name.split('/')[0], size: ds.attrs.length, kind }] };
  const invalid = validateV1NetConfig(net);
  if (invalid._tag === 'Left') throw new UserError(invalid.left, 2);
  const dir = runDir(o.out, o.resume, 'v1-', ds.name, o.net.img);
  const ckpt = prepareRunDir(dir, o.resume);
  const cache = createImageCache();
  decodeUpFront(ds.files, cache, net.img);
  let { cfg, state } = startState(o, net, ckpt);
  const logFile = path.join(dir, 'losses.jsonl');
  const log = readLog<LogLine>(logFile, state.iteration);
  const counts = labelCounts(ds);
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({
    dataset: ds.name, source: ds.source, images: ds.files.length, labels: ds.attrs, label_counts: counts, groups: ds.groups,
    grid_columns: ['source', ...ds.attrs], ...cfg, batch: o.batch, seed: o.seed, backend,
  }, null, 2));
  const iters = cfg.train.numIters;
  console.log(`${o.resume ? 'resuming' : 'training'} StarGAN v1 on ${ds.name}: ${ds.files.length} images; labels ${ds.attrs.map((a, i) => `${a} (${counts[i]})`).join(', ')}`);
  console.log(`img ${cfg.net.img}, G ${cfg.net.gConvDim}x${cfg.net.gRepeat} blocks, D ${cfg.net.dConvDim}x${cfg.net.dRepeat} convs, batch ${o.batch}, ${backend}; iteration ${state.iteration} -> ${iters}; output in ${dir}`);
  console.log(`grid columns: source, ${ds.attrs.join(', ')}`);

  let interrupted = false;
  process.once('SIGINT', () => { interrupted = true; });
  const save = () => saveCheckpointV1(ckpt, cfg, state, ds.attrs);
  const bar = new cliProgress.SingleBar({
    format: '{bar} {value}/{total} | {rate} it/s | ETA {eta_formatted} | {losses}',
    etaBuffer: 20, hideCursor: true, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 30_000,
  }, cliProgress.Presets.shades_classic);
  bar.start(iters, state.iteration, { rate: '-', losses: '' });
  const t0 = performance.now();
  const startIter = state.iteration;
  let lastG: Record<string, number> = {};
  try {
    while (state.iteration < iters && !interrupted) {
      const batch = labelledBatch([ds], cache, state.key, o.batch, cfg.net.img, o.flip);
      const gIteration = updatesG(cfg.train, state.iteration);
      state = advance((st: V1State, b: V1Batch) => stepV1(cfg, st, b), state, batch);
      disposeBatch(batch);
      const it = state.iteration;
      const losses = lossValuesV1(state.losses);
      if (gIteration) lastG = Object.fromEntries(Object.entries(losses).filter(([n]) => n.startsWith('G/')));
      const shown = { ...lastG, ...losses };
      const elapsed = (performance.now() - t0) / 1000;
      bar.update(it, { rate: ((it - startIter) / elapsed).toFixed(2), losses: lossSummary(shown) });
      if (it % o.logEvery === 0 || it === iters) {
        const line = { iteration: it, elapsed_s: Math.round(elapsed * 10) / 10, ...shown } as LogLine;
        log.push(line);
        fs.appendFileSync(logFile, JSON.stringify(line) + '\n');
      }
      if (it % o.sampleEvery === 0 || it === iters) {
        writeSamples(dir, state, cfg, samples, cache);
        plotLosses(path.join(dir, 'losses.png'), log);
      }
      if (it % o.ckptEvery === 0 || it === iters) save();
      await new Promise((r) => setImmediate(r)); // lets Ctrl-C be seen between iterations
    }
  } catch (e) {
    bar.stop();
    if (state.iteration === startIter) throw e;
    save(); // the state is consistent: the failed iteration had not started updating it
    throw new UserError(`${(e as Error).message.split('\n')[0]} (checkpoint saved at iteration ${state.iteration}: rerun with --resume)`);
  }
  bar.stop();
  if (interrupted) {
    save();
    console.log(`interrupted at iteration ${state.iteration}; checkpoint saved to ${ckpt}; continue with --resume --out ${dir}`);
    process.exit(130);
  }
  if (state.iteration === startIter) writeSamples(dir, state, cfg, samples, cache);
  plotLosses(path.join(dir, 'losses.png'), log);
  console.log(`done: iteration ${state.iteration}. Output folder: ${path.resolve(dir)}`);
  console.log(`  checkpoint  ${ckpt}\n  losses      ${logFile}, ${path.join(dir, 'losses.png')}\n  grids       ${path.join(dir, 'samples')}/`);
}

runMain('train-stargan-v1', main);
