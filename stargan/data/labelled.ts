/**
 * Datasets with a binary label vector per image, as StarGAN v1 trains on them (every
 * selected attribute of an image at once, not one domain), and their batches.
 *
 * - {@link celebaLabelled}: CelebA's `img_align_celeba/` + `list_attr_celeba.txt`, the selected
 *   attributes as 0/1 (the official `values[idx] == '1'`), split as the official loader does.
 * - stargan/data/emoji-people.ts: the embedded default, people emoji with labels from their names.
 *
 * A batch is a pure function of a key (as stargan/data/sampler.ts): images drawn uniformly with
 * replacement (the official DataLoader shuffles each epoch instead), each flipped horizontally
 * with probability 1/2 (RandomHorizontalFlip), centre-cropped to a square and resized to img
 * (CenterCrop(178) + Resize for CelebA's 178x218), pixels in [-1, 1]; the target labels are the
 * batch's labels in a random order (the official `label_org[randperm(N)]`); and one uniform
 * interpolation weight per sample for the gradient penalty.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { resampleHwc } from '../../dsl/io/image.ts';
import { fold, uniformAt, type Key } from '../../dsl/random.ts';
import { HAIR_COLORS, parseCelebaAttributes, pythonShuffle } from './datasets.ts';
import type { Dataset } from './datasets.ts';
import type { ImageCache } from './sampler.ts';

/** Images with a 0/1 label vector each. */
export interface LabelledDataset {
  /** Short name for logs and run folders, e.g. `celeba[Black_Hair,...]/train`, `emoji-people[google,twitter]`. */
  readonly name: string;
  /** Label names, in vector order. */
  readonly attrs: readonly string[];
  /**
   * Groups of mutually exclusive labels (indices into attrs), e.g. the selected hair colours:
   * in sample grids, setting one clears the others (the official `create_labels`).
   */
  readonly groups: readonly (readonly number[])[];
  readonly files: readonly string[];
  /** labels[i * attrs.length + a] = 1 if image i has attribute a, else 0. */
  readonly labels: Uint8Array;
  /** Where the data comes from (a folder, or npm packages with versions). */
  readonly source: string;
}

/** The label vector of image i. */
export function labelsOf(ds: LabelledDataset, i: number): number[] {
  const k = ds.attrs.length;
  return Array.from(ds.labels.subarray(i * k, (i + 1) * k));
}

/** How many images have each label (for logs: a label nobody has cannot be learned). */
export function labelCounts(ds: LabelledDataset): number[] {
  const k = ds.attrs.length;
  const counts = new Array<number>(k).fill(0);
  for (let i = 0; i < ds.labels.length; i++) counts[i % k] += ds.labels[i];
  return counts;
}

/** Options of {@link celebaLabelled}. */
export interface CelebaLabelledOptions {
  /** 'train' (default) or 'test'. */
  split?: 'train' | 'test';
  /** Seed of the Python-compatible shuffle that picks the test images; default 1234 (official). */
  seed?: number;
  /** Test-set size; default 2000 (the official loop `(i+1) < 2000` keeps 1999: pass 1999 to match it). */
  testSize?: number;
}

/**
 * CelebA with StarGAN v1's multi-label vectors: `<root>/img_align_celeba/*.jpg` and
 * `<root>/list_attr_celeba.txt`; label a of an image is 1 where the file says 1 for attrs[a].
 * Split as the official loader: the data lines shuffled with Python's `random.seed(seed)`, the
 * first testSize are the test set. The selected hair colours (two or more of HAIR_COLORS) form
 * the one mutually exclusive group. Throws one line naming the file for a missing folder or
 * file, a malformed attribute file, an unknown attribute (listing the valid ones), or an image
 * listed but missing.
 */
export function celebaLabelled(root: string, attrs: readonly string[], opts: CelebaLabelledOptions = {}): LabelledDataset {
  const split = opts.split ?? 'train';
  const imageDir = path.join(root, 'img_align_celeba');
  const attrFile = path.join(root, 'list_attr_celeba.txt');
  if (!fs.existsSync(root)) throw new Error(`${root}: missing folder`);
  if (!fs.existsSync(imageDir) || !fs.statSync(imageDir).isDirectory()) throw new Error(`${imageDir}: missing folder`);
  const table = parseCelebaAttributes(attrFile);
  if (attrs.length === 0) throw new Error(`${attrFile}: no attributes selected`);
  const cols = attrs.map((a) => {
    const i = table.names.indexOf(a);
    if (i < 0) throw new Error(`${attrFile}: unknown attribute "${a}"; valid: ${table.names.join(', ')}`);
    if (attrs.indexOf(a) !== attrs.lastIndexOf(a)) throw new Error(`${attrFile}: attribute "${a}" selected twice`);
    return i;
  });
  const onDisk = new Set(fs.readdirSync(imageDir));
  const missing = table.rows.find((r) => !onDisk.has(r.file));
  if (missing) throw new Error(`${path.join(imageDir, missing.file)}: listed in ${attrFile} line ${missing.line} but missing`);
  const order = pythonShuffle(table.rows.length, opts.seed ?? 1234);
  const nTest = Math.min(Math.max(0, Math.trunc(opts.testSize ?? 2000)), order.length);
  const chosen = split === 'test' ? order.slice(0, nTest) : order.slice(nTest);
  const k = attrs.length;
  const labels = new Uint8Array(chosen.length * k);
  chosen.forEach((row, i) => cols.forEach((c, a) => (labels[i * k + a] = table.rows[row].values[c] === 1 ? 1 : 0)));
  const hair = attrs.map((a, i) => (HAIR_COLORS.includes(a) ? i : -1)).filter((i) => i >= 0);
  return {
    name: `celeba[${attrs.join(',')}]/${split}`,
    attrs: [...attrs],
    groups: hair.length >= 2 ? [hair] : [],
    files: chosen.map((row) => path.join(imageDir, table.rows[row].file)),
    labels,
    source: path.resolve(root),
  };
}

