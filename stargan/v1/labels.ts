/**
 * The label vector of multi-dataset StarGAN v1 (REFERENCE section 4; yunjey/stargan
 * `train_multi`): G reads `[dataset 0 labels | dataset 1 labels | ... | one-hot mask]`, with
 * zeros in the slots of the datasets a sample does not come from, and D's classification
 * loss counts only the known dataset's slice of D_cls. With one dataset there is no mask and
 * the vector is the dataset's labels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchSize, typed, type Scalar, type Tensor } from '../../dsl/index.ts';
import { bceWithLogitsPerSample, crossEntropyOneHot, featureSlice } from '../../dsl/losses.ts';
import { conditionDim, labelDim, labelOffset, type V1NetConfig } from './config.ts';

/**
 * G's label input for samples of dataset k: `(N, size_k) -> (N, conditionDim)`, the labels in
 * dataset k's slot, zeros elsewhere, then the one-hot mask of k (when there are several datasets).
 */
export function conditionVector<N extends number>(cfg: V1NetConfig, k: number, labels: Tensor<[N, number]>): Tensor<[N, number]> {
  const n = batchSize(labels);
  const size = cfg.datasets[k].size;
  if (labels.shape[1] !== size) throw new Error(`conditionVector: dataset ${cfg.datasets[k].name} has ${size} labels, got ${labels.shape[1]}`);
  if (cfg.datasets.length === 1) return labels;
  const before = labelOffset(cfg, k);
  const after = labelDim(cfg) - before - size;
  // (tf.oneHot with a float32 dtype returns int bits on tfjs-wasm 4.22: cast instead.)
  const mask = tf.cast(tf.oneHot(tf.fill([n], k, 'int32') as tf.Tensor1D, cfg.datasets.length), 'float32');
  const parts = [tf.zeros([n, before]), labels, tf.zeros([n, after]), mask].filter((t) => t.shape[1] !== 0);
  const out = tf.concat(parts, 1);
  if (out.shape[1] !== conditionDim(cfg)) throw new Error('conditionVector: layout mismatch');
  return typed(out);
}

/**
 * The domain classification loss of samples of dataset k: only dataset k's slice of the
 * logits counts (the official `out_cls[:, :c_dim]` / `out_cls[:, c_dim:]`), against the
 * dataset's own labels: BCE summed over attributes and averaged over samples (`multi`), or
 * softmax cross-entropy averaged over samples (`single`, one-hot labels).
 * logits `(N, labelDim)`, labels `(N, size_k)` -> `()`.
 */
export function classificationLoss<N extends number>(cfg: V1NetConfig, k: number, logits: Tensor<[N, number]>, labels: Tensor<[N, number]>): Scalar {
  const set = cfg.datasets[k];
  const own = featureSlice(logits, labelOffset(cfg, k), set.size);
  return set.kind === 'multi' ? bceWithLogitsPerSample(own, labels) : crossEntropyOneHot(own, labels);
}
