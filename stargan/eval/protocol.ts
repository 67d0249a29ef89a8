/**
 * StarGAN v2's evaluation protocol (clovaai/stargan-v2 `metrics/eval.py`), on our metrics:
 * for every task (source domain s != target domain t) and each mode, every validation image
 * of s is translated `samples` (10) times to t:
 * - latent-guided: styles F(z, t) of `samples` latents z;
 * - reference-guided: styles E(x_ref, t) of `samples` validation images of t.
 * Per task: FID between the fakes and the real images of t, the mean LPIPS-style diversity
 * of each source's `samples` outputs, and, when the data has ground truth, paired errors.
 *
 * Differences from the official script, on purpose: references are drawn per source by a
 * seeded hash (not taken in loader order), and when the data is paired the source's own
 * item is never its reference (it would be the answer). Fakes are rounded to 8 bits as the
 * official script's PNG round trip does. Everything is a pure function of the seed.
 *
 * The draws (latents, references, face masks) are made here on tfjs; the networks that turn them into
 * translations are an `EvalNets`: ours on tfjs by default, or another engine (the ONNX export in
 * onnxruntime, stargan/onnx/eval-nets.ts) given the very same draws, so both engines' reports compare.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fold, image, labels, normal, randInts, typed, type Key, type Tensor } from '../../dsl/index.ts';
import { needsFaceMasks, type NetConfig } from '../v2/config.ts';
import { generator, type Masks } from '../v2/generator.ts';
import { mappingNetwork } from '../v2/mapping.ts';
import type { EmaNets } from '../v2/nets.ts';
import { faceMasks, type Point } from '../v2/face-masks.ts';
import { toChw } from '../samples.ts';
import { styleEncoder } from '../v2/style-encoder.ts';
import type { TaskFaces } from './face-protocol.ts';
import { allFeatures, poolFeatures, POOL_DIM, quantise8, type FeatureNet } from './feature-net.ts';
import { featureSet, frechetDistance, moments, type Fid, type Moments } from './fid.ts';
import { groupDiversity } from './lpips.ts';
import { addErrors, baselineErrors, changedRegion, errorSums, noErrors, type Baseline, type Chw, type ErrorSums } from './paired.ts';

export type Mode = 'latent' | 'reference';
export const modes: readonly Mode[] = ['latent', 'reference'];

/** Images of one domain: NCHW float32 in [-1, 1], n = data.length / (3 img²). */
export interface DomainImages {
  readonly data: Float32Array;
  readonly n: number;
}

export function domainImages(data: Float32Array, img: number): DomainImages {
  const size = 3 * img * img;
  if (data.length % size !== 0) throw new Error(`domainImages: ${data.length} values are not ${img}x${img} RGB images`);
  return { data, n: data.length / size };
}

/** Image i of a domain as CHW. */
export function imageAt(d: DomainImages, i: number): Chw {
  const size = d.data.length / d.n;
  return d.data.subarray(i * size, (i + 1) * size);
}

/** Everything a task needs, fixed for a run. */
export interface EvalContext {
  readonly ema: EmaNets;
  readonly net: NetConfig;
  readonly features: FeatureNet;
  /** val[d]: the validation images of domain d. */
  readonly val: readonly DomainImages[];
  /** val[d] item i is the same item in every domain (ground truth exists). */
  readonly paired: boolean;
  /** Per domain: moments of the real images' pooled features (FID's reference set). */
  readonly real: readonly Moments[];
  /**
   * Per domain: moments of the validation images' own features, for the "source unchanged"
   * FID baseline (the sources themselves scored as if they were translations). Optional.
   */
  readonly source?: readonly Moments[];
  /** Per domain: the mean real image (the "domain mean" baseline). */
  readonly meanImage: readonly Chw[];
  readonly samples: number;
  readonly key: Key;
  /**
   * Per domain, per validation image: face landmarks in img pixels (null: no face found). With
   * w_hpf > 0 the generator gets the sources' high-pass masks built from them, as the official
   * evaluation gives it its FAN's masks; without them that path is skipped.
   */
  readonly landmarks?: readonly (readonly (readonly Point[] | null)[])[];
  /** The engine that translates: default `tfjsNets(ema, net)`. */
  readonly nets?: EvalNets;
}

