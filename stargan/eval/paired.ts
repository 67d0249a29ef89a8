/**
 * The paired error, one definition for every program that scores translations against a ground
 * truth (a dataset whose items exist in every domain, e.g. the skin-tone emoji: the truth for
 * item i of domain s translated to domain t is item i of t): training-time evaluation
 * (held-out.ts, train-celeba.ts), examples/evaluate.ts, examples/demo.ts and the docs/skin-tones
 * scripts all score with these functions, so their numbers are the same metric.
 *
 * Images are NCHW Float32Arrays (n x 3 x H x W) in [-1, 1], as the generators produce them;
 * errors are measured in [0, 1] pixel units, i.e. on (clamp(x, -1, 1) + 1) / 2 (an output beyond
 * [-1, 1] counts as clipped, as a saved PNG would be). As the PyTorch anchor's evaluator
 * (shared/anchors/emoji_learning/train.py), so our curves and the anchor's compare number for number:
 * - the changed region of a (source, truth) pair: the pixels where max over R, G, B of
 *   |source - truth| > {@link CHANGED_REGION_THRESHOLD} (0.1). Inside it the translation must change
 *   something; outside it, it should keep the source;
 * - L1: mean |output - truth| over a region's pixel values (pixels x 3 channels); over all pixels,
 *   inside and outside the region. PSNR: 10 log10(1 / MSE) over the same values (peak 1);
 * - sums are pooled over every image scored together (one ratio at the end), so an image with an
 *   empty region weighs nothing; a region with no pixels at all scores NaN, and PSNR is +Infinity
 *   only when a region's pooled error is exactly 0.
 */

/**
 * The changed region's threshold, in [0, 1] pixel units (about 26/255): the anchor's. Tone
 * changes move skin pixels by far more; JPEG-like noise and antialiasing stay below it.
 */
export const CHANGED_REGION_THRESHOLD = 0.1;

/** One 3-channel CHW image in [-1, 1] (an NCHW batch of one). */
export type Chw = Float32Array;

/** A value in [-1, 1] as a pixel value in [0, 1], clamped (outputs may overshoot). */
export const to01 = (v: number): number => (v <= -1 ? 0 : v >= 1 ? 1 : (v + 1) / 2);

