/**
 * Training batches for StarGAN v2, as plain typed arrays (NCHW float32 in [-1, 1]).
 *
 * `sampleBatch` is a pure function of (dataset, seed, batch, img, augment): it draws its
 * randomness from a counter-based hash of the key (no global state), and the cache only
 * changes how fast it runs, never what it returns. So a batch is reproducible from its key
 * alone, bit for bit, which makes resumed runs identical to uninterrupted ones.
 *
 * As the official loaders (clovaai/stargan-v2 `core/data_loader.py`):
 * - source x: a balanced sampler (domain uniform, then an image uniform within it);
 * - target yTrg: uniform over domains; x_ref, x_ref2: two images of domain yTrg;
 * - every image augmented independently: RandomResizedCrop(scale [0.8, 1], ratio [0.9, 1.1])
 *   with p = 0.5, resize to img, horizontal flip p = 0.5, pixels to [-1, 1].
 */
import { fold, uniformAt, type Key } from '../../dsl/random.ts';
import type { HostBatch } from './batch.ts';
import type { Dataset } from './datasets.ts';
import { centerSquare, decodeImage, resampleHwc, type Box } from '../../dsl/io/image.ts';


// ---------------------------------------------------------------------------------------
// Randomness: every draw is a pure function of (key, index), from dsl/random.ts.

/** A stream of uniforms in [0, 1); draw i is a pure function of (key, i). */
type Uniform = (slot: number) => number;

function stream(k0: number, k1: number): Uniform {
  return (slot) => uniformAt([k0, k1], slot);
}

/** The child key i of a key (offset so children never coincide with the stream's own draws). */
function child(key: readonly [number, number], i: number): Key {
  return fold(key, i + 0x100000);
}

// ---------------------------------------------------------------------------------------
// Image cache

/** A cached image: square, `size` x `size`, RGB8 HWC. */
export interface CachedImage {
  readonly size: number;
  readonly data: Uint8Array;
}

/** Decoded images kept in memory, least recently used evicted past a byte budget. */
export interface ImageCache {
  /**
   * The image of `file` prepared for output size `img`: decoded, centre-cropped to a square
   * (a no-op for CelebA-HQ/AFHQ/emoji; CelebA 178x218 -> 178x178 as StarGAN v1), and
   * shrunk to {@link workingSize}(img) if larger (kept as is if smaller), as RGB8.
   * Decoding errors name the file.
   */
  get(file: string, img: number): CachedImage;
  /** Counters, for logs. */
  stats(): { entries: number; bytes: number; maxBytes: number; hits: number; misses: number };
  clear(): void;
}

/**
 * Side of the cached copy for output size img: twice img. A source up to that size is kept
 * whole, so an uncropped image is resized once from the file, as the official loader does and
 * as {@link loadImages} (the evaluation's inputs and truths) does; a copy shrunk to a size between
 * img and the source would be resized twice at training, a blur the held-out images never have
 * (0.006 mean L1 on the 64 px emoji at img 32 with a 1.25x copy). Crops (at least ~85% of
 * the side) are still resized down from real pixels.
 */
export function workingSize(img: number): number {
  return 2 * img;
}

/** Decodes, centre-crops to a square and shrinks a file to at most `side` pixels, as RGB8. */
function prepare(file: string, side: number): CachedImage {
  const im = decodeImage(file);
  const sq = centerSquare(im.width, im.height);
  const size = Math.min(sq.w, side);
  const f = resampleHwc(im.data, im.width, im.height, sq, size, size);
  const data = new Uint8Array(f.length);
  for (let i = 0; i < f.length; i++) {
    const v = Math.round(f[i] * 255);
    data[i] = v < 0 ? 0 : v > 255 ? 255 : v;
  }
  return { size, data };
}

/** Decodes every file of a small dataset up front (at most `limit`), so a corrupt image stops a run before training starts. */
export function decodeUpFront(files: readonly string[], cache: ImageCache, img: number, limit = 5000): void {
  if (files.length <= limit) for (const f of files) cache.get(f, img);
}

/**
 * An LRU image cache holding at most `maxBytes` of pixels (default 1 GiB). RGB8 at
 * workingSize(img): 64x64 emoji take 12 KB each (the default dataset, 1,690 images, is
 * 20 MB); at img 256, 768 KB each, so 1 GiB holds ~1,400 images and CelebA-HQ streams.
 */
export function createImageCache(maxBytes = 2 ** 30): ImageCache {
  if (!(maxBytes >= 0)) throw new Error(`createImageCache: maxBytes must be >= 0, got ${maxBytes}`);
  const map = new Map<string, CachedImage>();
  let bytes = 0;
  let hits = 0;
  let misses = 0;
  return {
    get(file, img) {
      const key = `${img}\u0000${file}`;
      const hit = map.get(key);
      if (hit) {
        hits++;
        map.delete(key); // move to the most recent end
        map.set(key, hit);
        return hit;
      }
      misses++;
      const entry = prepare(file, workingSize(img));
      if (entry.data.byteLength <= maxBytes) {
        map.set(key, entry);
        bytes += entry.data.byteLength;
        for (const [k, v] of map) {
          if (bytes <= maxBytes) break;
          map.delete(k);
          bytes -= v.data.byteLength;
        }
      }
      return entry;
    },
    stats: () => ({ entries: map.size, bytes, maxBytes, hits, misses }),
    clear() {
      map.clear();
      bytes = 0;
    },
  };
}

// ---------------------------------------------------------------------------------------
// Augmentation and batches