type Images = Tensor<[number, 3, number, number]>;
type Styles = Tensor<[number, number]>;

/**
 * G, F, E as the protocol calls them, every row for target domain `y`. Asynchronous so that an engine outside
 * tfjs fits; the caller owns (and disposes) the inputs and the returned tensor.
 */
export interface EvalNets {
  /** F(z, y): z (n, latent_dim) -> (n, style_dim). */
  mapping(z: Styles, y: number): Promise<Styles>;
  /** E(x, y): x (n, 3, img, img) -> (n, style_dim). */
  styleEncoder(x: Images, y: number): Promise<Styles>;
  /** G(x, s, masks): (n, 3, img, img); `masks` only with w_hpf > 0 and face landmarks, else the high-pass path is skipped. */
  generator(x: Images, s: Styles, masks: Masks<number> | undefined): Promise<Images>;
}

const rowsOf = (y: number, t: tf.Tensor) => labels(new Array<number>(t.shape[0]).fill(y));

/** Our networks on tfjs. */
export function tfjsNets(ema: EmaNets, net: NetConfig): EvalNets {
  return {
    mapping: async (z, y) => tf.tidy(() => mappingNetwork(ema.mapping_network, z, rowsOf(y, z))),
    styleEncoder: async (x, y) => tf.tidy(() => styleEncoder(ema.style_encoder, x, rowsOf(y, x))),
    generator: async (x, s, masks) => tf.tidy(() => generator(ema.generator, x, s, net, masks)),
  };
}

export interface Task {
  readonly src: number;
  readonly trg: number;
}

/** Every (source, target) pair with source != target, grouped by target as the official loop. */
export function tasks(domains: number): Task[] {
  const out: Task[] = [];
  for (let trg = 0; trg < domains; trg++) for (let src = 0; src < domains; src++) if (src !== trg) out.push({ src, trg });
  return out;
}

export interface TaskResult {
  readonly task: Task;
  readonly mode: Mode;
  readonly fid: Fid;
  /** FID of the untranslated sources against the same real images (from n_src images, not n_src x samples). */
  readonly fidSourceUnchanged?: number;
  /** Mean over sources of the LPIPS-style diversity of its outputs. */
  readonly lpips: number;
  readonly fakes: number;
  readonly reals: number;
  /** Paired error sums: the model's outputs (all samples) and the two baselines. */
  readonly paired?: Record<'model' | Baseline, ErrorSums>;
  /** Face metrics (face-protocol.ts), on face domains. */
  readonly faces?: TaskFaces;
}

/** The key of one source's draws in one task and mode: independent of batching. */
function sourceKey(ctx: EvalContext, task: Task, mode: Mode, i: number): Key {
  return fold(fold(fold(fold(ctx.key, modes.indexOf(mode)), task.src), task.trg), i);
}

/** Indices of the references of source i: `samples` target images, never item i itself when paired. */
export function referenceIndices(k: Key, count: number, nTarget: number, own: number | undefined): number[] {
  const exclude = own !== undefined && own < nTarget && nTarget > 1;
  return randInts(k, count, exclude ? nTarget - 1 : nTarget).map((r) => (exclude && r >= own! ? r + 1 : r));
}

/** What source i is translated with: latents (latent-guided) or reference images, and its face masks. */
interface Draws {
  readonly x: Images;
  readonly z?: Styles;
  readonly xRef?: Images;
  readonly masks?: Masks<number>;
}

/** The draws of source i: pure functions of the seed, the task, the mode and i, whatever engine runs the networks. */
function drawsFor(ctx: EvalContext, task: Task, mode: Mode, i: number): Draws {
  const { img } = ctx.net;
  const k = sourceKey(ctx, task, mode, i);
  const x: Images = tf.tidy(() => typed(tf.tile(image(imageAt(ctx.val[task.src], i).slice(), [1, 3, img, img]), [ctx.samples, 1, 1, 1])));
  const masks = needsFaceMasks(ctx.net) && ctx.landmarks ? faceMasks(new Array(ctx.samples).fill(ctx.landmarks[task.src][i]), img) : undefined;
  const drawn = { x, ...(masks ? { masks } : {}) };
  if (mode === 'latent') return { ...drawn, z: tf.tidy(() => normal(k, [ctx.samples, ctx.net.latentDim] as const)) };
  const refs = ctx.val[task.trg];
  const idx = referenceIndices(k, ctx.samples, refs.n, ctx.paired ? i : undefined);
  const size = 3 * img * img;
  const data = new Float32Array(idx.length * size);
  idx.forEach((r, j) => data.set(imageAt(refs, r), j * size));
  return { ...drawn, xRef: image(data, [idx.length, 3, img, img] as const) };
}

