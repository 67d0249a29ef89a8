/**
 * Parameter records <-> named torch-order arrays (safetensors entries, PyTorch state_dicts).
 * The only place where memory layout is converted for weights: by rank and name (roleOf).
 */
import * as tf from '@tensorflow/tfjs-core';
import { flattenParams, rebuild } from './params.ts';
import type { Entry } from './io/safetensors.ts';
import { fromSpec, type Spec } from './spec.ts';
import { fromTorch, logicalShape, toTorch, type Role } from './tensor.ts';
import { roleOf } from './params.ts';

/** `[prefix.name, entry]` pairs in torch layout, for every tensor of a record. */
export function recordToEntries(record: unknown, prefix = ''): [string, Entry][] {
  return flattenParams(record).map(([name, t]) => {
    const full = prefix ? (name ? `${prefix}.${name}` : prefix) : name;
    const torch = tf.tidy(() => toTorch(t, roleOf(name, t.rank)));
    const data = torch.dataSync().slice() as Float32Array | Int32Array;
    const shape = torch.shape;
    torch.dispose();
    return [full, { dtype: t.dtype === 'int32' ? 'I32' : 'F32', shape, data }];
  });
}

/** The entry `full` as a tensor in `role`'s memory layout, checked against the torch-order shape `want`. */
function loadEntry(entries: Map<string, Entry>, full: string, want: readonly number[], role: Role, dtype: 'int32' | 'float32', source: string): tf.Tensor {
  const e = entries.get(full);
  if (!e) throw new Error(`${source}: missing tensor '${full}'`);
  if (e.shape.length !== want.length || e.shape.some((d, i) => d !== want[i])) {
    throw new Error(`${source}: tensor '${full}' has shape [${e.shape.join(', ')}], expected [${want.join(', ')}]`);
  }
  return tf.tidy(() => fromTorch(tf.tensor(e.data, [...e.shape], dtype), role));
}

/**
 * Builds a record shaped like `template` from torch-layout entries named `prefix.name`.
 * Every name must be present with the template's shape; errors name `source` and the tensor.
 */
export function recordFromEntries<P>(template: P, entries: Map<string, Entry>, prefix: string, source: string): P {
  const tensors = flattenParams(template).map(([name, t]) => {
    const full = prefix ? (name ? `${prefix}.${name}` : prefix) : name;
    const role = roleOf(name, t.rank);
    return loadEntry(entries, full, logicalShape(t, role), role, t.dtype === 'int32' ? 'int32' : 'float32', source);
  });
  return rebuild(template, tensors);
}

/**
 * Builds a record in the structure of `spec` (dsl/spec.ts: shapes only, so the template costs no memory and no
 * random draws) from torch-layout float entries named `prefix.name`. Every name must be present with the spec's
 * shape; errors name `source` and the tensor, and free what was already loaded.
 */
export function recordFromSpec<P>(spec: Spec<P>, entries: Map<string, Entry>, prefix: string, source: string): P {
  const loaded: tf.Tensor[] = [];
  try {
    return fromSpec<P>(spec, (s, full) => {
      const t = loadEntry(entries, full, s.shape, s.role, 'float32', source);
      loaded.push(t);
      return t;
    }, prefix);
  } catch (e) {
    tf.dispose(loaded);
    throw e;
  }
}
