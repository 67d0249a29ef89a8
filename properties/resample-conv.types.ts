/**
 * Compile-time shape tests of the convolutions fused with a resampling (dsl/resample-conv.ts),
 * checked by `tsc --noEmit` in `npm test`: each `// @ts-expect-error` line must not compile, the
 * correct version beside it must.
 */
import type { ConvParams, Tensor } from '../dsl/index.ts';
import { conv3x3Pool2, up2Conv3x3 } from '../dsl/resample-conv.ts';

type N = number;
declare const x64: Tensor<[N, 64, 16, 16]>;
declare const x32: Tensor<[N, 32, 16, 16]>;
declare const odd: Tensor<[N, 64, 7, 7]>;
declare const conv64to32: ConvParams<32, 64, 3>;
declare const conv1x1: ConvParams<32, 64, 1>;

// 1. up2Conv3x3 doubles the map and maps the channels
const upOk: Tensor<[N, 32, 32, 32]> = up2Conv3x3(x64, conv64to32);
// @ts-expect-error the result is 32x32, not 16x16
const upWrong: Tensor<[N, 32, 16, 16]> = up2Conv3x3(x64, conv64to32);
// @ts-expect-error 32 input channels into a conv expecting 64
up2Conv3x3(x32, conv64to32);
// @ts-expect-error a 3x3 kernel only
up2Conv3x3(x64, conv1x1);

// 2. conv3x3Pool2 halves the map, which must have even sides
const downOk: Tensor<[N, 32, 8, 8]> = conv3x3Pool2(x64, conv64to32);
// @ts-expect-error the result is 8x8, not 16x16
const downWrong: Tensor<[N, 32, 16, 16]> = conv3x3Pool2(x64, conv64to32);
// @ts-expect-error 7x7 cannot be pooled by 2
conv3x3Pool2(odd, conv64to32);
// @ts-expect-error 32 input channels into a conv expecting 64
conv3x3Pool2(x32, conv64to32);

export { upOk, upWrong, downOk, downWrong };
