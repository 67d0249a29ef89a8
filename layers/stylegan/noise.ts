/**
 * Noise injection (StyleGAN): one N(0, 1) map per sample `(N, 1, H, W)`, added to every
 * channel with a learned per-channel strength `(C,)`, initialised to zero (so a fresh
 * layer is the identity). StyleGAN (v1, REFERENCE section 5) learns one strength per
 * channel; stylegan2-ada-pytorch's `SynthesisLayer` keeps a single scalar `noise_strength`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { normal, typed, type Key, type Tensor } from '../../dsl/index.ts';

export interface NoiseParams<C extends number = number> {
  readonly noise_strength: Tensor<[C]>;
}

export function initNoise<C extends number>(c: C): NoiseParams<C> {
  return { noise_strength: typed(tf.zeros([c])) };
}

/** Fresh noise maps `(N, 1, H, W)` from a key. */
export function drawNoise<N extends number, H extends number, W extends number>(key: Key, n: N, h: H, w: W): Tensor<[N, 1, H, W]> {
  return normal(key, [n, 1, h, w] as const, 'image');
}

/** `x: (N, C, H, W), noise: (N, 1, H, W) -> x + noise * strength_c`. */
export function injectNoise<N extends number, C extends number, H extends number, W extends number>(
  p: NoiseParams<NoInfer<C>>, x: Tensor<[N, C, H, W]>, noise: Tensor<[NoInfer<N>, 1, NoInfer<H>, NoInfer<W>]>,
): Tensor<[N, C, H, W]> {
  return typed(tf.add(x, tf.mul(noise, p.noise_strength))); // NHWC: [N,H,W,1] * [C] broadcasts to [N,H,W,C]
}
