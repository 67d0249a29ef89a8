/**
 * The feature network of the metrics: the InceptionV3 that the npm package nsfwjs (4.4.0)
 * ships, loaded from the installed package's files (no network, nothing downloaded).
 *
 * What it is: a Keras InceptionV3 (ImageNet architecture) fine-tuned by nsfwjs to classify 5
 * classes (drawing, hentai, neutral, porn, sexy), converted to a tfjs *layers* model (not a
 * graph model) with uint8-quantised weights. Files: `dist/models/inception_v3/model.min.js`
 * (topology + weights manifest) and `group1-shard{1..6}of6.min.js` (base64 weights), each a
 * UMD bundle whose export is the data. Input: (N, 299, 299, 3) RGB in [0, 1]; nsfwjs's own
 * `infer` divides pixels by 255 and resizes bilinearly with align_corners = true.
 *
 * What we take from it:
 * - FID features: the global average pool of `mixed10` (N, 2048), the same numbers as the
 *   model's own `average_pooling2d_10` + `flatten_1` at 299 px (its 8x8 pool covers the whole map);
 * - LPIPS-style features: the post-ReLU maps `activation_3` (147 px, 64 ch), `activation_5`
 *   (71 px, 192), `mixed2` (35 px, 288), `mixed7` (17 px, 768) and `mixed10` (8 px, 2048):
 *   five stages, as LPIPS takes AlexNet's five ReLU outputs.
 *
 * Preprocessing (matches nsfwjs's `infer`): images in [-1, 1] as our generators produce them
 * -> (x + 1) / 2 in [0, 1], clipped -> bilinear resize to `size` x `size` with align_corners.
 * `size` is 299 by default (the net's own input). A smaller size (>= 75, InceptionV3's minimum)
 * replays the same layers on a smaller input: far cheaper, but a different feature distribution,
 * so its FID is named with the size.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import * as tfl from '@tensorflow/tfjs';
import * as tf from '@tensorflow/tfjs-core';

/** The package and version whose weights these are (pinned in package.json). */
export const FEATURE_PACKAGE = 'nsfwjs@4.4.0';
/** The net's own input size. */
export const NATIVE_SIZE = 299;
/** InceptionV3's smallest input: mixed10 is 1 x 1 there. */
export const MIN_SIZE = 75;
/** Width of the pooled features. */
export const POOL_DIM = 2048;
/** Layers whose unit-normalised maps the LPIPS-style distance compares. */
export const LPIPS_LAYERS = ['activation_3', 'activation_5', 'mixed2', 'mixed7', 'mixed10'] as const;

/** The name every report prints for FID with this network (the size is named when not 299). */
export function fidName(size = NATIVE_SIZE): string {
  return `FID (InceptionV3, nsfwjs weights${size === NATIVE_SIZE ? '' : `, ${size}px input`})`;
}

/** The name every report prints for the diversity score. */
export function lpipsName(size = NATIVE_SIZE): string {
  return `LPIPS-style diversity (InceptionV3 nsfwjs features, uncalibrated${size === NATIVE_SIZE ? '' : `, ${size}px input`})`;
}

/** The loaded network. */
export interface FeatureNet {
  /** Input size the features are computed at. */
  readonly size: number;
  /** nsfwjs's model as shipped (input 299, output the 5 class probabilities). */
  readonly classifier: tfl.LayersModel;
  /** (N, size, size, 3) in [0, 1] -> pooled features (N, 2048). */
  readonly pool: tfl.LayersModel;
  /** (N, size, size, 3) in [0, 1] -> [pooled (N, 2048), ...LPIPS_LAYERS maps (N, h, w, c)]. */
  readonly full: tfl.LayersModel;
}

interface ModelBundle {
  modelTopology: { model_config: { class_name: string; config: { layers: LayerJson[] } } };
  weightsManifest: { paths: string[]; weights: tf.io.WeightsManifestEntry[] }[];
}

interface LayerJson {
  class_name: string;
  name: string;
  inbound_nodes: [string, number, number, unknown][][];
}

/** The folder holding the InceptionV3 bundle inside the installed nsfwjs package. */
export function inceptionDir(): string {
  const require = createRequire(import.meta.url);
  let main: string;
  try {
    main = require.resolve('nsfwjs'); // <root>/dist/cjs/index.js; the package's exports hide dist/models
  } catch {
    throw new Error(`${FEATURE_PACKAGE} is not installed (run npm ci): the metrics' feature network comes from it`);
  }
  const dir = path.resolve(path.dirname(main), '..', 'models', 'inception_v3');
  if (!fs.existsSync(path.join(dir, 'model.min.js'))) throw new Error(`${dir}/model.min.js: missing (is ${FEATURE_PACKAGE} installed intact?)`);
  return dir;
}

/** Reads a UMD data bundle of the package (its export is the data), without keeping it in require's cache. */
function readBundle<T>(file: string): T {
  const require = createRequire(import.meta.url);
  if (!fs.existsSync(file)) throw new Error(`${file}: missing (is ${FEATURE_PACKAGE} installed intact?)`);
  try {
    return require(file) as T;
  } finally {
    delete require.cache[file];
  }
}

/**
 * An IOHandler reading the model from the package's files: topology and weight specs from
 * model.min.js, weight bytes from the base64 shards, concatenated in manifest order.
 */
