/**
 * Trains StarGAN v2 on CelebA, CelebA-HQ, AFHQ or any folder of domains, or (with no
 * --data) on an embedded emoji dataset: skin tones (default; paired, so translations are
 * scored against the real emoji on held-out emoji) or vendors. Writes sample grids, a
 * checkpoint, a losses log, held-out metrics and their plot into --out; Ctrl-C saves a
 * checkpoint; --resume continues exactly. With --w-hpf > 0 (CelebA-HQ) the generator gets the
 * sources' face masks in every training pass, as the official solver's FAN masks: face-api's
 * landmarks of each file, found once when the data is loaded (face-landmarks.json in --out).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { advance, disposeParams, key as makeKey } from '../dsl/index.ts';
import { loadCheckpoint, saveCheckpoint } from '../stargan/checkpoints/ours.ts';
import { decoderOf, defaultTrain, emaBetaAt, highPassEverywhere, needsFaceMasks, validateNetConfig, type NetConfig, type TrainConfig } from '../stargan/v2/config.ts';
import { datasetBatch } from '../stargan/data/batch.ts';
import type { Dataset } from '../stargan/data/datasets.ts';
import { EMOJI_VENDORS } from '../stargan/data/emoji.ts';
import { writeStackedPlots, type LossPlotOptions } from '../dsl/io/plot.ts';
import type { PairedDataset } from '../stargan/data/skin-tones.ts';
import { baselines, evaluateHeldOut, loadHeldOut, pairedGrid, type HeldOut } from '../stargan/eval/held-out.ts';
import { createImageCache, decodeUpFront, type ImageCache } from '../stargan/data/sampler.ts';
import { detectLandmarks, landmarkTable, readDetections, writeDetections, type LandmarkTable } from '../stargan/data/face-landmarks.ts';
import { loadFaceNets } from '../stargan/eval/faces.ts';
import { sampleGrids, writeGrid } from '../stargan/samples.ts';
import { adamFor, initTrainState, lossValues, step, type Batch, type StarGANConfig, type TrainState } from '../stargan/v2/step.ts';
import { prepareRunDir, readLog, readRunJson, runDir } from './lib/run-folder.ts';
import { runTraining } from './lib/run-training.ts';
import { explicitNetFields, netConfigFrom, type RunOptions, netFlagSpec, openData, resumeConflict, vendorsFrom } from './lib/v2-options.ts';
import { backendFlag, backendFrom, choiceFlag, intFlag, numFlag, parseFlags, runMain, UserError } from './lib/cli.ts';

const usage = `usage: tsx examples/train-celeba.ts [--data DIR] [options]

Trains StarGAN v2. Data (--data):
  none               embedded emoji (--emoji): tones (default) = 6 domains, the default yellow
                     emoji and 5 skin tones, 60 emoji held out with ground truth (--vendors google);
                     vendors = one domain per vendor (--vendors google,twitter)
  DIR/train/<domain>/*.jpg|png   StarGAN v2 layout (CelebA-HQ, AFHQ); DIR/val/ is used for samples
  DIR/img_align_celeba + DIR/list_attr_celeba.txt   CelebA; domains from --attrs (default Male)

Model:    --img N (64) --base N (official 2^14/img; default 32 at img 64) --max-conv N (256)
          --mapping-hidden N (512) --w-hpf X (0; > 0: face masks from face-api's landmarks, as CelebA-HQ's 1)
          --hpf-mask face|whole (face: the official face masks; whole: the high-pass path on every
            pixel, for images without faces such as the emoji; needs --w-hpf > 0)
          --style-dim N (64) --latent-dim N (16)
          --decoder adain|modconv (adain: the official AdainResBlk; modconv: StyleGAN2 modulated convs)
Training: --batch N (8) --iters N (total iterations, 10000) --lr X (1e-4) --f-lr X (1e-6)
          --lambda-reg X (1) --lambda-sty X (1) --lambda-ds X (1) --lambda-cyc X (1)
          --ds-iter N (iterations for lambda_ds to decay to 0; 100000) --seed N (0)
          --ema-beta X (0.999) --ema-rampup X (EMA half-life ramp-up as StyleGAN2-ADA, e.g. 0.05; 0 = off)
          --lr-decay-start N --lr-decay-iters N (lr and f-lr fall linearly to 0 over N iterations from
            iteration N, as pix2pix's n_epochs_decay; default off, the official constant lr)
          --no-augment (no random resized crop / flip; --augment: back on when resuming such a run)
Output:   --out DIR (runs/<dataset>-img<N>-<date>-<time>) --sample-every N (500) --ckpt-every N (500) --log-every N (10)
          --resume (continue the run in --out from its checkpoint, exactly; training flags given
            with it replace the checkpoint's, e.g. a late lr decay, and are saved with it)
          --eval-every N (paired error on the held-out skin-tone emoji; default --sample-every; 0 = off)
Other:    --backend wasm|cpu (wasm) --threads N (wasm threads, 1; 2 pays off from img 64 / base 32) --vendors google,twitter --help
CelebA:   --attrs A,B (Male) --test-size N (images held out for samples, 2000)

In --out: checkpoint.safetensors, losses.jsonl, losses.png, samples/<iteration>_{cycle,latent,reference,interpolation}.png;
with skin tones also metrics.jsonl (plotted under the losses in losses.png) and samples/<iteration>_paired.png.
Ctrl-C saves a checkpoint and exits (code 130); run again with --resume to continue.`;

const flags = {
  data: { type: 'string' }, attrs: { type: 'string' }, 'test-size': { type: 'string' }, vendors: { type: 'string' }, emoji: { type: 'string' },
  ...netFlagSpec,
  batch: { type: 'string' }, iters: { type: 'string' }, lr: { type: 'string' }, 'f-lr': { type: 'string' },
  'lambda-reg': { type: 'string' }, 'lambda-sty': { type: 'string' }, 'lambda-ds': { type: 'string' }, 'lambda-cyc': { type: 'string' },
  'ds-iter': { type: 'string' }, seed: { type: 'string' }, 'no-augment': { type: 'boolean' }, augment: { type: 'boolean' },
  'ema-beta': { type: 'string' }, 'ema-rampup': { type: 'string' }, 'eval-every': { type: 'string' },
  'lr-decay-start': { type: 'string' }, 'lr-decay-iters': { type: 'string' },
  out: { type: 'string' }, 'sample-every': { type: 'string' }, 'ckpt-every': { type: 'string' }, 'log-every': { type: 'string' },
  resume: { type: 'boolean' }, ...backendFlag,
} as const;

type Values = ReturnType<typeof parseFlags<typeof flags>>['values'];

interface Options extends RunOptions {
  readonly emoji: 'tones' | 'vendors';
  readonly net: NetConfig;
  readonly train: TrainConfig;
  readonly iters: number;
  /** Iterations between held-out evaluations; 0 = none. */
  readonly evalEvery: number;
  /** Training fields given explicitly (they replace a resumed checkpoint's). */
  readonly explicitTrain: (keyof TrainConfig)[];
  /** Run settings given explicitly (they replace a resumed run's run.json). */
  readonly explicitRun: RunField[];
}

