/**
 * AdainResBlk: the generator's decoder block (REFERENCE section 1).
 *
 *   residual = AdaIN1(x, s) -> lrelu -> [up2] -> conv3x3 din->dout -> AdaIN2 -> lrelu -> conv3x3 dout->dout
 *   shortcut = [up2] -> [conv1x1, no bias, if din != dout]
 *   out      = (residual + shortcut) / sqrt(2)   when `useShortcut`
 *            = residual                          otherwise
 *
 * The shortcut applies its 1x1 conv before upsampling: nearest upsampling copies pixels and
 * the conv acts per pixel, so the output is bit-identical to the official order while the
 * conv runs on a quarter of the pixels, forward and backward (docs/PERFORMANCE.md). The
 * residual's upsampling and conv3x3 run as one sub-pixel conv at the input's resolution
 * (`up2Conv3x3`, 2.25x fewer multiply-adds; the same values up to float rounding).
 *
 * The official code hides the second case behind `w_hpf > 0` (the high-pass path then
 * carries the skip information); here it is the explicit `useShortcut` flag. The conv1x1
 * weights exist either way, as in the official state_dict.
 */
import {
  conv2d, convSpec, keysFor, materialize, scaledSum, up2, up2Conv3x3,
  type ConvParams, type Double, type Key, type Spec, type Tensor, type Upsamplable,
} from '../dsl/index.ts';
import { adaINLeakyRelu, adaINSpec, type AdaINParams } from './adain.ts';

export interface AdainResBlkConfig<Ci extends number = number, Co extends number = number, S extends number = number> {
  readonly din: Ci;
  readonly dout: Co;
  readonly styleDim: S;
}

export interface AdainResBlkParams<Ci extends number = number, Co extends number = number, S extends number = number> {
  readonly conv1: ConvParams<Co, Ci, 3>;
  readonly conv2: ConvParams<Co, Co, 3>;
  readonly norm1: AdaINParams<S, Ci>;
  readonly norm2: AdaINParams<S, Co>;
  readonly conv1x1?: ConvParams<Co, Ci, 1>;
}

/** The block's parameters as specs (shapes and He init, no data; dsl/spec.ts). */
export function adainResBlkSpec(key: Key, cfg: AdainResBlkConfig): Spec<AdainResBlkParams> {
  const k = keysFor(key, ['conv1', 'conv2', 'norm1', 'norm2', 'conv1x1'] as const);
  return {
    conv1: convSpec(k.conv1, cfg.din, cfg.dout, 3),
    conv2: convSpec(k.conv2, cfg.dout, cfg.dout, 3),
    norm1: adaINSpec(k.norm1, cfg.styleDim, cfg.din),
    norm2: adaINSpec(k.norm2, cfg.styleDim, cfg.dout),
    ...(cfg.din !== cfg.dout ? { conv1x1: convSpec(k.conv1x1, cfg.din, cfg.dout, 1, false) } : {}),
  };
}

export function initAdainResBlk<Ci extends number, Co extends number, S extends number>(
  key: Key, cfg: AdainResBlkConfig<Ci, Co, S>,
): AdainResBlkParams<Ci, Co, S> {
  return materialize<AdainResBlkParams>(adainResBlkSpec(key, cfg)) as AdainResBlkParams<Ci, Co, S>;
}

type Map4<N extends number, C extends number, H extends number, W extends number> = Tensor<[N, C, H, W]>;

function upsample<N extends number, C extends number, H extends number, W extends number>(x: Map4<N, C, H, W>) {
  return up2(x as Map4<N, C, H, W> & Upsamplable<H, W>);
}

function learnedShortcut<N extends number, Ci extends number, Co extends number, H extends number, W extends number>(
  p: AdainResBlkParams<Ci, Co>, x: Map4<N, Ci, H, W>,
): Map4<N, Co, H, W> {
  return p.conv1x1 ? conv2d(x, p.conv1x1) : (x as Tensor as Map4<N, Co, H, W>);
}

function merge<S extends readonly number[]>(res: Tensor<S>, sc: () => Tensor<S>, useShortcut: boolean): Tensor<S> {
  return useShortcut ? scaledSum(res, sc(), Math.SQRT1_2) : res;
}

/** Without upsampling: `(N, Ci, H, W), (N, S) -> (N, Co, H, W)`. */
export function adainResBlk<N extends number, Ci extends number, Co extends number, H extends number, W extends number, S extends number>(
  p: AdainResBlkParams<Ci, Co, S>, x: Map4<N, NoInfer<Ci>, H, W>, s: Tensor<[NoInfer<N>, NoInfer<S>]>, useShortcut = true,
): Map4<N, Co, H, W> {
  const h = conv2d(adaINLeakyRelu(p.norm1, x, s), p.conv1);
  const res = conv2d(adaINLeakyRelu(p.norm2, h, s), p.conv2);
  return merge(res, () => learnedShortcut(p, x), useShortcut);
}

/** With nearest upsampling by 2: `(N, Ci, H, W), (N, S) -> (N, Co, 2H, 2W)`. */
export function adainResBlkUp<N extends number, Ci extends number, Co extends number, H extends number, W extends number, S extends number>(
  p: AdainResBlkParams<Ci, Co, S>, x: Map4<N, NoInfer<Ci>, H, W> & Upsamplable<H, W>, s: Tensor<[NoInfer<N>, NoInfer<S>]>, useShortcut = true,
): Map4<N, Co, Double<H>, Double<W>> {
  const h = up2Conv3x3(adaINLeakyRelu(p.norm1, x, s) as Map4<N, Ci, H, W> & Upsamplable<H, W>, p.conv1);
  const res = conv2d(adaINLeakyRelu(p.norm2, h, s), p.conv2);
  return merge(res, () => upsample(learnedShortcut(p, x)), useShortcut);
}
