/**
 * StyleGAN2's modulated convolution with weight demodulation (stylegan2-ada-pytorch
 * `modulated_conv2d`, and the `SynthesisLayer` around it).
 *
 * Per sample n, the weight is modulated by the styles of the input channels and demodulated
 * per output channel:
 *   w'[n, o, i, k] = w[o, i, k] * s[n, i]
 *   d[n, o]        = 1 / sqrt(sum_{i, k} w'[n, o, i, k]^2 + 1e-8)
 *   y[n]           = conv(x[n], w'[n] * d[n])
 *
 * How it runs here: as the official non-fused path, `y = conv(x * s, w) * d`. Scaling input
 * channel i by s[n, i] before a shared convolution equals convolving with weights scaled
 * along their input axis, and d[n, o] scales each output channel afterwards, so this is the
 * same function (exact in real arithmetic; floating point rounds it differently). The
 * "fused" alternative is one grouped convolution with N different kernels, which tfjs does
 * not have: it would have to be N separate convolutions or one dense convolution with an
 * N times larger block-diagonal kernel. The input-scaling form runs one ordinary dense conv,
 * the op the wasm backend computes fastest (XNNPACK) and whose gradients this project made
 * fast (docs/PERFORMANCE.md), plus two cheap broadcasts; d is a tiny (N, Ci) x (Ci, Co)
 * product. The official trainer also uses the non-fused path during training.
 *
 * Upsampling (`up`) is StarGAN v2's nearest x2 before the conv (scaling by s commutes with
 * it, so it is applied on the small map), not StyleGAN2's transposed conv with a [1,3,3,1]
 * low-pass filter.
 *
 * The equalized-lr gain 1 / sqrt(Ci K K) is folded into the styles (as the official
 * `ToRGBLayer`); with demodulation it cancels (apart from the 1e-8).
 *
 * Params mirror the official `SynthesisLayer`: `weight` (Co, Ci, K, K) stored N(0, 1),
 * `bias` (Co,), `affine.weight` (Ci, S), `affine.bias` (Ci,) initialised to 1 (bias_init 1:
 * styles start near 1).
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  conv2d, normal, split, typed, up2,
  type Double, type Key, type LinearParams, type OddKernel, type Tensor, type Upsamplable,
} from '../../dsl/index.ts';
import { equalizedLinear, initEqualizedLinear, weightGain } from './equalized-linear.ts';

export interface ModulatedConvOptions {
  /** Divide each (sample, output channel) by the norm of its modulated weights. Default true. */
  readonly demodulate?: boolean;
}

/** The demodulation coefficients `d[n, o] = rsqrt(sum_{i,k} (w[o,i,k] s[n,i])^2 + 1e-8)`: `(N, Co)`. */
export function demodulation(weight: Tensor<[number, number, number, number]>, styles: Tensor<[number, number]>): Tensor<[number, number]> {
  // sum_{i,k} w[o,i,k]^2 s[n,i]^2 = (s^2)[n,:] . (sum_k w^2)[:, o]; weight memory is [K, K, Ci, Co].
  const w2 = tf.sum(tf.square(weight), [0, 1]);
  return typed(tf.rsqrt(tf.add(tf.matMul(tf.square(styles), w2), 1e-8)));
}

/** `(N, C, H, W)` scaled per sample and channel by `v: (N, C)`. */
function scaleChannels<N extends number, C extends number, H extends number, W extends number>(x: Tensor<[N, C, H, W]>, v: tf.Tensor): Tensor<[N, C, H, W]> {
  const [n, c] = v.shape;
  return typed(tf.mul(x, tf.reshape(v, [n, 1, 1, c])));
}

/**
 * Modulated (and by default demodulated) 'same' convolution:
 * `x: (N, Ci, H, W), weight: (Co, Ci, K, K), styles: (N, Ci) -> (N, Co, H, W)`.
 */
export function modulatedConv2d<N extends number, Ci extends number, H extends number, W extends number, Co extends number, K extends OddKernel>(
  x: Tensor<[N, Ci, H, W]>, weight: Tensor<[Co, NoInfer<Ci>, K, K]>, styles: Tensor<[NoInfer<N>, NoInfer<Ci>]>, opts: ModulatedConvOptions = {},
): Tensor<[N, Co, H, W]> {
  const y = conv2d(scaleChannels(x, styles), { weight });
  return opts.demodulate === false ? y : scaleChannels(y, demodulation(weight, styles));
}

