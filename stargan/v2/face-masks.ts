/**
 * Face masks for the generator's high-pass path (w_hpf > 0, CelebA-HQ), built from 68 facial
 * landmarks the way the official code builds them from its FAN's heatmaps
 * (`FAN.get_heatmap` + `preprocess` in clovaai/stargan-v2 `core/wing.py`):
 *
 * 1. one heatmap per landmark of WFLW's 98 (the FAN is a WFLW model), at 256 x 256;
 * 2. values below 0.1 dropped, then each heatmap min-max normalised to [0, 1];
 * 3. per face part, heatmaps moved vertically (a roll, wrapping at the border) and raised to a
 *    power: brows 7 px down (^2), nose bridge below its top 4 px up, nostrils 8 px up (^4),
 *    upper lip 8 px down and lower lip 8 px up (^4), inner lip 2 px down (^3), and each eye
 *    point twice: 8 px down (^3) plus 24 px down (^1); the jaw's middle (^3) is kept, its sides,
 *    the brows' outer ends and the mouth corners are dropped;
 * 4. masks[0] = sum over all heatmaps, masks[1] = sum without jaw, brows and lips (nose, eyes
 *    and pupils only), both clamped to [0, 1]. The generator resizes masks[0] to 32 px and
 *    masks[1] to 64 and 128 px (see `Masks` in generator.ts).
 *
 * Where this differs from the official masks (honestly, by construction):
 * - The heatmaps are not a FAN's predictions but Gaussians drawn at landmarks: the FAN's
 *   training target (sigma 1.75 px on its 64 x 64 heatmap grid, i.e. 7 px at 256). A trained
 *   FAN predicts wider, lower, sometimes two-peaked blobs where it is unsure (occlusion, blur,
 *   profile faces); after the 0.1 cut and normalisation those become larger or missing
 *   patches that these masks do not reproduce.
 * - The landmarks come from face-api's 68-point (iBUG 300-W) net, not a 98-point WFLW FAN.
 *   Same-meaning points are reused: nose, nostrils and lips map one to one; the jaw's 33 WFLW
 *   points are the 17 iBUG points plus their midpoints; the eyelids are resampled (by arc length)
 *   from 4 to 5 points each; the brows' lower edges (no iBUG points) are stood in for by the
 *   midpoints of their upper edges; the pupils are the eye-contour centroids.
 * - face-api finds a face first (its detector, then landmarks in that box); the FAN reads the
 *   whole (aligned) 256 x 256 image and always answers. Where no face was found the caller
 *   passes `null` and gets zero masks, i.e. no high-pass detail for that image.
 * - face-api's landmark net sees a 112 x 112 crop, the FAN 256 x 256: landmarks are coarser.
 *
 * Pure: landmarks in, masks out; no network runs here (see stargan/eval/faces.ts for that).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '../../dsl/index.ts';
import type { Masks } from './generator.ts';

/** A point in pixels (x right, y down, 0 at the image's top-left corner). */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** The official masks are 256 x 256 whatever the image size (`get_heatmap` resizes to 256). */
export const FACE_MASK_SIZE = 256;

/** The FAN's training heatmap: a Gaussian of sigma 1.75 cells on its 64-cell grid (7 px at 256). */
const HEATMAP_SIGMA_AT_256 = 7;
/** `truncate` in the official preprocess: heatmap values below this are zeroed. */
const TRUNCATE_BELOW = 0.1;

const mid = (a: Point, b: Point): Point => ({ x: (a.x + b.x) / 2, y: (a.y + b.y) / 2 });
const mean = (ps: readonly Point[]): Point => ({
  x: ps.reduce((s, p) => s + p.x, 0) / ps.length,
  y: ps.reduce((s, p) => s + p.y, 0) / ps.length,
});

/** `count` points evenly spaced by arc length along a polyline, both ends included. */
export function resamplePolyline(line: readonly Point[], count: number): Point[] {
  const seg = line.slice(1).map((p, i) => Math.hypot(p.x - line[i].x, p.y - line[i].y));
  const total = seg.reduce((a, b) => a + b, 0);
  return Array.from({ length: count }, (_, k) => {
    let d = count === 1 ? 0 : (total * k) / (count - 1);
    let i = 0;
    while (i < seg.length - 1 && d > seg[i]) d -= seg[i++];
    const t = seg[i] > 0 ? Math.min(1, d / seg[i]) : 0;
    return { x: line[i].x + t * (line[i + 1].x - line[i].x), y: line[i].y + t * (line[i + 1].y - line[i].y) };
  });
}

