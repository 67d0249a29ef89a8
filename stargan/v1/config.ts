/**
 * StarGAN v1 configuration (REFERENCE section 4; yunjey/stargan `main.py`). The network shape
 * and the training hyperparameters are separate records: a checkpoint must match the first.
 *
 * Label layout. A run trains on one or more labelled datasets; each has `size` labels, either
 * several binary attributes at once (`multi`, CelebA: BCE) or exactly one class (`single`,
 * RaFD: CE). The label vector G reads is the datasets' labels concatenated, followed, when
 * there is more than one dataset, by a one-hot mask saying which dataset a sample comes from:
 * `[CelebA labels | RaFD labels | mask]` (the official `c_dim + c2_dim + 2`). D classifies
 * into the concatenated labels without the mask.
 */
import * as E from 'fp-ts/lib/Either.js';

/** One dataset's labels. */
export interface LabelSet {
  /** Name for logs (`CelebA`, `RaFD`, `emoji-people`). */
  readonly name: string;
  /** Number of labels (official CelebA 5, RaFD 8). */
  readonly size: number;
  /** `multi`: independent binary attributes (BCE); `single`: one class of `size` (CE). */
  readonly kind: 'multi' | 'single';
}

export interface V1NetConfig {
  /** Image size (official 128). Must be a multiple of 2^dRepeat (and of 4, for G's two halvings). */
  readonly img: number;
  /** Channels of G's first conv (official 64). */
  readonly gConvDim: number;
  /** Channels of D's first conv (official 64). */
  readonly dConvDim: number;
  /** Residual blocks in G (official 6). */
  readonly gRepeat: number;
  /** Stride-2 convs in D (official 6): D_src is an (img / 2^dRepeat)^2 map. */
  readonly dRepeat: number;
  /** The labelled datasets, in label-vector order. */
  readonly datasets: readonly LabelSet[];
}

export interface V1TrainConfig {
  readonly lambdaCls: number;
  readonly lambdaRec: number;
  readonly lambdaGp: number;
  readonly gLr: number;
  readonly dLr: number;
  readonly beta1: number;
  readonly beta2: number;
  /** D updates per G update: G is updated at iterations i with (i + 1) % nCritic == 0. */
  readonly nCritic: number;
  /** Total iterations (official 200k). */
  readonly numIters: number;
  /** The lr decays linearly to 0 over the last numItersDecay iterations (official 100k)... */
  readonly numItersDecay: number;
  /** ...in steps, once every lrUpdateStep iterations (official 1000). */
  readonly lrUpdateStep: number;
}

/** The official CelebA model: img 128, 64 channels, 6 residual blocks, 6 D convs, 5 attributes. */
export const celebaV1: V1NetConfig = {
  img: 128, gConvDim: 64, dConvDim: 64, gRepeat: 6, dRepeat: 6,
  datasets: [{ name: 'CelebA', size: 5, kind: 'multi' }],
};

/** The official multi-dataset model (`--dataset Both`): CelebA's 5 attributes and RaFD's 8 expressions. */
export const bothV1: V1NetConfig = {
  ...celebaV1,
  datasets: [{ name: 'CelebA', size: 5, kind: 'multi' }, { name: 'RaFD', size: 8, kind: 'single' }],
};

/** Official training defaults (`main.py`). */
export const defaultTrainV1: V1TrainConfig = {
  lambdaCls: 1, lambdaRec: 10, lambdaGp: 10, gLr: 1e-4, dLr: 1e-4, beta1: 0.5, beta2: 0.999,
  nCritic: 5, numIters: 200_000, numItersDecay: 100_000, lrUpdateStep: 1000,
};

/** Number of labels D classifies into: all datasets' labels. */
export function labelDim(cfg: V1NetConfig): number {
  return cfg.datasets.reduce((s, d) => s + d.size, 0);
}

/** Width of G's label input: the labels plus, with several datasets, the one-hot mask. */
export function conditionDim(cfg: V1NetConfig): number {
  return labelDim(cfg) + (cfg.datasets.length > 1 ? cfg.datasets.length : 0);
}

/** Where dataset k's labels start in the label vector. */
export function labelOffset(cfg: V1NetConfig, k: number): number {
  return cfg.datasets.slice(0, k).reduce((s, d) => s + d.size, 0);
}

