/**
 * Compile-time tests of whole typed programs, checked by `tsc --noEmit` in `npm test`: for
 * each class of shape mistake, a program that must compile and, marked `// @ts-expect-error`
 * on the exact line of the mistake, one that must not (tsc reports the directive as unused
 * if it compiles). The messages each mistake gives are quoted beside it.
 *
 * Nothing here runs: the declarations only exist for the type checker.
 */
import {
  avgPool2, concatChannels, conv2d, conv2dValid, domainHeads, flatten, labels, leakyRelu, linear, oneHot, selectHead,
  selectLogit, sequence, stack, up2,
  type ConvParams, type Labels, type LinearParams, type Poolable, type Tensor,
} from '../dsl/index.ts';
import type { NetConfig } from '../stargan/v2/config.ts';
import { discriminator, type DiscriminatorParams } from '../stargan/v2/discriminator.ts';
import { styleEncoder, type StyleEncoderParams } from '../stargan/v2/style-encoder.ts';

// ---------------------------------------------------------------------------------------------
// Sizes that are not powers of two: a 28x28 MNIST-style net, 28 -> 14 -> 7, flatten 16*7*7.

interface MnistParams {
  readonly conv1: ConvParams<8, 1, 3>;
  readonly conv2: ConvParams<16, 8, 3>;
  readonly fc: LinearParams<10, 784>;
}
function mnist<N extends number>(p: MnistParams, x: Tensor<[N, 1, 28, 28]>): Tensor<[N, 10]> {
  const h14 = avgPool2(leakyRelu(conv2d(x, p.conv1))); // (N, 8, 14, 14)
  const h7: Tensor<[N, 16, 7, 7]> = avgPool2(leakyRelu(conv2d(h14, p.conv2)));
  return linear(flatten(h7), p.fc); // 16 * 7 * 7 = 784 features
}
declare const mnistParams: MnistParams;
declare const digits: Tensor<[32, 1, 28, 28]>;
export const mnistLogits: Tensor<[32, 10]> = mnist(mnistParams, digits);
declare const map7: Tensor<[32, 16, 7, 7]>;
// @ts-expect-error ShapeError<"cannot halve a map of height 7: sizes must be even">
avgPool2(map7);

// Halving 96 -> 48 -> 24 -> 12 -> 6 -> 3, and no further.
declare const x96: Tensor<[number, 8, 96, 96]>;
export const x3: Tensor<[number, 8, 3, 3]> = avgPool2(avgPool2(avgPool2(avgPool2(avgPool2(x96)))));
// @ts-expect-error ShapeError<"cannot halve a map of height 3: sizes must be even">
avgPool2(x3);

// Doubling any size: 7 -> 14, and the result is 14, not 7.
export const up14: Tensor<[32, 16, 14, 14]> = up2(map7);
// @ts-expect-error Type 'Tensor<[32, 16, 14, 14]>' is not assignable to type 'Tensor<[32, 16, 7, 7]>'
export const up7: Tensor<[32, 16, 7, 7]> = up2(map7);

// A generic down-block, written once and used at two resolutions (28 and 14); at 7 it cannot pool.
function down<N extends number, C extends number, H extends number, W extends number, Co extends number>(
  p: ConvParams<Co, C, 3>, x: Tensor<[N, C, H, W]> & Poolable<H, W>,
) {
  return avgPool2(leakyRelu(conv2d(x, p)) as Tensor<[N, Co, H, W]> & Poolable<H, W>);
}
declare const c8to8: ConvParams<8, 8, 3>;
declare const map28: Tensor<[4, 8, 28, 28]>;
export const down7: Tensor<[4, 8, 7, 7]> = down(c8to8, down(c8to8, map28));
// @ts-expect-error ShapeError<"cannot halve a map of height 7: sizes must be even">
down(c8to8, down7);

// Flatten gives C*H*W as a literal: 16x2x2 is 64 features, so a Linear(16 -> 10) does not take it.
declare const map2: Tensor<[number, 16, 2, 2]>;
declare const fc64: LinearParams<10, 64>;
declare const fc16: LinearParams<10, 16>;
export const flat64: Tensor<[number, 64]> = flatten(map2);
export const logits64 = linear(flatten(map2), fc64);
// @ts-expect-error 'LinearParams<10, 16>' is not assignable to 'LinearParams<10, 64>'
linear(flatten(map2), fc16);
declare const map512: Tensor<[8, 512, 4, 4]>;
export const flat8192: Tensor<[8, 8192]> = flatten(map512);