const trainFlagNames: [keyof TrainConfig, keyof Values][] = [
  ['lr', 'lr'], ['fLr', 'f-lr'], ['lambdaReg', 'lambda-reg'], ['lambdaSty', 'lambda-sty'], ['lambdaDs', 'lambda-ds'],
  ['lambdaCyc', 'lambda-cyc'], ['dsIter', 'ds-iter'], ['emaBeta', 'ema-beta'], ['emaRampup', 'ema-rampup'],
  ['lrDecayStart', 'lr-decay-start'], ['lrDecayIters', 'lr-decay-iters'],
];

function options(v: Values): Options {
  const net = netConfigFrom(v);
  const iters = intFlag('iters', v.iters, 10_000);
  const train: TrainConfig = {
    ...defaultTrain,
    lr: numFlag('lr', v.lr, defaultTrain.lr), fLr: numFlag('f-lr', v['f-lr'], defaultTrain.fLr),
    lambdaReg: numFlag('lambda-reg', v['lambda-reg'], 1), lambdaSty: numFlag('lambda-sty', v['lambda-sty'], 1),
    lambdaDs: numFlag('lambda-ds', v['lambda-ds'], 1), lambdaCyc: numFlag('lambda-cyc', v['lambda-cyc'], 1),
    dsIter: intFlag('ds-iter', v['ds-iter'], defaultTrain.dsIter),
    emaBeta: numFlag('ema-beta', v['ema-beta'], defaultTrain.emaBeta), emaRampup: numFlag('ema-rampup', v['ema-rampup'], 0),
    lrDecayStart: intFlag('lr-decay-start', v['lr-decay-start'], 0, 0), lrDecayIters: intFlag('lr-decay-iters', v['lr-decay-iters'], 0, 0),
  };
  if (train.emaBeta > 1) throw new UserError(`--ema-beta must be in 0..1, got '${v['ema-beta']}'`, 2);
  const emoji = choiceFlag('emoji', v.emoji, ['tones', 'vendors'] as const, 'tones');
  const vendors = vendorsFrom(v.vendors, emoji === 'tones' ? ['google'] : EMOJI_VENDORS, emoji === 'vendors' ? 2 : 1, 'with --emoji vendors (one domain each)');
  const paired = !v.data && emoji === 'tones';
  const sampleEvery = intFlag('sample-every', v['sample-every'], 500);
  if (v['eval-every'] !== undefined && v['eval-every'] !== '0' && !paired) {
    throw new UserError(`--eval-every needs data with ground truth: the skin-tone emoji (no --data, --emoji tones)${v.data ? `, not --data ${v.data}` : ''}`, 2);
  }
  return {
    data: v.data, testSize: intFlag('test-size', v['test-size'], 2000, 0), attrs: (v.attrs ?? 'Male').split(',').map((s) => s.trim()).filter(Boolean), emoji, vendors, net, train,
    batch: intFlag('batch', v.batch, 8, 1, 1024), iters, seed: intFlag('seed', v.seed, 0, 0, 2 ** 32 - 1),
    augment: augmentFlag(v), out: v.out,
    sampleEvery, ckptEvery: intFlag('ckpt-every', v['ckpt-every'], 500),
    logEvery: intFlag('log-every', v['log-every'], 10), evalEvery: paired ? intFlag('eval-every', v['eval-every'], sampleEvery, 0) : 0,
    resume: Boolean(v.resume),
    explicitNet: explicitNetFields(v),
    explicitTrain: trainFlagNames.filter(([, flag]) => v[flag] !== undefined).map(([k]) => k),
    explicitRun: runFlagNames.filter(([, flags]) => flags.some((f) => v[f] !== undefined)).map(([k]) => k),
  };
}

