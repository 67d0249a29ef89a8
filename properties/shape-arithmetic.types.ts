/**
 * Compile-time tests of the shape arithmetic (dsl/shape.ts), checked by `tsc --noEmit` in
 * `npm test`. Each `Expect<Equal<...>>` must hold; each `// @ts-expect-error` line states a
 * wrong answer that must not compile (tsc reports the directive as unused if it does).
 *
 * Nothing here runs: the declarations only exist for the type checker.
 */
import type {
  ConvFits, ConvSize, Double, Flat, Half, KernelFits, Poolable, Product, ShapeError, Sum, Upsamplable, ValidSize,
} from '../dsl/index.ts';

/** Exact type equality (`number` is not `8`, `never` is not `0`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Expect<T extends true> = T;

// Halving: any even size, not only powers of two; odd sizes are never, `number` stays `number`.
export type HalfCases = [
  Expect<Equal<Half<28>, 14>>, Expect<Equal<Half<14>, 7>>, Expect<Equal<Half<96>, 48>>, Expect<Equal<Half<6>, 3>>,
  Expect<Equal<Half<4096>, 2048>>, Expect<Equal<Half<8190>, 4095>>, Expect<Equal<Half<1000000>, 500000>>,
  Expect<Equal<Half<7>, never>>, Expect<Equal<Half<1>, never>>, Expect<Equal<Half<2.5>, never>>, Expect<Equal<Half<-4>, never>>,
  Expect<Equal<Half<number>, number>>, Expect<Equal<Half<never>, never>>,
];
// @ts-expect-error 28 / 2 is 14, not 15
export type HalfWrong = Expect<Equal<Half<28>, 15>>;

// Doubling.
export type DoubleCases = [
  Expect<Equal<Double<7>, 14>>, Expect<Equal<Double<4096>, 8192>>, Expect<Equal<Double<999>, 1998>>,
  Expect<Equal<Double<number>, number>>, Expect<Equal<Double<never>, never>>,
];
// @ts-expect-error 2 x 7 is 14
export type DoubleWrong = Expect<Equal<Double<7>, 15>>;

// Sums (concatenation), with carries.
export type SumCases = [
  Expect<Equal<Sum<64, 32>, 96>>, Expect<Equal<Sum<999, 1>, 1000>>, Expect<Equal<Sum<0, 0>, 0>>,
  Expect<Equal<Sum<123456, 987654>, 1111110>>, Expect<Equal<Sum<number, 3>, number>>, Expect<Equal<Sum<never, 3>, never>>,
];
// @ts-expect-error 64 + 32 is 96
export type SumWrong = Expect<Equal<Sum<64, 32>, 128>>;

// Products (flatten), up to and past a million.
export type ProductCases = [
  Expect<Equal<Flat<512, 4, 4>, 8192>>, Expect<Equal<Flat<256, 7, 7>, 12544>>, Expect<Equal<Flat<16, 2, 2>, 64>>,
  Expect<Equal<Flat<16, 7, 7>, 784>>, Expect<Equal<Flat<8, 1, 1>, 8>>, Expect<Equal<Product<1000, 1000>, 1000000>>,
  Expect<Equal<Product<4096, 4096>, 16777216>>, Expect<Equal<Product<0, 5>, 0>>,
  Expect<Equal<Flat<number, 4, 4>, number>>, Expect<Equal<Flat<512, never, 4>, never>>,
];
// @ts-expect-error 16 x 2 x 2 is 64, not 16
export type ProductWrong = Expect<Equal<Flat<16, 2, 2>, 16>>;

// Convolution output sizes: floor((H + 2P - K) / S) + 1; never when the kernel does not fit or the stride is 0.
export type ConvCases = [
  Expect<Equal<ValidSize<4, 4>, 1>>, Expect<Equal<ValidSize<28, 5>, 24>>, Expect<Equal<ValidSize<2, 4>, never>>,
  Expect<Equal<ConvSize<28, 3, 2, 1>, 14>>, Expect<Equal<ConvSize<7, 3, 2, 1>, 4>>, Expect<Equal<ConvSize<224, 7, 2, 3>, 112>>,
  Expect<Equal<ConvSize<227, 11, 4>, 55>>, Expect<Equal<ConvSize<1, 3, 1, 1>, 1>>, Expect<Equal<ConvSize<1, 3>, never>>,
  Expect<Equal<ConvSize<5, 3, 0>, never>>, Expect<Equal<ConvSize<number, 3, 2, 1>, number>>, Expect<Equal<ConvSize<never, 3, 2, 1>, never>>,
];
// @ts-expect-error a 7x7, stride 2, padding 3 conv takes 224 to 112 (floor), not 113
export type ConvWrong = Expect<Equal<ConvSize<224, 7, 2, 3>, 113>>;

// The checks: `unknown` when the rule holds, a ShapeError with a message otherwise.
export type CheckCases = [
  Expect<Equal<Poolable<28, 14>, unknown>>, Expect<Equal<Upsamplable<7, 7>, unknown>>,
  Expect<Equal<KernelFits<4, 4, 4>, unknown>>, Expect<Equal<ConvFits<28, 28, 3, 2, 1>, unknown>>,
  Expect<Equal<Poolable<14, 7>, ShapeError<'cannot halve a map of width 7: sizes must be even'>>>,
  Expect<Equal<KernelFits<2, 2, 4>, ShapeError<'a 4x4 valid convolution does not fit a map of height 2'>>>,
  Expect<Equal<ConvFits<2, 2, 5, 1, 1>, ShapeError<'a 5x5 convolution (stride 1, padding 1) does not fit a map of height 2'>>>,
  Expect<Equal<ConvFits<8, 8, 3, 0, 1>, ShapeError<'a 3x3 convolution (stride 0, padding 1) does not fit a map of height 8'>>>,
  Expect<Equal<Poolable<number, number>, unknown>>,
];
// @ts-expect-error 7 cannot be halved
export type CheckWrong = Expect<Equal<Poolable<7, 7>, unknown>>;
