/**
 * StarGAN v1's sample grid (yunjey/stargan `create_labels` and the debug images): each row a
 * source image followed by its translations, one column per label: a label in an exclusive
 * group (hair colours, skin tones, vendors) is set and the rest of its group cleared; any
 * other label is flipped. With several datasets (the mask vector), every source is also
 * translated under the other datasets' labels (yunjey/stargan `test_multi`).
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

/** A dataset's labels as the grid needs them: how many, and which are mutually exclusive. */
export interface GridLabels {
  readonly size: number;
  readonly groups: readonly (readonly number[])[];
}

/**
 * The target label vectors of a multi-dataset grid's columns for sources of dataset k: for every
 * dataset j in order and every label a of j, `{ dataset: j, targets: (rows, size_j) }`. Under the
 * source's own dataset its labels are set or flipped (as {@link columnTargets}); under another
 * dataset the source has no labels, so the base is all zeros and label a is set (for a
 * single-label dataset: the one-hot class a, the official `test_multi`'s RaFD columns).
 */
export function crossDatasetTargets(
  k: number, labels: readonly (readonly number[])[], sets: readonly GridLabels[],
): { dataset: number; targets: number[][] }[] {
  return sets.flatMap((set, j) => {
    const base = j === k ? labels : labels.map(() => new Array<number>(set.size).fill(0));
    return columnTargets(base, set.groups).map((targets) => ({ dataset: j, targets }));
  });
}

/**
 * Rows: sources x `(N, 3, H, W)` of dataset k with their labels `(N, size_k)`; columns: the
 * source, then G(x, c) for every label of every dataset (c under that dataset's mask), so a
 * source from one dataset is also shown under the labels learned only from the other.
 */
export function crossDatasetGrid(
  g: GeneratorV1Params, cfg: V1NetConfig, k: number, x: Tensor<[number, 3, number, number]>,
  labels: readonly (readonly number[])[], sets: readonly GridLabels[],
): Grid {
  return tf.tidy(() => {
    const n = labels.length;
    const columns = crossDatasetTargets(k, labels, sets).map(({ dataset: j, targets }) =>
      toChw(generatorV1(g, x, conditionVector(cfg, j, tensor(Float32Array.from(targets.flat()), [n, cfg.datasets[j].size] as const)))));
    const images = toChw(x).flatMap((src, i) => [src, ...columns.map((c) => c[i])]);
    return { images, rows: n, cols: 1 + columns.length };
  });
}

/** Grids with the same columns, one under the other. */
export function stackRows(grids: readonly Grid[]): Grid {
  const cols = grids[0]?.cols ?? 0;
  if (grids.some((gr) => gr.cols !== cols)) throw new Error('stackRows: grids with different column counts');
  return { images: grids.flatMap((gr) => gr.images), rows: grids.reduce((s, gr) => s + gr.rows, 0), cols };
}
