/**
 * Compile-time shape tests, checked by `tsc --noEmit` in `npm test`. Each
 * `// @ts-expect-error` line is a shape mistake that must not compile; if one starts
 * compiling, tsc reports the directive as unused and the test run fails. The correct
 * version stands next to each one and must compile.
 *
 * Nothing here runs: the declarations only exist for the type checker.
 */
import {
  add, avgPool2, concatChannels, conv2d, conv2dValid, flatten, instanceNorm, linear, modulate, selectHead, up2,
  type AffineParams, type ConvParams, type Labels, type LinearParams, type Tensor,
} from '../dsl/index.ts';
import { adaIN, type AdaINParams } from '../layers/adain.ts';
import { resBlk, resBlkDown, type ResBlkParams } from '../layers/resblk.ts';
import type { NetConfig } from '../stargan/v2/config.ts';
import { generator, type GeneratorParams } from '../stargan/v2/generator.ts';
import { mappingNetwork, type MappingParams } from '../stargan/v2/mapping.ts';

type N = number;
declare const x64: Tensor<[N, 64, 32, 32]>;
declare const x32: Tensor<[N, 32, 32, 32]>;
declare const x64small: Tensor<[N, 64, 16, 16]>;
declare const rgb: Tensor<[N, 3, 64, 64]>;
declare const pixel: Tensor<[N, 8, 1, 1]>;
declare const map2: Tensor<[N, 8, 2, 2]>;
declare const feats: Tensor<[N, 512]>;
declare const style64: Tensor<[N, 64]>;
declare const style16: Tensor<[N, 16]>;
declare const conv64to128: ConvParams<128, 64, 3>;
declare const conv4: ConvParams<16, 8, 4>;
declare const lin512to64: LinearParams<64, 512>;
declare const affine64: AffineParams<64>;
declare const adain64: AdaINParams<64, 64>;
declare const block: ResBlkParams<64, 64>;
/** A config known at run time except for its latent and style sizes. */
type Styles64 = NetConfig & { readonly latentDim: 16; readonly styleDim: 64 };
declare const g: GeneratorParams<Styles64>;
declare const f: MappingParams<Styles64>;
declare const y: Labels<N>;
declare const heads: Tensor<[2, N, 64]>;

// 1. channel mismatch into a conv
const convOk: Tensor<[N, 128, 32, 32]> = conv2d(x64, conv64to128);
// @ts-expect-error conv expects 64 input channels, gets 32
conv2d(x32, conv64to128);

// 2. channel mismatch in an elementwise add
const addOk = add(x64, x64);
// @ts-expect-error [N,64,32,32] + [N,32,32,32]
add(x64, x32);

// 3. H/W mismatch in a residual add
// @ts-expect-error [N,64,32,32] + [N,64,16,16]
add(x64, x64small);

// 4. H/W mismatch in a concat
const catOk: Tensor<[N, 96, 32, 32]> = concatChannels(x64, x32);
// @ts-expect-error concatenating 32x32 with 16x16 maps
concatChannels(x64, x64small);

// 5. wrong feature size into a linear layer
const linOk: Tensor<[N, 64]> = linear(feats, lin512to64);
// @ts-expect-error a 64-feature input into Linear(512 -> 64)
linear(style64, lin512to64);

// 6. pooling a 1-pixel map
const poolOk: Tensor<[N, 64, 16, 16]> = avgPool2(x64);
// @ts-expect-error cannot halve a map of height 1
avgPool2(pixel);

// 7. the result of pooling has half the size: using it as full-size is an error
// @ts-expect-error (N,64,16,16) is not (N,64,32,32)
const poolWrong: Tensor<[N, 64, 32, 32]> = avgPool2(x64);

// 8. upsampling doubles: the result does not fit the original size
const upOk: Tensor<[N, 64, 64, 64]> = up2(x64);
// @ts-expect-error (N,64,64,64) is not (N,64,32,32)
const upWrong: Tensor<[N, 64, 32, 32]> = up2(x64);

// 9. wrong style size into AdaIN
const adainOk: Tensor<[N, 64, 32, 32]> = adaIN(adain64, x64, style64);
// @ts-expect-error a 16-dim style into AdaIN(64)
adaIN(adain64, x64, style16);

// 10. wrong style size into the generator
const gOk: Tensor<[N, 3, 64, 64]> = generator(g, rgb, style64, { wHpf: 0 });
// @ts-expect-error G takes (N, 64) styles
generator(g, rgb, style16, { wHpf: 0 });

// 11. G preserves the image size: claiming another size is an error
// @ts-expect-error G maps (N,3,64,64) to (N,3,64,64)
const gWrong: Tensor<[N, 3, 32, 32]> = generator(g, rgb, style64, { wHpf: 0 });

// 12. wrong latent size into the mapping network
const fOk: Tensor<[N, 64]> = mappingNetwork(f, style16, y);
// @ts-expect-error F takes (N, 16) latents
mappingNetwork(f, style64, y);

// 13. a 4x4 valid conv on a 2x2 map
const validOk: Tensor<[N, 16, 1, 1]> = conv2dValid(pixel as unknown as Tensor<[N, 8, 4, 4]>, conv4);
// @ts-expect-error a 4x4 valid convolution does not fit a 2x2 map
conv2dValid(map2, conv4);

// 14. affine params of the wrong width into instance norm
const inOk = instanceNorm(x64, affine64);
// @ts-expect-error 64-channel affine on a 32-channel map
instanceNorm(x32, affine64);

// 15. a residual block keeps its width: feeding it the wrong width is an error
const blockOk: Tensor<[N, 64, 32, 32]> = resBlk(block, x64);
// @ts-expect-error ResBlk(64 -> 64) on a 32-channel map
resBlk(block, x32);

// 16. a downsampling block halves the size
const downOk: Tensor<[N, 64, 16, 16]> = resBlkDown(block, x64);
// @ts-expect-error cannot halve a map of height 1
resBlkDown(block, pixel as unknown as Tensor<[N, 64, 1, 1]>);

// 17. per-sample modulation needs (N, C) with the map's C
const modOk = modulate(x64, style64, style64);
// @ts-expect-error gamma of 16 channels for a 64-channel map
modulate(x64, style16, style64);

// 18. flattening a 1x1 map gives its channels as features; a head picks per domain
const flatOk: Tensor<[N, 8]> = flatten(pixel);
const headOk: Tensor<[N, 64]> = selectHead(heads, y);
// @ts-expect-error heads give 64 features, not 16
const headWrong: Tensor<[N, 16]> = selectHead(heads, y);

export const used = [convOk, addOk, catOk, linOk, poolOk, poolWrong, upOk, upWrong, adainOk, gOk, gWrong, fOk, validOk, inOk, blockOk, downOk, modOk, flatOk, headOk, headWrong];
