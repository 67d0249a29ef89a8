/**
 * ONNX models as plain data, and their encoding (onnx.proto, the subset a feed-forward graph of float tensors
 * needs: ModelProto, GraphProto, NodeProto, AttributeProto, TensorProto, ValueInfoProto), and reading a model
 * file's metadata back. No tensors here: weights are Float32Arrays. Field numbers are onnx.proto's (onnx/onnx,
 * onnx/onnx.proto, IR version 8).
 */
import * as fs from 'node:fs';
import {
  bytesField, concat, delimitedFields, fieldHeader, float32Bytes, floatField, int64Bytes, intField, messageField, packedInts, stringField,
} from './protobuf.ts';

/** An attribute value, tagged with its AttributeProto type. */
export type OnnxAttr =
  | { readonly int: number }
  | { readonly float: number }
  | { readonly ints: readonly number[] }
  | { readonly string: string };

export interface OnnxNode {
  readonly op: string;
  readonly inputs: readonly string[];
  readonly outputs: readonly string[];
  readonly name?: string;
  readonly attrs?: Readonly<Record<string, OnnxAttr>>;
}

/** A constant: float32 data or int64 values, torch order (row-major over `dims`). */
export interface OnnxTensor {
  readonly name: string;
  readonly dims: readonly number[];
  readonly data: Float32Array | { readonly int64: readonly number[] };
}

/** A graph input or output: element type and shape, a string for a named dynamic dimension (e.g. 'N'). */
export interface OnnxValueInfo {
  readonly name: string;
  readonly elemType: 'float' | 'int64';
  readonly shape: readonly (number | string)[];
}

export interface OnnxGraph {
  readonly name: string;
  readonly nodes: readonly OnnxNode[];
  readonly initializers: readonly OnnxTensor[];
  readonly inputs: readonly OnnxValueInfo[];
  readonly outputs: readonly OnnxValueInfo[];
  readonly doc?: string;
}

export interface OnnxModel {
  readonly graph: OnnxGraph;
  /** Version of the default ('ai.onnx') operator set. */
  readonly opset: number;
  readonly producer: string;
  readonly producerVersion?: string;
  /** `metadata_props`: free-form strings (e.g. the network config). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** IR version 8 is the one that introduced opset 17 (onnx 1.12); runtimes read older IR versions. */
export const onnxIrVersion = 8;

// TensorProto.DataType and AttributeProto.AttributeType values.
const FLOAT = 1;
const INT64 = 7;
const ATTR = { float: 1, int: 2, string: 3, ints: 7 } as const;

function attribute(name: string, a: OnnxAttr): Uint8Array {
  const fields = [stringField(1, name)];
  if ('int' in a) fields.push(intField(3, a.int), intField(20, ATTR.int));
  else if ('float' in a) fields.push(floatField(2, a.float), intField(20, ATTR.float));
  else if ('ints' in a) fields.push(packedInts(8, a.ints), intField(20, ATTR.ints));
  else fields.push(stringField(4, a.string), intField(20, ATTR.string));
  return concat(fields);
}

function node(n: OnnxNode): Uint8Array {
  return concat([
    ...n.inputs.map((i) => stringField(1, i)),
    ...n.outputs.map((o) => stringField(2, o)),
    ...(n.name ? [stringField(3, n.name)] : []),
    stringField(4, n.op),
    ...Object.entries(n.attrs ?? {}).map(([k, a]) => messageField(5, [attribute(k, a)])),
  ]);
}

function tensor(t: OnnxTensor): Uint8Array {
  const count = t.dims.reduce((a, b) => a * b, 1);
  const isFloat = t.data instanceof Float32Array;
  const values = t.data instanceof Float32Array ? t.data : t.data.int64;
  if (values.length !== count) throw new Error(`onnx: tensor '${t.name}' has ${values.length} values for dims [${t.dims.join(', ')}]`);
  return concat([
    packedInts(1, t.dims),
    intField(2, isFloat ? FLOAT : INT64),
    stringField(8, t.name),
    // raw_data (little-endian), the compact form runtimes read directly.
    bytesField(9, t.data instanceof Float32Array ? float32Bytes(t.data) : int64Bytes(t.data.int64)),
  ]);
}

function valueInfo(v: OnnxValueInfo): Uint8Array {
  const dims = v.shape.map((d) => messageField(1, [typeof d === 'number' ? intField(1, d) : stringField(2, d)]));
  const tensorType = messageField(1, [intField(1, v.elemType === 'float' ? FLOAT : INT64), messageField(2, dims)]);
  return concat([stringField(1, v.name), messageField(2, [tensorType])]);
}

function graph(g: OnnxGraph): Uint8Array {
  return concat([
    ...g.nodes.map((n) => bytesField(1, node(n))),
    stringField(2, g.name),
    ...g.initializers.map((t) => bytesField(5, tensor(t))),
    ...(g.doc ? [stringField(10, g.doc)] : []),
    ...g.inputs.map((v) => bytesField(11, valueInfo(v))),
    ...g.outputs.map((v) => bytesField(12, valueInfo(v))),
  ]);
}

/** The serialized ModelProto (what a `.onnx` file holds). */
export function encodeOnnxModel(m: OnnxModel): Uint8Array {
  return concat([
    intField(1, onnxIrVersion),
    stringField(2, m.producer),
    ...(m.producerVersion ? [stringField(3, m.producerVersion)] : []),
    bytesField(7, graph(m.graph)),
    messageField(8, [stringField(1, ''), intField(2, m.opset)]),
    ...Object.entries(m.metadata ?? {}).map(([k, v]) => messageField(14, [stringField(1, k), stringField(2, v)])),
  ]);
}

/** ModelProto's `metadata_props` field, and StringStringEntryProto's key and value. */
const METADATA_PROPS = 14;

/**
 * The `metadata_props` of an ONNX model file. Walks the file's top-level fields, reading only their headers
 * and the metadata entries: the graph (hundreds of MB for a CelebA-HQ generator) is skipped, not read.
 */
export function readOnnxMetadata(file: string): Record<string, string> {
  const fd = fs.openSync(file, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const read = (at: number, length: number) => {
      const b = new Uint8Array(Math.min(length, size - at));
      fs.readSync(fd, b, 0, b.length, at);
      return b;
    };
    const out: Record<string, string> = {};
    const text = new TextDecoder();
    for (let at = 0; at < size;) {
      const h = fieldHeader(read(at, 20));
      if (at + h.payloadEnd > size) throw new Error(`${file}: not an ONNX model (a field runs past the end of the file)`);
      if (h.delimited && h.field === METADATA_PROPS) {
        const entry = delimitedFields(read(at + h.payloadStart, h.payloadEnd - h.payloadStart));
        const get = (f: number) => text.decode(entry.find((e) => e.field === f)?.payload ?? new Uint8Array());
        out[get(1)] = get(2);
      }
      at += h.payloadEnd;
    }
    return out;
  } finally {
    fs.closeSync(fd);
  }
}
