/**
 * Parameter initialisers, as the official StarGAN v2 code: He (kaiming normal, fan_in,
 * ReLU gain) for conv and linear weights, zero biases, unit/zero affine norms. Each comes as
 * a spec (shapes and fill, no data; see spec.ts) and as tensors (`init…` = the spec, materialised).
 */
import type { AffineParams, ConvParams, LinearParams } from './ops.ts';
import { type Key, split } from './random.ts';
import { materialize, ParamSpec, type Spec } from './spec.ts';

/** A conv layer `Ci -> Co` with a KxK kernel: weight He-normal with std sqrt(2 / (Ci K K)), bias 0. */
export function convSpec<Ci extends number, Co extends number, K extends number>(
  key: Key, ci: Ci, co: Co, k: K, bias = true,
): Spec<ConvParams<Co, Ci, K>> {
  const weight = new ParamSpec<[Co, Ci, K, K]>([co, ci, k, k], 'conv', { normal: { key, std: Math.sqrt(2 / (ci * k * k)) } });
  return bias ? { weight, bias: new ParamSpec<[Co]>([co], 'plain', 'zeros') } : { weight };
}

/** A linear layer `I -> O`: weight He-normal with std sqrt(2 / I), bias 0. */
export function linearSpec<I extends number, O extends number>(key: Key, i: I, o: O): Spec<LinearParams<O, I>> {
  return {
    weight: new ParamSpec<[O, I]>([o, i], 'linear', { normal: { key, std: Math.sqrt(2 / i) } }),
    bias: new ParamSpec<[O]>([o], 'plain', 'zeros'),
  };
}

/** An affine norm over C channels: weight 1, bias 0 (PyTorch's default). */
export function affineSpec<C extends number>(c: C): Spec<AffineParams<C>> {
  return { weight: new ParamSpec<[C]>([c], 'plain', 'ones'), bias: new ParamSpec<[C]>([c], 'plain', 'zeros') };
}

/** A conv layer `Ci -> Co` with a KxK kernel, He-initialised. */
export function initConv<Co extends number, Ci extends number, K extends number>(
  key: Key, ci: Ci, co: Co, k: K, bias = true,
): ConvParams<Co, Ci, K> {
  return materialize<ConvParams<Co, Ci, K>>(convSpec(key, ci, co, k, bias));
}

/** A linear layer `I -> O`, He-initialised. */
export function initLinear<O extends number, I extends number>(key: Key, i: I, o: O): LinearParams<O, I> {
  return materialize<LinearParams<O, I>>(linearSpec(key, i, o));
}

/** An affine norm over C channels: weight 1, bias 0 (PyTorch's default). */
export function initAffine<C extends number>(c: C): AffineParams<C> {
  return materialize<AffineParams<C>>(affineSpec(c));
}

/** Splits a key into a named set of child keys (one per sub-layer). */
export function keysFor<const Names extends readonly string[]>(key: Key, names: Names): Record<Names[number], Key> {
  const ks = split(key, names.length);
  return Object.fromEntries(names.map((n, i) => [n, ks[i]])) as Record<Names[number], Key>;
}