/** torchvision's RandomResizedCrop.get_params on a size x size image. */
function randomResizedCrop(size: number, u: Uniform, slot0: number): Box {
  const area = size * size;
  const scale = [0.8, 1.0];
  const logRatio = [Math.log(0.9), Math.log(1.1)];
  for (let attempt = 0; attempt < 10; attempt++) {
    const s = slot0 + 4 * attempt;
    const targetArea = area * (scale[0] + (scale[1] - scale[0]) * u(s));
    const aspect = Math.exp(logRatio[0] + (logRatio[1] - logRatio[0]) * u(s + 1));
    const w = Math.round(Math.sqrt(targetArea * aspect));
    const h = Math.round(Math.sqrt(targetArea / aspect));
    if (w > 0 && w <= size && h > 0 && h <= size) {
      const y = Math.floor(u(s + 2) * (size - h + 1));
      const x = Math.floor(u(s + 3) * (size - w + 1));
      return { x, y, w, h };
    }
  }
  return { x: 0, y: 0, w: size, h: size }; // square input: the fallback is the whole image
}

/**
 * Where an image of a batch came from: its file, the crop box in units of the file's centre square
 * (0..1, x right, y down) and whether it was mirrored. What turns per-file face landmarks into the
 * landmarks of the augmented image (face-landmarks.ts).
 */
export interface SourceView {
  readonly file: string;
  readonly box: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly flip: boolean;
}

/** Writes one image (cached copy -> img x img, maybe augmented) into out at sample n, NCHW [-1, 1]; returns its crop and flip. */
function render(c: CachedImage, img: number, augment: boolean, u: Uniform, out: Float32Array, n: number): Omit<SourceView, 'file'> {
  let box: Box = { x: 0, y: 0, w: c.size, h: c.size };
  let flip = false;
  if (augment) {
    if (u(0) < 0.5) box = randomResizedCrop(c.size, u, 2);
    flip = u(1) < 0.5;
  }
  const hwc = resampleHwc(c.data, c.size, c.size, box, img, img, flip);
  writeNchw(hwc, img, out, n);
  return { box: { x: box.x / c.size, y: box.y / c.size, w: box.w / c.size, h: box.h / c.size }, flip };
}

/** HWC in 0..255 -> sample n of an NCHW array in [-1, 1]. */
function writeNchw(hwc: Float32Array, img: number, out: Float32Array, n: number): void {
  const plane = img * img;
  const base = n * 3 * plane;
  for (let p = 0; p < plane; p++) {
    for (let ch = 0; ch < 3; ch++) {
      const v = hwc[3 * p + ch] / 127.5 - 1;
      out[base + ch * plane + p] = v < -1 ? -1 : v > 1 ? 1 : v;
    }
  }
}

function checkDataset(ds: Dataset): void {
  if (ds.domains.length === 0) throw new Error(`${ds.name}: no domains`);
  if (ds.files.length !== ds.domains.length) {
    throw new Error(`${ds.name}: ${ds.domains.length} domains but ${ds.files.length} file lists`);
  }
  ds.files.forEach((f, d) => {
    if (f.length === 0) throw new Error(`${ds.name}: domain ${ds.domains[d]} has no images`);
  });
}

function checkPositiveInt(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be a positive integer, got ${v}`);
}

/**
 * A training batch, a pure function of (ds, seed, batch, img, augment): the same key gives
 * a bit-identical batch whatever the cache holds.
 * @param seed a PRNG key: two uint32 words (e.g. a child of the training key for this step).
 */
export function sampleBatch(
  ds: Dataset, cache: ImageCache, seed: readonly [number, number], batch: number, img: number, augment: boolean,
): HostBatch {
  checkDataset(ds);
  checkPositiveInt('batch', batch);
  checkPositiveInt('img', img);
  if (!seed.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32)) {
    throw new Error(`sampleBatch: seed must be two uint32 words, got [${seed.join(', ')}]`);
  }
  const k = ds.domains.length;
  const len = batch * 3 * img * img;
  const out: HostBatch = {
    x: new Float32Array(len),
    y: new Int32Array(batch),
    yTrg: new Int32Array(batch),
    xRef: new Float32Array(len),
    xRef2: new Float32Array(len),
    xView: [],
  };
  const pick = (u: number, m: number) => Math.min(Math.floor(u * m), m - 1);
  for (let n = 0; n < batch; n++) {
    const [a, b] = child(seed, n);
    const u = stream(a, b);
    const y = pick(u(0), k);
    const src = ds.files[y][pick(u(1), ds.files[y].length)];
    const t = pick(u(2), k);
    const refs = ds.files[t];
    const ref = refs[pick(u(3), refs.length)];
    const ref2 = refs[pick(u(4), refs.length)];
    out.y[n] = y;
    out.yTrg[n] = t;
    const aug = (role: number) => {
      const [c0, c1] = child([a, b], role);
      return stream(c0, c1);
    };
    out.xView.push({ file: src, ...render(cache.get(src, img), img, augment, aug(1), out.x, n) });
    render(cache.get(ref, img), img, augment, aug(2), out.xRef, n);
    render(cache.get(ref2, img), img, augment, aug(3), out.xRef2, n);
  }
  return out;
}

/**
 * Images for translation and evaluation: each file decoded, centre-cropped to a square and
 * resized straight to img x img (antialiased), no augmentation, no cache.
 * Returns NCHW float32 in [-1, 1] with N = files.length.
 */
export function loadImages(files: readonly string[], img: number): Float32Array {
  checkPositiveInt('img', img);
  const out = new Float32Array(files.length * 3 * img * img);
  files.forEach((file, n) => {
    const im = decodeImage(file);
    const hwc = resampleHwc(im.data, im.width, im.height, centerSquare(im.width, im.height), img, img);
    for (let i = 0; i < hwc.length; i++) hwc[i] *= 255;
    writeNchw(hwc, img, out, n);
  });
  return out;
}
