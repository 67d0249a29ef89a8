/**
 * Stride-2 convolutions: the 4x4 / stride 2 / padding 1 conv that halves a map (StarGAN v1's
 * downsampling and PatchGAN discriminator) and the transposed conv that doubles it (v1's
 * upsampling). Their gradients, at every order, are the phase decomposition of
 * dsl/engine/strided.ts: forward stride-1 convs, fast on wasm.
 *
 * Both need even spatial sizes (4x4 s2 p1 maps H to H/2 exactly only then); the types say so
 * through `Half`/`Double` and `Poolable`/`Upsamplable`, and a run-time check covers `number` sizes.
 */
import * as tf from '@tensorflow/tfjs-core';
import { convTranspose2dStride2 } from './engine/strided.ts';
import type { ConvParams } from './ops.ts';
import type { Double, Half, Poolable, Upsamplable } from './shape.ts';
import { dims, typed, type Tensor } from './tensor.ts';

/**
 * Transposed conv weights `(Ci, Co, K, K)` and an optional bias `(Co,)`, as PyTorch's
 * nn.ConvTranspose2d (input channels first). In memory `[K, K, Co, Ci]`: the conv layout of
 * tensor.ts applied to the torch shape, which is exactly tfjs's transposed-conv filter layout.
 */
export interface ConvTransposeParams<Ci extends number, Co extends number, K extends number> {
  readonly weight: Tensor<[Ci, Co, K, K]>;
  readonly bias?: Tensor<[Co]>;
}

function addBias(y: tf.Tensor, bias: tf.Tensor | undefined): tf.Tensor {
  return bias ? tf.add(y, bias) : y;
}

function checkEven(op: string, x: Tensor<[number, number, number, number]>): void {
  const { h, w } = dims(x);
  if (h % 2 !== 0 || w % 2 !== 0) throw new Error(`${op}: map ${h}x${w} must have even sides`);
}

/**
 * 4x4 convolution, stride 2, padding 1 (PyTorch `Conv2d(Ci, Co, 4, 2, 1)`):
 * `(N, Ci, H, W) -> (N, Co, H/2, W/2)`, H and W even.
 */
export function conv2dDown<N extends number, Ci extends number, H extends number, W extends number, Co extends number>(
  x: Tensor<[N, Ci, H, W]> & Poolable<H, W>,
  p: ConvParams<Co, NoInfer<Ci>, 4>,
): Tensor<[N, Co, Half<H>, Half<W>]> {
  checkEven('conv2dDown', x);
  return typed(addBias(tf.conv2d(x as tf.Tensor4D, p.weight as tf.Tensor4D, 2, 1), p.bias));
}

/**
 * 4x4 transposed convolution, stride 2, padding 1 (PyTorch `ConvTranspose2d(Ci, Co, 4, 2, 1)`):
 * `(N, Ci, H, W) -> (N, Co, 2H, 2W)`.
 */
export function convTranspose2dUp<N extends number, Ci extends number, H extends number, W extends number, Co extends number>(
  x: Tensor<[N, Ci, H, W]> & Upsamplable<H, W>,
  p: ConvTransposeParams<NoInfer<Ci>, Co, 4>,
): Tensor<[N, Co, Double<H>, Double<W>]> {
  return typed(addBias(convTranspose2dStride2(x as tf.Tensor4D, p.weight as tf.Tensor4D, 1), p.bias));
}
