/**
 * The triplet pool of stage 1: per domain, up to `poolSize` images (a seeded choice), their Gram
 * vectors in the fixed feature network, pairwise style distances and neighbour sets; and the
 * batches drawn from it. Everything is a pure function of (dataset, key, sizes), so a resumed
 * run rebuilds the same pool.
 */
import * as tf from '@tensorflow/tfjs-core';
import { image, labels, split, typed, uniforms, type Key, type Labels, type Tensor } from '../../dsl/index.ts';
import type { Dataset } from '../data/datasets.ts';
import { loadImages } from '../data/sampler.ts';
import { gramVectors, pairwiseDistances, type FeatureNet } from './features.ts';
import { neighbourSets, sampleTriplets, type NeighbourSets } from './neighbours.ts';

export interface TripletPool {
  readonly img: number;
  /** Per domain: the chosen files (or any names). */
  readonly files: readonly (readonly string[])[];
  /** Per domain: the images, NCHW float32 in [-1, 1]. */
  readonly images: readonly Float32Array[];
  readonly sets: readonly NeighbourSets[];
}

/** One stage-1 batch: anchors, positives and negatives `(N, 3, H, W)`, all of domain y. */
export interface TripletBatch<N extends number = number> {
  readonly anchor: Tensor<[N, 3, number, number]>;
  readonly positive: Tensor<[N, 3, number, number]>;
  readonly negative: Tensor<[N, 3, number, number]>;
  readonly y: Labels<N>;
}

/** Up to `size` of `n` indices, a seeded choice, in increasing order. */
function choose(key: Key, n: number, size: number): number[] {
  if (size >= n) return Array.from({ length: n }, (_, i) => i);
  const u = uniforms(key, n);
  return Array.from({ length: n }, (_, i) => i).sort((a, b) => u[a] - u[b] || a - b).slice(0, size).sort((a, b) => a - b);
}

/** Gram vectors of many images, in chunks (bounded memory): `(P, F)`. */
function gramsOf(net: FeatureNet, images: Float32Array, p: number, img: number, chunk = 64): Tensor<[number, number]> {
  const per = 3 * img * img;
  const parts: tf.Tensor[] = [];
  for (let i = 0; i < p; i += chunk) {
    const m = Math.min(chunk, p - i);
    parts.push(tf.tidy(() => gramVectors(net, image(images.subarray(i * per, (i + m) * per), [m, 3, img, img]))));
  }
  const out = tf.concat(parts, 0);
  tf.dispose(parts);
  return typed(out);
}

/** Sizes of a pool: images per domain, image size, neighbour counts. */
export interface PoolOptions {
  readonly poolSize: number;
  readonly img: number;
  readonly nearest: number;
  readonly farthest: number;
}

/** Builds the pool from a dataset: per domain, a seeded choice of images, then {@link tripletPoolFromImages}. Errors name the dataset. */
export function buildTripletPool(ds: Dataset, key: Key, o: PoolOptions, net: FeatureNet): TripletPool {
  const keys = split(key, ds.domains.length);
  const files = ds.files.map((f, d) => choose(keys[d], f.length, o.poolSize).map((i) => f[i]));
  const short = files.findIndex((f) => f.length < o.nearest + o.farthest + 1);
  if (short >= 0) {
    throw new Error(`${ds.name}: domain '${ds.domains[short]}' has ${files[short].length} images; triplets need at least ${o.nearest + o.farthest + 1}`);
  }
  return tripletPoolFromImages(files, files.map((f) => loadImages(f, o.img)), o, net);
}

/** The pool of given images (per domain NCHW in [-1, 1], `names[d].length` images each): Gram distances and neighbour sets. */
export function tripletPoolFromImages(names: readonly (readonly string[])[], images: readonly Float32Array[], o: PoolOptions, net: FeatureNet): TripletPool {
  const sets = images.map((im, d) => {
    const grams = gramsOf(net, im, names[d].length, o.img);
    const dist = pairwiseDistances(grams);
    grams.dispose();
    return neighbourSets(dist, names[d].length, o.nearest, o.farthest);
  });
  return { img: o.img, files: names, images, sets };
}

/** The images at `indices` of a domain's pool, NCHW. */
function gatherImages(pool: TripletPool, domain: number, indices: readonly number[]): Float32Array {
  const per = 3 * pool.img * pool.img;
  const out = new Float32Array(indices.length * per);
  indices.forEach((i, n) => out.set(pool.images[domain].subarray(i * per, (i + 1) * per), n * per));
  return out;
}

/** n triplets from the pool, a pure function of the key. */
export function tripletBatch(pool: TripletPool, key: Key, n: number): TripletBatch {
  const t = sampleTriplets(key, pool.sets, n);
  const per = 3 * pool.img * pool.img;
  const take = (role: 'anchor' | 'positive' | 'negative') => {
    const out = new Float32Array(n * per);
    t.forEach((tr, i) => out.set(gatherImages(pool, tr.domain, [tr[role]]), i * per));
    return image(out, [n, 3, pool.img, pool.img]);
  };
  return { anchor: take('anchor'), positive: take('positive'), negative: take('negative'), y: labels(t.map((tr) => tr.domain)) };
}

/** Images of a domain's pool by index, as a tensor `(M, 3, H, W)` (for grids). */
export function poolImages(pool: TripletPool, domain: number, indices: readonly number[]): Tensor<[number, 3, number, number]> {
  return image(gatherImages(pool, domain, indices), [indices.length, 3, pool.img, pool.img]);
}
