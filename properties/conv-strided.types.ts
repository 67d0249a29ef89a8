/**
 * Compile-time shape tests of the stride-2 convolutions and StarGAN v1's typed entry points,
 * checked by `tsc --noEmit` in `npm test` (as properties/shape-errors.types.ts): each
 * `// @ts-expect-error` line must not compile, the correct version beside it must.
 */
import type { AffineParams, ConvParams, Tensor } from '../dsl/index.ts';
import { conv2dDown, convTranspose2dUp, type ConvTransposeParams } from '../dsl/conv-strided.ts';
import { tileSpatial } from '../dsl/broadcast.ts';
import { generatorV1, type GeneratorV1Params } from '../stargan/v1/generator.ts';
import { residualBlock, type ResidualBlockParams } from '../stargan/v1/residual-block.ts';

type N = number;
declare const x64: Tensor<[N, 64, 32, 32]>;
declare const x32: Tensor<[N, 32, 32, 32]>;
declare const odd: Tensor<[N, 64, 7, 7]>;
declare const rgb: Tensor<[N, 3, 128, 128]>;
declare const down64to128: ConvParams<128, 64, 4>;
declare const down3x3: ConvParams<128, 64, 3>;
declare const up64to32: ConvTransposeParams<64, 32, 4>;
declare const block64: ResidualBlockParams<64>;
declare const g: GeneratorV1Params;
declare const labels5: Tensor<[N, 5]>;
declare const affine64: AffineParams<64>;

// 1. conv 4x4 s2 halves the map and maps the channels
const downOk: Tensor<[N, 128, 16, 16]> = conv2dDown(x64, down64to128);
// @ts-expect-error the result is 16x16, not 32x32
const downWrong: Tensor<[N, 128, 32, 32]> = conv2dDown(x64, down64to128);
// @ts-expect-error 32 input channels into a conv expecting 64
conv2dDown(x32, down64to128);
// @ts-expect-error a 7x7 map cannot be halved exactly
conv2dDown(odd, down64to128);
// @ts-expect-error conv2dDown takes 4x4 kernels only
conv2dDown(x64, down3x3);

// 2. transposed conv 4x4 s2 doubles the map; its weight is (Ci, Co, 4, 4) as PyTorch's
const upOk: Tensor<[N, 32, 64, 64]> = convTranspose2dUp(x64, up64to32);
// @ts-expect-error the input has 32 channels, the weight expects 64
convTranspose2dUp(x32, up64to32);
// @ts-expect-error the result has 32 channels at 64x64
const upWrong: Tensor<[N, 64, 64, 64]> = convTranspose2dUp(x64, up64to32);

// 3. labels tiled over a map, and v1's residual block and generator keep their shapes
const tiled: Tensor<[N, 5, 128, 128]> = tileSpatial(labels5, 128, 128);
const resOk: Tensor<[N, 64, 32, 32]> = residualBlock(block64, x64);
// @ts-expect-error the block is for 64 channels
residualBlock(block64, x32);
const gOk: Tensor<[N, 3, 128, 128]> = generatorV1(g, rgb, labels5);
// @ts-expect-error G maps RGB to RGB at the same size
const gWrong: Tensor<[N, 3, 64, 64]> = generatorV1(g, rgb, labels5);

export { downOk, downWrong, upOk, upWrong, tiled, resOk, gOk, gWrong, affine64 };
