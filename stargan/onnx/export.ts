/**
 * Writing G, F and E as ONNX models (opset 17, dynamic batch): `generator.onnx`, `mapping_network.onnx`,
 * `style_encoder.onnx` in one folder, each written atomically, with the network config and the domain names in
 * the models' metadata. Any runtime that reads ONNX runs them (onnxruntime on CPU or GPU, in Python, C++, the
 * browser); stargan/onnx/runtime.ts runs them with onnxruntime-node.
 */
import * as path from 'node:path';
import { encodeOnnxModel, type OnnxGraph } from '../../dsl/io/onnx.ts';
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

/**
 * Writes the three models into `dir` (created if needed); returns their paths. `domainNames` (one per domain)
 * go into the metadata as `domain_names`, so a deployed model still says what label 0, 1, ... mean.
 */
export function exportOnnx(dir: string, nets: EmaNets, net: NetConfig, domainNames?: readonly string[]): Record<OnnxNet, string> {
  const meta: Record<string, string> = domainNames ? { domain_names: JSON.stringify(domainNames) } : {};
  const out = {} as Record<OnnxNet, string>;
  for (const which of Object.keys(onnxFiles) as OnnxNet[]) {
    const file = path.join(dir, onnxFiles[which]);
    writeFileAtomic(file, onnxModelBytes(which, nets, net, meta));
    out[which] = file;
  }
  return out;
}