function augmentFlag(v: Values): boolean {
  if (v.augment && v['no-augment']) throw new UserError('--augment and --no-augment contradict each other', 2);
  return !v['no-augment'];
}

/** What a run folder's run.json holds besides the networks' and training configs (which the checkpoint holds), and their flags. */
type RunField = 'batch' | 'seed' | 'augment';
const runFlagNames: [RunField, (keyof Values)[]][] = [['batch', ['batch']], ['seed', ['seed']], ['augment', ['augment', 'no-augment']]];

/**
 * On resume, the batch size, seed (the evaluation's latents and the grids) and augmentation the run
 * had (its run.json), unless given again: a change is said, as for the training flags.
 */
function resumedRunOptions(o: Options, dir: string): Options {
  const file = path.join(dir, 'run.json');
  if (!o.resume || !fs.existsSync(file)) return o;
  const saved = readRunJson<Partial<Pick<Options, RunField>>>(file);
  const known = runFlagNames.map(([k]) => k).filter((k) => saved[k] !== undefined);
  const changed = known.filter((k) => o.explicitRun.includes(k) && saved[k] !== o[k]);
  if (changed.length > 0) console.log(`run settings changed on resume: ${changed.map((k) => `${k} ${saved[k]} -> ${o[k]}`).join(', ')}`);
  return { ...o, ...Object.fromEntries(known.filter((k) => !o.explicitRun.includes(k)).map((k) => [k, saved[k]])) };
}

/**
 * The training state: fresh, or restored from the run's checkpoint (whose config then wins, but
 * for the training flags given explicitly: a schedule may change on resume, and says so).
 */
