/**
 * Optimizers as pure functions `(grads, state, params) -> [params, state]`.
 * They return new tensors and dispose nothing; the fold disposes what was replaced.
 */
import * as tf from '@tensorflow/tfjs-core';
import { simdAdamApplies, simdAdamStep, type AdamConstants } from './engine/adam-step-simd.ts';
import { leaves, mapParams, rebuild } from './params.ts';

/** torch.optim.Adam's settings: coupled L2 weight decay (added to the gradient), bias correction. */
export interface AdamConfig {
  readonly lr: number;
  readonly beta1: number;
  readonly beta2: number;
  readonly eps: number;
  readonly weightDecay: number;
}

/** First and second moments per parameter, and the number of steps taken. */
export interface AdamState<P> {
  readonly step: number;
  readonly m: P;
  readonly v: P;
}

export const adamDefaults: AdamConfig = { lr: 1e-3, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 };

/** Zero moments for a parameter record. */
export function adamInit<P>(params: P): AdamState<P> {
  return { step: 0, m: mapParams((t) => tf.zerosLike(t), params), v: mapParams((t) => tf.zerosLike(t), params) };
}

/**
 * One Adam step with torch's arithmetic: `p -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)`.
 * The scalars are made once per step, not once per tensor (a network has 25-75 tensors).
 */
export function adamStep<P>(cfg: AdamConfig, grads: P, state: AdamState<P>, params: P): [P, AdamState<P>] {
  const step = state.step + 1;
  const bc1 = 1 - cfg.beta1 ** step;
  const bc2Sqrt = Math.sqrt(1 - cfg.beta2 ** step);
  const ps = leaves(params), gs = leaves(grads), ms = leaves(state.m), vs = leaves(state.v);
  const k: AdamConstants = { wd: cfg.weightDecay, b1: cfg.beta1, c1: 1 - cfg.beta1, b2: cfg.beta2, c2: 1 - cfg.beta2, bc2: bc2Sqrt, eps: cfg.eps, lr: cfg.lr / bc1 };
  // on wasm one pass of our SIMD kernel per tensor, with the same result as the op chain below
  const next = simdAdamApplies(...ps, ...gs) ? ps.map((p, i) => simdAdamStep(p, gs[i]!, ms[i]!, vs[i]!, k)) : adamOps(k, ps, gs, ms, vs);
  const pick = (j: number) => next.map((t) => t[j]);
  return [rebuild(params, pick(0)), { step, m: rebuild(params, pick(1)), v: rebuild(params, pick(2)) }];
}

/** The step as tfjs ops: `[p', m', v']` per tensor. */
function adamOps(k: AdamConstants, ps: tf.Tensor[], gs: tf.Tensor[], ms: tf.Tensor[], vs: tf.Tensor[]): tf.Tensor[][] {
  const scalars = [k.wd, k.b1, k.c1, k.b2, k.c2, k.bc2, k.eps, k.lr].map((x) => tf.scalar(x));
  const [wd, b1, c1, b2, c2, bc2, eps, lr] = scalars as [tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar, tf.Scalar];
  const next = ps.map((p, i) => tf.tidy(() => {
    const g = k.wd ? tf.add(gs[i]!, tf.mul(p, wd)) : gs[i]!;
    const m = tf.add(tf.mul(ms[i]!, b1), tf.mul(g, c1));
    const v = tf.add(tf.mul(vs[i]!, b2), tf.mul(tf.square(g), c2));
    const denom = tf.add(tf.div(tf.sqrt(v), bc2), eps);
    return [tf.sub(p, tf.mul(tf.div(m, denom), lr)), m, v];
  }));
  tf.dispose(scalars);
  return next;
}

/** Exponential moving average `ema <- p + beta (ema - p)` (torch.lerp(p, ema, beta)). */
export function emaStep<P>(beta: number, params: P, ema: P): P {
  return mapParams((p, e) => tf.tidy(() => tf.add(p, tf.mul(tf.sub(e, p), beta))), params, ema);
}