/** Values per image plane (H * W), after checking that a and b are n images of 3 channels. */
function planeOf(what: string, n: number, a: Float32Array, b: Float32Array): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: n must be a positive integer, got ${n}`);
  if (a.length !== b.length) throw new Error(`${what}: the images differ in size (${a.length} vs ${b.length} values)`);
  if (a.length % (3 * n) !== 0) throw new Error(`${what}: ${a.length} values are not ${n} images of 3 channels`);
  return a.length / (3 * n);
}

/**
 * The region a translation from `src` to `truth` must change, per pixel: 1 where max over
 * channels |src - truth| (in [0, 1] units) > {@link CHANGED_REGION_THRESHOLD}.
 *   src, truth: (n, 3, H, W)  ->  (n, H * W)
 */
export function changedRegion(src: Float32Array, truth: Float32Array, n = 1): Uint8Array {
  const plane = planeOf('changedRegion', n, src, truth);
  const mask = new Uint8Array(n * plane);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < plane; p++) {
      let d = 0;
      for (let c = 0; c < 3; c++) {
        const o = (i * 3 + c) * plane + p;
        d = Math.max(d, Math.abs(to01(src[o]) - to01(truth[o])));
      }
      mask[i * plane + p] = d > CHANGED_REGION_THRESHOLD ? 1 : 0;
    }
  }
  return mask;
}

/** Sums of one region: absolute and squared errors over `values` pixel values (pixels x 3). */
export interface RegionSums {
  readonly abs: number;
  readonly sq: number;
  readonly values: number;
}

/** Error sums inside ("changed") and outside ("unchanged") the changed region. */
export interface ErrorSums {
  readonly changed: RegionSums;
  readonly unchanged: RegionSums;
}

export const noErrors: ErrorSums = { changed: { abs: 0, sq: 0, values: 0 }, unchanged: { abs: 0, sq: 0, values: 0 } };

/**
 * The error sums of outputs against their truths, split by the region.
 *   out, truth: (n, 3, H, W); region: (n, H * W) from {@link changedRegion}
 */
export function errorSums(out: Float32Array, truth: Float32Array, region: Uint8Array, n = 1): ErrorSums {
  const plane = planeOf('errorSums', n, out, truth);
  if (region.length !== n * plane) throw new Error(`errorSums: region has ${region.length} pixels, images ${n * plane}`);
  const abs = [0, 0];
  const sq = [0, 0];
  const values = [0, 0];
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < plane; p++) {
      const r = region[i * plane + p] ? 0 : 1;
      for (let c = 0; c < 3; c++) {
        const o = (i * 3 + c) * plane + p;
        const e = Math.abs(to01(out[o]) - to01(truth[o]));
        abs[r] += e;
        sq[r] += e * e;
      }
      values[r] += 3;
    }
  }
  return { changed: { abs: abs[0], sq: sq[0], values: values[0] }, unchanged: { abs: abs[1], sq: sq[1], values: values[1] } };
}

export function addErrors(a: ErrorSums, b: ErrorSums): ErrorSums {
  const add = (x: RegionSums, y: RegionSums): RegionSums => ({ abs: x.abs + y.abs, sq: x.sq + y.sq, values: x.values + y.values });
  return { changed: add(a.changed, b.changed), unchanged: add(a.unchanged, b.unchanged) };
}

/** The scores of pooled sums. A region with no pixels scores NaN. */
export interface PairedScores {
  readonly l1Changed: number;
  readonly psnrChanged: number;
  readonly l1Unchanged: number;
  readonly psnrUnchanged: number;
  /** Fraction of pixels in the changed region. */
  readonly changedFraction: number;
}

const l1 = (r: RegionSums) => (r.values === 0 ? NaN : r.abs / r.values);
const psnr = (r: RegionSums) => (r.values === 0 ? NaN : 10 * Math.log10(r.values / r.sq)); // 1 / MSE; sq = 0 gives +Infinity

export function pairedScores(s: ErrorSums): PairedScores {
  const all = s.changed.values + s.unchanged.values;
  return {
    l1Changed: l1(s.changed), psnrChanged: psnr(s.changed),
    l1Unchanged: l1(s.unchanged), psnrUnchanged: psnr(s.unchanged),
    changedFraction: all === 0 ? NaN : s.changed.values / all,
  };
}

/** Mean L1 in [0, 1] units: over all pixels, inside the changed region, outside it. */
export interface PairedL1 {
  readonly all: number;
  readonly inside: number;
  readonly outside: number;
}

/** The L1 view of pooled sums. */
export function l1Of(s: ErrorSums): PairedL1 {
  const all = s.changed.values + s.unchanged.values;
  return { all: (s.changed.abs + s.unchanged.abs) / all, inside: l1(s.changed), outside: l1(s.unchanged) };
}

/**
 * Mean L1 between `out` and `truth` over all pixels and inside / outside `region`, pooled over the
 * n images. out, truth: (n, 3, H, W); region: (n, H * W).
 */
export function pairedL1(out: Float32Array, truth: Float32Array, region: Uint8Array, n = 1): PairedL1 {
  return l1Of(errorSums(out, truth, region, n));
}

/**
 * A source pixel is background when every channel is at least this, in [0, 1] units: the emoji
 * are composited on white, so this is the white around the drawing.
 */
export const BACKGROUND_LEVEL = 0.95;

/** Per pixel, 1 where the source is background (white): (n, 3, H, W) -> (n, H * W). */
export function backgroundPixels(src: Float32Array, n = 1): Uint8Array {
  const plane = planeOf('backgroundPixels', n, src, src);
  const mask = new Uint8Array(n * plane);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < plane; p++) {
      let white = 1;
      for (let c = 0; c < 3; c++) if (to01(src[(i * 3 + c) * plane + p]) < BACKGROUND_LEVEL) white = 0;
      mask[i * plane + p] = white;
    }
  }
  return mask;
}

/** Mean L1 outside the changed region, split by the source: its white background, and the rest of the drawing. */
export interface OutsideSplit {
  readonly background: number;
  readonly drawing: number;
}

/**
 * Where the error outside the changed region is: on the source's background, or on the unchanged
 * part of the drawing (outlines, clothes, objects). Each is the `outside` L1 with the other part
 * counted as changed (excluded). out, truth, src: (n, 3, H, W); region: (n, H * W).
 */
export function outsideSplit(out: Float32Array, truth: Float32Array, region: Uint8Array, src: Float32Array, n = 1): OutsideSplit {
  const bg = backgroundPixels(src, n);
  const excluding = (other: (b: number) => number) => Uint8Array.from(region, (r, k) => r | other(bg[k]));
  return {
    background: l1Of(errorSums(out, truth, excluding((b) => 1 - b), n)).outside,
    drawing: l1Of(errorSums(out, truth, excluding((b) => b), n)).outside,
  };
}

/** The mean of several OutsideSplit, field by field. */
export const meanOutsideSplit = (xs: readonly OutsideSplit[]): OutsideSplit => fieldMeans(xs, ['background', 'drawing']);

/** The field-by-field mean of records of numbers. */
function fieldMeans<T extends Record<K, number>, K extends string>(xs: readonly T[], keys: readonly K[]): Record<K, number> {
  return Object.fromEntries(keys.map((k) => [k, xs.reduce((s, x) => s + x[k], 0) / xs.length])) as Record<K, number>;
}

/** The mean of several PairedL1 (e.g. over targets and latents), field by field. */
export function meanPairedL1(xs: readonly PairedL1[]): PairedL1 {
  return fieldMeans(xs, ['all', 'inside', 'outside']);
}

/** The per-pixel mean of images (the "domain mean" baseline's output). */
export function meanImage(images: readonly Chw[]): Chw {
  if (images.length === 0) throw new Error('meanImage: no images');
  const out = new Float64Array(images[0].length);
  for (const im of images) {
    if (im.length !== out.length) throw new Error(`meanImage: image sizes differ (${im.length} vs ${out.length} values)`);
    for (let i = 0; i < out.length; i++) out[i] += im[i];
  }
  return Float32Array.from(out, (v) => v / images.length);
}

/** Which output a baseline gives for a source. */
export type Baseline = 'source unchanged' | 'domain mean';

/**
 * Error sums of the two baselines over the sources of one task (CHW images):
 * "source unchanged" outputs the source itself; "domain mean" outputs `targetMean` for every source.
 */
export function baselineErrors(sources: readonly Chw[], truths: readonly Chw[], targetMean: Chw): Record<Baseline, ErrorSums> {
  if (sources.length !== truths.length) throw new Error(`baselineErrors: ${sources.length} sources but ${truths.length} truths`);
  let unchanged = noErrors;
  let mean = noErrors;
  sources.forEach((src, i) => {
    const region = changedRegion(src, truths[i]);
    unchanged = addErrors(unchanged, errorSums(src, truths[i], region));
    mean = addErrors(mean, errorSums(targetMean, truths[i], region));
  });
  return { 'source unchanged': unchanged, 'domain mean': mean };
}