/** The kernel of D_cls: img / 2^dRepeat (official 2 at img 128), covering D's last map. */
export function clsKernel(cfg: V1NetConfig): number {
  return cfg.img / 2 ** cfg.dRepeat;
}

const posInt = (v: number) => Number.isInteger(v) && v >= 1;

/** Checks a network config; the message names the offending field. */
export function validateV1NetConfig(c: V1NetConfig): E.Either<string, V1NetConfig> {
  for (const k of ['img', 'gConvDim', 'dConvDim', 'dRepeat'] as const) {
    if (!posInt(c[k])) return E.left(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (!Number.isInteger(c.gRepeat) || c.gRepeat < 0) return E.left(`gRepeat must be an integer >= 0, got ${c.gRepeat}`);
  if (c.img % 4 !== 0) return E.left(`img must be a multiple of 4 (G halves it twice), got ${c.img}`);
  if (c.img % 2 ** c.dRepeat !== 0) return E.left(`img ${c.img} must be a multiple of 2^dRepeat = ${2 ** c.dRepeat}`);
  if (c.datasets.length === 0) return E.left('datasets: at least one labelled dataset is needed');
  for (const d of c.datasets) {
    if (!posInt(d.size)) return E.left(`dataset ${d.name}: size must be a positive integer, got ${d.size}`);
    if (d.kind === 'single' && d.size < 2) return E.left(`dataset ${d.name}: a single-label dataset needs at least 2 classes`);
  }
  return E.right(c);
}

/** Checks the training config; the message names the offending field. */
export function validateV1TrainConfig(t: V1TrainConfig): E.Either<string, V1TrainConfig> {
  for (const k of ['nCritic', 'numIters', 'lrUpdateStep'] as const) if (!posInt(t[k])) return E.left(`${k} must be a positive integer, got ${t[k]}`);
  if (!Number.isInteger(t.numItersDecay) || t.numItersDecay < 0) return E.left(`numItersDecay must be an integer >= 0, got ${t.numItersDecay}`);
  for (const k of ['lambdaCls', 'lambdaRec', 'lambdaGp', 'gLr', 'dLr'] as const) if (!(t[k] >= 0)) return E.left(`${k} must be >= 0, got ${t[k]}`);
  for (const k of ['beta1', 'beta2'] as const) if (!(t[k] >= 0 && t[k] < 1)) return E.left(`${k} must be in [0, 1), got ${t[k]}`);
  return E.right(t);
}

/**
 * The learning rate for the iteration after `completed` iterations: `lr0` until the decay
 * starts, then lowered by `lr0 * lrUpdateStep / numItersDecay` after every iteration c with
 * c % lrUpdateStep == 0 and c > numIters - numItersDecay, reaching 0 at numIters.
 *
 * The official loop has the same schedule but subtracts `lr0 / numItersDecay` per update,
 * i.e. the rate falls by only 0.1% over the 100 updates; a linear decay to 0, which the
 * paper describes, is what this implements.
 */
export function lrAt(t: V1TrainConfig, lr0: number, completed: number): number {
  if (t.numItersDecay === 0) return lr0;
  const start = Math.max(0, t.numIters - t.numItersDecay);
  if (completed <= start) return lr0;
  const updates = Math.floor(completed / t.lrUpdateStep) - Math.floor(start / t.lrUpdateStep);
  return Math.max(0, lr0 * (1 - (updates * t.lrUpdateStep) / t.numItersDecay));
}

/**
 * The first completed iteration (0-based, < completed) whose learning rate differs between two
 * schedules, or -1: a resumed run may switch to `next` (e.g. more iterations) only if -1, so it
 * stays equal to an uninterrupted run with `next`. Both G's and D's rates are compared.
 */
export function firstLrChange(prev: V1TrainConfig, next: V1TrainConfig, completed: number): number {
  for (let c = 0; c < completed; c++) {
    if (lrAt(prev, prev.gLr, c) !== lrAt(next, next.gLr, c) || lrAt(prev, prev.dLr, c) !== lrAt(next, next.dLr, c)) return c;
  }
  return -1;
}
