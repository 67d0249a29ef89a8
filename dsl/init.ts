/**
 * Parameter initialisers, as the official StarGAN v2 code: He (kaiming normal, fan_in,
 * ReLU gain) for conv and linear weights, zero biases, unit/zero affine norms.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { AffineParams, ConvParams, LinearParams } from './ops.ts';
import { normal, type Key, split } from './random.ts';
import { typed } from './tensor.ts';

/** A conv layer `Ci -> Co` with a KxK kernel, He-initialised. */
export function initConv<Co extends number, Ci extends number, K extends number>(
  key: Key, ci: Ci, co: Co, k: K, bias = true,
): ConvParams<Co, Ci, K> {
  const std = Math.sqrt(2 / (ci * k * k));
  const weight = normal(key, [co, ci, k, k] as [Co, Ci, K, K], 'conv', std);
  return bias ? { weight, bias: typed(tf.zeros([co])) } : { weight };
}

/** A linear layer `I -> O`, He-initialised. */
export function initLinear<O extends number, I extends number>(key: Key, i: I, o: O): LinearParams<O, I> {
  const weight = normal(key, [o, i] as [O, I], 'linear', Math.sqrt(2 / i));
  return { weight, bias: typed(tf.zeros([o])) };
}

/** An affine norm over C channels: weight 1, bias 0 (PyTorch's default). */
export function initAffine<C extends number>(c: C): AffineParams<C> {
  return { weight: typed(tf.ones([c])), bias: typed(tf.zeros([c])) };
}

/** Splits a key into a named set of child keys (one per sub-layer). */
export function keysFor<const Names extends readonly string[]>(key: Key, names: Names): Record<Names[number], Key> {
  const ks = split(key, names.length);
  return Object.fromEntries(names.map((n, i) => [n, ks[i]])) as Record<Names[number], Key>;
}
