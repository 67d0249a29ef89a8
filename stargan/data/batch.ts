/**
 * Training batches, in one place: the sampler's host arrays ({@link HostBatch}), the tensors a training step
 * takes ({@link Batch}), and the two ways to make one from a key: from a dataset ({@link datasetBatch}) or
 * random ({@link syntheticBatch}, for tests and benchmarks). Both are pure functions of their key.
 */
import * as tf from '@tensorflow/tfjs-core';
import { image, labels, normal, randInts, split, uniform, type Key, type Labels, type Tensor } from '../../dsl/index.ts';
import type { Dataset } from './datasets.ts';
import { sampleBatch, type ImageCache, type SourceView } from './sampler.ts';
import type { Masks } from '../v2/generator.ts';
import { faceMasks } from '../v2/face-masks.ts';
import { viewLandmarks, type LandmarkTable } from './face-landmarks.ts';

/** One batch as the sampler draws it: NCHW float32 images in [-1, 1] (N = batch, C = 3, H = W = img). */
export interface HostBatch {
  /** Source images. */
  x: Float32Array;
  /** Source domains. */
  y: Int32Array;
  /** Target domains. */
  yTrg: Int32Array;
  /** Reference images of domain yTrg. */
  xRef: Float32Array;
  /** Second reference images of domain yTrg (for the diversity loss). */
  xRef2: Float32Array;
  /** Where each source image came from (file, crop, flip): for its face masks. */
  xView: SourceView[];
}

/** One batch as a training step takes it: images (N, 3, H, W) in [-1, 1], source and target domains, two latents, two references. */
export interface Batch<N extends number = number> {
  readonly x: Tensor<[N, 3, number, number]>;
  readonly y: Labels<N>;
  readonly yTrg: Labels<N>;
  readonly z1: Tensor<[N, number]>;
  readonly z2: Tensor<[N, number]>;
  readonly xRef: Tensor<[N, 3, number, number]>;
  readonly xRef2: Tensor<[N, 3, number, number]>;
  /**
   * Face masks of the sources x for the generator's high-pass path (w_hpf > 0), as the official
   * solver computes them with its FAN for each x_real batch; absent: that path is skipped.
   */
  readonly masks?: Masks<N>;
}

/** What a batch's shapes depend on: the image size, the latent size and the number of domains. */
export interface BatchShape {
  readonly img: number;
  readonly latentDim: number;
  readonly domains: number;
}

/** The tensors of a host batch, with the two latents drawn from their keys. */
function toTensors(h: HostBatch, n: number, shape: BatchShape, kZ1: Key, kZ2: Key): Batch {
  const img = [n, 3, shape.img, shape.img] as const;
  return {
    x: image(h.x, img), y: labels([...h.y]), yTrg: labels([...h.yTrg]),
    z1: normal(kZ1, [n, shape.latentDim] as const), z2: normal(kZ2, [n, shape.latentDim] as const),
    xRef: image(h.xRef, img), xRef2: image(h.xRef2, img),
  };
}

/**
 * A batch of n from a dataset, a pure function of the key (the cache changes only the speed).
 * With `landmarks` (per file, face-landmarks.ts) the batch carries the sources' face masks, made
 * from each source's landmarks moved by its own crop and flip.
 */
export function datasetBatch(ds: Dataset, cache: ImageCache, key: Key, shape: BatchShape, n: number, augment: boolean, landmarks?: LandmarkTable): Batch {
  const [kData, kZ1, kZ2] = split(key, 3);
  const host = sampleBatch(ds, cache, kData, n, shape.img, augment);
  const batch = toTensors(host, n, shape, kZ1, kZ2);
  if (!landmarks) return batch;
  return { ...batch, masks: faceMasks(host.xView.map((v) => viewLandmarks(landmarks, v, shape.img)), shape.img) };
}

/** A random batch of n: images uniform in [-1, 1], uniform domains, normal latents. */
export function syntheticBatch(key: Key, shape: BatchShape, n: number): Batch {
  const [kx, ky, kt, kz1, kz2, kr1, kr2] = split(key, 7);
  const img = [n, 3, shape.img, shape.img] as const;
  return tf.tidy(() => ({
    x: uniform(kx, img, -1, 1, 'image'),
    y: labels(randInts(ky, n, shape.domains)),
    yTrg: labels(randInts(kt, n, shape.domains)),
    z1: normal(kz1, [n, shape.latentDim] as const),
    z2: normal(kz2, [n, shape.latentDim] as const),
    xRef: uniform(kr1, img, -1, 1, 'image'),
    xRef2: uniform(kr2, img, -1, 1, 'image'),
  })) as unknown as Batch;
}
