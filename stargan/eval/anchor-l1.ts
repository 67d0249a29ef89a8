/**
 * The training-time paired error, exactly as the PyTorch anchor's evaluator computes it (so our
 * curves and the anchor's are comparable number for number): translations that have a ground
 * truth (the skin-tone emoji: the same emoji exists in every tone). The full evaluation
 * (examples/evaluate.ts) pools its errors per task in paired.ts instead, with its own threshold. Pure functions on Float32Arrays; images are NCHW, 3 channels, in
 * [-1, 1] as the networks see them, and errors are measured in [0, 1] pixel units.
 *
 * As the PyTorch anchor's evaluator (shared/anchors/emoji_learning/train.py): the mean
 * absolute error over all pixels, and separately inside and outside the region a
 * translation must change (pixels where source and target differ by more than 0.1 in some
 * channel), so an output that copies its source scores low overall but not inside.
 */

/** Mean L1 in [0, 1] units: over all pixels, inside the changed region, outside it. */
export interface PairedL1 {
  readonly all: number;
  readonly inside: number;
  readonly outside: number;
}

const to01 = (v: number) => (v <= -1 ? 0 : v >= 1 ? 1 : (v + 1) / 2);

function checkSizes(what: string, n: number, a: Float32Array, b: Float32Array): number {
  if (!Number.isInteger(n) || n < 1) throw new Error(`${what}: n must be a positive integer, got ${n}`);
  if (a.length !== b.length) throw new Error(`${what}: the images differ in size (${a.length} vs ${b.length} values)`);
  if (a.length % (3 * n) !== 0) throw new Error(`${what}: ${a.length} values are not ${n} images of 3 channels`);
  return a.length / (3 * n);
}

/**
 * The region a translation from `src` to `target` must change: per pixel (n, H*W), 1 where
 * max over channels |src - target| (in [0, 1] units) > threshold. src, target: (n, 3, H, W).
 */
export function changedRegion(src: Float32Array, target: Float32Array, n: number, threshold = 0.1): Uint8Array {
  const plane = checkSizes('changedRegion', n, src, target);
  const mask = new Uint8Array(n * plane);
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < plane; p++) {
      let d = 0;
      for (let c = 0; c < 3; c++) {
        const o = (i * 3 + c) * plane + p;
        d = Math.max(d, Math.abs(to01(src[o]) - to01(target[o])));
      }
      mask[i * plane + p] = d > threshold ? 1 : 0;
    }
  }
  return mask;
}

/**
 * Mean L1 between `out` and `target`, both (n, 3, H, W), over all pixels and inside / outside
 * `region` (n, H*W) from {@link changedRegion}. A pixel's error is its mean over channels;
 * inside or outside is NaN when that part of the region is empty.
 */
export function pairedL1(out: Float32Array, target: Float32Array, region: Uint8Array, n: number): PairedL1 {
  const plane = checkSizes('pairedL1', n, out, target);
  if (region.length !== n * plane) throw new Error(`pairedL1: region has ${region.length} pixels, images ${n * plane}`);
  let sumIn = 0;
  let sumOut = 0;
  let countIn = 0;
  for (let i = 0; i < n; i++) {
    for (let p = 0; p < plane; p++) {
      let e = 0;
      for (let c = 0; c < 3; c++) {
        const o = (i * 3 + c) * plane + p;
        e += Math.abs(to01(out[o]) - to01(target[o]));
      }
      e /= 3;
      if (region[i * plane + p]) {
        sumIn += e;
        countIn++;
      } else {
        sumOut += e;
      }
    }
  }
  const total = n * plane;
  return { all: (sumIn + sumOut) / total, inside: sumIn / countIn, outside: sumOut / (total - countIn) };
}

/** The mean of several PairedL1 (e.g. over targets and latents), field by field. */
export function meanPairedL1(xs: readonly PairedL1[]): PairedL1 {
  const mean = (k: keyof PairedL1) => xs.reduce((s, x) => s + x[k], 0) / xs.length;
  return { all: mean('all'), inside: mean('inside'), outside: mean('outside') };
}
