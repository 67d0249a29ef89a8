/**
 * Generator G(x, s) (REFERENCE section 2): from_rgb -> encoder (ResBlk, downsampling, then
 * 2 bottleneck blocks) -> decoder mirroring it (AdainResBlk) -> to_rgb (IN affine, lrelu,
 * conv1x1). No tanh. Widths: dim_in = base, doubled per downsampling up to maxConv.
 * With `decoder: 'modconv'` the decoder blocks are ModConvResBlks (StyleGAN2 modulated convs)
 * instead of AdainResBlks; everything else is unchanged.
 *
 *   x: (N, 3, H, W), s: (N, S)  ->  (N, 3, H, W)
 */
import * as tf from '@tensorflow/tfjs-core';
import {
  add, affineSpec, conv2d, convSpec, dims, instanceNormLeakyRelu, materialize, split, typed,
  type AffineParams, type ConvParams, type Key, type Spec, type Tensor,
} from '../../dsl/index.ts';
import { adainResBlk, adainResBlkSpec, adainResBlkUp, type AdainResBlkParams } from '../../layers/adain-resblk.ts';
import { highPass } from '../../layers/highpass.ts';
import { modConvResBlk, modConvResBlkUp, modConvResBlkSpec, isModConvResBlk, type ModConvResBlkParams } from '../../layers/modconv-resblk.ts';
import { resBlk, resBlkDown, resBlkSpec, type ResBlkParams } from '../../layers/resblk.ts';
import { decoderOf, highPassEverywhere, type BuiltFor, type NetConfig } from './config.ts';
import { generatorPlan } from './plan.ts';

/**
 * What G's forward pass depends on besides its parameters. Required by {@link generator}, so training,
 * sampling and export cannot disagree on it (they once did: training ran with the decoder shortcuts that
 * sampling dropped).
 */
export type GeneratorConfig = Pick<NetConfig, 'wHpf' | 'hpfMask'>;

/**
 * G's parameters for config C (`NetConfig`: sizes known at run time). The convs at both ends have the
 * config's base width in their types; the blocks' widths vary along the arrays and stay `number`.
 */
export interface GeneratorParams<C extends NetConfig = NetConfig> extends BuiltFor<C> {
  readonly from_rgb: ConvParams<C['base'], 3, 3>;
  readonly encode: readonly ResBlkParams[];
  /** AdainResBlk, or ModConvResBlk with `decoder: 'modconv'` (the parameters say which). */
  readonly decode: readonly DecoderBlockParams<C['styleDim']>[];
  /** nn.Sequential(InstanceNorm2d(affine), LeakyReLU, Conv2d): index 1 is the activation. */
  readonly to_rgb: { readonly '0': AffineParams<C['base']>; readonly '2': ConvParams<3, C['base'], 1> };
}

export type DecoderBlockParams<S extends number = number> = AdainResBlkParams<number, number, S> | ModConvResBlkParams<number, number, S>;

/** The generator's parameters as specs (no data; dsl/spec.ts), widths and blocks from its plan (plan.ts). */
export function generatorSpec<C extends NetConfig>(key: Key, cfg: C): Spec<GeneratorParams<C>> {
  const { base, encode, decode } = generatorPlan(cfg);
  const n = encode.length;
  const decoderBlockSpec = decoderOf(cfg) === 'modconv' ? modConvResBlkSpec : adainResBlkSpec;
  // Encoder block i and its mirror, decode[n-1-i], take keys 2i and 2i+1; from_rgb and to_rgb the last two.
  const ks = split(key, 2 * n + 2);
  return {
    from_rgb: convSpec(ks[2 * n], 3, base, 3),
    encode: encode.map((b, i) => resBlkSpec(ks[2 * i], { din: b.din, dout: b.dout, normalize: true })),
    decode: decode.map((b, k) => decoderBlockSpec(ks[2 * (n - 1 - k) + 1], { din: b.din, dout: b.dout, styleDim: cfg.styleDim })),
    to_rgb: { '0': affineSpec(base), '2': convSpec(ks[2 * n + 1], base, 3, 1) },
  } as Spec<GeneratorParams>;
}

