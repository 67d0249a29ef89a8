/**
 * StarGAN v2 configuration (REFERENCE sections 2-3). Network shape and training
 * hyperparameters are separate records: a checkpoint must match the first, and may
 * change the second on resume only where that is harmless (e.g. sample intervals live elsewhere).
 */
import * as E from 'fp-ts/lib/Either.js';

export interface NetConfig {
  /** Image size, a power of two (16..1024). */
  readonly img: number;
  /** Channels after from_rgb (official: 2^14 / img). */
  readonly base: number;
  /** Channel cap (official 512). */
  readonly maxConv: number;
  /** Number of domains K. */
  readonly domains: number;
  readonly styleDim: number;
  readonly latentDim: number;
  /** Width of the mapping network's hidden layers (official 512). */
  readonly mappingHidden: number;
  /** High-pass weight; > 0 adds a G block and drops the decoder shortcuts (CelebA-HQ: 1). */
  readonly wHpf: number;
  /**
   * G's decoder blocks: 'adain' (official AdainResBlk) or 'modconv' (StyleGAN2 modulated convs,
   * layers/modconv-resblk.ts). Absent means 'adain', so configs and checkpoints written before
   * this field existed keep their meaning; see {@link decoderOf}.
   */
  readonly decoder?: DecoderKind;
  /**
   * Where G's high-pass path (w_hpf > 0) applies: 'face' (official: the sources' face masks, given by
   * the caller, e.g. from landmarks; no masks, no path) or 'whole' (every pixel, no masks needed:
   * the official path with masks of ones, for images without faces, such as emoji). Absent means 'face'.
   */
  readonly hpfMask?: HpfMask;
}

export type HpfMask = 'face' | 'whole';
export const hpfMasks: readonly HpfMask[] = ['face', 'whole'];

/** Where a config's high-pass path applies ('face' when the field is absent). */
export function hpfMaskOf(c: Pick<NetConfig, 'hpfMask'>): HpfMask {
  return c.hpfMask ?? 'face';
}

/** Whether G's high-pass path needs the sources' face masks (w_hpf > 0 with 'face' masks). */
export const needsFaceMasks = (c: Pick<NetConfig, 'wHpf' | 'hpfMask'>): boolean => c.wHpf > 0 && hpfMaskOf(c) === 'face';

/** Whether G's high-pass path runs on every pixel, without masks (w_hpf > 0 with 'whole'). */
export const highPassEverywhere = (c: Pick<NetConfig, 'wHpf' | 'hpfMask'>): boolean => c.wHpf > 0 && hpfMaskOf(c) === 'whole';

export type DecoderKind = 'adain' | 'modconv';
export const decoderKinds: readonly DecoderKind[] = ['adain', 'modconv'];

/** The decoder a config asks for ('adain' when the field is absent). */
export function decoderOf(c: Pick<NetConfig, 'decoder'>): DecoderKind {
  return c.decoder ?? 'adain';
}

declare const configBrand: unique symbol;

/**
 * Phantom (types only, never set): the network config a parameter record was built for, so the apply
 * functions read the image size, style and latent sizes and domain count from the record's type: with
 * `p: GeneratorParams<C>`, `generator(p, x, s)` demands `x: (N, 3, C['img'], C['img'])` and `s: (N, C['styleDim'])`.
 * For `NetConfig` itself (a config read at run time) every size is `number`, which matches any size.
 *
 * A method parameter, so two configs are compared bivariantly, as whole records: a record built for a
 * literal config and one built for `NetConfig` are assignable both ways; records for two configs whose
 * literal sizes differ are not.
 */
export interface BuiltFor<C extends NetConfig> {
  readonly [configBrand]?: { config(c: C): void };
}

export interface TrainConfig {
  readonly lambdaReg: number;
  readonly lambdaSty: number;
  readonly lambdaDs: number;
  readonly lambdaCyc: number;
  /** Iterations over which lambda_ds decays linearly to 0. */
  readonly dsIter: number;
  readonly lr: number;
  readonly fLr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly weightDecay: number;
  /** EMA decay of G, F, E (official 0.999); with a ramp-up, the value it ramps up to. */
  readonly emaBeta: number;
  /**
   * StyleGAN2-ADA's `ema_rampup`: the EMA half-life grows by this many iterations per
   * iteration until it reaches emaBeta's, so short runs sample from a recent average.
   * 0 or absent (checkpoints written before it existed): off, the constant emaBeta (official).
   */
  readonly emaRampup?: number;
  /**
   * Linear learning-rate decay to 0 (pix2pix/CycleGAN's `n_epochs_decay`, in iterations): lr and
   * fLr are constant until lrDecayStart, then fall linearly to 0 over lrDecayIters iterations.
   * 0 or absent: constant (official StarGAN v2).
   */
  readonly lrDecayStart?: number;
  readonly lrDecayIters?: number;
}

