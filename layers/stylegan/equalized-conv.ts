/**
 * Equalized-learning-rate convolution (StyleGAN; stylegan2-ada-pytorch `Conv2dLayer`):
 * 'same' padding, stride 1, weight stored N(0, 1) / lrMul and scaled at run time by
 * `gain * lrMul / sqrt(Ci * K * K)`, bias stored 0 and scaled by lrMul. See
 * equalized-linear.ts for why. (The official Conv2dLayer has no lr multiplier; lrMul = 1,
 * the default, is that layer.)
 *
 * Params mirror the official state_dict: `weight` (Co, Ci, K, K), `bias` (Co,).
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2d, normal, typed, type ConvParams, type Key, type OddKernel, type Tensor } from '../../dsl/index.ts';
import { weightGain, type EqualizedScale } from './equalized-linear.ts';

export interface EqualizedConvConfig<Ci extends number = number, Co extends number = number, K extends OddKernel = OddKernel> extends EqualizedScale {
  readonly din: Ci;
  readonly dout: Co;
  readonly kernel: K;
  /** Default true. */
  readonly bias?: boolean;
}

export function initEqualizedConv<Ci extends number, Co extends number, K extends OddKernel>(
  key: Key, cfg: EqualizedConvConfig<Ci, Co, K>,
): ConvParams<Co, Ci, K> {
  const weight = normal(key, [cfg.dout, cfg.din, cfg.kernel, cfg.kernel] as [Co, Ci, K, K], 'conv', 1 / (cfg.lrMul ?? 1));
  return cfg.bias === false ? { weight } : { weight, bias: typed(tf.zeros([cfg.dout])) };
}

/** `x: (N, Ci, H, W) -> (N, Co, H, W)`. */
export function equalizedConv<N extends number, Ci extends number, H extends number, W extends number, Co extends number, K extends OddKernel>(
  p: ConvParams<Co, NoInfer<Ci>, K>, x: Tensor<[N, Ci, H, W]>, s: EqualizedScale = {},
): Tensor<[N, Co, H, W]> {
  const [kh, kw, ci] = p.weight.shape; // memory layout [K, K, Ci, Co]
  const lrMul = s.lrMul ?? 1;
  const weight = typed<[Co, Ci, K, K]>(tf.mul(p.weight, weightGain(kh * kw * ci, s)));
  const bias = p.bias && (lrMul === 1 ? p.bias : typed<[Co]>(tf.mul(p.bias, lrMul)));
  return conv2d(x, bias ? { weight, bias } : { weight });
}