function startState(o: Options, net: NetConfig, ckpt: string): { cfg: StarGANConfig; state: TrainState } {
  if (!o.resume) {
    const cfg = { net, train: o.train };
    return { cfg, state: initTrainState(makeKey(o.seed), cfg) };
  }
  const loaded = loadCheckpoint(ckpt);
  const conflict = resumeConflict(loaded.cfg.net, net, o.explicitNet);
  if (conflict) {
    disposeParams(loaded.state);
    throw new UserError(`${ckpt}: ${conflict}`);
  }
  const changed = o.explicitTrain.filter((k) => loaded.cfg.train[k] !== o.train[k]);
  if (changed.length === 0) return loaded;
  console.log(`training config changed on resume: ${changed.map((k) => `${k} ${loaded.cfg.train[k] ?? 'unset'} -> ${o.train[k]}`).join(', ')}`);
  const train = { ...loaded.cfg.train, ...Object.fromEntries(changed.map((k) => [k, o.train[k]])) };
  return { ...loaded, cfg: { ...loaded.cfg, train } };
}

interface LogLine { iteration: number; elapsed_s: number; [loss: string]: number }

/** The losses, and under them the held-out metrics when there are any, in one PNG. */
function plotLosses(file: string, log: LogLine[], metrics: LogLine[] = []): void {
  if (log.length < 2) return;
  const series: Record<string, number[]> = {};
  for (const name of ['D/latent', 'D/ref', 'G/latent', 'G/ref', 'D/latent_reg', 'G/latent_sty', 'G/latent_ds', 'G/latent_cyc']) {
    if (log.some((l) => l[name] !== undefined)) series[name] = log.map((l) => l[name] ?? NaN);
  }
  const panels: { series: Record<string, number[]>; opts: LossPlotOptions }[] = [
    { series, opts: { title: 'StarGAN v2 losses', xStart: log[0].iteration, xStep: log.length > 1 ? log[1].iteration - log[0].iteration : 1 } },
  ];
  if (metrics.length > 0) {
    const m = (k: string) => metrics.map((l) => l[k] ?? NaN);
    panels.push({
      series: {
        'latent-guided': m('latent'), 'reference-guided': m('ref'), 'latent, in region': m('latent_inside'),
        'source as is': m('identity'), 'source as is, in region': m('identity_inside'),
        'source + mean shift, in region': m('mean_shift_inside'),
      },
      // "in region": pixels the translation must change (where the source and the target tone differ).
      opts: { title: 'held-out emoji: mean L1 to the real emoji in the target tone (EMA G)', x: metrics.map((l) => l.iteration), smooth: 0, robust: false },
    });
  }
  writeStackedPlots(file, panels);
}

/** One line of metrics.jsonl: the EMA networks' paired errors on the held-out set, and the baseline. */
function evaluate(s: TrainState, cfg: StarGANConfig, set: HeldOut, domains: readonly string[], seed: number, elapsed: number): LogLine {
  const t = performance.now();
  const r = evaluateHeldOut(s.ema, set, cfg.net.latentDim, cfg.net, makeKey(seed + 0xe7a1));
  const base = baselines(set);
  const round = (v: number) => Math.round(v * 1e5) / 1e5;
  return {
    iteration: s.iteration, elapsed_s: Math.round(elapsed * 10) / 10, eval_s: Math.round((performance.now() - t) / 100) / 10,
    cpu_s: Math.round((process.cpuUsage().user + process.cpuUsage().system) / 1e5) / 10, // this process's CPU time: what the run costs on a machine shared with others
    ema_beta: emaBetaAt(cfg.train, Math.max(0, s.iteration - 1)),
    lr: adamFor(cfg.train, 'generator', Math.max(0, s.iteration - 1)).lr,
    latent: round(r.latent.all), latent_inside: round(r.latent.inside), latent_outside: round(r.latent.outside),
    ref: round(r.ref.all), ref_inside: round(r.ref.inside), ref_outside: round(r.ref.outside),
    latent_outside_background: round(r.latentOutside.background), latent_outside_drawing: round(r.latentOutside.drawing),
    to_source: round(r.toSource.all), to_source_background: round(r.toSource.background), to_source_drawing: round(r.toSource.drawing),
    ...Object.fromEntries(r.latentPerTarget.map((v, i) => [`latent_to_${domains[set.targets[i].domain]}`, round(v)])),
    identity: round(base.identity.all), identity_inside: round(base.identity.inside), identity_outside: round(base.identity.outside),
    mean_shift: round(base.meanShift.all), mean_shift_inside: round(base.meanShift.inside), mean_shift_outside: round(base.meanShift.outside),
    domain_mean: round(base.domainMean.all), domain_mean_inside: round(base.domainMean.inside), domain_mean_outside: round(base.domainMean.outside),
  };
}

