/**
 * ModConvResBlk: a StarGAN v2 decoder block whose AdaIN + conv pairs are StyleGAN2
 * modulated, demodulated convolutions (layers/stylegan/modulated-conv.ts); the drop-in
 * alternative to AdainResBlk selected by `NetConfig.decoder = 'modconv'`.
 *
 *   residual = act(modconv1(x, s) [nearest up x2 inside]) -> act(modconv2(h, s))
 *   shortcut = [up2] -> [conv1x1, no bias, if din != dout]    (as AdainResBlk)
 *   out      = (residual + shortcut) / sqrt(2)   when `useShortcut`
 *            = residual                          otherwise (w_hpf > 0, as AdainResBlk)
 *   act(h)   = lrelu_0.2(h) * sqrt(2)           (StyleGAN2's activation gain)
 *
 * Demodulation normalises each output channel by the norm of its modulated weights, which
 * replaces AdaIN's instance normalisation: the statistics are those expected of the weights,
 * not measured on the feature map, so no normalisation layer remains in the residual path
 * (StyleGAN2's fix for AdaIN's droplet artefacts). The styles come from the style code s
 * (N, S) through each layer's own affine map, as AdaIN's fc does.
 *
 * No noise injection: StarGAN v2's G is a deterministic function of (x, s) (its diversity
 * and cycle losses rely on that), so none is added here; layers/stylegan/noise.ts has it.
 *
 * Keys: `conv1.{weight,bias,affine.weight,affine.bias}`, `conv2.*`, `conv1x1.weight`.
 */
import {
  conv2d, convSpec, keysFor, leakyRelu, materialize, ParamSpec, scale, scaledSum, split, up2,
  type ConvParams, type Double, type Key, type Spec, type Tensor, type Upsamplable,
} from '../dsl/index.ts';
import { modConv, modConvUp, type ModConvParams } from './stylegan/modulated-conv.ts';

export interface ModConvResBlkConfig<Ci extends number = number, Co extends number = number, S extends number = number> {
  readonly din: Ci;
  readonly dout: Co;
  readonly styleDim: S;
}

export interface ModConvResBlkParams<Ci extends number = number, Co extends number = number, S extends number = number> {
  readonly conv1: ModConvParams<Ci, Co, 3, S>;
  readonly conv2: ModConvParams<Co, Co, 3, S>;
  readonly conv1x1?: ConvParams<Co, Ci, 1>;
}

/**
 * A 3x3 modulated conv as a spec, filled as initModConv fills it: weight N(0, 1) (equalized lr scales it at run
 * time), bias 0, affine weight N(0, 1) and bias 1 (styles start at 1: the identity modulation).
 */
function modConvSpec(key: Key, din: number, dout: number, styleDim: number): Spec<ModConvParams> {
  const [kw, ka] = split(key, 2);
  return {
    weight: new ParamSpec([dout, din, 3, 3], 'conv', { normal: { key: kw, std: 1 } }),
    bias: new ParamSpec([dout], 'plain', 'zeros'),
    affine: {
      weight: new ParamSpec([din, styleDim], 'linear', { normal: { key: ka, std: 1 } }),
      bias: new ParamSpec([din], 'plain', 'ones'),
    },
  } as Spec<ModConvParams>;
}

/** The block's parameters as specs (no data), for init and for shapes-only checkpoint templates. */
export function modConvResBlkSpec(key: Key, cfg: ModConvResBlkConfig): Spec<ModConvResBlkParams> {
  const k = keysFor(key, ['conv1', 'conv2', 'conv1x1'] as const);
  return {
    conv1: modConvSpec(k.conv1, cfg.din, cfg.dout, cfg.styleDim),
    conv2: modConvSpec(k.conv2, cfg.dout, cfg.dout, cfg.styleDim),
    ...(cfg.din !== cfg.dout ? { conv1x1: convSpec(k.conv1x1, cfg.din, cfg.dout, 1, false) } : {}),
  } as Spec<ModConvResBlkParams>;
}

export function initModConvResBlk<Ci extends number, Co extends number, S extends number>(
  key: Key, cfg: ModConvResBlkConfig<Ci, Co, S>,
): ModConvResBlkParams<Ci, Co, S> {
  return materialize<ModConvResBlkParams>(modConvResBlkSpec(key, cfg)) as ModConvResBlkParams<Ci, Co, S>;
}

/** Whether a decoder block's parameters are a ModConvResBlk's (its convs carry an affine map). */
export function isModConvResBlk(p: object): p is ModConvResBlkParams {
  return 'conv1' in p && typeof p.conv1 === 'object' && p.conv1 !== null && 'affine' in p.conv1;
}

type Map4<N extends number, C extends number, H extends number, W extends number> = Tensor<[N, C, H, W]>;

function act<S extends readonly number[]>(h: Tensor<S>): Tensor<S> {
  return scale(leakyRelu(h, 0.2), Math.SQRT2);
}

function learnedShortcut<N extends number, Ci extends number, Co extends number, H extends number, W extends number>(
  p: ModConvResBlkParams<Ci, Co>, x: Map4<N, Ci, H, W>,
): Map4<N, Co, H, W> {
  return p.conv1x1 ? conv2d(x, p.conv1x1) : (x as Tensor as Map4<N, Co, H, W>);
}

function merge<S extends readonly number[]>(res: Tensor<S>, sc: () => Tensor<S>, useShortcut: boolean): Tensor<S> {
  return useShortcut ? scaledSum(res, sc(), Math.SQRT1_2) : res;
}

/** Without upsampling: `(N, Ci, H, W), (N, S) -> (N, Co, H, W)`. */
export function modConvResBlk<N extends number, Ci extends number, Co extends number, H extends number, W extends number, S extends number>(
  p: ModConvResBlkParams<Ci, Co, S>, x: Map4<N, NoInfer<Ci>, H, W>, s: Tensor<[NoInfer<N>, NoInfer<S>]>, useShortcut = true,
): Map4<N, Co, H, W> {
  const h = act(modConv(p.conv1, x, s));
  const res = act(modConv(p.conv2, h, s));
  return merge(res, () => learnedShortcut(p, x), useShortcut);
}

/** With nearest upsampling by 2: `(N, Ci, H, W), (N, S) -> (N, Co, 2H, 2W)`. */
export function modConvResBlkUp<N extends number, Ci extends number, Co extends number, H extends number, W extends number, S extends number>(
  p: ModConvResBlkParams<Ci, Co, S>, x: Map4<N, NoInfer<Ci>, H, W> & Upsamplable<H, W>, s: Tensor<[NoInfer<N>, NoInfer<S>]>, useShortcut = true,
): Map4<N, Co, Double<H>, Double<W>> {
  const h = act(modConvUp(p.conv1, x, s));
  const res = act(modConv(p.conv2, h, s));
  return merge(res, () => up2(learnedShortcut(p, x) as Map4<N, Co, H, W> & Upsamplable<H, W>), useShortcut);
}