/** The 5 upper-lid points and 3 inner lower-lid points of one eye, from its 6 iBUG points. */
function eyeWflw(p: readonly Point[], first: number): Point[] {
  const [a, b, c, d, e, f] = p.slice(first, first + 6);
  return [...resamplePolyline([a, b, c, d], 5), ...resamplePolyline([d, e, f, a], 5).slice(1, 4)];
}

/** A brow's 5 upper-edge points, then 4 midpoints standing in for its lower edge. */
function browWflw(p: readonly Point[], first: number): Point[] {
  const upper = p.slice(first, first + 5);
  return [...upper, ...[3, 2, 1, 0].map((i) => mid(upper[i], upper[i + 1]))];
}

/**
 * WFLW's 98 landmarks derived from iBUG's 68 (the correspondences are listed in the module doc).
 *   points68: 68 points  ->  98 points
 */
export function wflwFromIbug68(p: readonly Point[]): Point[] {
  if (p.length !== 68) throw new Error(`wflwFromIbug68: expected 68 landmarks, got ${p.length}`);
  const jaw = Array.from({ length: 33 }, (_, j) => (j % 2 === 0 ? p[j / 2] : mid(p[(j - 1) / 2], p[(j + 1) / 2])));
  return [
    ...jaw, // 0-32
    ...browWflw(p, 17), // 33-41
    ...browWflw(p, 22), // 42-50
    ...p.slice(27, 36), // 51-54 nose bridge, 55-59 nostrils
    ...eyeWflw(p, 36), // 60-67
    ...eyeWflw(p, 42), // 68-75
    ...p.slice(48, 68), // 76-87 outer lips, 88-95 inner lips
    mean(p.slice(36, 42)), // 96 pupil
    mean(p.slice(42, 48)), // 97 pupil
  ];
}

/** How one WFLW landmark's heatmap enters the masks: vertical moves (px at 256, + is down) and powers. */
interface Stamp {
  readonly down: number;
  readonly power: number;
}

interface Part {
  readonly name: string;
  /** WFLW indices [from, to). */
  readonly from: number;
  readonly to: number;
  readonly stamps: readonly Stamp[];
  /** Whether the part is in masks[1] too (nose, eyes, pupils) or only in masks[0]. */
  readonly inner: boolean;
}

/** The official preprocess as a table. Indices in no part (the jaw's sides, 0-7 and 25-32; the mouth corners, 76 and 82) and in {@link DROPPED} are dropped. */
const PARTS: readonly Part[] = [
  { name: 'jaw middle', from: 8, to: 25, stamps: [{ down: 0, power: 3 }], inner: false },
  { name: 'brows', from: 33, to: 51, stamps: [{ down: 7, power: 2 }], inner: false },
  { name: 'nose bridge top', from: 51, to: 52, stamps: [{ down: 0, power: 1 }], inner: true },
  { name: 'nose bridge', from: 52, to: 55, stamps: [{ down: -4, power: 1 }], inner: true },
  { name: 'nostrils', from: 55, to: 60, stamps: [{ down: -8, power: 4 }], inner: true },
  { name: 'eyes', from: 60, to: 76, stamps: [{ down: 8, power: 3 }, { down: 24, power: 1 }], inner: true },
  { name: 'upper lip', from: 77, to: 82, stamps: [{ down: 8, power: 4 }], inner: false },
  { name: 'lower lip', from: 83, to: 88, stamps: [{ down: -8, power: 4 }], inner: false },
  { name: 'inner lips', from: 88, to: 96, stamps: [{ down: 2, power: 3 }], inner: false },
  { name: 'pupils', from: 96, to: 98, stamps: [{ down: 0, power: 1 }], inner: true },
];

/** The brows' outer ends. */
const DROPPED: ReadonlySet<number> = new Set([33, 46]);