// Concatenation adds channels; the batch, height and width must agree.
declare const map64: Tensor<[8, 64, 32, 32]>;
declare const map32: Tensor<[8, 32, 32, 32]>;
declare const map32of4: Tensor<[4, 32, 32, 32]>;
export const cat96: Tensor<[8, 96, 32, 32]> = concatChannels(map64, map32);
// @ts-expect-error a batch of 4 concatenated to a batch of 8
concatChannels(map64, map32of4);

// Valid convolutions: 4x4 on 4x4 is 1x1; 4x4 on 2x2 does not fit.
declare const map4: Tensor<[number, 16, 4, 4]>;
declare const conv4: ConvParams<8, 16, 4>;
export const valid1: Tensor<[number, 8, 1, 1]> = conv2dValid(map4, conv4);
declare const map2b: Tensor<[number, 16, 2, 2]>;
// @ts-expect-error ShapeError<"a 4x4 valid convolution does not fit a map of height 2">
export const validBad = conv2dValid(map2b, conv4);

// ---------------------------------------------------------------------------------------------
// Nested ops without annotations, on a runtime batch (N = number): this used to stop with
// TS2589 "excessively deep". An impossible inner shape gives never dimensions, and the outer
// op still type-checks quickly (its own line compiles).

declare const img: Tensor<[number, 3, 4, 4]>;
declare const c3to16: ConvParams<16, 3, 3>;
declare const head: ConvParams<8, 16, 4>;
export const nested: Tensor<[number, 8]> = flatten(conv2dValid(conv2d(img, c3to16), head));
export const nestedAgain = linear(flatten(conv2dValid(conv2d(img, c3to16), head)), {} as LinearParams<4, 8>);
declare const img2: Tensor<[number, 3, 2, 2]>;
// @ts-expect-error ShapeError<"a 4x4 valid convolution does not fit a map of height 2">
const impossible = conv2dValid(conv2d(img2, c3to16), head);
export const flattenedImpossible = flatten(impossible);

// ---------------------------------------------------------------------------------------------
// `number` is a wildcard in both directions.

// Parameters built from a runtime config fit a literal tensor; the dimensions that are known still check.
declare const runtimeFc: LinearParams<number, number>;
declare const runtimeFc64: LinearParams<number, 64>;
declare const feats512: Tensor<[8, 512]>;
export const fromConfig = linear(feats512, runtimeFc);
// @ts-expect-error 'LinearParams<number, 64>' is not assignable to 'LinearParams<number, 512>'
linear(feats512, runtimeFc64);

// Labels whose count is only known at run time, where a batch of 4 is expected; a batch of 3 is not.
function batchOf4(y: Labels<4>): Labels<4> {
  return y;
}
const runtimeLabels: Labels<number> = labels([0, 1, 0, 1]);
export const four = batchOf4(runtimeLabels);
declare const threeLabels: Labels<3>;
// @ts-expect-error Type 'Labels<3>' is not assignable to 'Labels<4>'
batchOf4(threeLabels);

// A literal tensor where `number` dimensions are declared, and the other way round.
function anyBatch(x: Tensor<[number, 512]>): Tensor<[number, 512]> {
  return x;
}
export const literalIntoNumber = anyBatch(feats512);
export const numberIntoLiteral: Tensor<[8, 512]> = anyBatch(feats512);
declare const feats64: Tensor<[8, 64]>;
// @ts-expect-error Type 'Tensor<[8, 64]>' is not assignable to 'Tensor<[number, 512]>'
anyBatch(feats64);

// ---------------------------------------------------------------------------------------------
// Labels carry their domain count K: one-hot encodings, logits and heads must agree with it.

declare const y3of2: Labels<4, 2>;
declare const y3: Labels<4, 3>;
declare const logits2: Tensor<[4, 2]>;
export const picked = selectLogit(logits2, y3of2);
export const pickedRuntime = selectLogit(logits2, labels([0, 1, 1, 0]));
// @ts-expect-error labels of 3 domains into a 2-logit head: 'Labels<4, 3>' is not assignable to 'Labels<4, 2>'
selectLogit(logits2, y3);
export const encoded: Tensor<[4, 2]> = oneHot(y3of2, 2);
// @ts-expect-error labels of 3 domains one-hot encoded with 2 classes
oneHot(y3, 2);
declare const heads2: Tensor<[2, 4, 64]>;
export const selected: Tensor<[4, 64]> = selectHead(heads2, y3of2);
// @ts-expect-error 2 heads, labels of 3 domains
selectHead(heads2, y3);
export const checkedLabels: Labels<4, 2> = labels([0, 1, 1, 0], 4, 2);