export function initGenerator<const C extends NetConfig>(key: Key, cfg: C): GeneratorParams<C> {
  return materialize<GeneratorParams<C>>(generatorSpec(key, cfg));
}

type Maps<N extends number> = Tensor<[N, number, number, number]>;

/** One decoder block, of the kind its parameters are (read from them, so a loaded checkpoint decides). */
function decoderBlock<N extends number, S extends number>(blk: DecoderBlockParams<S>, h: Maps<N>, s: Tensor<[N, S]>, up: boolean, useShortcut: boolean): Maps<N> {
  if (isModConvResBlk(blk)) return up ? modConvResBlkUp(blk, h, s, useShortcut) : modConvResBlk(blk, h, s, useShortcut);
  return up ? adainResBlkUp(blk, h, s, useShortcut) : adainResBlk(blk, h, s, useShortcut);
}

/** Face masks for the high-pass path (w_hpf > 0): masks[0] used at 32px, masks[1] at 64 and 128px. */
export type Masks<N extends number> = readonly [Tensor<[N, 1, number, number]>, Tensor<[N, 1, number, number]>];

/** h + hpf(mask * skip); no mask: the whole image (the official path with a mask of ones, without the multiply). */
function maskedSkip<N extends number>(h: Maps<N>, skip: Maps<N>, mask: Tensor<[N, 1, number, number]> | undefined, wHpf: number): Maps<N> {
  if (!mask) return add(h, highPass(skip, wHpf));
  const { h: size } = dims(h);
  const m = tf.image.resizeBilinear(mask as tf.Tensor4D, [size, size], false, true);
  return add(h, highPass(typed<[N, number, number, number]>(tf.mul(m, skip)), wHpf));
}

/**
 * G(x, s): `x: (N, 3, H, W), s: (N, S) -> (N, 3, H, W)`, with H = W = img and S = styleDim of the config
 * the parameters were built for (checked statically when that config is literal: `H extends C['img']`).
 * With `cfg.wHpf > 0` the decoder blocks have no shortcut (official quirk, explicit
 * here); if `masks` are given, the high-pass-filtered encoder features are added back at
 * 32, 64 and 128 px as in the official code. Without masks, that path is skipped, unless
 * `cfg.hpfMask` is 'whole': then it applies everywhere and `masks` are not used.
 */
export function generator<N extends number, C extends NetConfig, H extends C['img'], W extends C['img']>(
  p: GeneratorParams<C>, x: Tensor<[N, 3, H, W]>, s: Tensor<[NoInfer<N>, C['styleDim']]>, cfg: GeneratorConfig, masks?: Masks<N>,
): Tensor<[N, 3, H, W]> {
  const { wHpf } = cfg;
  const whole = highPassEverywhere(cfg);
  const skipped = whole || masks !== undefined;
  const skips = new Map<number, Maps<N>>();
  const downs = p.encode.length - 2;
  let h: Maps<N> = conv2d(x, p.from_rgb);
  p.encode.forEach((blk, i) => {
    const size = dims(h).h;
    if (skipped && [32, 64, 128].includes(size)) skips.set(size, h);
    h = i < downs ? resBlkDown(blk, h) : resBlk(blk, h);
  });
  p.decode.forEach((blk, i) => {
    h = decoderBlock(blk, h, s, i >= 2, wHpf === 0);
    const size = dims(h).h;
    const skip = skips.get(size);
    if (skipped && skip) h = maskedSkip(h, skip, whole ? undefined : masks![size === 32 ? 0 : 1], wHpf);
  });
  const out = conv2d(instanceNormLeakyRelu(h, p.to_rgb['0']), p.to_rgb['2']);
  return out as Tensor as Tensor<[N, 3, H, W]>;
}
