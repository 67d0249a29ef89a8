/**
 * A 3x3 'same' conv fused with the 2x resampling around it, as in StarGAN v2's residual blocks:
 * `up2Conv3x3` is `conv2d(up2(x), p)` (the decoder's upsampling blocks) and `conv3x3Pool2` is
 * `avgPool2(conv2d(x, p))` (the encoder's and D's downsampling blocks). Same parameters, same
 * values up to float32 rounding, 2.25x fewer multiply-adds:
 *
 * - nearest upsampling repeats each pixel 2x2, so the 3 taps of the 3x3 kernel that fall on an
 *   output pixel's neighbourhood cover only 2 input pixels per axis: the conv is four 2x2 convs
 *   (one per output phase) at the input's resolution, run as one 2x2 conv to 4Co channels and a
 *   pixel shuffle (sub-pixel convolution);
 * - a 3x3 conv then a 2x2 average is one 4x4 conv of stride 2 whose kernel is the 3x3 one
 *   smeared by the 2x2 box (taps (w0, w0 + w1, w1 + w2, w2) / 2 per axis), padding 1.
 *
 * On wasm the filter rewrites and the shuffle are SIMD kernels with their adjoints as gradients
 * (dsl/engine/resample-conv-simd.ts), and the stride-2 conv's gradients are the phase
 * decomposition's (dsl/engine/strided.ts), so both ops differentiate at every order (R1 runs
 * through D's downsampling blocks). Elsewhere, and on small maps, they are the composed ops themselves.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBias } from './engine/kernels.ts';
import {
  poolFilterKernel, resampleConvSimdApplies, runLinear, shuffleKernel, subpixelFilterKernel,
} from './engine/resample-conv-simd.ts';
import { avgPool2, conv2d, up2, type ConvParams } from './ops.ts';
import type { Double, Half, Poolable, Upsamplable } from './shape.ts';
import { typed, type Tensor } from './tensor.ts';

/**
 * Below this many input pixels (N H W) the composed ops are faster: the fused forms rewrite the
 * filter on every call, and XNNPACK packs each new filter, a cost that does not shrink with the
 * map. Forward + backward at batch 8 with a fresh filter per call, as in training: 1.6-1.9x faster
 * from 16x16 up; at 8x8 (512 pixels) a tie alone and slower inside a training iteration (the 4x4
 * filter at 256 channels is 1M floats, packed for a 4x4 output: 24 + 30 ms forward and input
 * gradient against 18 + 21 composed, profiled); 1.1-1.7x slower at 4x4.
 */
const minFusedPixels = 1024;

/** Whether the fused form runs for x: wasm, and a map large enough to pay for the filter rewrite. */
function fuses(x: tf.Tensor): boolean {
  const [n, h, w] = x.shape;
  return resampleConvSimdApplies(x) && n * h * w >= minFusedPixels;
}

/** `conv2d(up2(x), p)`, 3x3 kernel: `(N, Ci, H, W) -> (N, Co, 2H, 2W)`. */
export function up2Conv3x3<N extends number, Ci extends number, H extends number, W extends number, Co extends number>(
  x: Tensor<[N, Ci, H, W]> & Upsamplable<H, W>,
  p: ConvParams<Co, NoInfer<Ci>, 3>,
): Tensor<[N, Co, Double<H>, Double<W>]> {
  if (!fuses(x)) return conv2d(up2(x), p);
  const w2 = runLinear(subpixelFilterKernel, p.weight as tf.Tensor4D);
  const b4 = p.bias && tf.concat([p.bias, p.bias, p.bias, p.bias]);
  // 2x2 conv over x padded by 1: (H+1) x (W+1) positions, channel group 2a+b = output phase (a, b)
  return typed(runLinear(shuffleKernel, conv2dBias(x as tf.Tensor4D, w2, b4, 1)));
}

/** `avgPool2(conv2d(x, p))`, 3x3 kernel: `(N, Ci, H, W) -> (N, Co, H/2, W/2)`. */
export function conv3x3Pool2<N extends number, Ci extends number, H extends number, W extends number, Co extends number>(
  x: Tensor<[N, Ci, H, W]> & Poolable<H, W>,
  p: ConvParams<Co, NoInfer<Ci>, 3>,
): Tensor<[N, Co, Half<H>, Half<W>]> {
  if (!fuses(x)) return avgPool2(conv2d(x, p) as Tensor<[N, Co, H, W]> & Poolable<H, W>);
  const w4 = runLinear(poolFilterKernel, p.weight as tf.Tensor4D);
  return typed(conv2dBias(x as tf.Tensor4D, w4, p.bias, 1, 2));
}
