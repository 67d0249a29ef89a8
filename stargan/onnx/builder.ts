/**
 * Building an ONNX graph from a network's weights: a small accumulator of nodes and initializers, so the layer
 * emitters (layers.ts) read like the apply functions they mirror (`const h = b.op('Conv', [x, w, bias])`).
 * Weights come as torch-layout entries under their official names (`recordToEntries`), which become the
 * initializers' names, so a deployed graph says where each weight came from.
 *
 * The accumulator is mutable while one graph is being built and frozen by `graph()`; it never outlives an export.
 */
import type { OnnxAttr, OnnxGraph, OnnxNode, OnnxTensor, OnnxValueInfo } from '../../dsl/io/onnx.ts';
import type { Entry } from '../../dsl/io/safetensors.ts';

export interface GraphBuilder {
  /** Adds a node of one output; returns that output's (generated) name. */
  op(op: string, inputs: readonly string[], attrs?: Readonly<Record<string, OnnxAttr>>): string;
  /** The initializer for a weight by its official name (added once), shape-checked when `shape` is given. */
  weight(name: string, shape?: readonly number[]): string;
  /** A weight's values (torch order), for constants derived from it at export time. */
  data(name: string): Float32Array;
  /** The torch-order shape of a weight. */
  shapeOf(name: string): readonly number[];
  /** Whether the weights hold a tensor of this name (optional parts: a learned shortcut, an affine norm). */
  has(name: string): boolean;
  /** A float constant (e.g. ones for a norm without affine), added once per name. */
  floats(name: string, dims: readonly number[], data: Float32Array): string;
  /** An int64 constant (shapes, axes, indices), added once per name. */
  ints(name: string, values: readonly number[]): string;
  /** A float initializer stacked from weights `names[k]` along a new first axis (per-domain heads for Gather). */
  stacked(name: string, names: readonly string[]): string;
  /** The graph, with these inputs and outputs; the output names are bound with Identity nodes. */
  graph(name: string, inputs: readonly OnnxValueInfo[], outputs: readonly (OnnxValueInfo & { readonly from: string })[], doc?: string): OnnxGraph;
}

export function graphBuilder(weights: ReadonlyMap<string, Entry>, source: string): GraphBuilder {
  const nodes: OnnxNode[] = [];
  const inits = new Map<string, OnnxTensor>();
  let counter = 0;

  const entry = (name: string): Entry => {
    const e = weights.get(name);
    if (!e) throw new Error(`${source}: missing tensor '${name}'`);
    if (!(e.data instanceof Float32Array)) throw new Error(`${source}: tensor '${name}' is not float32`);
    return e;
  };
  const addOnce = (t: OnnxTensor): string => {
    if (!inits.has(t.name)) inits.set(t.name, t);
    return t.name;
  };

  return {
    op(op, inputs, attrs) {
      const out = `${op.toLowerCase()}_${counter++}`;
      nodes.push({ op, inputs, outputs: [out], name: out, attrs });
      return out;
    },
    weight(name, shape) {
      const e = entry(name);
      if (shape && (shape.length !== e.shape.length || shape.some((d, i) => d !== e.shape[i]))) {
        throw new Error(`${source}: tensor '${name}' has shape [${e.shape.join(', ')}], expected [${shape.join(', ')}]`);
      }
      return addOnce({ name, dims: e.shape, data: e.data as Float32Array });
    },
    shapeOf: (name) => entry(name).shape,
    data: (name) => entry(name).data as Float32Array,
    has: (name) => weights.has(name),
    floats: (name, dims, data) => addOnce({ name, dims, data }),
    ints: (name, values) => addOnce({ name, dims: [values.length], data: { int64: values } }),
    stacked(name, names) {
      const parts = names.map(entry);
      const shape = parts[0].shape;
      const bad = parts.find((p) => p.shape.join() !== shape.join());
      if (bad) throw new Error(`${source}: per-domain tensors of '${name}' differ in shape`);
      const data = new Float32Array(parts.reduce((n, p) => n + p.data.length, 0));
      parts.forEach((p, k) => data.set(p.data as Float32Array, k * p.data.length));
      return addOnce({ name, dims: [parts.length, ...shape], data });
    },
    graph(name, inputs, outputs, doc) {
      const bind = outputs.map((o) => ({ op: 'Identity', inputs: [o.from], outputs: [o.name], name: `output_${o.name}` }));
      return {
        name, doc, inputs, nodes: [...nodes, ...bind], initializers: [...inits.values()],
        outputs: outputs.map(({ name: n, elemType, shape }) => ({ name: n, elemType, shape })),
      };
    },
  };
}