export function packageModelHandler(dir = inceptionDir()): tf.io.IOHandler {
  return {
    load: async () => {
      const bundle = readBundle<ModelBundle>(path.join(dir, 'model.min.js'));
      const shards = bundle.weightsManifest.flatMap((g) => g.paths).map((p) => Buffer.from(readBundle<string>(path.join(dir, `${p}.min.js`)), 'base64'));
      const bytes = Buffer.concat(shards);
      const weightSpecs = bundle.weightsManifest.flatMap((g) => g.weights);
      return { modelTopology: bundle.modelTopology, weightSpecs, weightData: bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength), format: 'layers-model' };
    },
  };
}

/**
 * Replays the classifier's layers (in the saved topological order) on a new input of
 * `size` x `size`, up to the layers we read; the weights are shared, not copied.
 */
function replay(classifier: tfl.LayersModel, layers: LayerJson[], size: number): Map<string, tfl.SymbolicTensor> {
  const out = new Map<string, tfl.SymbolicTensor>();
  const input = tfl.input({ shape: [size, size, 3] });
  for (const l of layers) {
    if (l.class_name === 'InputLayer') {
      out.set(l.name, input);
      continue;
    }
    const ins = (l.inbound_nodes[0] ?? []).map(([name]) => out.get(name));
    if (ins.some((t) => t === undefined)) throw new Error(`feature net: layer ${l.name} comes before its inputs`);
    out.set(l.name, classifier.getLayer(l.name).apply(ins.length === 1 ? ins[0]! : (ins as tfl.SymbolicTensor[])) as tfl.SymbolicTensor);
    if (l.name === 'mixed10') break;
  }
  return out;
}

/** Loads the network from the installed package; `size` is the input size (default 299). */
export async function loadFeatureNet(size = NATIVE_SIZE): Promise<FeatureNet> {
  return featureNetAt(await tfl.loadLayersModel(packageModelHandler()), size);
}

/** The feature models of a loaded classifier at another input size (the weights are shared). */
export function featureNetAt(classifier: tfl.LayersModel, size: number): FeatureNet {
  if (!Number.isInteger(size) || size < MIN_SIZE) throw new Error(`feature net: input size must be an integer >= ${MIN_SIZE}, got ${size}`);
  const layers = readBundle<ModelBundle>(path.join(inceptionDir(), 'model.min.js')).modelTopology.model_config.config.layers;
  const t = replay(classifier, layers, size);
  const input = t.get(layers[0].name)!;
  const pooled = tfl.layers.globalAveragePooling2d({ dataFormat: 'channelsLast' }).apply(t.get('mixed10')!) as tfl.SymbolicTensor;
  const maps = LPIPS_LAYERS.map((n) => t.get(n)!);
  return {
    size,
    classifier,
    pool: tfl.model({ inputs: input, outputs: pooled }),
    full: tfl.model({ inputs: input, outputs: [pooled, ...maps] }),
  };
}

export function disposeFeatureNet(net: FeatureNet): void {
  net.classifier.dispose(); // the weights; the other two models share them
}

/**
 * Our images to the net's input: x (N, 3, H, W) in [-1, 1] (NHWC in memory, as the DSL
 * stores images) -> (N, size, size, 3) in [0, 1], resized bilinearly with align_corners as
 * nsfwjs does.
 */
export function netInput(x: tf.Tensor, size: number): tf.Tensor4D {
  if (x.rank !== 4 || x.shape[3] !== 3) throw new Error(`feature net: expected RGB images (N, H, W, 3) in memory, got shape [${x.shape.join(', ')}]`);
  return tf.tidy(() => {
    const u = tf.clipByValue(tf.div(tf.add(x, 1), 2), 0, 1) as tf.Tensor4D;
    return u.shape[1] === size && u.shape[2] === size ? u : tf.image.resizeBilinear(u, [size, size], true);
  });
}

/** Rounds images in [-1, 1] to the 256 levels an 8-bit PNG keeps, as if saved and reloaded (the official protocol saves fakes as PNGs). */
export function quantise8<T extends tf.Tensor>(x: T): T {
  return tf.tidy(() => tf.sub(tf.div(tf.round(tf.mul(tf.clipByValue(tf.add(x, 1), 0, 2), 127.5)), 127.5), 1) as T);
}

/** Pooled features (N, 2048) of images in [-1, 1], `batch` images at a time; float32 row-major. */
export function poolFeatures(net: FeatureNet, x: tf.Tensor, batch = 10): Float32Array {
  const n = x.shape[0];
  const out = new Float32Array(n * POOL_DIM);
  for (let i = 0; i < n; i += batch) {
    const m = Math.min(batch, n - i);
    const f = tf.tidy(() => net.pool.predict(netInput(tf.slice(x, [i, 0, 0, 0], [m, -1, -1, -1]), net.size)) as tf.Tensor2D);
    out.set(f.dataSync(), i * POOL_DIM);
    f.dispose();
  }
  return out;
}

/** Pooled features and the LPIPS-style maps of images in [-1, 1], in one forward pass. The caller disposes the maps. */
export function allFeatures(net: FeatureNet, x: tf.Tensor): { pool: Float32Array; maps: tf.Tensor4D[] } {
  const [pooled, ...maps] = tf.tidy(() => net.full.predict(netInput(x, net.size)) as tf.Tensor[]);
  const pool = pooled.dataSync() as Float32Array;
  pooled.dispose();
  return { pool: Float32Array.from(pool), maps: maps as tf.Tensor4D[] };
}

/** nsfwjs's class probabilities (N, 5) for images in [-1, 1], through the model as shipped (299 px). */
export function classProbabilities(net: FeatureNet, x: tf.Tensor): tf.Tensor2D {
  return tf.tidy(() => net.classifier.predict(netInput(x, NATIVE_SIZE)) as tf.Tensor2D);
}