// Domain heads: K is the number of heads; heads of different widths are an error at the heads.
declare const z: Tensor<[4, 16]>;
declare const lin64: LinearParams<64, 16>;
declare const lin32: LinearParams<32, 16>;
const twoHeads = domainHeads([(t: Tensor<[4, 16]>) => linear(t, lin64), (t: Tensor<[4, 16]>) => linear(t, lin64)]);
export const styles: Tensor<[4, 64]> = twoHeads(z, y3of2);
// @ts-expect-error labels of 3 domains for 2 heads
twoHeads(z, y3);
const head64 = (t: Tensor<[4, 16]>) => linear(t, lin64);
const head32 = (t: Tensor<[4, 16]>) => linear(t, lin32);
export const sameHeads: Tensor<[4, 64]> = domainHeads([head64, head64, head64])(z, labels([0, 1, 2, 2], 4, 3));
// @ts-expect-error at the heads: "Type at position 1 ... 'Tensor<[4, 32]>' is not assignable to type 'Tensor<[4, 64]>'"
export const mixedHeads = domainHeads([head64, head32]);

// ---------------------------------------------------------------------------------------------
// The batch is read from the first batch-coupled argument only (NoInfer on the others): an image
// batch of 8 with labels of 4 is an error, not a batch of type 8 | 4.

declare const d: DiscriminatorParams;
declare const e: StyleEncoderParams<NetConfig & { readonly styleDim: 64 }>;
declare const images8: Tensor<[8, 3, 32, 32]>;
declare const labels8: Labels<8>;
declare const labels4: Labels<4>;
export const realLogits: Tensor<[8]> = discriminator(d, images8, labels8);
// @ts-expect-error Labels<4> for a batch of 8
discriminator(d, images8, labels4);
export const refStyles: Tensor<[8, 64]> = styleEncoder(e, images8, labels8);
// @ts-expect-error Labels<4> for a batch of 8
styleEncoder(e, images8, labels4);
declare const logits8: Tensor<[8, 2]>;
// @ts-expect-error Labels<4> for a batch of 8
selectLogit(logits8, labels4);

// ---------------------------------------------------------------------------------------------
// stack types its leading dimension as the number of tensors, and they must have one shape.

declare const h0: Tensor<[8, 64]>;
declare const h1: Tensor<[8, 64]>;
declare const h32: Tensor<[8, 32]>;
export const stacked: Tensor<[2, 8, 64]> = stack([h0, h1]);
// @ts-expect-error 'Tensor<[2, 8, 64]>' is not 'Tensor<[3, 8, 64]>'
export const stacked3: Tensor<[3, 8, 64]> = stack([h0, h1]);
// @ts-expect-error Type 'Tensor<[8, 32]>' is not assignable to type 'Tensor<[8, 64]>'
stack([h0, h32]);

// ---------------------------------------------------------------------------------------------
// sequence composes typed stages, generic ones (avgPool2, flatten) included. A link whose types
// disagree is reported at the earlier of its two stages: `sequence` is fp-ts's `flow`, which infers
// the type between two stages from both; see dsl/combinators.ts for why it does not blame the later one.

declare const convA: ConvParams<16, 3, 3>;
declare const convB: ConvParams<32, 16, 3>;
declare const convWrong: ConvParams<32, 8, 3>;
declare const fcA: LinearParams<10, 512>;
type Rgb = Tensor<[8, 3, 8, 8]>;
const stem = (x: Rgb) => leakyRelu(conv2d(x, convA)); // (8, 16, 8, 8)
export const net = sequence(
  stem,
  (h: Tensor<[8, 16, 8, 8]>) => conv2d(h, convB), // (8, 32, 8, 8)
  avgPool2, // (8, 32, 4, 4)
  flatten, // (8, 512)
  (h: Tensor<[8, 512]>) => linear(h, fcA),
);
export const netOut: Tensor<[8, 10]> = net({} as Rgb);
export const netWrong = sequence(
  // @ts-expect-error the next stage takes 8 channels, the stem gives 16 (reported here, at the stem)
  stem,
  (h: Tensor<[8, 8, 8, 8]>) => conv2d(h, convWrong),
  avgPool2,
);
