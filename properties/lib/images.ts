/** Tiny image files for fixture datasets made by tests. */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import jpeg from 'jpeg-js';

export type Rgb8 = readonly [number, number, number];

/** RGBA8 pixels of a w x h image from a function of (x, y). */
export function rgba(w: number, h: number, f: (x: number, y: number) => readonly number[]): Buffer {
  const b = Buffer.alloc(w * h * 4);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const [r, g, bl, a = 255] = f(x, y);
      b.set([r, g, bl, a], (y * w + x) * 4);
    }
  }
  return b;
}

export function pngBytes(w: number, h: number, f: (x: number, y: number) => readonly number[]): Buffer {
  return PNG.sync.write({ width: w, height: h, data: rgba(w, h, f) } as PNG, { colorType: 6 });
}

export function jpegBytes(w: number, h: number, f: (x: number, y: number) => readonly number[], quality = 95): Buffer {
  return Buffer.from(jpeg.encode({ width: w, height: h, data: rgba(w, h, f) }, quality).data);
}

/** Writes a file, creating its folder. */
export function put(file: string, bytes: Uint8Array | string): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, bytes);
  return file;
}

export const solid = (c: Rgb8) => () => c;

/** A colour pattern that differs per image index and domain (so images are not all alike). */
export function pattern(domain: number, i: number): (x: number, y: number) => readonly number[] {
  return (x, y) => [(domain * 120 + x * 16) % 256, (i * 40 + y * 16) % 256, ((x + y) * 8 + domain * 60) % 256];
}
