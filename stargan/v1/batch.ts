/**
 * StarGAN v1 batches as tensors: one sub-batch per labelled dataset, each a pure function of
 * its key (stargan/data/labelled.ts draws the images, target labels and GP weights).
 */
import { image, split, tensor, type Key } from '../../dsl/index.ts';
import { sampleLabelledBatch, type LabelledDataset } from '../data/labelled.ts';
import type { ImageCache } from '../data/sampler.ts';
import type { SubBatch } from './losses.ts';
import type { V1Batch } from './step.ts';

/** The tensors of dataset k's sub-batch of n images at img x img (`indices` fixes the images). */
export function labelledSubBatch(
  ds: LabelledDataset, k: number, cache: ImageCache, key: Key, n: number, img: number, flip: boolean, indices?: readonly number[],
): SubBatch {
  const h = sampleLabelledBatch(ds, cache, key, n, img, flip, indices);
  const m = h.indices.length;
  const size = ds.attrs.length;
  return {
    dataset: k,
    x: image(h.x, [m, 3, img, img] as const),
    labelOrg: tensor(h.labelOrg, [m, size] as const),
    labelTrg: tensor(h.labelTrg, [m, size] as const),
    alpha: tensor(h.alpha, [m] as const),
  };
}

/** An iteration's batch: a sub-batch of n from each dataset, in order, from one key. */
export function labelledBatch(datasets: readonly LabelledDataset[], cache: ImageCache, key: Key, n: number, img: number, flip: boolean): V1Batch {
  const keys = split(key, datasets.length);
  return datasets.map((ds, k) => labelledSubBatch(ds, k, cache, keys[k], n, img, flip));
}

/** Frees a batch's tensors. */
export function disposeBatch(b: V1Batch): void {
  for (const s of b) [s.x, s.labelOrg, s.labelTrg, s.alpha].forEach((t) => t.dispose());
}
