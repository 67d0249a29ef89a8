/**
 * A few general combinators. A layer bound to its parameters is a plain function
 * `x -> y`, so composition is function composition (`sequence` is fp-ts's `flow`, which
 * types each link); these add the shapes of residual sums and domain-indexed heads.
 *
 * `sequence` reports a link whose types disagree at the earlier of its two stages (flow
 * infers the type between them from both sides). Blaming the later stage takes `NoInfer` on
 * each stage's input, and then TypeScript no longer infers through generic stages in the
 * middle of a pipeline (`avgPool2`, `flatten`): it fixes their input to `unknown`.
 */
import { flow } from 'fp-ts/lib/function.js';
import { scaledSum, selectHead, stack } from './ops.ts';
import type { Shape } from './shape.ts';
import { typed, type Labels, type Tensor } from './tensor.ts';

/** Left-to-right composition of typed layers: `sequence(f, g, h)(x) = h(g(f(x)))`. */
export const sequence = flow;

/** A shape-preserving-or-not layer: input type to output type. */
export type Layer<In, Out> = (x: In) => Out;

/**
 * Pre-activation residual: `(shortcut(x) + residual(x)) / sqrt(2)`, which keeps unit
 * variance when both branches have it and are uncorrelated.
 */
export function residual<In, S extends Shape>(shortcut: Layer<In, Tensor<S>>, branch: Layer<In, Tensor<NoInfer<S>>>): Layer<In, Tensor<S>> {
  return (x) => scaledSum(shortcut(x), branch(x), Math.SQRT1_2);
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
