/**
 * StarGAN v1's sample grid (yunjey/stargan `create_labels` and the debug images): each row a
 * source image followed by its translations, one column per label: a label in an exclusive
 * group (hair colours, skin tones, vendors) is set and the rest of its group cleared; any
 * other label is flipped.
 */
import * as tf from '@tensorflow/tfjs-core';
import { tensor, type Tensor } from '../../dsl/index.ts';
import { toChw, type Grid } from '../samples.ts';
import type { V1NetConfig } from './config.ts';
import { generatorV1, type GeneratorV1Params } from './generator.ts';
import { conditionVector } from './labels.ts';

/** The target label vectors of the grid's columns: for label a, every row's labels with a set (group) or flipped. */
export function columnTargets(labels: readonly (readonly number[])[], groups: readonly (readonly number[])[]): number[][][] {
  const k = labels[0]?.length ?? 0;
  return Array.from({ length: k }, (_, a) => labels.map((row) => {
    const t = [...row];
    const group = groups.find((g) => g.includes(a));
    if (group) group.forEach((j) => (t[j] = j === a ? 1 : 0));
    else t[a] = 1 - t[a];
    return t;
  }));
}

/**
 * Rows: the sources x `(N, 3, H, W)` of dataset k with labels `(N, K)`; columns: the source,
 * then G(x, targets of label a) for every label a.
 */
export function attributeGrid(
  g: GeneratorV1Params, cfg: V1NetConfig, k: number, x: Tensor<[number, 3, number, number]>,
  labels: readonly (readonly number[])[], groups: readonly (readonly number[])[],
): Grid {
  return tf.tidy(() => {
    const n = labels.length;
    const size = cfg.datasets[k].size;
    const columns = columnTargets(labels, groups).map((t) =>
      toChw(generatorV1(g, x, conditionVector(cfg, k, tensor(Float32Array.from(t.flat()), [n, size] as const)))));
    const images = toChw(x).flatMap((src, i) => [src, ...columns.map((c) => c[i])]);
    return { images, rows: n, cols: 1 + columns.length };
  });
}
