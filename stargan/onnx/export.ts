/**
 * Writing G, F and E as ONNX models (opset 17, dynamic batch): `generator.onnx`, `mapping_network.onnx`,
 * `style_encoder.onnx` in one folder, each written atomically, with the network config and the domain names in
 * the models' metadata, and a hash of the exported weights so that a folder can be checked against the checkpoint it
 * is run for (`exportMismatch`). Any runtime that reads ONNX runs them (onnxruntime on CPU or GPU, in Python, C++, the
 * browser); stargan/onnx/runtime.ts runs them with onnxruntime-node.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { encodeOnnxModel, readOnnxMetadata, type OnnxGraph } from '../../dsl/io/onnx.ts';
import { writeFileAtomic } from '../../dsl/io/files.ts';
import type { Entry } from '../../dsl/io/safetensors.ts';
import { recordToEntries } from '../../dsl/record-io.ts';
import type { NetConfig } from '../v2/config.ts';
import type { EmaNets } from '../v2/nets.ts';
import { generatorGraph, mappingGraph, styleEncoderGraph } from './nets.ts';

export const onnxOpset = 17;

/** The file of each network in an export folder. */
export const onnxFiles = { generator: 'generator.onnx', mapping_network: 'mapping_network.onnx', style_encoder: 'style_encoder.onnx' } as const;

export type OnnxNet = keyof typeof onnxFiles;

const builders: Record<OnnxNet, (w: ReadonlyMap<string, Entry>, net: NetConfig, source: string) => OnnxGraph> = {
  generator: generatorGraph, mapping_network: mappingGraph, style_encoder: styleEncoderGraph,
};

/** One network's ONNX model bytes, from its parameters (torch-layout entries made here). */
export function onnxModelBytes(which: OnnxNet, nets: EmaNets, net: NetConfig, metadata: Record<string, string> = {}): Uint8Array {
  const weights = new Map(recordToEntries(nets[which], which));
  const graph = builders[which](weights, net, which);
  return encodeOnnxModel({
    graph, opset: onnxOpset, producer: 'stargan-ts', producerVersion: '0.1.0',
    metadata: { ...metadata, net_config: JSON.stringify(net), network: which },
  });
}

/** The metadata keys naming what an export was made from. */
export const weightsHashKey = 'weights_sha256';
export const checkpointKey = 'checkpoint';

/**
 * sha256 of the exported networks' weights: every tensor of G, F, E in torch layout, with its name and shape.
 * Of the weights rather than the file, so that the same networks match wherever they are stored (an official
 * checkpoint and its conversion to ours); any change to a weight changes it.
 */
export function weightsHash(nets: EmaNets): string {
  const h = crypto.createHash('sha256');
  for (const which of Object.keys(onnxFiles) as OnnxNet[]) {
    for (const [name, e] of recordToEntries(nets[which], which)) {
      h.update(`${name}\0${e.dtype}\0${e.shape.join(',')}\0`);
      h.update(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength));
    }
  }
  return h.digest('hex');
}

/**
 * Writes the three models into `dir` (created if needed); returns their paths. `domainNames` (one per domain)
 * go into the metadata as `domain_names`, so a deployed model still says what label 0, 1, ... mean; the
 * weights' hash as `weights_sha256` and, when given, the checkpoint's file name as `checkpoint`.
 */
export function exportOnnx(dir: string, nets: EmaNets, net: NetConfig, domainNames?: readonly string[], checkpoint?: string): Record<OnnxNet, string> {
  const meta: Record<string, string> = {
    ...(domainNames ? { domain_names: JSON.stringify(domainNames) } : {}),
    ...(checkpoint ? { [checkpointKey]: path.basename(checkpoint) } : {}),
    [weightsHashKey]: weightsHash(nets),
  };
  const out = {} as Record<OnnxNet, string>;
  for (const which of Object.keys(onnxFiles) as OnnxNet[]) {
    const file = path.join(dir, onnxFiles[which]);
    writeFileAtomic(file, onnxModelBytes(which, nets, net, meta));
    out[which] = file;
  }
  return out;
}

/**
 * Why the export in `dir` is not of `nets` (with `hash` = weightsHash(nets)), or '' when all three models carry
 * that hash. A missing file or a model without the hash (an older export) is a mismatch too: it cannot be vouched for.
 */
export function exportMismatch(dir: string, hash: string): string {
  for (const which of Object.keys(onnxFiles) as OnnxNet[]) {
    const file = path.join(dir, onnxFiles[which]);
    if (!fs.existsSync(file)) return `${file} is missing`;
    const meta = readOnnxMetadata(file);
    const theirs = meta[weightsHashKey];
    if (!theirs) return `${file} records no ${weightsHashKey} (exported before the check existed)`;
    if (theirs !== hash) {
      const from = meta[checkpointKey] ? ` (exported from ${meta[checkpointKey]})` : '';
      return `${file} holds weights ${theirs.slice(0, 12)}${from}, the checkpoint's are ${hash.slice(0, 12)}`;
    }
  }
  return '';
}
