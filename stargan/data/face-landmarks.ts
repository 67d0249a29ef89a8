/**
 * Face landmarks per training file, for the generator's high-pass masks in training (w_hpf > 0).
 *
 * The official solver runs its FAN on every x_real batch (after augmentation). face-api is far
 * slower than a FAN on a GPU (0.5-1 s per image here), so each file is analysed once, when the
 * data is loaded: face-api's 68 landmarks of the file's centre square at 256 px (the FAN's input
 * size), stored in units of that square (0..1). A batch image's landmarks are then those points
 * moved by the image's own random crop and flip (`viewLandmarks`), which is what a landmark net run
 * on the augmented image would find, up to its own error; face-masks.ts turns them into masks.
 *
 * Files where face-api finds no face: the official FAN always returns landmarks (its heatmaps'
 * argmax, on CelebA-HQ's aligned faces essentially always near the real ones). The closest
 * stand-in here is the mean landmark shape of the files where a face was found (the data is
 * aligned, so that is where an aligned face's parts are); those files get it, and the count is
 * reported. With no face in any file there is nothing to stand in: the caller stops.
 *
 * The table can be written to and read from JSON (the run folder keeps it, so --resume does not
 * run face-api again).
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { centerSquare, decodeImage, resampleHwc } from '../../dsl/io/image.ts';
import { writeFileAtomic } from '../../dsl/io/files.ts';
import { analyseFaceApiInput, type FaceNets, type Point } from '../eval/faces.ts';
import type { SourceView } from './sampler.ts';

/** Per file: 68 landmarks in units of its centre square (0..1, x right, y down). */
export type LandmarkTable = ReadonlyMap<string, readonly Point[]>;

/** What face-api found per file: landmarks in units of the centre square, or null (no face). */
export type Detections = ReadonlyMap<string, readonly Point[] | null>;

/** The side the files are analysed at: the FAN's input size. */
export const LANDMARK_SIDE = 256;

/** face-api on each file's centre square at {@link LANDMARK_SIDE} px. `onFile` reports progress. */
export async function detectLandmarks(files: readonly string[], nets: FaceNets, onFile?: (done: number) => void): Promise<Detections> {
  const out = new Map<string, readonly Point[] | null>();
  for (const [k, file] of files.entries()) {
    const im = decodeImage(file);
    const hwc = resampleHwc(im.data, im.width, im.height, centerSquare(im.width, im.height), LANDMARK_SIDE, LANDMARK_SIDE);
    const input = tf.tensor3d(hwc.map((v) => v * 255), [LANDMARK_SIDE, LANDMARK_SIDE, 3]);
    try {
      const f = await analyseFaceApiInput(nets, input);
      out.set(file, f.detected ? f.landmarks.map((p) => ({ x: p.x / LANDMARK_SIDE, y: p.y / LANDMARK_SIDE })) : null);
    } finally {
      input.dispose();
    }
    onFile?.(k + 1);
  }
  return out;
}

/** The table of {@link Detections}: misses get the mean shape of the found faces (see the module doc); throws if none was found. */
export function landmarkTable(d: Detections): { table: LandmarkTable; found: number; missed: string[] } {
  const found = [...d.values()].filter((p): p is readonly Point[] => p !== null);
  if (found.length === 0) throw new Error(`face-api found no face in any of the ${d.size} images: w_hpf > 0 needs face images (CelebA-HQ)`);
  const mean = found[0].map((_, j) => ({
    x: found.reduce((s, p) => s + p[j].x, 0) / found.length,
    y: found.reduce((s, p) => s + p[j].y, 0) / found.length,
  }));
  const missed = [...d.entries()].filter(([, p]) => !p).map(([f]) => f);
  return { table: new Map([...d.entries()].map(([f, p]) => [f, p ?? mean])), found: found.length, missed };
}

/**
 * A source's landmarks in the pixels of its augmented `img x img` image: moved by its crop, then mirrored if flipped.
 *   landmarks of the file (units of its square)  ->  68 points in img pixels
 */
export function viewLandmarks(table: LandmarkTable, view: SourceView, img: number): readonly Point[] {
  const pts = table.get(view.file);
  if (!pts) throw new Error(`viewLandmarks: no landmarks for ${view.file}`);
  const { box, flip } = view;
  return pts.map((p) => {
    const x = ((p.x - box.x) / box.w) * img;
    return { x: flip ? img - x : x, y: ((p.y - box.y) / box.h) * img };
  });
}

/** Writes detections as JSON (atomically): `{ side, files: { [file]: [[x, y], ...] | null } }`. */
export function writeDetections(file: string, d: Detections): void {
  const files = Object.fromEntries([...d.entries()].map(([f, p]) => [f, p ? p.map((q) => [q.x, q.y]) : null]));
  writeFileAtomic(file, new TextEncoder().encode(JSON.stringify({ side: LANDMARK_SIDE, files }) + '\n'));
}

/** Reads detections written by {@link writeDetections}; undefined if the file does not exist. */
export function readDetections(file: string): Detections | undefined {
  if (!fs.existsSync(file)) return undefined;
  const j = JSON.parse(fs.readFileSync(file, 'utf8')) as { files: Record<string, [number, number][] | null> };
  return new Map(Object.entries(j.files).map(([f, p]) => [f, p ? p.map(([x, y]) => ({ x, y })) : null]));
}
