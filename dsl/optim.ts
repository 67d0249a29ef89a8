/**
 * Optimizers as pure functions `(grads, state, params) -> [params, state]`.
 * They return new tensors and dispose nothing; the fold disposes what was replaced.
 */
import * as tf from '@tensorflow/tfjs-core';
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
  const scalars = [cfg.weightDecay, cfg.beta1, 1 - cfg.beta1, cfg.beta2, 1 - cfg.beta2, bc2Sqrt, cfg.eps, cfg.lr / bc1].map((k) => tf.scalar(k));
  const [wd, b1, c1, b2, c2, bc2, eps, lr] = scalars;
  const next = ps.map((p, i) => tf.tidy(() => {
    const g = cfg.weightDecay ? tf.add(gs[i], tf.mul(p, wd)) : gs[i];
    const m = tf.add(tf.mul(ms[i], b1), tf.mul(g, c1));
    const v = tf.add(tf.mul(vs[i], b2), tf.mul(tf.square(g), c2));
    const denom = tf.add(tf.div(tf.sqrt(v), bc2), eps);
    return [tf.sub(p, tf.mul(tf.div(m, denom), lr)), m, v];
  }));
  tf.dispose(scalars);
  const pick = (j: number) => next.map((t) => t[j]);
  return [rebuild(params, pick(0)), { step, m: rebuild(params, pick(1)), v: rebuild(params, pick(2)) }];
}

/** Exponential moving average `ema <- p + beta (ema - p)` (torch.lerp(p, ema, beta)). */
export function emaStep<P>(beta: number, params: P, ema: P): P {
  return mapParams((p, e) => tf.tidy(() => tf.add(p, tf.mul(tf.sub(e, p), beta))), params, ema);
}