export const officialBase = (img: number): number => 2 ** 14 / img;

/** CelebA-HQ as published: img 256, w_hpf 1, K 2. */
export const celebaHQ: NetConfig = { img: 256, base: 64, maxConv: 512, domains: 2, styleDim: 64, latentDim: 16, mappingHidden: 512, wHpf: 1 };
/** AFHQ as published: img 256, K 3. */
export const afhq: NetConfig = { ...celebaHQ, domains: 3, wHpf: 0 };
/** The CPU config of torch_ref's bench: img 64, base 32, max 256, K 2. */
export const small: NetConfig = { img: 64, base: 32, maxConv: 256, domains: 2, styleDim: 64, latentDim: 16, mappingHidden: 512, wHpf: 0 };

export const defaultTrain: TrainConfig = {
  lambdaReg: 1, lambdaSty: 1, lambdaDs: 1, lambdaCyc: 1, dsIter: 100_000,
  lr: 1e-4, fLr: 1e-6, beta1: 0, beta2: 0.99, weightDecay: 1e-4, emaBeta: 0.999, emaRampup: 0,
};

const isPow2 = (n: number) => Number.isInteger(n) && n > 0 && (n & (n - 1)) === 0;

/** Checks a network config; the message names the offending field. */
export function validateNetConfig(c: NetConfig): E.Either<string, NetConfig> {
  if (!isPow2(c.img) || c.img < 16 || c.img > 1024) return E.left(`img must be a power of two in 16..1024, got ${c.img}`);
  for (const k of ['base', 'maxConv', 'domains', 'styleDim', 'latentDim', 'mappingHidden'] as const) {
    if (!Number.isInteger(c[k]) || c[k] < 1) return E.left(`${k} must be a positive integer, got ${c[k]}`);
  }
  if (c.domains < 2) return E.left(`domains must be at least 2, got ${c.domains}`);
  if (!(c.wHpf >= 0)) return E.left(`wHpf must be >= 0, got ${c.wHpf}`);
  if (!decoderKinds.includes(decoderOf(c))) return E.left(`decoder must be one of ${decoderKinds.join(', ')}, got '${c.decoder}'`);
  if (!hpfMasks.includes(hpfMaskOf(c))) return E.left(`hpfMask must be one of ${hpfMasks.join(', ')}, got '${c.hpfMask}'`);
  if (hpfMaskOf(c) === 'whole' && !(c.wHpf > 0)) return E.left('hpfMask whole needs wHpf > 0 (it says where the high-pass path applies)');
  return E.right(c);
}

/** The lambda_ds of an iteration: linear decay to 0 over dsIter (official: subtracted once per iteration). */
export function lambdaDsAt(t: TrainConfig, iteration: number): number {
  return Math.max(0, t.lambdaDs * (1 - iteration / t.dsIter));
}

/** The factor on lr and fLr for the update that ends iteration `iteration + 1` (1 without a decay). */
export function lrScaleAt(t: TrainConfig, iteration: number): number {
  const n = t.lrDecayIters ?? 0;
  if (!(n > 0)) return 1;
  return Math.min(1, Math.max(0, 1 - (iteration - (t.lrDecayStart ?? 0)) / n));
}

/**
 * The EMA beta of the update that ends iteration `iteration + 1` (i.e. after `iteration`
 * completed iterations), a pure function of it so that resumed runs repeat it exactly.
 * Off: the constant emaBeta. With ramp-up r, StyleGAN2-ADA's rule
 * `ema_nimg = min(ema_kimg * 1000, cur_nimg * r); beta = 0.5 ** (batch / ema_nimg)` in
 * iterations (cur_nimg = iteration * batch, and batch cancels): the half-life is
 * min(iteration * r, ln 0.5 / ln emaBeta) iterations, beta = 0.5 ** (1 / half-life); 0 at
 * iteration 0 (the EMA copies the networks); emaBeta itself once the ramp is over.
 */
export function emaBetaAt(t: TrainConfig, iteration: number): number {
  const r = t.emaRampup ?? 0;
  if (!(r > 0)) return t.emaBeta;
  const halfLife = iteration * r;
  if (halfLife >= Math.log(0.5) / Math.log(t.emaBeta)) return t.emaBeta;
  return halfLife > 0 ? 0.5 ** (1 / halfLife) : 0;
}
