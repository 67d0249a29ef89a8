/**
 * Shape arithmetic computed by the type checker.
 *
 * Dimensions are number literals (`64`) where they are known statically and `number`
 * where they are only known at run time (the batch, or widths chosen from a config).
 * A `number` dimension is a wildcard in both directions (tensor.ts compares dimensions
 * bivariantly): it makes every check involving it pass, and every size computed from it
 * is `number`. The runtime asserts at the edges (data and checkpoint loading) cover those.
 *
 * Sizes are computed exactly for any whole-number literal, digit by digit on their decimal
 * strings (`28` -> `'28'`), the way one does it on paper: carries, borrows, long
 * multiplication and long division. So 28 halves to 14 and 7, 16 x 7 x 7 flattens to 784,
 * and an impossible shape (halving 7) is `never`, which the checks below turn into a
 * readable `ShapeError<"...">`, never a silent `number`.
 *
 * Every recursion here walks a digit string that gets shorter (or a counter bounded by 9),
 * and the public types answer `number` for `number` and `never` for `never` before any
 * digit is read, so no instantiation can run away (TS2589) whatever inference feeds them.
 */

/** A tensor shape, in the logical PyTorch order: `[N, C, H, W]` for images, `[N, F]` for features. */
export type Shape = readonly number[];

// ---------------------------------------------------------------------------------------------
// Decimal digit strings. Internally numbers are little-endian ('82' is 28): the lowest digit
// comes first, so a template literal can take it off the front with its carry.

type Digit = '0' | '1' | '2' | '3' | '4' | '5' | '6' | '7' | '8' | '9';

/** A digit as that many ones: adding digits is concatenating tuples, and `length` reads the sum back. */
type Ones = {
  '0': []; '1': [1]; '2': [1, 1]; '3': [1, 1, 1]; '4': [1, 1, 1, 1]; '5': [1, 1, 1, 1, 1];
  '6': [1, 1, 1, 1, 1, 1]; '7': [1, 1, 1, 1, 1, 1, 1]; '8': [1, 1, 1, 1, 1, 1, 1, 1]; '9': [1, 1, 1, 1, 1, 1, 1, 1, 1];
};
type Ten = [...Ones['9'], 1];

/** The lowest digit of a little-endian string; '0' past its end (so shorter numbers read as zero-padded). */
type Low<S extends string> = S extends `${infer D extends Digit}${string}` ? D : '0';
/** The string without its lowest digit. */
type High<S extends string> = S extends `${Digit}${infer Rest}` ? Rest : '';

/** 0..19 ones as [digit, carry]. */
type CarryTen<T extends 1[]> = T extends [...Ten, ...infer Rest extends 1[]] ? [`${Rest['length']}`, [1]] : [`${T['length']}`, []];

/** A + B (+ carry), little-endian. */
type AddLE<A extends string, B extends string, Carry extends 1[] = []> = [A, B] extends ['', '']
  ? (Carry extends [] ? '' : '1')
  : CarryTen<[...Ones[Low<A>], ...Ones[Low<B>], ...Carry]> extends [infer D extends string, infer C extends 1[]]
    ? `${D}${AddLE<High<A>, High<B>, C>}`
    : never;

/** A - B (- borrow), little-endian; `never` when B > A. */
type SubLE<A extends string, B extends string, Borrow extends 1[] = []> = [A, B] extends ['', '']
  ? (Borrow extends [] ? '' : never)
  : Ones[Low<A>] extends [...Ones[Low<B>], ...Borrow, ...infer D extends 1[]]
    ? `${D['length']}${SubLE<High<A>, High<B>>}`
    : [...Ones[Low<A>], ...Ten] extends [...Ones[Low<B>], ...Borrow, ...infer D extends 1[]]
      ? `${D['length']}${SubLE<High<A>, High<B>, [1]>}`
      : never;

/** A times one digit, as that many additions. */
type TimesDigitLE<A extends string, D extends Digit, Sum extends string = '', Count extends 1[] = []> =
  Count extends Ones[D] ? Sum : TimesDigitLE<A, D, AddLE<Sum, A>, [...Count, 1]>;

/** A * B, little-endian: A times B's lowest digit, plus ten times A times the rest of B. */
type MulLE<A extends string, B extends string> = B extends `${infer D extends Digit}${infer Rest}`
  ? AddLE<TimesDigitLE<A, D>, Rest extends '' ? '' : `0${MulLE<A, Rest>}`>
  : '';

type Reverse<S extends string> = S extends `${infer First}${infer Rest}` ? `${Reverse<Rest>}${First}` : '';
/** Leading zeros dropped ('007' is '7', '000' is '0'). */
type Trim<S extends string> = S extends `0${infer Rest extends `${Digit}${string}`}` ? Trim<Rest> : S extends '' ? '0' : S;

// Big-endian (ordinary) decimal strings from here on.
type AddD<A extends string, B extends string> = Trim<Reverse<AddLE<Reverse<A>, Reverse<B>>>>;
type SubD<A extends string, B extends string> = Trim<Reverse<SubLE<Reverse<A>, Reverse<B>>>>;
type MulD<A extends string, B extends string> = Trim<Reverse<MulLE<Reverse<A>, Reverse<B>>>>;