/**
 * One landmark's heatmap, truncated and min-max normalised, as sparse (row, col, value) over
 * the pixels it covers: a `size x size` image with the landmark at `c` (pixel centres at +0.5).
 */
function normalisedHeatmap(c: Point, size: number): { rows: Int32Array; cols: Int32Array; values: Float32Array } {
  const sigma = (HEATMAP_SIGMA_AT_256 * size) / FACE_MASK_SIZE;
  const radius = Math.ceil(sigma * Math.sqrt(2 * Math.log(1 / TRUNCATE_BELOW)));
  const rows: number[] = [];
  const cols: number[] = [];
  const values: number[] = [];
  const r0 = Math.max(0, Math.floor(c.y - radius));
  const r1 = Math.min(size - 1, Math.ceil(c.y + radius));
  const c0 = Math.max(0, Math.floor(c.x - radius));
  const c1 = Math.min(size - 1, Math.ceil(c.x + radius));
  for (let r = r0; r <= r1; r++) {
    for (let k = c0; k <= c1; k++) {
      const v = Math.exp(-((k + 0.5 - c.x) ** 2 + (r + 0.5 - c.y) ** 2) / (2 * sigma * sigma));
      if (v >= TRUNCATE_BELOW) {
        rows.push(r);
        cols.push(k);
        values.push(v);
      }
    }
  }
  // min-max per heatmap: the min is 0 (some pixel is always outside the blob), the max its peak
  const peak = values.reduce((a, b) => Math.max(a, b), 0);
  return { rows: Int32Array.from(rows), cols: Int32Array.from(cols), values: Float32Array.from(values, (v) => v / peak) };
}

/**
 * The two masks of one face, as `size x size` planes (row-major) in [0, 1].
 *   points68: 68 landmarks in pixels of a `size x size` image  ->  [masks[0], masks[1]]
 */
export function faceMaskPlanes(points68: readonly Point[], size = FACE_MASK_SIZE): [Float32Array, Float32Array] {
  const wflw = wflwFromIbug68(points68);
  const full = new Float32Array(size * size);
  const inner = new Float32Array(size * size);
  for (const part of PARTS) {
    for (let j = part.from; j < part.to; j++) {
      if (DROPPED.has(j)) continue;
      const hm = normalisedHeatmap(wflw[j], size);
      for (const { down, power } of part.stamps) {
        const dy = Math.round((down * size) / FACE_MASK_SIZE);
        for (let i = 0; i < hm.values.length; i++) {
          const row = (((hm.rows[i] + dy) % size) + size) % size; // torch's roll: wraps around
          const at = row * size + hm.cols[i];
          const v = hm.values[i] ** power;
          full[at] += v;
          if (part.inner) inner[at] += v;
        }
      }
    }
  }
  for (let i = 0; i < full.length; i++) {
    full[i] = Math.min(1, full[i]);
    inner[i] = Math.min(1, inner[i]);
  }
  return [full, inner];
}

/**
 * Masks for a batch, as the generator takes them.
 *   landmarks: per image, 68 points in pixels of its `imageSize x imageSize` frame, or `null`
 *   (no face found: zero masks, so that image gets no high-pass detail)
 *   -> [masks[0], masks[1]], each (N, 1, size, size) in [0, 1]
 */
export function faceMasks<N extends number>(
  landmarks: readonly (readonly Point[] | null)[], imageSize: number, size = FACE_MASK_SIZE,
): Masks<N> {
  const n = landmarks.length;
  const full = new Float32Array(n * size * size);
  const inner = new Float32Array(n * size * size);
  const scale = size / imageSize;
  landmarks.forEach((pts, i) => {
    if (!pts) return;
    const [f, m] = faceMaskPlanes(pts.map((p) => ({ x: p.x * scale, y: p.y * scale })), size);
    full.set(f, i * size * size);
    inner.set(m, i * size * size);
  });
  // One channel: NCHW and NHWC orders coincide, so the data goes in as it is.
  const asMask = (d: Float32Array) => tf.tensor4d(d, [n, size, size, 1]) as Tensor as Tensor<[N, 1, number, number]>;
  return [asMask(full), asMask(inner)];
}
