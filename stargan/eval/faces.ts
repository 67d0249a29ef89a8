/**
 * Face analysis with face-api's pretrained nets (@vladmandic/face-api, MIT): a face detector
 * (SSD MobileNet v1 or Tiny Face Detector), the 68-landmark net, the age/gender net and the
 * face recognition net (a ResNet-34 giving 128-d descriptors).
 *
 * face-api runs on our tfjs instance: its `node-wasm` build `require`s `@tensorflow/tfjs` and
 * `@tensorflow/tfjs-backend-wasm`, which resolve to the same CommonJS modules our ESM imports
 * load, so there is one engine and one backend (whatever `useBackend` chose). Weights are read
 * from the installed package's `model/` folder: nothing is fetched at run time.
 *
 * Images come in as the models see them, `(N, 3, H, W)` in [-1, 1]; each is analysed alone
 * (face-api detects in one image at a time) and its most confident face is kept: the datasets
 * here (CelebA-HQ) hold one aligned face per image.
 */
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as tf from '@tensorflow/tfjs-core';
import type { Tensor } from '../../dsl/index.ts';
import type * as FaceApiTypes from '@vladmandic/face-api/dist/face-api.node-wasm.js';

type FaceApi = typeof FaceApiTypes;

const require = createRequire(import.meta.url);

/** The installed package's weights folder. */
export const FACE_API_MODEL_DIR = path.join(path.dirname(require.resolve('@vladmandic/face-api/package.json')), 'model');

/** Which face detector runs first: SSD MobileNet v1 (finds more faces) or Tiny Face Detector (faster). */
export type FaceDetector = 'ssd' | 'tiny';

/** The loaded nets and the detector settings; make with {@link loadFaceNets}. */
export interface FaceNets {
  readonly api: FaceApi;
  readonly detector: FaceDetector;
  /** Detections scoring below this are ignored. */
  readonly minConfidence: number;
}

/** One point in the pixel coordinates of the analysed image (x right, y down; 0 at the top-left corner). */
export interface Point {
  readonly x: number;
  readonly y: number;
}

/** What face-api sees in one image: its most confident face, or that it found none. */
export type FaceAnalysis =
  | { readonly detected: false }
  | {
    readonly detected: true;
    /** Detector confidence in [0, 1]. */
    readonly score: number;
    readonly box: { readonly x: number; readonly y: number; readonly width: number; readonly height: number };
    /** The 68 iBUG-300W landmarks: 0-16 jaw, 17-26 brows, 27-35 nose, 36-47 eyes, 48-67 lips. */
    readonly landmarks: readonly Point[];
    readonly gender?: 'male' | 'female';
    /** Probability of `gender` (the net's softmax), in [0.5, 1]. */
    readonly genderProbability?: number;
    /** Age in years (the net's regression). */
    readonly age?: number;
    /** 128-d face recognition descriptor. */
    readonly descriptor?: Float32Array;
  };

/** Which optional nets to run after detection and landmarks. */
export interface AnalysisParts {
  readonly ageGender?: boolean;
  readonly descriptor?: boolean;
}

type Images = Tensor<[number, 3, number, number]>;

/** The face-api module, loaded once: its nets are module singletons. */
function faceApi(): FaceApi {
  return require('@vladmandic/face-api/dist/face-api.node-wasm.js') as FaceApi;
}

/**
 * Loads face-api's detector, 68-landmark, age/gender and recognition nets from
 * {@link FACE_API_MODEL_DIR} (each once per process: face-api keeps them as module state).
 * Call after `useBackend`.
 */
export async function loadFaceNets(opts: { detector?: FaceDetector; minConfidence?: number } = {}): Promise<FaceNets> {
  const api = faceApi();
  const detector = opts.detector ?? 'ssd';
  const wanted = [
    detector === 'ssd' ? api.nets.ssdMobilenetv1 : api.nets.tinyFaceDetector,
    api.nets.faceLandmark68Net, api.nets.ageGenderNet, api.nets.faceRecognitionNet,
  ];
  for (const net of wanted) if (!net.isLoaded) await net.loadFromDisk(FACE_API_MODEL_DIR);
  return { api, detector, minConfidence: opts.minConfidence ?? 0.5 };
}

function detectorOptions(nets: FaceNets) {
  return nets.detector === 'ssd'
    ? new nets.api.SsdMobilenetv1Options({ minConfidence: nets.minConfidence, maxResults: 1 })
    : new nets.api.TinyFaceDetectorOptions({ inputSize: 416, scoreThreshold: nets.minConfidence });
}

/** Image i of a batch as face-api takes it: `[H, W, 3]` in [0, 255]. */
export function faceApiInput(images: Images, i: number): tf.Tensor3D {
  return tf.tidy(() => {
    const [, h, w, c] = images.shape;
    const one = tf.reshape(tf.slice(images, [i, 0, 0, 0], [1, h!, w!, c!]), [h!, w!, c!]);
    return tf.mul(tf.add(one, 1), 127.5) as tf.Tensor3D;
  });
}