/** The largest q <= 9 with q B <= R, as [q, R - q B] (one step of long division). */
type QuotientDigit<R extends string, B extends string, Q extends 1[] = []> = Q extends Ten
  ? never // only a zero divisor gets here
  : [SubD<R, B>] extends [never] ? [`${Q['length']}`, R] : QuotientDigit<SubD<R, B>, B, [...Q, 1]>;

/** Long division, digit by digit from the top: [A / B rounded down, A mod B]. */
type DivModD<A extends string, B extends string, Q extends string = '', R extends string = '0'> =
  A extends `${infer D extends Digit}${infer Rest}`
    ? QuotientDigit<Trim<`${R}${D}`>, B> extends [infer QD extends string, infer R2 extends string]
      ? DivModD<Rest, B, `${Q}${QD}`, R2>
      : never
    : [Trim<Q>, R];

/** The digits of a whole-number literal; `never` for a negative or fractional one (and for `never`). */
type Digits<D extends number> = `${D}` extends `${string}${'-' | '.' | 'e'}${string}` ? never : `${D}`;
/** A digit string back as a number literal. */
type ToNumber<S extends string> = S extends `${infer N extends number}` ? N : never;

// ---------------------------------------------------------------------------------------------
// Sizes. Each one: `number` if an operand is `number`, `never` if one is `never` or impossible.

/** Whether a size is `never` (an error upstream): then no digit is read. */
type AnyNever<Ds extends number[]> = Ds extends [infer D, ...infer Rest extends number[]] ? ([D] extends [never] ? true : AnyNever<Rest>) : false;

/** `A + B` (channel concatenation). */
export type Sum<A extends number, B extends number> = number extends A | B
  ? number
  : AnyNever<[A, B]> extends true ? never : ToNumber<AddD<Digits<A>, Digits<B>>>;

/** `A * B`. */
export type Product<A extends number, B extends number> = number extends A | B
  ? number
  : AnyNever<[A, B]> extends true ? never : ToNumber<MulD<Digits<A>, Digits<B>>>;

/** `D / 2` for an even size; `never` for an odd one. */
export type Half<D extends number> = number extends D
  ? number
  : DivModD<Digits<D>, '2'> extends [infer Q extends string, '0'] ? ToNumber<Q> : never;

/** `2 D`. */
export type Double<D extends number> = Sum<D, D>;

/** The smaller of A and B (a channel cap: `min(2 * din, maxConv)`). */
export type Min<A extends number, B extends number> = number extends A | B
  ? number
  : AnyNever<[A, B]> extends true ? never : [SubD<Digits<A>, Digits<B>>] extends [never] ? A : B;

/** `C * H * W`: the features of a flattened map (512x4x4 -> 8192). */
export type Flat<C extends number, H extends number, W extends number> = Product<C, Product<H, W>>;

/**
 * The output size of a convolution (PyTorch's formula): `floor((H + 2P - K) / S) + 1`, for
 * kernel K, stride S >= 1 and padding P on each side; `never` when the kernel does not fit.
 */
export type ConvSize<H extends number, K extends number, S extends number = 1, P extends number = 0> =
  number extends H | K | S | P
    ? number
    : AnyNever<[H, K, S, P]> extends true ? never
      : [Digits<S>] extends ['0'] ? never
        : ToNumber<AddD<DivModD<SubD<AddD<Digits<H>, MulD<'2', Digits<P>>>, Digits<K>>, Digits<S>>[0], '1'>>;

/** `H - K + 1`: the output size of a valid (unpadded, stride 1) convolution; `never` when K > H. */
export type ValidSize<H extends number, K extends number> = ConvSize<H, K, 1, 0>;

// ---------------------------------------------------------------------------------------------
// Checks: `unknown` (no constraint) when a shape rule holds, a readable error otherwise.

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
  ? ShapeError<`cannot halve a map of height ${H}: sizes must be even`>
  : [Half<W>] extends [never]
    ? ShapeError<`cannot halve a map of width ${W}: sizes must be even`>
    : unknown;

/** `unknown` when both sides can be doubled (any whole size), a readable error otherwise. */
export type Upsamplable<H extends number, W extends number> = [Double<H>] extends [never]
  ? ShapeError<`cannot double a map of height ${H}: sizes must be whole numbers`>
  : [Double<W>] extends [never]
    ? ShapeError<`cannot double a map of width ${W}: sizes must be whole numbers`>
    : unknown;

/** `unknown` when a valid convolution with kernel K fits into an HxW map. */
export type KernelFits<H extends number, W extends number, K extends number> = [ValidSize<H, K>] extends [never]
  ? ShapeError<`a ${K}x${K} valid convolution does not fit a map of height ${H}`>
  : [ValidSize<W, K>] extends [never]
    ? ShapeError<`a ${K}x${K} valid convolution does not fit a map of width ${W}`>
    : unknown;

/** `unknown` when a KxK convolution with stride S and padding P fits into an HxW map. */
export type ConvFits<H extends number, W extends number, K extends number, S extends number, P extends number> =
  [ConvSize<H, K, S, P>] extends [never]
    ? ShapeError<`a ${K}x${K} convolution (stride ${S}, padding ${P}) does not fit a map of height ${H}`>
    : [ConvSize<W, K, S, P>] extends [never]
      ? ShapeError<`a ${K}x${K} convolution (stride ${S}, padding ${P}) does not fit a map of width ${W}`>
      : unknown;

/** Odd kernel sizes, the ones for which 'same' padding is symmetric (as PyTorch's padding=(k-1)/2). */
export type OddKernel = 1 | 3 | 5 | 7;
