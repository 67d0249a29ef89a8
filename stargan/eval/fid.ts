/**
 * The Fréchet distance between two sets of features (FID when the features are an Inception
 * net's pool): with means μ and covariances Σ (unbiased, n - 1, as numpy's `np.cov`),
 *
 *   d² = ||μa - μb||² + tr Σa + tr Σb - 2 tr (Σa Σb)^{1/2}
 *
 * in float64. The last trace is Σ √λ over the eigenvalues of Σa Σb (real and >= 0: Σa Σb is
 * similar to the PSD matrix Σa^{1/2} Σb Σa^{1/2}). Two exact ways to get it:
 *
 * - sample space (when a set has at most d samples): with centred feature rows Ã (na x d),
 *   B̃ (nb x d), Σa Σb = ÃᵀÃ B̃ᵀB̃ / (ca cb), c = n - 1, whose non-zero eigenvalues are those of
 *   M Mᵀ / (ca cb) with M = B̃ Ãᵀ (nb x na) (eig XY = eig YX). So tr (Σa Σb)^{1/2} =
 *   Σ √eig(M Mᵀ) / √(ca cb), the trace norm of M: one nb x na product and one symmetric
 *   eigenproblem of the smaller size. Nothing d x d is ever formed.
 * - feature space (both sets larger than d): R = Σa^{1/2} by symmetric eigendecomposition,
 *   then Σ √eig(R Σb R). O(d³): minutes at d = 2048 in JavaScript.
 *
 * Unlike scipy's `sqrtm` on the non-symmetric Σa Σb (what pytorch-fid and StarGAN v2 call),
 * neither way can produce complex parts or need an eps on the diagonal.
 */
import { matmulNT, sqrtmPsd, traceSqrtPsd, transpose, type Matrix } from './linalg.ts';

/** A set of feature vectors: n rows of d values, row-major (as the feature net gives them). */
export interface FeatureSet {
  readonly n: number;
  readonly d: number;
  readonly data: Float32Array | Float64Array;
}

export function featureSet(data: Float32Array | Float64Array, d: number): FeatureSet {
  if (d <= 0 || data.length % d !== 0) throw new Error(`featureSet: ${data.length} values are not rows of ${d}`);
  return { n: data.length / d, d, data };
}

/** Mean and centred rows, float64. */
export interface Moments {
  readonly n: number;
  readonly d: number;
  readonly mean: Float64Array;
  /** (n, d): each row minus the mean. */
  readonly centred: Matrix;
  /** tr Σ = Σ ||row - μ||² / (n - 1). */
  readonly trace: number;
}

export function moments(f: FeatureSet): Moments {
  const { n, d, data } = f;
  if (n < 2) throw new Error(`FID needs at least 2 feature vectors per set, got ${n}`);
  const mean = new Float64Array(d);
  for (let i = 0; i < n; i++) for (let j = 0; j < d; j++) mean[j] += data[i * d + j];
  for (let j = 0; j < d; j++) mean[j] /= n;
  const c = new Float64Array(n * d);
  let ss = 0;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < d; j++) {
      const v = data[i * d + j] - mean[j];
      c[i * d + j] = v;
      ss += v * v;
    }
  }
  return { n, d, mean, centred: { rows: n, cols: d, data: c }, trace: ss / (n - 1) };
}

export type FidMethod = 'sample-space' | 'feature-space';

/** The distance and its parts. */
export interface Fid {
  readonly value: number;
  /** ||μa - μb||². */
  readonly meanTerm: number;
  readonly traceA: number;
  readonly traceB: number;
  /** tr (Σa Σb)^{1/2}. */
  readonly traceSqrt: number;
  readonly method: FidMethod;
}

/** The method `frechetDistance` picks: sample space when a set has at most d samples. */
export function defaultMethod(a: Moments, b: Moments): FidMethod {
  return Math.min(a.n, b.n) <= a.d ? 'sample-space' : 'feature-space';
}

/** tr (Σa Σb)^{1/2} through the smaller set's sample space (exact; see the module doc). */
export function traceSqrtSampleSpace(a: Moments, b: Moments): number {
  const [small, large] = a.n <= b.n ? [a, b] : [b, a];
  const m = matmulNT(small.centred, large.centred); // (ns, nl)
  const k = matmulNT(m, m); // (ns, ns), PSD
  return traceSqrtPsd(k) / Math.sqrt((a.n - 1) * (b.n - 1));
}

/** Σ = Ãᵀ Ã / (n - 1): (d, d). */
export function covariance(m: Moments): Matrix {
  const t = transpose(m.centred);
  const c = matmulNT(t, t);
  for (let i = 0; i < c.data.length; i++) c.data[i] /= m.n - 1;
  return c;
}

/** tr (Σa Σb)^{1/2} as Σ √eig(Σa^{1/2} Σb Σa^{1/2}) in feature space (exact; O(d³)). */
export function traceSqrtFeatureSpace(a: Moments, b: Moments): number {
  const r = sqrtmPsd(covariance(a));
  // R and Σb are symmetric, so R Σb = R Σbᵀ and (R Σb) R = (R Σb) Rᵀ: row-by-row products.
  return traceSqrtPsd(matmulNT(matmulNT(r, covariance(b)), r));
}

/** The Fréchet distance between two feature sets (or their moments). */
export function frechetDistance(a: FeatureSet | Moments, b: FeatureSet | Moments, method?: FidMethod): Fid {
  const ma = 'centred' in a ? a : moments(a);
  const mb = 'centred' in b ? b : moments(b);
  if (ma.d !== mb.d) throw new Error(`FID: feature widths differ (${ma.d} vs ${mb.d})`);
  let meanTerm = 0;
  for (let j = 0; j < ma.d; j++) meanTerm += (ma.mean[j] - mb.mean[j]) ** 2;
  const how = method ?? defaultMethod(ma, mb);
  const traceSqrt = how === 'sample-space' ? traceSqrtSampleSpace(ma, mb) : traceSqrtFeatureSpace(ma, mb);
  return { value: meanTerm + ma.trace + mb.trace - 2 * traceSqrt, meanTerm, traceA: ma.trace, traceB: mb.trace, traceSqrt, method: how };
}