/**
 * The training files' face landmarks for w_hpf > 0: read from the run folder, else found by face-api
 * (once, with a progress line) and written there. Misses get the found faces' mean shape.
 */
async function faceLandmarks(files: readonly string[], cacheFile: string): Promise<LandmarkTable> {
  let d = readDetections(cacheFile);
  if (!d || files.some((f) => !d!.has(f))) {
    const nets = await loadFaceNets();
    const t0 = performance.now();
    d = await detectLandmarks(files, nets, (k) => {
      if (k % 50 === 0 || k === files.length) process.stdout.write(`\rface landmarks (face-api, once per image): ${k}/${files.length}, ${((performance.now() - t0) / 1000).toFixed(0)} s`);
    });
    process.stdout.write('\n');
    writeDetections(cacheFile, d);
  }
  try {
    const { table, found, missed } = landmarkTable(d);
    console.log(`face masks (w_hpf > 0): face-api found a face in ${found}/${d.size} training images${missed.length ? `; the other ${missed.length} get the found faces' mean landmarks (e.g. ${missed[0]})` : ''}`);
    return table;
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}

/** Writes the four sample grids for the current EMA networks on a fixed set of sample images. */
function writeSamples(dir: string, s: TrainState, cfg: StarGANConfig, ds: Dataset, cache: ImageCache, seed: number, heldOut?: HeldOut): string[] {
  const k = makeKey(seed + 0x5eed);
  const n = Math.min(6, Math.max(2, ds.domains.length * 2));
  return tf.tidy(() => {
    const grids = {
      ...sampleGrids(s.ema, cfg.net, datasetBatch(ds, cache, k, cfg.net, n, false), k, s.iteration),
      ...(heldOut ? { paired: pairedGrid(s.ema, heldOut, cfg.net.latentDim, cfg.net, makeKey(seed + 0xe7a1)) } : {}),
    };
    return Object.entries(grids).map(([kind, g]) => {
      const name = path.join(dir, 'samples', `${String(s.iteration).padStart(6, '0')}_${kind}.png`);
      writeGrid(name, g, cfg.net.img);
      return name;
    });
  });
}

function lossSummary(l: Record<string, number | undefined>): string {
  return ['D/latent', 'D/ref', 'G/latent', 'G/ref'].map((n) => `${n.replace('/latent', '/lat')} ${(l[n] ?? NaN).toFixed(3)}`).join(' ');
}

async function main(): Promise<void> {
  const { values } = parseFlags(flags, usage);
  let o = options(values);
  const backend = await backendFrom(values.backend, values.threads);
  const { train: ds, samples } = openData(o);
  const net = { ...o.net, domains: ds.domains.length };
  const invalid = validateNetConfig(net);
  if (invalid._tag === 'Left') throw new UserError(invalid.left, 2);
  const dir = runDir(o.out, o.resume, '', ds.name, o.net.img);
  const ckpt = prepareRunDir(dir, o.resume);
  o = resumedRunOptions(o, dir);
  const cache = createImageCache();
  decodeUpFront(ds.files.flat(), cache, net.img);
  let { cfg, state } = startState(o, net, ckpt);
  const landmarks = needsFaceMasks(cfg.net) ? await faceLandmarks(ds.files.flat(), path.join(dir, 'face-landmarks.json')) : undefined;
  const logFile = path.join(dir, 'losses.jsonl');
  const log = readLog<LogLine>(logFile, state.iteration);
  const metricsFile = path.join(dir, 'metrics.jsonl');
  const metrics = readLog<LogLine>(metricsFile, state.iteration);
  const heldOut = o.evalEvery > 0 || (!o.data && o.emoji === 'tones') ? loadHeldOut(samples as PairedDataset, ds, cfg.net.img) : undefined;
  fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ dataset: ds.name, source: ds.source, domains: ds.domains, images: ds.files.map((f) => f.length), ...(heldOut ? { held_out: (samples as PairedDataset).items } : {}), ...cfg, batch: o.batch, seed: o.seed, augment: o.augment, backend }, null, 2));
  console.log(`${o.resume ? 'resuming' : 'training'} StarGAN v2 on ${ds.name}: ${ds.domains.map((d, i) => `${d} (${ds.files[i].length})`).join(', ')}`);
  console.log(`img ${cfg.net.img}, base ${cfg.net.base}, max ${cfg.net.maxConv}, ${decoderOf(cfg.net)} decoder${cfg.net.wHpf > 0 ? `, w_hpf ${cfg.net.wHpf} (${highPassEverywhere(cfg.net) ? 'every pixel' : 'face masks'})` : ''}, batch ${o.batch}, ${backend}; iteration ${state.iteration} -> ${o.iters}; output in ${dir}`);

  const save = () => saveCheckpoint(ckpt, cfg, state, ds.domains);
  let heldoutText = '';
  let losses: ReturnType<typeof lossValues> = {}; // this iteration's, read from the tensors once
  const evalNow = (elapsed: number) => {
    if (!heldOut || o.evalEvery === 0) return;
    const line = evaluate(state, cfg, heldOut, ds.domains, o.seed, elapsed);
    metrics.push(line);
    fs.appendFileSync(metricsFile, JSON.stringify(line) + '\n');
    heldoutText = ` | held-out L1 ${line.latent.toFixed(3)} (unchanged ${line.identity.toFixed(3)})`;
  };
  if (state.iteration === 0 && !metrics.some((l) => l.iteration === 0)) evalNow(0);
  const t0 = performance.now();
  await runTraining({
    total: o.iters, dir, ckpt, logFile, save,
    iteration: () => state.iteration,
    step: () => {
      const batch = datasetBatch(ds, cache, state.key, cfg.net, o.batch, o.augment, landmarks);
      state = advance((st: TrainState, b: Batch) => step(cfg, st, b), state, batch);
      tf.dispose(Object.values(batch));
      const it = state.iteration;
      // Evaluated before the bar redraws, so the bar shows this iteration's held-out error.
      if (o.evalEvery > 0 && (it % o.evalEvery === 0 || it === o.iters)) evalNow((performance.now() - t0) / 1000);
      losses = lossValues(state.losses);
      return { losses: lossSummary(losses) + heldoutText };
    },
    after: (it, elapsed) => {
      if (it % o.logEvery === 0 || it === o.iters) {
        const line = { iteration: it, elapsed_s: Math.round(elapsed * 10) / 10, ...losses } as LogLine;
        log.push(line);
        fs.appendFileSync(logFile, JSON.stringify(line) + '\n');
      }
      if (it % o.sampleEvery === 0 || it === o.iters) {
        writeSamples(dir, state, cfg, samples, cache, o.seed, heldOut);
        plotLosses(path.join(dir, 'losses.png'), log, metrics);
      }
      if (it % o.ckptEvery === 0 || it === o.iters) save();
    },
    finish: (ranAny) => {
      if (!ranAny) writeSamples(dir, state, cfg, samples, cache, o.seed, heldOut);
      plotLosses(path.join(dir, 'losses.png'), log, metrics);
    },
  });
  const last = metrics[metrics.length - 1];
  if (last) {
    console.log(`  held-out    ${metricsFile}: mean L1 of the EMA G's translations to the real emoji in the target tone, ${last.latent.toFixed(3)} latent-guided, ${last.ref.toFixed(3)} reference-guided`);
    console.log(`              (${last.latent_inside.toFixed(3)} inside the changed region; baselines: the source as is ${last.identity.toFixed(3)} (${last.identity_inside.toFixed(3)} inside), the source + the tones' mean difference ${last.mean_shift.toFixed(3)} (${last.mean_shift_inside.toFixed(3)} inside))`);
  }
}

runMain('train-celeba', main);
