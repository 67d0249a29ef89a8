/**
 * The evaluation protocol's networks (stargan/eval/protocol.ts `EvalNets`) on an ONNX export run by onnxruntime:
 * the protocol's tfjs tensors go in as torch-order batches and come back as tensors, so the protocol draws the
 * same latents, references and masks whichever engine translates.
 */
import * as tf from '@tensorflow/tfjs-core';
import { image, logicalShape, tensor, toTorch, typed, type Tensor } from '../../dsl/index.ts';
import type { EvalNets } from '../eval/protocol.ts';
import type { Masks } from '../v2/generator.ts';
import { runGenerator, runMapping, runStyleEncoder, type Batch, type OrtNets } from './runtime.ts';

/** A tensor as a torch-order batch: images and masks (role 'image') are transposed from memory order (NHWC). */
export function batchOf(t: tf.Tensor, role: 'image' | 'features'): Batch {
  if (role === 'features') return { data: (t.dataSync() as Float32Array).slice(), shape: [...t.shape] };
  return { data: tf.tidy(() => toTorch(t, 'image').dataSync() as Float32Array), shape: logicalShape(t, 'image') };
}

/** A w_hpf > 0 generator's masks as batches; without masks, zero masks (1x1, resized in the graph), which add nothing as our skipped path. */
export function maskBatches(o: OrtNets, masks: Masks<number> | undefined, n: number): readonly [Batch, Batch] | undefined {
  if (!o.masked) return undefined;
  if (masks) return [batchOf(masks[0], 'image'), batchOf(masks[1], 'image')];
  const zero = { data: new Float32Array(n), shape: [n, 1, 1, 1] };
  return [zero, zero];
}

const styles = (b: Batch): Tensor<[number, number]> => tensor(b.data, [b.shape[0], b.shape[1]]);
const targets = (y: number, t: tf.Tensor) => new Array<number>(t.shape[0]).fill(y);

/** G, F, E of an open export (runtime.ts openOnnx). */
export function ortEvalNets(o: OrtNets): EvalNets {
  return {
    mapping: async (z, y) => styles(await runMapping(o, batchOf(z, 'features'), targets(y, z))),
    styleEncoder: async (x, y) => styles(await runStyleEncoder(o, batchOf(x, 'image'), targets(y, x))),
    generator: async (x, s, masks) => {
      const out = await runGenerator(o, batchOf(x, 'image'), batchOf(s, 'features'), maskBatches(o, masks, x.shape[0]));
      return typed(image(out.data, [out.shape[0], 3, out.shape[2], out.shape[3]]));
    },
  };
}
