/**
 * Parameter specs: what a parameter record holds, without any data. A spec is a record of the same
 * shape as the parameters (same names, arrays and nested records) whose leaves are `ParamSpec`s:
 * the torch-order shape, the memory layout (role, see tensor.ts) and how init fills the tensor.
 *
 * One description serves three uses: `materialize` allocates and fills the tensors (init),
 * `flattenSpec` lists names and shapes (checkpoint name tables), and a spec is the template that
 * loading fills from a file (record-io.ts), so nothing is allocated or drawn just to know the shapes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normal, type Key } from './random.ts';
import type { Shape } from './shape.ts';
import { typed, type Role, type Tensor } from './tensor.ts';

/** How init fills a parameter: He-normal from a key with a standard deviation, or constant. */
export type Fill = { readonly normal: { readonly key: Key; readonly std: number } } | 'zeros' | 'ones';

/**
 * One parameter, without data. `shape` is the logical (torch) order, e.g. `[Co, Ci, K, K]` for a conv weight.
 * `S` is that shape as a type, compared as a tensor's (dimension by dimension, `number` a wildcard), so a spec
 * built with the wrong width does not fit a typed record's spec: `Spec<ConvParams<16, 3, 3>>` does not take
 * `convSpec(key, 3, 512, 3)`. (Inside code generic in a config C, TypeScript lets any number stand for
 * `C['base']`: see docs/types.md.)
 */
export class ParamSpec<S extends Shape = Shape> {
  /** Phantom (types only, never set): the shape `S`. */
  declare readonly tensorType?: Tensor<S>;
  constructor(readonly shape: readonly number[], readonly role: Role, readonly fill: Fill) {}
}

/** The spec of a parameter record `P`: the same structure with a `ParamSpec` for every tensor, of that tensor's shape. */
export type Spec<P> = P extends Tensor<infer S> ? ParamSpec<S>
  : P extends tf.Tensor ? ParamSpec
  : P extends readonly (infer E)[] ? readonly Spec<E>[]
  : P extends object ? { readonly [K in keyof P]: Spec<P[K]> }
  : P;

/**
 * Rebuilds the structure of a spec with `leaf(spec, name)` in place of every ParamSpec (names are the
 * dotted state_dict names after `prefix`); other leaves (phantom numbers, strings) are kept as they are.
 */
export function fromSpec<P>(spec: Spec<P>, leaf: (s: ParamSpec, name: string) => tf.Tensor, prefix = ''): P {
  const go = (s: unknown, name: string): unknown => {
    if (s instanceof ParamSpec) return leaf(s, name);
    if (typeof s !== 'object' || s === null) return s;
    const child = (k: string | number) => (name ? `${name}.${k}` : String(k));
    if (Array.isArray(s)) return s.map((x, i) => go(x, child(i)));
    return Object.fromEntries(Object.entries(s).map(([k, v]) => [k, v === undefined ? v : go(v, child(k))]));
  };
  return go(spec, prefix) as P;
}

/** `[name, ParamSpec]` pairs in the order `flattenParams` gives for the materialised record. */
export function flattenSpec(spec: unknown, prefix = ''): [string, ParamSpec][] {
  if (spec instanceof ParamSpec) return [[prefix, spec]];
  if (typeof spec !== 'object' || spec === null) return [];
  return Object.entries(spec).flatMap(([k, v]) => (v === undefined ? [] : flattenSpec(v, prefix ? `${prefix}.${k}` : k)));
}

/** A tensor filled as its spec says, in its memory layout. */
function fill(s: ParamSpec): tf.Tensor {
  const f = s.fill;
  if (f === 'zeros') return typed(tf.zeros([...s.shape]));
  if (f === 'ones') return typed(tf.ones([...s.shape]));
  return normal(f.normal.key, s.shape, s.role, f.normal.std);
}

/** Allocates and fills every parameter of a spec (init). */
export function materialize<P>(spec: Spec<P>): P {
  return fromSpec<P>(spec, fill);
}
