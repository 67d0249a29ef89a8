/**
 * Parameter records: nested plain objects (and arrays) of tensors whose flattened paths
 * are exactly PyTorch's state_dict names (`encode.0.conv1.weight`). An `nn.Sequential`
 * becomes a record with numeric-string keys where activations keep their index and have
 * no entry (`to_rgb: { "0": norm, "2": conv }`).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Role } from './tensor.ts';

/**
 * A tree of tensors: nested records and arrays whose tensor leaves are parameters.
 * Other leaves (numbers, strings: an Adam step count, a PRNG key) are carried as data.
 * `undefined` entries (absent optional parameters) are skipped.
 * Typed as `unknown` so that interfaces (which lack index signatures) qualify.
 */
export type Params = unknown;

function isTensor(p: unknown): p is tf.Tensor {
  return p instanceof tf.Tensor;
}

function isBranch(p: unknown): p is object {
  return typeof p === 'object' && p !== null && !isTensor(p);
}

/** `[name, tensor]` pairs in a stable order; names are the state_dict keys. */
export function flattenParams(p: Params, prefix = ''): [string, tf.Tensor][] {
  if (isTensor(p)) return [[prefix, p]];
  if (!isBranch(p)) return [];
  return Object.entries(p).flatMap(([k, v]) => (v === undefined ? [] : flattenParams(v, prefix ? `${prefix}.${k}` : k)));
}

/** The tensors of a record, in `flatten` order. */
export function leaves(p: Params): tf.Tensor[] {
  return flattenParams(p).map(([, t]) => t);
}

/** Rebuilds a record of the same structure as `template` from tensors in `flatten` order. */
export function rebuild<P>(template: P, tensors: readonly tf.Tensor[]): P {
  let i = 0;
  const go = (p: unknown): unknown => {
    if (isTensor(p)) return tensors[i++];
    if (!isBranch(p)) return p;
    if (Array.isArray(p)) return p.map(go);
    return Object.fromEntries(Object.entries(p).map(([k, v]) => [k, go(v)]));
  };
  const out = go(template) as P;
  if (i !== tensors.length) throw new Error(`rebuild: ${tensors.length} tensors for a record of ${i}`);
  return out;
}

/** Applies `f` leafwise over records of identical structure. */
export function mapParams<P>(f: (...ts: tf.Tensor[]) => tf.Tensor, first: P, ...rest: P[]): P {
  const others = rest.map(leaves);
  return rebuild(first, leaves(first).map((t, i) => f(t, ...others.map((o) => o[i]))));
}

/** Number of scalar parameters. */
export function countParams(p: Params): number {
  return leaves(p).reduce((n, t) => n + t.size, 0);
}

/** Disposes every tensor of a record. */
export function disposeParams(p: Params): void {
  tf.dispose(leaves(p));
}

/** Disposes the tensors of `old` that `next` no longer holds: the memory discipline of a fold. */
export function disposeReplaced(old: Params, next: Params): void {
  const kept = new Set(leaves(next).map((t) => t.id));
  tf.dispose(leaves(old).filter((t) => !kept.has(t.id)));
}

/** Keeps every tensor of a record alive past the enclosing tf.tidy. */
export function keepParams<P>(p: P): P {
  leaves(p).forEach((t) => tf.keep(t));
  return p;
}

/** The memory layout of a named parameter (see tensor.ts): conv weights are rank 4, linear weights rank 2. */
export function roleOf(name: string, rank: number): Role {
  if (rank === 4) return 'conv';
  if (rank === 2 && name.endsWith('weight')) return 'linear';
  return 'plain';
}

/**
 * Runs `f` in a tf.tidy scope that frees every intermediate tensor and keeps the tensors
 * of the returned tree (whatever its shape: records with numbers, keys, optimizer state).
 */
export function tidyTree<T>(f: () => T): T {
  let out!: T;
  tf.tidy(() => {
    out = f();
    return leaves(out);
  });
  return out;
}
