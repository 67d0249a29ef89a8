/**
 * StarGAN v1 discriminator (REFERENCE section 4; yunjey/stargan `model.py` Discriminator):
 * a PatchGAN with an auxiliary classifier, parameters under the official names.
 *
 *   main: R x (conv4x4 s2 p1 with bias, LeakyReLU 0.01), channels d, 2d, 4d, ...   (H / 2^R)
 *   conv1: conv3x3 p1 (-> 1, no bias)                       D_src: (N, 1, H/2^R, W/2^R)
 *   conv2: conv K x K valid, K = H / 2^R (-> L, no bias)    D_cls: (N, L) logits
 *
 * At img 128 with R = 6: D_src is a 2x2 map of critic scores, D_cls a 2x2 conv to 1x1.
 */
import {
  conv2d, conv2dValid, flatten, leakyRelu, split,
  type ConvParams, type Key, type Sequential, type Tensor,
} from '../../dsl/index.ts';
import { conv2dDown } from '../../dsl/conv-strided.ts';
import { initConvTorch } from '../../dsl/init-torch.ts';
import { clsKernel, labelDim, type V1NetConfig } from './config.ts';

export interface DiscriminatorV1Params {
  /** Convs at even indices 0, 2, ..., 2R-2; the LeakyReLUs at odd indices have no parameters. */
  readonly main: Sequential<ConvParams<number, number, 4>>;
  readonly conv1: ConvParams<1, number, 3>;
  readonly conv2: ConvParams<number, number, number>;
}

/** D's slope (the official LeakyReLU(0.01)). */
export const D_SLOPE = 0.01;

/** PyTorch's default init (the official model has no init of its own). */
export function initDiscriminatorV1(key: Key, cfg: V1NetConfig): DiscriminatorV1Params {
  const ks = split(key, cfg.dRepeat + 2);
  const main: Record<string, ConvParams<number, number, 4>> = {};
  let c = 3;
  for (let i = 0; i < cfg.dRepeat; i++) {
    const co = i === 0 ? cfg.dConvDim : c * 2;
    main[String(2 * i)] = initConvTorch(ks[i], c, co, 4);
    c = co;
  }
  return {
    main,
    conv1: initConvTorch(ks[cfg.dRepeat], c, 1 as const, 3, false),
    conv2: initConvTorch(ks[cfg.dRepeat + 1], c, labelDim(cfg), clsKernel(cfg), false),
  };
}

/** D_src scores and D_cls logits. */
export interface DiscriminatorV1Out<N extends number> {
  /** PatchGAN critic scores, one per patch: `(N, 1, H/2^R, W/2^R)`. */
  readonly src: Tensor<[N, 1, number, number]>;
  /** Label logits: `(N, L)`. */
  readonly cls: Tensor<[N, number]>;
}

/** D(x): `(N, 3, H, W) -> { src: (N, 1, H/2^R, W/2^R), cls: (N, L) }`. */
export function discriminatorV1<N extends number>(p: DiscriminatorV1Params, x: Tensor<[N, 3, number, number]>): DiscriminatorV1Out<N> {
  let h: Tensor<[N, number, number, number]> = x;
  for (const k of Object.keys(p.main).map(Number).sort((a, b) => a - b)) h = leakyRelu(conv2dDown(h, p.main[String(k)]), D_SLOPE);
  return { src: conv2d(h, p.conv1), cls: flatten(conv2dValid(h, p.conv2)) };
}