/** face-api's chained result for one image, reduced to plain data. */
type FaceApiResult = {
  detection: { score: number; box: { x: number; y: number; width: number; height: number } };
  landmarks: { positions: { x: number; y: number }[] };
  gender?: 'male' | 'female';
  genderProbability?: number;
  age?: number;
  descriptor?: Float32Array;
};

/** Runs face-api's own chain on a `[H, W, 3]` 0..255 tensor (not disposed). */
export async function analyseFaceApiInput(nets: FaceNets, input: tf.Tensor3D, parts: AnalysisParts = {}): Promise<FaceAnalysis> {
  // face-api's types declare their own copy of tfjs's Tensor class; at run time it is ours.
  const base = nets.api.detectSingleFace(input as unknown as Parameters<FaceApi["detectSingleFace"]>[0], detectorOptions(nets)).withFaceLandmarks();
  const task = parts.ageGender && parts.descriptor
    ? base.withAgeAndGender().withFaceDescriptor()
    : parts.ageGender ? base.withAgeAndGender() : parts.descriptor ? base.withFaceDescriptor() : base;
  const r = (await task) as FaceApiResult | undefined;
  if (!r) return { detected: false };
  const { x, y, width, height } = r.detection.box;
  return {
    detected: true,
    score: r.detection.score,
    box: { x, y, width, height },
    landmarks: r.landmarks.positions.map((p) => ({ x: p.x, y: p.y })),
    ...(parts.ageGender ? { gender: r.gender, genderProbability: r.genderProbability, age: r.age } : {}),
    ...(parts.descriptor ? { descriptor: r.descriptor } : {}),
  };
}

/**
 * Detection and landmarks (and, if asked, age/gender and the descriptor) for every image.
 *   images: (N, 3, H, W) in [-1, 1]  ->  N analyses
 */
export async function analyseFaces(nets: FaceNets, images: Images, parts: AnalysisParts = {}): Promise<FaceAnalysis[]> {
  const out: FaceAnalysis[] = [];
  for (let i = 0; i < images.shape[0]!; i++) {
    const input = faceApiInput(images, i);
    try {
      out.push(await analyseFaceApiInput(nets, input, parts));
    } finally {
      input.dispose();
    }
  }
  return out;
}

/** Predicted gender and age of one image's face, or that no face was found. */
export type FaceAttributes =
  | { readonly detected: false }
  | { readonly detected: true; readonly gender: 'male' | 'female'; readonly genderProbability: number; readonly age: number };

/** The gender and age of an analysis made with `ageGender: true`. */
export function attributesOf(f: FaceAnalysis): FaceAttributes {
  if (!f.detected) return { detected: false };
  if (f.gender === undefined || f.genderProbability === undefined || f.age === undefined) throw new Error('attributesOf: analysis made without ageGender');
  return { detected: true, gender: f.gender, genderProbability: f.genderProbability, age: f.age };
}

/** The descriptor of an analysis made with `descriptor: true`; `null` where no face was found. */
export function descriptorOf(f: FaceAnalysis): Float32Array | null {
  if (!f.detected) return null;
  if (!f.descriptor) throw new Error('descriptorOf: analysis made without descriptor');
  return f.descriptor;
}

/** face-api's gender and age for every image. images: (N, 3, H, W) in [-1, 1] -> N results. */
export async function faceAttributes(nets: FaceNets, images: Images): Promise<FaceAttributes[]> {
  return (await analyseFaces(nets, images, { ageGender: true })).map(attributesOf);
}

/** face-api's 128-d recognition descriptors; `null` where no face was found. images: (N, 3, H, W) in [-1, 1]. */
export async function identityEmbedding(nets: FaceNets, images: Images): Promise<(Float32Array | null)[]> {
  return (await analyseFaces(nets, images, { descriptor: true })).map(descriptorOf);
}

/** face-api's 68 landmarks per image (pixel coordinates of that image); `null` where no face was found. */
export async function faceLandmarks(nets: FaceNets, images: Images): Promise<(readonly Point[] | null)[]> {
  return (await analyseFaces(nets, images)).map((f) => (f.detected ? f.landmarks : null));
}

function checkDescriptors(a: ArrayLike<number>, b: ArrayLike<number>): void {
  if (a.length !== b.length || a.length === 0) throw new Error(`identity descriptors must have one non-zero length, got ${a.length} and ${b.length}`);
}

/** Cosine similarity of two recognition descriptors, in [-1, 1]; 1 for the same descriptor. */
export function identityCosineSimilarity(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkDescriptors(a, b);
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i];
    aa += a[i] * a[i];
    bb += b[i] * b[i];
  }
  return ab / Math.sqrt(aa * bb);
}

/** Euclidean distance of two recognition descriptors (what face-api matches on). */
export function identityEuclideanDistance(a: ArrayLike<number>, b: ArrayLike<number>): number {
  checkDescriptors(a, b);
  let s = 0;
  for (let i = 0; i < a.length; i++) s += (a[i] - b[i]) ** 2;
  return Math.sqrt(s);
}

/** face-api's default threshold: descriptors closer than this are taken to be the same person. */
export const FACE_API_MATCH_DISTANCE = 0.6;
