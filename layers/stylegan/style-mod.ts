/**
 * Style modulation (StyleGAN v1's AdaIN half): an equalized linear map A(w) gives a per-channel
 * scale and shift `(ys, yb)`, and `x * (ys + 1) + yb`. The "+ 1" makes a fresh layer (zero
 * bias, small ys) close to the identity. In StyleGAN it follows instance normalisation.
 *
 * Params: `affine.weight` (2C, wDim), `affine.bias` (2C,).
 */
import { chunk2, dims, modulate, type Key, type LinearParams, type Tensor } from '../../dsl/index.ts';
import { equalizedLinear, initEqualizedLinear } from './equalized-linear.ts';

export interface StyleModParams<D extends number = number> {
  readonly affine: LinearParams<number, D>;
}

export function initStyleMod<D extends number>(key: Key, wDim: D, channels: number): StyleModParams<D> {
  return { affine: initEqualizedLinear(key, { din: wDim, dout: 2 * channels }) };
}

/** `x: (N, C, H, W), w: (N, D) -> (N, C, H, W)`. */
export function styleMod<N extends number, C extends number, H extends number, W extends number, D extends number>(
  p: StyleModParams<D>, x: Tensor<[N, C, H, W]>, w: Tensor<[NoInfer<N>, NoInfer<D>]>,
): Tensor<[N, C, H, W]> {
  const [ys, yb] = chunk2(equalizedLinear(p.affine, w), dims(x).c);
  return modulate(x, ys, yb);
}
