/**
 * Random batches from a key: images uniform in [-1, 1], uniform domains, normal latents.
 * For tests and benchmarks (real data comes from stargan/data/).
 */
import * as tf from '@tensorflow/tfjs-core';
import { labels, normal, randInts, split, uniform, type Key } from '../../dsl/index.ts';
import type { NetConfig } from '../v2/config.ts';
import type { Batch } from '../v2/step.ts';

export function syntheticBatch(key: Key, cfg: NetConfig, n: number): Batch {
  const [kx, ky, kt, kz1, kz2, kr1, kr2] = split(key, 7);
  const img = [n, 3, cfg.img, cfg.img] as const;
  return tf.tidy(() => ({
    x: uniform(kx, img, -1, 1, 'image'),
    y: labels(randInts(ky, n, cfg.domains)),
    yTrg: labels(randInts(kt, n, cfg.domains)),
    z1: normal(kz1, [n, cfg.latentDim] as const),
    z2: normal(kz2, [n, cfg.latentDim] as const),
    xRef: uniform(kr1, img, -1, 1, 'image'),
    xRef2: uniform(kr2, img, -1, 1, 'image'),
  })) as unknown as Batch;
}
