/**
 * Equalized-learning-rate fully connected layer (StyleGAN; stylegan2-ada-pytorch
 * `FullyConnectedLayer`). The weight is stored N(0, 1) / lrMul and scaled at run time by
 * `gain * lrMul / sqrt(fan_in)`; the bias is stored as `biasInit` and scaled by lrMul.
 *
 * Why: with Adam, the update size is set by the learning rate, not by the parameter's scale.
 * Storing every weight at unit scale and moving He's constant into the forward pass gives
 * every layer the same effective learning rate; lrMul < 1 (the mapping network's 0.01)
 * slows a layer down by exactly that factor while its outputs keep unit variance.
 *
 * Params mirror the official state_dict: `weight` (O, I), `bias` (O,).
 */
import * as tf from '@tensorflow/tfjs-core';
import { normal, typed, type Key, type LinearParams, type Tensor } from '../../dsl/index.ts';

/** The run-time scale of an equalized layer: lr multiplier and gain (He's sqrt(2) for ReLU-like, 1 for linear). */
export interface EqualizedScale {
  readonly lrMul?: number;
  readonly gain?: number;
}

export interface EqualizedLinearConfig<I extends number = number, O extends number = number> extends EqualizedScale {
  readonly din: I;
  readonly dout: O;
  /** Initial bias value as stored (the official `bias_init`; effective bias = biasInit * lrMul). Default 0. */
  readonly biasInit?: number;
}

export function initEqualizedLinear<I extends number, O extends number>(key: Key, cfg: EqualizedLinearConfig<I, O>): LinearParams<O, I> {
  const lrMul = cfg.lrMul ?? 1;
  return {
    weight: normal(key, [cfg.dout, cfg.din] as [O, I], 'linear', 1 / lrMul),
    bias: typed(tf.fill([cfg.dout], cfg.biasInit ?? 0)),
  };
}

/** The factor the stored weight is multiplied by: `gain * lrMul / sqrt(fanIn)`. */
export function weightGain(fanIn: number, s: EqualizedScale = {}): number {
  return ((s.gain ?? 1) * (s.lrMul ?? 1)) / Math.sqrt(fanIn);
}

/** `x: (N, I) -> (N, O)`: `x W^T * gain * lrMul / sqrt(I) + b * lrMul`. */
export function equalizedLinear<N extends number, I extends number, O extends number>(
  p: LinearParams<O, NoInfer<I>>, x: Tensor<[N, I]>, s: EqualizedScale = {},
): Tensor<[N, O]> {
  const [fanIn] = p.weight.shape; // memory layout [I, O]
  const lrMul = s.lrMul ?? 1;
  const w = tf.mul(p.weight, weightGain(fanIn, s));
  const b = lrMul === 1 ? p.bias : tf.mul(p.bias, lrMul);
  return typed(tf.add(tf.matMul(x, w), b));
}
