/**
 * Paired errors, where a ground-truth translation exists (a dataset whose items are drawn in
 * every domain: the truth for item i of domain s translated to domain t is item i of t).
 *
 * Images are plain CHW Float32Arrays (3 x h x w) in [-1, 1], as the generators produce them;
 * errors are measured in [0, 1] pixel units, i.e. on (x + 1) / 2.
 *
 * The changed region of a (source, truth) pair: the pixels (h, w) where
 * max over channels |source - truth| > threshold (in [0, 1] units; default 0.05, about 13/255).
 * Inside it the translation must change something; outside it, it should keep the source.
 * Errors are reported separately for the two regions:
 * - L1: mean |output - truth| over the region's pixel values (pixels x 3 channels);
 * - PSNR: 10 log10(1 / MSE) with MSE over the same values (peak 1).
 * Both are pooled over every output of a task (sums first, one ratio at the end), so an
 * image with an empty region weighs nothing and no per-image PSNR can be infinite alone;
 * PSNR is +Infinity only when a region's pooled error is exactly 0.
 */

/** Default changed-region threshold, in [0, 1] pixel units. */
export const CHANGED_THRESHOLD = 0.05;

/** A 3-channel CHW image in [-1, 1]. */
export type Chw = Float32Array;

/** 1 where max_c |source - truth| (in [0, 1] units) > threshold, per pixel (h * w). */
export function changedMask(source: Chw, truth: Chw, threshold = CHANGED_THRESHOLD): Uint8Array {
  if (source.length !== truth.length || source.length % 3 !== 0) throw new Error(`changedMask: image sizes differ (${source.length} vs ${truth.length} values)`);
  const hw = source.length / 3;
  const mask = new Uint8Array(hw);
  for (let p = 0; p < hw; p++) {
    let m = 0;
    for (let c = 0; c < 3; c++) m = Math.max(m, Math.abs(source[c * hw + p] - truth[c * hw + p]) / 2);
    mask[p] = m > threshold ? 1 : 0;
  }
  return mask;
}

/** Error sums over the two regions. `values` counts pixel values (pixels x 3). */
export interface ErrorSums {
  readonly changed: RegionSums;
  readonly unchanged: RegionSums;
}

export interface RegionSums {
  readonly abs: number;
  readonly sq: number;
  readonly values: number;
}

export const noErrors: ErrorSums = { changed: { abs: 0, sq: 0, values: 0 }, unchanged: { abs: 0, sq: 0, values: 0 } };

/** The error sums of one output against its truth, split by the mask. */
export function errorSums(output: Chw, truth: Chw, mask: Uint8Array): ErrorSums {
  const hw = mask.length;
  if (output.length !== 3 * hw || truth.length !== 3 * hw) throw new Error(`errorSums: expected 3 x ${hw} values, got ${output.length} and ${truth.length}`);
  const abs = [0, 0];
  const sq = [0, 0];
  const values = [0, 0];
  for (let p = 0; p < hw; p++) {
    const r = mask[p] ? 0 : 1;
    for (let c = 0; c < 3; c++) {
      const e = Math.abs(output[c * hw + p] - truth[c * hw + p]) / 2;
      abs[r] += e;
      sq[r] += e * e;
    }
    values[r] += 3;
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

function l1(r: RegionSums): number {
  return r.values === 0 ? NaN : r.abs / r.values;
}

function psnr(r: RegionSums): number {
  return r.values === 0 ? NaN : 10 * Math.log10(r.values / r.sq); // 1 / MSE; sq = 0 gives +Infinity
}

export function pairedScores(s: ErrorSums): PairedScores {
  const all = s.changed.values + s.unchanged.values;
  return {
    l1Changed: l1(s.changed), psnrChanged: psnr(s.changed),
    l1Unchanged: l1(s.unchanged), psnrUnchanged: psnr(s.unchanged),
    changedFraction: all === 0 ? NaN : s.changed.values / all,
  };
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
 * Error sums of the two baselines over the sources of one task:
 * "source unchanged" outputs the source itself; "domain mean" outputs `targetMean` for every source.
 */
export function baselineErrors(sources: readonly Chw[], truths: readonly Chw[], targetMean: Chw, threshold = CHANGED_THRESHOLD): Record<Baseline, ErrorSums> {
  if (sources.length !== truths.length) throw new Error(`baselineErrors: ${sources.length} sources but ${truths.length} truths`);
  let unchanged = noErrors;
  let mean = noErrors;
  sources.forEach((src, i) => {
    const mask = changedMask(src, truths[i], threshold);
    unchanged = addErrors(unchanged, errorSums(src, truths[i], mask));
    mean = addErrors(mean, errorSums(targetMean, truths[i], mask));
  });
  return { 'source unchanged': unchanged, 'domain mean': mean };
}
