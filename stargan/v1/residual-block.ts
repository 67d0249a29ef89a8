/**
 * StarGAN v1's residual block (yunjey/stargan `model.py` ResidualBlock): no pre-activation,
 * no rescaling, an `nn.Sequential` named `main`:
 *
 *   out = x + [0 conv3x3 (no bias), 1 IN affine, 2 ReLU, 3 conv3x3 (no bias), 4 IN affine](x)
 *   x: (N, C, H, W) -> (N, C, H, W)
 */
import {
  add, conv2d, initAffine, instanceNorm, relu, split, type AffineParams, type ConvParams, type Key, type Tensor,
} from '../../dsl/index.ts';
import { initConvTorch } from '../../dsl/init-torch.ts';

export interface ResidualBlockParams<C extends number = number> {
  readonly main: {
    readonly '0': ConvParams<C, C, 3>;
    readonly '1': AffineParams<C>;
    readonly '3': ConvParams<C, C, 3>;
    readonly '4': AffineParams<C>;
  };
}

/** PyTorch default init for the convs, IN affine weight 1 and bias 0. */
export function initResidualBlock<C extends number>(key: Key, c: C): ResidualBlockParams<C> {
  const [k0, k3] = split(key, 2);
  return { main: { '0': initConvTorch(k0, c, c, 3, false), '1': initAffine(c), '3': initConvTorch(k3, c, c, 3, false), '4': initAffine(c) } };
}

/** `x + IN(conv(ReLU(IN(conv(x)))))`: `(N, C, H, W) -> (N, C, H, W)`. */
export function residualBlock<N extends number, C extends number, H extends number, W extends number>(
  p: ResidualBlockParams<C>, x: Tensor<[N, NoInfer<C>, H, W]>,
): Tensor<[N, C, H, W]> {
  const m = p.main;
  return add(x, instanceNorm(conv2d(relu(instanceNorm(conv2d(x, m['0']), m['1'])), m['3']), m['4']));
}