/**
 * A single-label dataset (StarGAN v1's RaFD case, an ImageFolder) from one-folder-per-domain
 * data: one-hot labels, the domains as one exclusive group.
 */
export function domainsAsLabels(ds: Dataset): LabelledDataset {
  const k = ds.domains.length;
  const files = ds.files.flat();
  const labels = new Uint8Array(files.length * k);
  let i = 0;
  ds.files.forEach((fs_, d) => fs_.forEach(() => (labels[i++ * k + d] = 1)));
  return { name: ds.name, attrs: [...ds.domains], groups: [ds.domains.map((_, d) => d)], files, labels, source: ds.source };
}

// ---------------------------------------------------------------------------------------
// Batches

/** One sub-batch as plain arrays: images NCHW float32 in [-1, 1], labels (N, K), target labels, GP weights. */
export interface LabelledBatch {
  readonly x: Float32Array;
  readonly labelOrg: Float32Array;
  readonly labelTrg: Float32Array;
  readonly alpha: Float32Array;
  /** The images drawn (indices into the dataset's files). */
  readonly indices: readonly number[];
}

/** HWC in 0..255 -> sample n of an NCHW array in [-1, 1]. */
function writeNchw(hwc: Float32Array, img: number, out: Float32Array, n: number): void {
  const plane = img * img;
  for (let p = 0; p < plane; p++) {
    for (let c = 0; c < 3; c++) {
      const v = hwc[3 * p + c] / 127.5 - 1;
      out[n * 3 * plane + c * plane + p] = v < -1 ? -1 : v > 1 ? 1 : v;
    }
  }
}

/** A uniform permutation of 0..n-1 from a key (Fisher-Yates; the official `torch.randperm`). */
function permutation(k: Key, n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = Math.min(i, Math.floor(uniformAt(k, i) * (i + 1)));
    [p[i], p[j]] = [p[j], p[i]];
  }
  return p;
}

/**
 * A sub-batch, a pure function of (ds, key, n, img, flip): the same key gives a bit-identical
 * batch whatever the cache holds. `indices` fixes the images (sample grids); else they are drawn.
 */
export function sampleLabelledBatch(
  ds: LabelledDataset, cache: ImageCache, key: Key, n: number, img: number, flip: boolean, indices?: readonly number[],
): LabelledBatch {
  if (ds.files.length === 0) throw new Error(`${ds.name}: no images`);
  if (!Number.isInteger(n) || n < 1) throw new Error(`batch must be a positive integer, got ${n}`);
  const k = ds.attrs.length;
  const kImg = fold(key, 0), kFlip = fold(key, 1), kPerm = fold(key, 2), kAlpha = fold(key, 3);
  const idx = indices ? [...indices] : Array.from({ length: n }, (_, i) => Math.min(ds.files.length - 1, Math.floor(uniformAt(kImg, i) * ds.files.length)));
  const x = new Float32Array(idx.length * 3 * img * img);
  const labelOrg = new Float32Array(idx.length * k);
  idx.forEach((f, s) => {
    const c = cache.get(ds.files[f], img);
    const hwc = resampleHwc(c.data, c.size, c.size, { x: 0, y: 0, w: c.size, h: c.size }, img, img, flip && uniformAt(kFlip, s) < 0.5);
    writeNchw(hwc, img, x, s);
    labelOrg.set(ds.labels.subarray(f * k, (f + 1) * k), s * k);
  });
  const perm = permutation(kPerm, idx.length);
  const labelTrg = new Float32Array(idx.length * k);
  perm.forEach((src, s) => labelTrg.set(labelOrg.subarray(src * k, (src + 1) * k), s * k));
  const alpha = Float32Array.from({ length: idx.length }, (_, s) => uniformAt(kAlpha, s));
  return { x, labelOrg, labelTrg, alpha, indices: idx };
}
