/**
 * Images as plain Float32Arrays: decoding (PNG, JPEG), antialiased resizing, cropping,
 * PNG writing and image grids. Pure Node: no tfjs.
 *
 * Codecs: `pngjs` (pure JS; normalises palette, gray, 16-bit and alpha to RGBA8) and
 * `jpeg-js` (pure JS baseline + progressive JPEG). Both are synchronous, which keeps the
 * sampler a plain function; sharp (libvips) is ~10x faster on 1024px JPEGs but only has an
 * async API and a native binary.
 */
import { readFileOrFail, writeFileAtomic } from './files.ts';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';

/** An RGB image: `data` is HWC (row-major, 3 floats a pixel), values in [0, 1]. */
export interface RgbImage {
  width: number;
  height: number;
  data: Float32Array;
}

/** A crop box in pixels: top-left corner (x, y), width w and height h. */
export interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** The name of a recognised but unsupported format from its first bytes, if any. */
function otherFormat(b: Uint8Array): string | undefined {
  const ascii = (i: number, n: number) => String.fromCharCode(...b.subarray(i, i + n));
  if (ascii(0, 4) === 'GIF8') return 'GIF';
  if (ascii(0, 2) === 'BM') return 'BMP';
  if (ascii(0, 4) === 'RIFF' && ascii(8, 4) === 'WEBP') return 'WebP';
  if (ascii(0, 4) === 'II*\0' || ascii(0, 4) === 'MM\0*') return 'TIFF';
  if (ascii(4, 8) === 'ftypavif' || ascii(4, 8) === 'ftypheic') return 'AVIF/HEIC';
  if (b[0] === 0x00 && b[1] === 0x00 && b[2] === 0x01 && b[3] === 0x00) return 'ICO';
  return undefined;
}

function hexHead(b: Uint8Array): string {
  return Array.from(b.subarray(0, 4), (v) => v.toString(16).padStart(2, '0')).join(' ');
}

/**
 * Decodes a PNG or JPEG file (recognised by its magic bytes, not its name) to RGB in [0, 1].
 * Palette, gray and 16-bit PNGs are handled; alpha is composited on white.
 * Throws `Error("<file>: <problem>")` for a missing file, an unsupported format, or a corrupt
 * or truncated image.
 */
export function decodeImage(file: string): RgbImage {
  return decodeImageBytes(readFileOrFail(file), file);
}