/** The `samples` translations of source i, rounded to 8 bits: (samples, 3, img, img) (NHWC in memory). */
export async function translations(ctx: EvalContext, task: Task, mode: Mode, i: number): Promise<Images> {
  const nets = ctx.nets ?? tfjsNets(ctx.ema, ctx.net);
  const d = drawsFor(ctx, task, mode, i);
  const held: tf.Tensor[] = [d.x, ...(d.z ? [d.z] : []), ...(d.xRef ? [d.xRef] : []), ...(d.masks ?? [])];
  try {
    const s = await (d.z ? nets.mapping(d.z, task.trg) : nets.styleEncoder(d.xRef!, task.trg));
    held.push(s);
    const out = await nets.generator(d.x, s, d.masks);
    held.push(out);
    return quantise8(out);
  } finally {
    tf.dispose(held);
  }
}

/**
 * Runs one task in one mode. `onSource` is called after each source image (for progress);
 * `onFakes` gets each source's translations before they are freed (the face metrics' hook).
 * With ctx.paired, the model's outputs and both baselines are scored against the truth.
 */
export async function runTask(
  ctx: EvalContext, task: Task, mode: Mode, onSource?: () => void, onFakes?: (i: number, fakes: Images) => Promise<void>,
): Promise<TaskResult> {
  const src = ctx.val[task.src];
  const pool = new Float32Array(src.n * ctx.samples * POOL_DIM);
  const diversity: number[] = [];
  let model = noErrors;
  for (let i = 0; i < src.n; i++) {
    const fakes = await translations(ctx, task, mode, i);
    const f = allFeatures(ctx.features, fakes);
    pool.set(f.pool, i * ctx.samples * POOL_DIM);
    diversity.push(groupDiversity(f.maps, ctx.samples)[0]);
    tf.dispose(f.maps);
    if (ctx.paired) {
      const truth = imageAt(ctx.val[task.trg], i);
      const region = changedRegion(imageAt(src, i), truth);
      for (const out of toChw(fakes)) model = addErrors(model, errorSums(out, truth, region));
    }
    try {
      await onFakes?.(i, fakes);
    } finally {
      fakes.dispose();
    }
    onSource?.();
  }
  const fid = frechetDistance(ctx.real[task.trg], moments(featureSet(pool, POOL_DIM)));
  const lpips = diversity.reduce((a, b) => a + b, 0) / diversity.length;
  const fidSourceUnchanged = ctx.source ? frechetDistance(ctx.real[task.trg], ctx.source[task.src]).value : undefined;
  const result = { task, mode, fid, lpips, fakes: src.n * ctx.samples, reals: ctx.real[task.trg].n, ...(fidSourceUnchanged === undefined ? {} : { fidSourceUnchanged }) };
  if (!ctx.paired) return result;
  const sources = Array.from({ length: src.n }, (_, i) => imageAt(src, i));
  const truths = Array.from({ length: src.n }, (_, i) => imageAt(ctx.val[task.trg], i));
  return { ...result, paired: { model, ...baselineErrors(sources, truths, ctx.meanImage[task.trg]) } };
}

/** The real side of FID for one domain: images rounded to 8 bits, then pooled features and their moments. */
export function realMoments(features: FeatureNet, images: DomainImages, img: number, batch = 10, onBatch?: (done: number) => void): Moments {
  const pooled = new Float32Array(images.n * POOL_DIM);
  const size = 3 * img * img;
  for (let i = 0; i < images.n; i += batch) {
    const m = Math.min(batch, images.n - i);
    const f = tf.tidy(() => poolFeatures(features, quantise8(image(images.data.slice(i * size, (i + m) * size), [m, 3, img, img])), batch));
    pooled.set(f, i * POOL_DIM);
    onBatch?.(m);
  }
  return moments(featureSet(pooled, POOL_DIM));
}
