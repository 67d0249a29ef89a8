/**
 * AdaIN (REFERENCE section 1): `h = fc(s)` splits into gamma, beta (each C);
 * output `(1 + gamma) * IN(x) + beta`, IN without affine (eps 1e-5).
 */
import {
  adaptiveInstanceNorm, adaptiveInstanceNormLeakyRelu, chunk2, dims, linear, linearSpec, materialize, type Key, type LinearParams, type Spec, type Tensor,
} from '../dsl/index.ts';

export interface AdaINParams<S extends number = number, C extends number = number> {
  readonly fc: LinearParams<number, S>; // S -> 2C
  /** Phantom: the channel count C it modulates. */
  readonly __channels?: C;
}

/** The parameters as specs (dsl/spec.ts): fc is Linear(S -> 2C), He-initialised. */
export function adaINSpec(key: Key, styleDim: number, c: number): Spec<AdaINParams> {
  return { fc: linearSpec(key, styleDim, 2 * c) };
}

export function initAdaIN<S extends number, C extends number>(key: Key, styleDim: S, c: C): AdaINParams<S, C> {
  return materialize<AdaINParams>(adaINSpec(key, styleDim, c)) as AdaINParams<S, C>;
}

/** `(N, C, H, W), (N, S) -> (N, C, H, W)`. */
export function adaIN<N extends number, C extends number, H extends number, W extends number, S extends number>(
  p: AdaINParams<S, C>, x: Tensor<[N, NoInfer<C>, H, W]>, s: Tensor<[NoInfer<N>, NoInfer<S>]>,
): Tensor<[N, C, H, W]> {
  const [gamma, beta] = gammaBeta(p, s, dims(x).c);
  return adaptiveInstanceNorm(x, gamma, beta);
}

/** `leakyRelu(adaIN(x, s))` (slope 0.2), fused on wasm: first-order gradients only (dsl/ops.ts). */
export function adaINLeakyRelu<N extends number, C extends number, H extends number, W extends number, S extends number>(
  p: AdaINParams<S, C>, x: Tensor<[N, NoInfer<C>, H, W]>, s: Tensor<[NoInfer<N>, NoInfer<S>]>,
): Tensor<[N, C, H, W]> {
  const [gamma, beta] = gammaBeta(p, s, dims(x).c);
  return adaptiveInstanceNormLeakyRelu(x, gamma, beta);
}

/** The style's per-channel gamma and beta `(N, C)` each: `fc(s)` split in two. */
function gammaBeta<N extends number, S extends number, C extends number>(p: AdaINParams<S, C>, s: Tensor<[N, S]>, c: C) {
  return chunk2(linear(s, p.fc), c);
}