/** As {@link decodeImage}, from bytes in memory; `name` is used in error messages. */
export function decodeImageBytes(bytes: Uint8Array, name: string): RgbImage {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (buf.length === 0) throw new Error(`${name}: empty file, not an image`);
  if (PNG_MAGIC.every((v, i) => buf[i] === v)) return decodePng(buf, name);
  if (buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return decodeJpeg(buf, name);
  const other = otherFormat(buf);
  if (other) throw new Error(`${name}: unsupported image format ${other} (only PNG and JPEG are read)`);
  throw new Error(`${name}: unsupported format, not a PNG or JPEG (first bytes ${hexHead(buf)})`);
}

function decodePng(buf: Buffer, name: string): RgbImage {
  let png: { width: number; height: number; data: Buffer };
  try {
    png = PNG.sync.read(buf);
  } catch (e) {
    const msg = (e as Error).message;
    const why = /waitng|waiting|end of/i.test(msg) ? 'unexpected end of data' : msg;
    throw new Error(`${name}: corrupt or truncated PNG (${why})`);
  }
  const { width, height, data } = png;
  if (data.length !== width * height * 4) {
    throw new Error(`${name}: corrupt PNG (decoded ${data.length} bytes for ${width}x${height} RGBA)`);
  }
  return fromRgba(width, height, data);
}

function decodeJpeg(buf: Buffer, name: string): RgbImage {
  let img: { width: number; height: number; data: Uint8Array };
  try {
    img = jpeg.decode(buf, { useTArray: true, formatAsRGBA: true, maxMemoryUsageInMB: 1024 });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new Error(`${name}: corrupt or truncated JPEG (${msg})`);
  }
  const { width, height, data } = img;
  if (!(width > 0 && height > 0) || data.length !== width * height * 4) {
    throw new Error(`${name}: corrupt JPEG (decoded ${data.length} bytes for ${width}x${height})`);
  }
  return fromRgba(width, height, data);
}

/** RGBA8 -> RGB float in [0, 1], alpha composited on white. */
function fromRgba(width: number, height: number, rgba: Uint8Array): RgbImage {
  const n = width * height;
  const out = new Float32Array(n * 3);
  for (let p = 0; p < n; p++) {
    const a = rgba[4 * p + 3] / 255;
    const white = 1 - a;
    out[3 * p] = (rgba[4 * p] / 255) * a + white;
    out[3 * p + 1] = (rgba[4 * p + 1] / 255) * a + white;
    out[3 * p + 2] = (rgba[4 * p + 2] / 255) * a + white;
  }
  return { width, height, data: out };
}

// ---------------------------------------------------------------------------------------
// Resampling

/** Contributions of source pixels to each output pixel along one axis. */
interface Taps {
  start: Int32Array; // first source index of output i
  count: Int32Array; // number of source indices
  weights: Float32Array; // count[i] weights of output i, at offset i * maxCount
  maxCount: number;
}

/**
 * Filter taps for resampling the source interval [x0, x0 + len) of an axis to `out` pixels,
 * as PIL's antialiased BILINEAR resize (what torchvision's Resize does on PIL images):
 * a triangle filter, stretched by the scale factor when shrinking (so it averages every
 * source pixel: antialiased), plain bilinear with half-pixel centres when enlarging.
 */
function taps(x0: number, len: number, out: number, inSize: number): Taps {
  const scale = len / out;
  const filterScale = Math.max(scale, 1);
  const support = filterScale; // triangle support 1, stretched
  const maxCount = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(out);
  const count = new Int32Array(out);
  const weights = new Float32Array(out * maxCount);
  const lo = Math.max(0, Math.floor(x0));
  const hi = Math.min(inSize, Math.ceil(x0 + len));
  for (let i = 0; i < out; i++) {
    const center = x0 + (i + 0.5) * scale;
    let a = Math.max(Math.floor(center - support + 0.5), lo);
    let b = Math.min(Math.floor(center + support + 0.5), hi);
    if (b <= a) {
      a = Math.min(Math.max(Math.floor(center), lo), hi - 1);
      b = a + 1;
    }
    let total = 0;
    const ws: number[] = [];
    for (let j = a; j < b; j++) {
      const t = Math.abs((j + 0.5 - center) / filterScale);
      const w = t < 1 ? 1 - t : 0;
      ws.push(w);
      total += w;
    }
    if (total <= 0) {
      // Enlarging at the very border: nearest pixel.
      ws.fill(0);
      ws[Math.min(Math.max(Math.floor(center) - a, 0), ws.length - 1)] = 1;
      total = 1;
    }
    // Drop zero weights at both ends so loops stay short.
    let s = 0;
    let e = ws.length;
    while (s < e - 1 && ws[s] === 0) s++;
    while (e - 1 > s && ws[e - 1] === 0) e--;
    start[i] = a + s;
    count[i] = e - s;
    for (let k = s; k < e; k++) weights[i * maxCount + k - s] = ws[k] / total;
  }
  return { start, count, weights, maxCount };
}

/**
 * Resamples the box of an HWC RGB image (any numeric array: Float32 or Uint8) to outW x outH,
 * optionally mirrored horizontally. Output HWC Float32, in the units of the input.
 * @internal used by the sampler on its Uint8 cache.
 */
export function resampleHwc(
  src: ArrayLike<number>, srcW: number, srcH: number, box: Box, outW: number, outH: number, flip = false,
): Float32Array {
  const tx = taps(box.x, box.w, outW, srcW);
  const ty = taps(box.y, box.h, outH, srcH);
  // Horizontal pass over the rows the vertical pass needs: rows [y0, y1) -> tmp (y1-y0) x outW.
  let y0 = srcH;
  let y1 = 0;
  for (let i = 0; i < outH; i++) {
    y0 = Math.min(y0, ty.start[i]);
    y1 = Math.max(y1, ty.start[i] + ty.count[i]);
  }
  const rows = y1 - y0;
  const tmp = new Float32Array(rows * outW * 3);
  for (let r = 0; r < rows; r++) {
    const srow = (y0 + r) * srcW * 3;
    const trow = r * outW * 3;
    for (let i = 0; i < outW; i++) {
      const xs = tx.start[i];
      const n = tx.count[i];
      const wo = i * tx.maxCount;
      let c0 = 0;
      let c1 = 0;
      let c2 = 0;
      for (let k = 0; k < n; k++) {
        const w = tx.weights[wo + k];
        const p = srow + (xs + k) * 3;
        c0 += w * src[p];
        c1 += w * src[p + 1];
        c2 += w * src[p + 2];
      }
      const q = trow + (flip ? outW - 1 - i : i) * 3;
      tmp[q] = c0;
      tmp[q + 1] = c1;
      tmp[q + 2] = c2;
    }
  }
  const out = new Float32Array(outW * outH * 3);
  const rowLen = outW * 3;
  for (let j = 0; j < outH; j++) {
    const ys = ty.start[j] - y0;
    const n = ty.count[j];
    const wo = j * ty.maxCount;
    const o = j * rowLen;
    for (let k = 0; k < n; k++) {
      const w = ty.weights[wo + k];
      const t = (ys + k) * rowLen;
      for (let q = 0; q < rowLen; q++) out[o + q] += w * tmp[t + q];
    }
  }
  return out;
}

function checkSize(what: string, v: number): void {
  if (!Number.isInteger(v) || v < 1) throw new Error(`${what} must be a positive integer, got ${v}`);
}

/**
 * Resizes to w x h: antialiased bilinear (PIL's BILINEAR filter: triangle stretched by the
 * scale when shrinking, e.g. 1024->256 or 178->64; plain bilinear when enlarging).
 */
export function resizeBilinear(img: RgbImage, w: number, h: number): RgbImage {
  checkSize('resize width', w);
  checkSize('resize height', h);
  if (w === img.width && h === img.height) return { width: w, height: h, data: img.data.slice() };
  const box = { x: 0, y: 0, w: img.width, h: img.height };
  return { width: w, height: h, data: resampleHwc(img.data, img.width, img.height, box, w, h) };
}

/** Crops `box` (inside the image) and resizes it to size x size, as {@link resizeBilinear}. */
export function cropResize(img: RgbImage, box: Box, size: number): RgbImage {
  checkSize('crop output size', size);
  const { x, y, w, h } = box;
  if (!(w > 0 && h > 0 && x >= 0 && y >= 0 && x + w <= img.width && y + h <= img.height)) {
    throw new Error(`crop box ${JSON.stringify(box)} is not inside the ${img.width}x${img.height} image`);
  }
  return { width: size, height: size, data: resampleHwc(img.data, img.width, img.height, box, size, size) };
}

/** The largest centred square of an image (CelebA 178x218 -> 178x178 as StarGAN v1). */
export function centerSquare(width: number, height: number): Box {
  const s = Math.min(width, height);
  return { x: Math.floor((width - s) / 2), y: Math.floor((height - s) / 2), w: s, h: s };
}

// ---------------------------------------------------------------------------------------
// Writing

/** PNG bytes of an RGB8 image (HWC). */
export function encodePng(width: number, height: number, rgb: Uint8Array): Buffer {
  checkSize('PNG width', width);
  checkSize('PNG height', height);
  if (rgb.length !== width * height * 3) {
    throw new Error(`PNG data has ${rgb.length} bytes, expected ${width}x${height}x3 = ${width * height * 3}`);
  }
  const data = Buffer.from(rgb.buffer, rgb.byteOffset, rgb.byteLength);
  return PNG.sync.write({ width, height, data } as PNG, { colorType: 2, inputColorType: 2, inputHasAlpha: false });
}

/** Writes an RGB8 (HWC) image as PNG, atomically (temp file in the same folder, then rename). */
export function writePng(file: string, width: number, height: number, rgb: Uint8Array): void {
  writeFileAtomic(file, encodePng(width, height, rgb));
}

/** [-1, 1] -> 0..255, rounded and clamped. */
export function toByte(v: number): number {
  const b = Math.round((v + 1) * 127.5);
  return b < 0 ? 0 : b > 255 ? 255 : b;
}

/**
 * Lays out CHW images in [-1, 1] (each 3 x s x s) in a rows x cols grid with `pad` white
 * pixels between cells (not around them). Row-major: images[r * cols + c]; missing cells
 * stay white. Returns RGB8 HWC, ready for {@link writePng}.
 */
export function imageGrid(
  images: readonly Float32Array[], s: number, rows: number, cols: number, pad = 2,
): { width: number; height: number; rgb: Uint8Array } {
  checkSize('grid cell size', s);
  checkSize('grid rows', rows);
  checkSize('grid cols', cols);
  if (!Number.isInteger(pad) || pad < 0) throw new Error(`grid pad must be a non-negative integer, got ${pad}`);
  if (images.length > rows * cols) throw new Error(`${images.length} images do not fit a ${rows}x${cols} grid`);
  const width = cols * s + (cols - 1) * pad;
  const height = rows * s + (rows - 1) * pad;
  const rgb = new Uint8Array(width * height * 3).fill(255);
  const plane = s * s;
  images.forEach((im, k) => {
    if (im.length !== 3 * plane) throw new Error(`grid image ${k} has ${im.length} values, expected 3x${s}x${s}`);
    const ox = (k % cols) * (s + pad);
    const oy = Math.floor(k / cols) * (s + pad);
    for (let y = 0; y < s; y++) {
      for (let x = 0; x < s; x++) {
        const o = ((oy + y) * width + ox + x) * 3;
        const p = y * s + x;
        rgb[o] = toByte(im[p]);
        rgb[o + 1] = toByte(im[plane + p]);
        rgb[o + 2] = toByte(im[2 * plane + p]);
      }
    }
  });
  return { width, height, rgb };
}
