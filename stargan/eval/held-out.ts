/**
 * The paired metric during training: the EMA networks translate the held-out emoji from
 * their default (yellow) version to each skin tone, and the outputs are compared with the
 * real emoji in that tone (stargan/eval/paired.ts, the one definition of the paired error). Cheap enough to run every few hundred
 * iterations: per evaluation, (latents + 1) x 5 generator passes over the 60 held-out emoji.
 *
 * As the PyTorch anchor's evaluator (shared/anchors/emoji_learning/train.py), with fewer
 * draws: latent-guided with a few fixed latents shared by all emoji, reference-guided with
 * one fixed training emoji of the target tone per held-out emoji.
 */
import * as tf from '@tensorflow/tfjs-core';
import { image, labels, normal, split, toTorch, type Key, type Tensor } from '../../dsl/index.ts';
import type { Dataset } from '../data/datasets.ts';
import { loadImages } from '../data/sampler.ts';
import type { PairedDataset } from '../data/skin-tones.ts';
import type { EmaNets } from '../v2/nets.ts';
import { latentStyles, translate, type Grid } from '../samples.ts';
import type { GeneratorConfig } from '../v2/generator.ts';
import { styleEncoder } from '../v2/style-encoder.ts';
import { changedRegion, meanOutsideSplit, meanPairedL1, outsideSplit, pairedL1, type OutsideSplit, type PairedL1 } from './paired.ts';

/** The held-out images, loaded once: NCHW float32 in [-1, 1]. */
export interface HeldOut {
  readonly n: number;
  readonly img: number;
  readonly srcDomain: number;
  /** every domain's real images: real[d] = (n, 3, img, img), index-aligned (item i in domain d). */
  readonly real: readonly Float32Array[];
  /** Each domain's mean training image (3, img, img): what the trivial baselines know of a tone. */
  readonly trainMean: readonly Float32Array[];
  /** Per target domain (every domain but the source's). */
  readonly targets: readonly {
    readonly domain: number;
    /** Where real[srcDomain] and real[domain] differ (changedRegion). */
    readonly region: Uint8Array;
    /** One training image of the target domain per held-out item: the reference-guided style source. */
    readonly ref: Float32Array;
  }[];
}

/** The mean of n images (n, 3, H, W) -> (3, H, W). */
function meanImage(x: Float32Array, n: number): Float32Array {
  const size = x.length / n;
  const m = new Float32Array(size);
  for (let i = 0; i < n; i++) for (let j = 0; j < size; j++) m[j] += x[i * size + j] / n;
  return m;
}

/**
 * Loads the held-out set: `val` must be paired (files[d][i] = item i in domain d); the
 * references come from `train` (never from the held-out items), fixed picks; the baselines'
 * domain means from all of `train`.
 */
export function loadHeldOut(val: PairedDataset, train: Dataset, img: number, srcDomain = 0): HeldOut {
  const n = val.files[0].length;
  val.files.forEach((f, d) => {
    if (f.length !== n) throw new Error(`${val.name}: not paired (domain ${val.domains[d]} has ${f.length} images, ${val.domains[0]} ${n})`);
  });
  const real = val.files.map((f) => loadImages(f, img));
  const targets = val.domains.map((_, d) => d).filter((d) => d !== srcDomain).map((d) => {
    const pool = train.files[d];
    const refFiles = Array.from({ length: n }, (_, i) => pool[(7 * i + 13 * d + 3) % pool.length]);
    return { domain: d, region: changedRegion(real[srcDomain], real[d], n), ref: loadImages(refFiles, img) };
  });
  const trainMean = train.files.map((f) => meanImage(loadImages(f, img), f.length));
  return { n, img, srcDomain, real, trainMean, targets };
}

/** One evaluation: mean L1 (all, inside, outside the changed region) and per target domain. */
export interface HeldOutMetrics {
  /** Latent-guided: G(x, F(z, y)) averaged over the latents and targets. */
  readonly latent: PairedL1;
  /** Reference-guided: G(x, E(x_ref, y)). */
  readonly ref: PairedL1;
  /** Latent-guided `all` per target domain (in `targets` order). */
  readonly latentPerTarget: readonly number[];
  /** Latent-guided, the error outside the changed region split into the source's background and the rest of the drawing. */
  readonly latentOutside: OutsideSplit;
  /**
   * Latent-guided into the source's own domain, where the truth is the source itself: how well G
   * copies an image it need not change (mean L1 over all pixels, and that split).
   */
  readonly toSource: { readonly all: number } & OutsideSplit;
}

const CHUNK = 20; // images per generator pass: bounds memory at large img

