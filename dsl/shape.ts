/**
 * Shape arithmetic computed by the type checker.
 *
 * Dimensions are number literals (`64`) where they are known statically and `number`
 * where they are only known at run time (the batch, or widths chosen from a config).
 * A `number` dimension makes every check involving it pass: the runtime asserts at the
 * edges (data and checkpoint loading) cover those.
 *
 * Spatial sizes are powers of two, so halving and doubling are lookup tables: an
 * unsupported size is a compile error, not a silent `number`.
 */

/** A tensor shape, in the logical PyTorch order: `[N, C, H, W]` for images, `[N, F]` for features. */
export type Shape = readonly number[];

type HalfTable = { 2048: 1024; 1024: 512; 512: 256; 256: 128; 128: 64; 64: 32; 32: 16; 16: 8; 8: 4; 4: 2; 2: 1 };
type DoubleTable = { 1: 2; 2: 4; 4: 8; 8: 16; 16: 32; 32: 64; 64: 128; 128: 256; 256: 512; 512: 1024; 1024: 2048 };

/** `D / 2` for a power of two >= 2; `never` for anything else; `number` stays `number`. */
export type Half<D extends number> = number extends D ? number : D extends keyof HalfTable ? HalfTable[D] : never;

/** `2 D` for a power of two up to 1024; `never` otherwise; `number` stays `number`. */
export type Double<D extends number> = number extends D ? number : D extends keyof DoubleTable ? DoubleTable[D] : never;

type Tuple<N extends number, Acc extends unknown[] = []> = Acc['length'] extends N ? Acc : Tuple<N, [...Acc, unknown]>;

/** `A + B` (channel concatenation); `number` if either is `number`. */
export type Sum<A extends number, B extends number> = number extends A | B
  ? number
  : [...Tuple<A>, ...Tuple<B>]['length'] & number;

/** `A - B + 1`: the output size of a valid (unpadded) convolution with kernel B; `never` when B > A. */
export type ValidSize<A extends number, K extends number> = number extends A | K
  ? number
  : Tuple<A> extends [...Tuple<K>, ...infer Rest]
    ? [...Rest, unknown]['length'] & number
    : never;

/** `C * H * W` for the cases the models need (a 1x1 map); `number` otherwise. */
export type Flat<C extends number, H extends number, W extends number> = [H, W] extends [1, 1] ? C : number;

/**
 * A type that no tensor satisfies, carrying a message. Intersected into a parameter
 * type, it turns a shape violation into an error that reads
 * `Property '__shapeError' is missing ... required in type 'ShapeError<"...">'`.
 */
export interface ShapeError<Message extends string> {
  readonly __shapeError: Message;
}

/** `unknown` when both sides can be halved, a readable error otherwise. */
export type Poolable<H extends number, W extends number> = [Half<H>] extends [never]
  ? ShapeError<`cannot halve a map of height ${H}: sizes must be powers of two >= 2`>
  : [Half<W>] extends [never]
    ? ShapeError<`cannot halve a map of width ${W}: sizes must be powers of two >= 2`>
    : unknown;

/** `unknown` when both sides can be doubled, a readable error otherwise. */
export type Upsamplable<H extends number, W extends number> = [Double<H>] extends [never]
  ? ShapeError<`cannot double a map of height ${H}: sizes must be powers of two <= 1024`>
  : [Double<W>] extends [never]
    ? ShapeError<`cannot double a map of width ${W}: sizes must be powers of two <= 1024`>
    : unknown;

/** `unknown` when a valid convolution with kernel K fits into an HxW map. */
export type KernelFits<H extends number, W extends number, K extends number> = [ValidSize<H, K>] extends [never]
  ? ShapeError<`a ${K}x${K} valid convolution does not fit a map of height ${H}`>
  : [ValidSize<W, K>] extends [never]
    ? ShapeError<`a ${K}x${K} valid convolution does not fit a map of width ${W}`>
    : unknown;

/** Odd kernel sizes, the ones for which 'same' padding is symmetric (as PyTorch's padding=(k-1)/2). */
export type OddKernel = 1 | 3 | 5 | 7;
