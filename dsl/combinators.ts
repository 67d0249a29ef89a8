/**
 * A few general combinators. A layer bound to its parameters is a plain function
 * `x -> y`, so composition is function composition (`sequence` is fp-ts's `flow`, typed so
 * that a mismatch is blamed on the stage that does not fit); these add the shapes of
 * residual sums and domain-indexed heads.
 */
import { flow } from 'fp-ts/lib/function.js';
import { add, scale, selectHead, stack } from './ops.ts';
import type { Shape } from './shape.ts';
import { typed, type Labels, type Tensor } from './tensor.ts';

/** A shape-preserving-or-not layer: input type to output type. */
export type Layer<In, Out> = (x: In) => Out;

// Each stage's input is `NoInfer`: the types flowing between stages are read from the earlier
// stage's output only, so a stage that does not accept its predecessor's output is the one
// underlined (fp-ts's `flow` infers them from both sides and blames whichever comes first).
/** Left-to-right composition of typed layers: `sequence(f, g, h)(x) = h(g(f(x)))`. */
export function sequence<A extends readonly unknown[], B>(ab: (...a: A) => B): (...a: A) => B;
export function sequence<A extends readonly unknown[], B, C>(ab: (...a: A) => B, bc: Layer<NoInfer<B>, C>): (...a: A) => C;
export function sequence<A extends readonly unknown[], B, C, D>(
  ab: (...a: A) => B, bc: Layer<NoInfer<B>, C>, cd: Layer<NoInfer<C>, D>,
): (...a: A) => D;
export function sequence<A extends readonly unknown[], B, C, D, E>(
  ab: (...a: A) => B, bc: Layer<NoInfer<B>, C>, cd: Layer<NoInfer<C>, D>, de: Layer<NoInfer<D>, E>,
): (...a: A) => E;
export function sequence<A extends readonly unknown[], B, C, D, E, F>(
  ab: (...a: A) => B, bc: Layer<NoInfer<B>, C>, cd: Layer<NoInfer<C>, D>, de: Layer<NoInfer<D>, E>, ef: Layer<NoInfer<E>, F>,
): (...a: A) => F;
export function sequence<A extends readonly unknown[], B, C, D, E, F, G>(
  ab: (...a: A) => B, bc: Layer<NoInfer<B>, C>, cd: Layer<NoInfer<C>, D>, de: Layer<NoInfer<D>, E>, ef: Layer<NoInfer<E>, F>,
  fg: Layer<NoInfer<F>, G>,
): (...a: A) => G;
export function sequence<A extends readonly unknown[], B, C, D, E, F, G, H>(
  ab: (...a: A) => B, bc: Layer<NoInfer<B>, C>, cd: Layer<NoInfer<C>, D>, de: Layer<NoInfer<D>, E>, ef: Layer<NoInfer<E>, F>,
  fg: Layer<NoInfer<F>, G>, gh: Layer<NoInfer<G>, H>,
): (...a: A) => H;
export function sequence(...fs: [(...a: unknown[]) => unknown, ...Layer<unknown, unknown>[]]): (...a: unknown[]) => unknown {
  return (flow as (...fns: typeof fs) => (...a: unknown[]) => unknown)(...fs);
}

/**
 * Pre-activation residual: `(shortcut(x) + residual(x)) / sqrt(2)`, which keeps unit
 * variance when both branches have it and are uncorrelated.
 */
export function residual<In, S extends Shape>(shortcut: Layer<In, Tensor<S>>, branch: Layer<In, Tensor<NoInfer<S>>>): Layer<In, Tensor<S>> {
  return (x) => scale(add(shortcut(x), branch(x)), Math.SQRT1_2);
}

/**
 * A list of heads `(N, I) -> (N, F)`. F is read from the first head only (the others' is
 * `NoInfer`), so a head of another width is reported at that head, by its position.
 */
type Heads<N extends number, I extends number, F extends number> = readonly [
  Layer<Tensor<[N, I]>, Tensor<[N, F]>>?,
  ...Layer<Tensor<[N, I]>, Tensor<[N, NoInfer<F>]>>[],
];

/**
 * Per-domain heads: runs every head on the shared features and keeps, for each sample,
 * the output of its domain, by one-hot contraction (no gather, so differentiable on wasm).
 * heads: K layers `(N, I) -> (N, F)`; result `(h: (N, I), y: (N,) of K domains) -> (N, F)`.
 * K is the length of a literal list of heads, `number` for an array.
 */
export function domainHeads<N extends number, I extends number, F extends number, const Hs extends readonly unknown[]>(
  heads: Hs & Heads<N, I, F>,
): (h: Tensor<[N, I]>, y: Labels<NoInfer<N>, Hs['length']>) => Tensor<[N, F]> {
  const layers = heads as readonly Layer<Tensor<[N, I]>, Tensor<[N, F]>>[]; // its first element is only optional for arrays
  return (h, y) => selectHead(typed<[number, N, F]>(stack(layers.map((head) => head(h)))), y);
}

/**
 * The parameters of a PyTorch `nn.Sequential`: numeric-string keys; parameter-free layers
 * (activations) keep their index and have no entry, so flattened names match state_dicts.
 */
export type Sequential<T> = { readonly [index: string]: T };

/** The entries of a Sequential in index order. */
export function sequentialEntries<T>(p: Sequential<T>): [number, T][] {
  return Object.entries(p).map(([k, v]) => [Number(k), v] as [number, T]).sort((a, b) => a[0] - b[0]);
}