/** G(x, s) over all n images in chunks, as NCHW data. x: (n, 3, H, W); s: (n, S). */
function translateAll(ema: EmaNets, x: Float32Array, s: Tensor<[number, number]>, n: number, img: number, g: GeneratorConfig): Float32Array {
  const out = new Float32Array(x.length);
  const size = 3 * img * img;
  for (let i = 0; i < n; i += CHUNK) {
    const m = Math.min(CHUNK, n - i);
    tf.tidy(() => {
      const xi = image(x.subarray(i * size, (i + m) * size), [m, 3, img, img] as const);
      const si = tf.slice(s, [i, 0], [m, -1]) as Tensor<[number, number]>;
      out.set(toTorch(translate(ema, xi, si, g), 'image').dataSync(), i * size);
    });
  }
  return out;
}

/**
 * The paired errors of the EMA networks on the held-out set: for each target domain, the
 * source-domain images translated with `latents` fixed latents (drawn from `key`, shared by
 * every image, as the anchor) and with one reference each.
 */
export function evaluateHeldOut(ema: EmaNets, set: HeldOut, latentDim: number, g: GeneratorConfig, key: Key, latents = 2): HeldOutMetrics {
  const { n, img } = set;
  const src = set.real[set.srcDomain];
  const zs = split(key, latents);
  const lat: PairedL1[] = [];
  const refs: PairedL1[] = [];
  const splits: OutsideSplit[] = [];
  const latentOut = (k: Key, domain: number) => {
    const s = tf.tidy(() => latentStyles(ema, tf.tile(normal(k, [1, latentDim] as const), [n, 1]) as Tensor<[number, number]>, domain));
    const out = translateAll(ema, src, s, n, img, g);
    s.dispose();
    return out;
  };
  const latentPerTarget = set.targets.map((t) => {
    const real = set.real[t.domain];
    const perZ = zs.map((k) => {
      const out = latentOut(k, t.domain);
      splits.push(outsideSplit(out, real, t.region, src, n));
      return pairedL1(out, real, t.region, n);
    });
    lat.push(...perZ);
    const s = tf.tidy(() => styleEncoder(ema.style_encoder, image(t.ref, [n, 3, img, img] as const), labels(new Array(n).fill(t.domain))));
    const out = translateAll(ema, src, s, n, img, g);
    s.dispose();
    refs.push(pairedL1(out, real, t.region, n));
    return meanPairedL1(perZ).all;
  });
  const none = new Uint8Array(n * img * img);
  const own = zs.map((k) => latentOut(k, set.srcDomain));
  const toSource = {
    all: meanPairedL1(own.map((out) => pairedL1(out, src, none, n))).all,
    ...meanOutsideSplit(own.map((out) => outsideSplit(out, src, none, src, n))),
  };
  return { latent: meanPairedL1(lat), ref: meanPairedL1(refs), latentPerTarget, latentOutside: meanOutsideSplit(splits), toSource };
}

/** What a translation must beat: trivial outputs scored like the generator's (the anchor's baselines). */
export interface Baselines {
  /** The source as it is. */
  readonly identity: PairedL1;
  /** The source plus the difference of the target and source domains' mean training images. */
  readonly meanShift: PairedL1;
  /** The target domain's mean training image. */
  readonly domainMean: PairedL1;
}

/** The baselines on the held-out set, averaged over the target domains. */
export function baselines(set: HeldOut): Baselines {
  const { n } = set;
  const src = set.real[set.srcDomain];
  const size = src.length / n;
  const score = (out: (t: HeldOut['targets'][number]) => Float32Array) =>
    meanPairedL1(set.targets.map((t) => pairedL1(out(t), set.real[t.domain], t.region, n)));
  const tiled = (m: (j: number) => number) => Float32Array.from({ length: n * size }, (_, k) => m(k % size));
  return {
    identity: score(() => src),
    meanShift: score((t) => Float32Array.from(src, (v, k) => v + set.trainMean[t.domain][k % size] - set.trainMean[set.srcDomain][k % size])),
    domainMean: score((t) => tiled((j) => set.trainMean[t.domain][j])),
  };
}

/**
 * What a person checks by eye: for each of the first `rows` held-out items, a row with the
 * source and its latent-guided translation to every domain (one fixed latent), and under it
 * the real item in every domain (first cell blank).
 */
export function pairedGrid(ema: EmaNets, set: HeldOut, latentDim: number, g: GeneratorConfig, key: Key, rows = 8): Grid {
  const m = Math.min(rows, set.n);
  const { img } = set;
  const size = 3 * img * img;
  const domains = set.real.length;
  const src = set.real[set.srcDomain].subarray(0, m * size);
  const outs = set.real.map((_, d) => {
    const s = tf.tidy(() => latentStyles(ema, tf.tile(normal(key, [1, latentDim] as const), [m, 1]) as Tensor<[number, number]>, d));
    const out = translateAll(ema, src, s, m, img, g);
    s.dispose();
    return out;
  });
  const cell = (a: Float32Array, i: number) => a.slice(i * size, (i + 1) * size);
  const blank = new Float32Array(size).fill(1);
  const images = Array.from({ length: m }, (_, i) => [
    cell(src, i), ...outs.map((o) => cell(o, i)),
    blank, ...set.real.map((r) => cell(r, i)),
  ]).flat();
  return { images, rows: 2 * m, cols: domains + 1 };
}