/** As {@link modulatedConv2d}, with nearest x2 upsampling of the (modulated) input: `-> (N, Co, 2H, 2W)`. */
export function modulatedConv2dUp<N extends number, Ci extends number, H extends number, W extends number, Co extends number, K extends OddKernel>(
  x: Tensor<[N, Ci, H, W]> & Upsamplable<H, W>, weight: Tensor<[Co, NoInfer<Ci>, K, K]>, styles: Tensor<[NoInfer<N>, NoInfer<Ci>]>, opts: ModulatedConvOptions = {},
): Tensor<[N, Co, Double<H>, Double<W>]> {
  const up = up2(scaleChannels(x, styles) as Tensor<[N, Ci, H, W]> & Upsamplable<H, W>);
  const y = conv2d(up, { weight });
  return opts.demodulate === false ? y : scaleChannels(y, demodulation(weight, styles));
}

export interface ModConvConfig<Ci extends number = number, Co extends number = number, K extends OddKernel = OddKernel> {
  readonly din: Ci;
  readonly dout: Co;
  readonly kernel: K;
  /** Size of the vector the styles come from (w in StyleGAN, s in StarGAN v2). */
  readonly styleDim: number;
}

/** A modulated conv layer: affine A (style -> per-input-channel scales), weight, bias. */
export interface ModConvParams<Ci extends number = number, Co extends number = number, K extends number = number, S extends number = number> {
  readonly weight: Tensor<[Co, Ci, K, K]>;
  readonly bias: Tensor<[Co]>;
  readonly affine: LinearParams<Ci, S>;
}

export function initModConv<Ci extends number, Co extends number, K extends OddKernel>(key: Key, cfg: ModConvConfig<Ci, Co, K>): ModConvParams<Ci, Co, K> {
  const [kw, ka] = split(key, 2);
  return {
    weight: normal(kw, [cfg.dout, cfg.din, cfg.kernel, cfg.kernel] as [Co, Ci, K, K], 'conv'),
    bias: typed(tf.zeros([cfg.dout])),
    affine: initEqualizedLinear(ka, { din: cfg.styleDim, dout: cfg.din, biasInit: 1 }),
  };
}

/** The styles of a layer: `A(w) / sqrt(Ci K K)`: `(N, S) -> (N, Ci)`. */
export function layerStyles<N extends number, Ci extends number>(p: ModConvParams<Ci>, w: Tensor<[N, number]>): Tensor<[N, Ci]> {
  const [k, , ci] = p.weight.shape;
  return typed(tf.mul(equalizedLinear(p.affine, w), weightGain(ci * k * k)));
}

/** `x: (N, Ci, H, W), w: (N, S) -> (N, Co, H, W)`, bias added (no activation). */
export function modConv<N extends number, Ci extends number, H extends number, W extends number, Co extends number>(
  p: ModConvParams<Ci, Co>, x: Tensor<[N, NoInfer<Ci>, H, W]>, w: Tensor<[NoInfer<N>, number]>, opts: ModulatedConvOptions = {},
): Tensor<[N, Co, H, W]> {
  const y = modulatedConv2d(x, p.weight as Tensor<[Co, Ci, OddKernel, OddKernel]>, layerStyles(p, w), opts);
  return typed(tf.add(y, p.bias));
}

/** As {@link modConv} with nearest x2 upsampling: `-> (N, Co, 2H, 2W)`. */
export function modConvUp<N extends number, Ci extends number, H extends number, W extends number, Co extends number>(
  p: ModConvParams<Ci, Co>, x: Tensor<[N, NoInfer<Ci>, H, W]> & Upsamplable<H, W>, w: Tensor<[NoInfer<N>, number]>, opts: ModulatedConvOptions = {},
): Tensor<[N, Co, Double<H>, Double<W>]> {
  const y = modulatedConv2dUp(x, p.weight as Tensor<[Co, Ci, OddKernel, OddKernel]>, layerStyles(p, w), opts);
  return typed(tf.add(y, p.bias));
}
