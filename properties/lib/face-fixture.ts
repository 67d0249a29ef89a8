/**
 * A tiny face dataset in StarGAN v2's layout (DIR/{train,val}/{female,male}/*.png), built at run
 * time from the photos that ship in the pinned @vladmandic/face-api package (MIT; demo/sample*.jpg:
 * women only; demo/screenshot-webcam.png: the package author's webcam, the one man). Faces are
 * cropped square around fixed boxes (face-api's SSD detections on those files, rounded) at about
 * CelebA-HQ's framing; the man's few crops are varied by framing and mirroring.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { cropResize, decodeImage, writePng, type RgbImage } from '../../dsl/io/image.ts';
import { FACE_API_MODEL_DIR } from '../../stargan/eval/faces.ts';

const DEMO = path.join(FACE_API_MODEL_DIR, '..', 'demo');

type Box = readonly [number, number, number, number];

/** [file, face box x, y, w, h] */
const FEMALE: readonly (readonly [string, Box])[] = [
  ['sample1.jpg', [414, 355, 178, 238]], ['sample2.jpg', [1447, 153, 193, 243]], ['sample3.jpg', [585, 329, 199, 271]],
  ['sample4.jpg', [664, 52, 187, 258]], ['sample6.jpg', [1181, 305, 188, 280]],
];
const MALE_FILE = 'screenshot-webcam.png';
const MALE_BOX: Box = [327, 185, 260, 322];

/** A square crop `scale` face-box sides wide around the box centre, kept inside the image, resized to `size`. */
function crop(img: RgbImage, [x, y, w, h]: Box, size: number, scale: number, mirror: boolean): RgbImage {
  const s = Math.min(Math.round(Math.max(w, h) * scale), img.width, img.height);
  const cx = Math.min(Math.max(0, Math.round(x + w / 2 - s / 2)), img.width - s);
  const cy = Math.min(Math.max(0, Math.round(y + h / 2 - s / 2)), img.height - s);
  const c = cropResize(img, { x: cx, y: cy, w: s, h: s }, size);
  if (!mirror) return c;
  const data = new Float32Array(c.data.length);
  for (let r = 0; r < size; r++) for (let k = 0; k < size; k++) for (let ch = 0; ch < 3; ch++) data[(r * size + k) * 3 + ch] = c.data[(r * size + size - 1 - k) * 3 + ch];
  return { width: size, height: size, data };
}

function save(file: string, im: RgbImage): void {
  const rgb = Uint8Array.from(im.data, (v) => Math.max(0, Math.min(255, Math.round(v * 255))));
  fs.mkdirSync(path.dirname(file), { recursive: true });
  writePng(file, im.width, im.height, rgb);
}

/**
 * Writes the fixture into `root`: val/female 2, val/male 2, train/female 3, train/male 2 images of
 * `size` px. File names differ between domains (no ground truth: these are different people).
 */
export function writeFaceFixture(root: string, size = 256): void {
  const photos = new Map<string, RgbImage>();
  const photo = (f: string) => photos.get(f) ?? photos.set(f, decodeImage(path.join(DEMO, f))).get(f)!;
  FEMALE.forEach(([f, box], i) => save(path.join(root, i < 2 ? 'val' : 'train', 'female', `f${i}.png`), crop(photo(f), box, size, 2.2, false)));
  const man = photo(MALE_FILE);
  const variants: readonly [string, number, boolean][] = [['val', 2.2, false], ['val', 2.2, true], ['train', 2.0, false], ['train', 2.4, true]];
  variants.forEach(([split, scale, mirror], i) => save(path.join(root, split, 'male', `m${i}.png`), crop(man, MALE_BOX, size, scale, mirror)));
}
