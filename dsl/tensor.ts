/**
 * Typed tensors: a tfjs tensor whose type carries its logical shape.
 *
 * Types speak PyTorch's order: images `(N, C, H, W)`, features `(N, F)`, conv weights
 * `(Co, Ci, KH, KW)`, linear weights `(O, I)`. Memory uses what tfjs computes fastest:
 * images NHWC, conv weights `[KH, KW, Ci, Co]`, linear weights `[I, O]`. The conversion
 * happens only at the edges (`fromTorch` / `toTorch`: data, checkpoints, parity files).
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Shape } from './shape.ts';

declare const shapeBrand: unique symbol;
declare const domainsBrand: unique symbol;

/**
 * One dimension as a method parameter, which TypeScript compares bivariantly: `Dim<8>` and
 * `Dim<number>` are assignable both ways, `Dim<8>` and `Dim<4>` in neither. This is what makes
 * a `number` dimension a wildcard in both directions, one dimension at a time.
 */
interface Dim<D> {
  bivariant(d: D): void;
}
/** A shape as a tuple of `Dim`s (`Tensor<any>`, used by tests that build tensors by hand, stays `any`). */
type Dims<S extends Shape> = 0 extends 1 & S ? any : { [K in keyof S]: Dim<S[K]> }; // eslint-disable-line @typescript-eslint/no-explicit-any

/**
 * A tensor whose logical shape is `S`. Its runtime `.shape` is the memory layout (see the module doc).
 * `Tensor<[number, 512]>` is accepted where `Tensor<[8, 512]>` is expected and the other way round;
 * `Tensor<[8, 64]>` is not accepted as `Tensor<[8, 512]>`, nor a rank-3 tensor as a rank-2 one.
 */
export interface Tensor<S extends Shape = Shape> extends tf.Tensor {
  readonly [shapeBrand]: Dims<S>;
}

/** The shape of a tensor type: `ShapeOf<Tensor<[8, 64]>>` is `[8, 64]`. */
export type ShapeOf<T> = T extends Tensor<infer S> ? S : never;

/** A scalar, e.g. a loss. */
export type Scalar = Tensor<[]>;

/**
 * Domain labels, one integer in [0, K) per sample: `(N,)` int32. K, the number of domains,
 * is checked like a dimension (`number` matches any K); a plain `Tensor<[N]>` has no K.
 */
export type Labels<N extends number = number, K extends number = number> = Tensor<[N]> & { readonly [domainsBrand]?: Dim<K> };

/** How a tensor of a given role is laid out in memory. */
export type Role = 'image' | 'conv' | 'linear' | 'plain';

/** Permutation from the logical (torch) order to the memory order, for a role and rank. */
export function memoryPerm(role: Role, rank: number): number[] | null {
  if (role === 'image' && rank === 4) return [0, 2, 3, 1];
  if (role === 'conv' && rank === 4) return [2, 3, 1, 0];
  if (role === 'linear' && rank === 2) return [1, 0];
  return null;
}

function inversePerm(p: number[]): number[] {
  const inv = new Array<number>(p.length);
  p.forEach((axis, i) => (inv[axis] = i));
  return inv;
}

/** The logical (torch-order) shape of a tensor stored in memory order. */
export function logicalShape(t: tf.Tensor, role: Role = 'image'): number[] {
  const p = memoryPerm(role, t.rank);
  return p ? inversePerm(p).map((axis) => t.shape[axis]) : [...t.shape];
}

/** Wraps a torch-order tfjs tensor (e.g. loaded from a file) into memory order. Disposes nothing. */
export function fromTorch<S extends Shape>(t: tf.Tensor, role: Role): Tensor<S> {
  const p = memoryPerm(role, t.rank);
  return (p ? tf.transpose(t, p) : t.clone()) as Tensor<S>;
}

/** Returns the torch-order view (a new tensor) of a tensor stored in memory order. */
export function toTorch(t: tf.Tensor, role: Role): tf.Tensor {
  const p = memoryPerm(role, t.rank);
  return p ? tf.transpose(t, inversePerm(p)) : t.clone();
}

/** An image batch from torch-order data `(N, C, H, W)`. */
export function image<N extends number, C extends number, H extends number, W extends number>(
  data: Float32Array,
  shape: readonly [N, C, H, W],
): Tensor<[N, C, H, W]> {
  return tf.tidy(() => fromTorch<[N, C, H, W]>(tf.tensor(data, [...shape]), 'image'));
}

/** Features `(N, F)` or any tensor whose memory order equals its logical order. */
export function tensor<S extends Shape>(data: Float32Array | number[], shape: S): Tensor<S> {
  return tf.tensor(data, [...shape], 'float32') as Tensor<S>;
}

/** Integer labels `(N,)`; with `domains`, each must be an integer in [0, domains). */
export function labels<N extends number, K extends number = number>(values: readonly number[], n?: N, domains?: K): Labels<N, K> {
  if (n !== undefined && values.length !== n) throw new Error(`labels: expected ${n} values, got ${values.length}`);
  const bad = domains === undefined ? undefined : values.find((v) => !Number.isInteger(v) || v < 0 || v >= domains);
  if (bad !== undefined) throw new Error(`labels: ${bad} is not a domain in [0, ${domains})`);
  return tf.tensor1d([...values], 'int32') as Labels<N, K>;
}

/** Zeros of a logical shape in a role's memory layout. */
export function zeros<S extends Shape>(shape: S, role: Role = 'plain'): Tensor<S> {
  const p = memoryPerm(role, shape.length);
  return tf.zeros(p ? p.map((axis) => shape[axis]) : [...shape]) as Tensor<S>;
}

/** Casts a tfjs result to a typed tensor. Used inside ops, where the shape rule is stated by the signature. */
export function typed<S extends Shape>(t: tf.Tensor): Tensor<S> {
  return t as Tensor<S>;
}

/** The sizes of an image batch by name. Memory is NHWC, so reading `.shape[1]` would give H, not C: use this instead. */
export interface ImageDims<N extends number, C extends number, H extends number, W extends number> {
  readonly n: N;
  readonly c: C;
  readonly h: H;
  readonly w: W;
}

/** `dims(x)` of an image batch `(N, C, H, W)`, read from its NHWC memory layout. */
export function dims<N extends number, C extends number, H extends number, W extends number>(
  x: Tensor<[N, C, H, W]>,
): ImageDims<N, C, H, W> {
  const [n, h, w, c] = x.shape as [N, H, W, C];
  return { n, c, h, w };
}

/** The batch size of any typed tensor `(N, ...)`. */
export function batchSize<N extends number>(x: Tensor<readonly [N, ...number[]]>): N {
  return x.shape[0] as N;
}
