/**
 * Parameter initialisers, as the official StarGAN v2 code: He (kaiming normal, fan_in,
 * ReLU gain) for conv and linear weights, zero biases, unit/zero affine norms. Each comes as
 * a spec (shapes and fill, no data; see spec.ts) and as tensors (`init…` = the spec, materialised).
 */
import type { AffineParams, ConvParams, LinearParams } from './ops.ts';
import { type Key, split } from './random.ts';
import { materialize, ParamSpec, type Spec } from './spec.ts';

type AnyConv = ConvParams<number, number, number>;
type AnyLinear = LinearParams<number, number>;
type AnyAffine = AffineParams<number>;

/** A conv layer `Ci -> Co` with a KxK kernel: weight He-normal with std sqrt(2 / (Ci K K)), bias 0. */
export function convSpec(key: Key, ci: number, co: number, k: number, bias = true): Spec<AnyConv> {
  const weight = new ParamSpec([co, ci, k, k], 'conv', { normal: { key, std: Math.sqrt(2 / (ci * k * k)) } });
  return bias ? { weight, bias: new ParamSpec([co], 'plain', 'zeros') } : { weight };
}

/** A linear layer `I -> O`: weight He-normal with std sqrt(2 / I), bias 0. */
export function linearSpec(key: Key, i: number, o: number): Spec<AnyLinear> {
  return { weight: new ParamSpec([o, i], 'linear', { normal: { key, std: Math.sqrt(2 / i) } }), bias: new ParamSpec([o], 'plain', 'zeros') };
}

/** An affine norm over C channels: weight 1, bias 0 (PyTorch's default). */
export function affineSpec(c: number): Spec<AnyAffine> {
  return { weight: new ParamSpec([c], 'plain', 'ones'), bias: new ParamSpec([c], 'plain', 'zeros') };
}

/** A conv layer `Ci -> Co` with a KxK kernel, He-initialised. */
export function initConv<Co extends number, Ci extends number, K extends number>(
  key: Key, ci: Ci, co: Co, k: K, bias = true,
): ConvParams<Co, Ci, K> {
  return materialize<AnyConv>(convSpec(key, ci, co, k, bias)) as ConvParams<Co, Ci, K>;
}

/** A linear layer `I -> O`, He-initialised. */
export function initLinear<O extends number, I extends number>(key: Key, i: I, o: O): LinearParams<O, I> {
  return materialize<AnyLinear>(linearSpec(key, i, o)) as LinearParams<O, I>;
}

/** An affine norm over C channels: weight 1, bias 0 (PyTorch's default). */
export function initAffine<C extends number>(c: C): AffineParams<C> {
  return materialize<AnyAffine>(affineSpec(c)) as AffineParams<C>;
}

/** Splits a key into a named set of child keys (one per sub-layer). */
export function keysFor<const Names extends readonly string[]>(key: Key, names: Names): Record<Names[number], Key> {
  const ks = split(key, names.length);
  return Object.fromEntries(names.map((n, i) => [n, ks[i]])) as Record<Names[number], Key>;
}
