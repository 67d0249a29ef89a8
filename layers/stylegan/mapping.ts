/**
 * StyleGAN's mapping network z -> w (stylegan2-ada-pytorch `MappingNetwork`, unconditional):
 * pixel norm of z, then `layers` equalized fully connected layers with lr multiplier 0.01,
 * each followed by leaky ReLU 0.2 with the official activation gain sqrt(2) (which keeps
 * the second moment at 1: E[lrelu(x)^2] = (1 + 0.2^2) / 2 for x ~ N(0, 1)).
 *
 * The running mean `w_avg` (a buffer in the official state_dict, not a parameter) is kept
 * apart from the parameters, so gradients and optimizers never see it: {@link updateWAvg}
 * is the official EMA `w_avg <- lerp(mean_n w, w_avg, beta)`, beta 0.995, which truncation
 * (truncation.ts) pulls towards.
 *
 * Params mirror the official names: `fc0.weight`, `fc0.bias`, ..., `fc7.bias`; buffer `w_avg`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { leakyRelu, scale, split, typed, type Key, type LinearParams, type Tensor } from '../../dsl/index.ts';
import { equalizedLinear, initEqualizedLinear } from './equalized-linear.ts';
import { pixelNorm } from './pixel-norm.ts';

export interface StyleMappingConfig {
  readonly zDim: number;
  readonly wDim: number;
  /** Number of fully connected layers (official 8). */
  readonly layers: number;
  /** Width of the hidden layers (official: wDim). */
  readonly hidden: number;
  /** Learning-rate multiplier of every layer (official 0.01). */
  readonly lrMul: number;
  /** Decay of the w_avg EMA (official 0.995). */
  readonly wAvgBeta: number;
}

/** The official configuration: 8 x FC 512, lr multiplier 0.01, w_avg decay 0.995. */
export const styleganMapping: StyleMappingConfig = { zDim: 512, wDim: 512, layers: 8, hidden: 512, lrMul: 0.01, wAvgBeta: 0.995 };

/** `fc0` .. `fc{layers-1}`. */
export type StyleMappingParams = { readonly [fc: `fc${number}`]: LinearParams<number, number> };

/** Layer widths: z -> hidden x (layers - 1) -> w. */
function widths(cfg: StyleMappingConfig): number[] {
  return [cfg.zDim, ...new Array<number>(cfg.layers - 1).fill(cfg.hidden), cfg.wDim];
}

export function initStyleMapping(key: Key, cfg: StyleMappingConfig): StyleMappingParams {
  const w = widths(cfg);
  const ks = split(key, cfg.layers);
  return Object.fromEntries(ks.map((k, i) => [`fc${i}`, initEqualizedLinear(k, { din: w[i], dout: w[i + 1], lrMul: cfg.lrMul })]));
}

/** The official w_avg buffer at init: zeros `(wDim,)`. */
export function initWAvg(cfg: StyleMappingConfig): Tensor<[number]> {
  return typed(tf.zeros([cfg.wDim]));
}

/** `z: (N, zDim) -> w: (N, wDim)`. */
export function styleMapping<N extends number>(p: StyleMappingParams, z: Tensor<[N, number]>, cfg: Pick<StyleMappingConfig, 'layers' | 'lrMul'>): Tensor<[N, number]> {
  let x = pixelNorm(z);
  for (let i = 0; i < cfg.layers; i++) {
    x = scale(leakyRelu(equalizedLinear(p[`fc${i}`], x, { lrMul: cfg.lrMul }), 0.2), Math.SQRT2);
  }
  return x;
}

/** The next w_avg: `mean_n w + beta (w_avg - mean_n w)` (official `lerp(mean, w_avg, beta)`), from w `(N, wDim)`. */
export function updateWAvg(wAvg: Tensor<[number]>, w: Tensor<[number, number]>, beta: number): Tensor<[number]> {
  return tf.tidy(() => {
    const m = tf.mean(w, 0);
    return typed(tf.add(m, tf.mul(tf.sub(wAvg, m), beta)));
  });
}
