/**
 * Dense float64 linear algebra for the metrics: products, the symmetric eigendecomposition
 * (Householder tridiagonalisation + implicit QL, the EISPACK tred2/tql2 pair as in JAMA) and
 * the square root of a symmetric positive semi-definite matrix.
 *
 * Matrices are row-major Float64Array; `n x m` means n rows of m values. No tensors here:
 * FID needs float64 and eigenvectors, which tfjs has neither of.
 */

/** A row-major matrix. */
export interface Matrix {
  readonly rows: number;
  readonly cols: number;
  readonly data: Float64Array;
}

export function matrix(rows: number, cols: number, data?: ArrayLike<number>): Matrix {
  if (data && data.length !== rows * cols) throw new Error(`matrix: ${rows}x${cols} needs ${rows * cols} values, got ${data.length}`);
  return { rows, cols, data: data ? Float64Array.from(data) : new Float64Array(rows * cols) };
}

/**
 * a: (n, k), b: (k, m) -> a b: (n, m). Loop order i-k-j so the inner loop runs along rows,
 * blocked over k and j so the block of b being reused stays in cache (~256 KB).
 */
export function matmul(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.rows) throw new Error(`matmul: ${a.rows}x${a.cols} times ${b.rows}x${b.cols}`);
  const { rows: n, cols: k } = a;
  const m = b.cols;
  const out = new Float64Array(n * m);
  const A = a.data;
  const B = b.data;
  const KB = 128;
  const JB = 256;
  for (let j0 = 0; j0 < m; j0 += JB) {
    const j1 = Math.min(m, j0 + JB);
    for (let p0 = 0; p0 < k; p0 += KB) {
      const p1 = Math.min(k, p0 + KB);
      for (let i = 0; i < n; i++) {
        const o = i * m;
        for (let p = p0; p < p1; p++) {
          const v = A[i * k + p];
          if (v === 0) continue;
          const q = p * m;
          for (let j = j0; j < j1; j++) out[o + j] += v * B[q + j];
        }
      }
    }
  }
  return { rows: n, cols: m, data: out };
}

/**
 * a: (n, k), b: (m, k) -> a bᵀ: (n, m): dot products of rows, all read contiguously.
 * Computes 2 x 2 blocks of the output per pass over k (four independent sums: twice the reuse
 * of each load and no single dependency chain).
 */
export function matmulNT(a: Matrix, b: Matrix): Matrix {
  if (a.cols !== b.cols) throw new Error(`matmulNT: ${a.rows}x${a.cols} times (${b.rows}x${b.cols})ᵀ`);
  const { rows: n, cols: k } = a;
  const m = b.rows;
  const out = new Float64Array(n * m);
  const A = a.data;
  const B = b.data;
  for (let i = 0; i < n; i += 2) {
    const a0 = i * k;
    const a1 = i + 1 < n ? a0 + k : a0; // odd n: the last row pairs with itself
    for (let j = 0; j < m; j += 2) {
      const b0 = j * k;
      const b1 = j + 1 < m ? b0 + k : b0;
      let s00 = 0;
      let s01 = 0;
      let s10 = 0;
      let s11 = 0;
      for (let p = 0; p < k; p++) {
        const x0 = A[a0 + p];
        const x1 = A[a1 + p];
        const y0 = B[b0 + p];
        const y1 = B[b1 + p];
        s00 += x0 * y0;
        s01 += x0 * y1;
        s10 += x1 * y0;
        s11 += x1 * y1;
      }
      out[i * m + j] = s00;
      if (j + 1 < m) out[i * m + j + 1] = s01;
      if (i + 1 < n) {
        out[(i + 1) * m + j] = s10;
        if (j + 1 < m) out[(i + 1) * m + j + 1] = s11;
      }
    }
  }
  return { rows: n, cols: m, data: out };
}

export function transpose(a: Matrix): Matrix {
  const out = new Float64Array(a.rows * a.cols);
  for (let i = 0; i < a.rows; i++) for (let j = 0; j < a.cols; j++) out[j * a.rows + i] = a.data[i * a.cols + j];
  return { rows: a.cols, cols: a.rows, data: out };
}

export function trace(a: Matrix): number {
  let s = 0;
  for (let i = 0; i < Math.min(a.rows, a.cols); i++) s += a.data[i * a.cols + i];
  return s;
}

/** Eigenvalues ascending; `vectors` (when asked for) holds eigenvector i in row i. */
export interface SymmetricEigen {
  readonly values: Float64Array;
  readonly vectors?: Matrix;
}

/**
 * Eigendecomposition of a symmetric n x n matrix (only its lower triangle is read):
 * a = Vᵀ diag(values) V with V's rows the orthonormal eigenvectors.
 * Householder reduction to tridiagonal form, then the implicit QL algorithm with shifts
 * (tred2 + tql2). O(n³); without vectors the accumulation work is skipped (about 3x faster).
 *
 * The working matrix is kept transposed relative to the textbook (w[j*n+k] = V[k][j]) so that
 * every inner loop, including the Givens rotations of QL, runs along contiguous memory.
 */
export function symmetricEigen(a: Matrix, opts: { vectors?: boolean } = {}): SymmetricEigen {
  const n = a.rows;
  if (a.cols !== n) throw new Error(`symmetricEigen: matrix is ${a.rows}x${a.cols}, not square`);
  const wantVectors = opts.vectors ?? true;
  if (n === 0) return { values: new Float64Array(0), ...(wantVectors ? { vectors: matrix(0, 0) } : {}) };
  const w = new Float64Array(n * n);
  // w = lower triangle of a, mirrored (symmetric, so w = aᵀ = a).
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      const v = a.data[i * n + j];
      if (!Number.isFinite(v)) throw new Error(`symmetricEigen: non-finite entry (${i}, ${j})`);
      w[i * n + j] = v;
      w[j * n + i] = v;
    }
  }
  const d = new Float64Array(n);
  const e = new Float64Array(n);
  tridiagonalise(w, d, e, n, wantVectors);
  ql(w, d, e, n, wantVectors);
  return sortEigen(w, d, n, wantVectors);
}

/** tred2: Householder reduction; leaves the diagonal in d, the off-diagonal in e (e[0] = 0). */
function tridiagonalise(w: Float64Array, d: Float64Array, e: Float64Array, n: number, accumulate: boolean): void {
  // V[r][c] is w[c*n + r] throughout.
  for (let j = 0; j < n; j++) d[j] = w[j * n + (n - 1)];
  for (let i = n - 1; i > 0; i--) {
    let scale = 0;
    let h = 0;
    for (let k = 0; k < i; k++) scale += Math.abs(d[k]);
    if (scale === 0) {
      e[i] = d[i - 1];
      for (let j = 0; j < i; j++) {
        d[j] = w[j * n + (i - 1)];
        w[j * n + i] = 0;
        w[i * n + j] = 0;
      }
    } else {
      for (let k = 0; k < i; k++) {
        d[k] /= scale;
        h += d[k] * d[k];
      }
      let f = d[i - 1];
      let g = Math.sqrt(h);
      if (f > 0) g = -g;
      e[i] = scale * g;
      h -= f * g;
      d[i - 1] = f - g;
      for (let j = 0; j < i; j++) e[j] = 0;
      for (let j = 0; j < i; j++) {
        f = d[j];
        w[i * n + j] = f; // V[j][i]
        const col = j * n; // V[.][j]
        g = e[j] + w[col + j] * f;
        for (let k = j + 1; k <= i - 1; k++) {
          g += w[col + k] * d[k];
          e[k] += w[col + k] * f;
        }
        e[j] = g;
      }
      f = 0;
      for (let j = 0; j < i; j++) {
        e[j] /= h;
        f += e[j] * d[j];
      }
      const hh = f / (h + h);
      for (let j = 0; j < i; j++) e[j] -= hh * d[j];
      for (let j = 0; j < i; j++) {
        f = d[j];
        g = e[j];
        const col = j * n;
        for (let k = j; k <= i - 1; k++) w[col + k] -= f * e[k] + g * d[k];
        d[j] = w[col + (i - 1)];
        w[col + i] = 0;
      }
    }
    d[i] = h;
  }
  if (!accumulate) {
    // The tridiagonal's diagonal sits on V's diagonal once the reduction is done.
    for (let j = 0; j < n; j++) d[j] = w[j * n + j];
    e[0] = 0;
    return;
  }
  for (let i = 0; i < n - 1; i++) {
    w[i * n + (n - 1)] = w[i * n + i];
    w[i * n + i] = 1;
    const h = d[i + 1];
    const next = (i + 1) * n; // V[.][i+1]
    if (h !== 0) {
      for (let k = 0; k <= i; k++) d[k] = w[next + k] / h;
      for (let j = 0; j <= i; j++) {
        const col = j * n;
        let g = 0;
        for (let k = 0; k <= i; k++) g += w[next + k] * w[col + k];
        for (let k = 0; k <= i; k++) w[col + k] -= g * d[k];
      }
    }
    for (let k = 0; k <= i; k++) w[next + k] = 0;
  }
  for (let j = 0; j < n; j++) {
    d[j] = w[j * n + (n - 1)];
    w[j * n + (n - 1)] = 0;
  }
  w[(n - 1) * n + (n - 1)] = 1;
  e[0] = 0;
}

/** tql2: implicit QL with Wilkinson-like shifts on the tridiagonal (d, e); rotates V's columns (w's rows). */
function ql(w: Float64Array, d: Float64Array, e: Float64Array, n: number, accumulate: boolean): void {
  for (let i = 1; i < n; i++) e[i - 1] = e[i];
  e[n - 1] = 0;
  let f = 0;
  let tst1 = 0;
  const eps = 2 ** -52;
  for (let l = 0; l < n; l++) {
    tst1 = Math.max(tst1, Math.abs(d[l]) + Math.abs(e[l]));
    let m = l;
    while (m < n) {
      if (Math.abs(e[m]) <= eps * tst1) break;
      m++;
    }
    if (m > l) {
      let iter = 0;
      do {
        if (++iter > 300) throw new Error('symmetricEigen: QL did not converge');
        let g = d[l];
        let p = (d[l + 1] - g) / (2 * e[l]);
        let r = Math.hypot(p, 1);
        if (p < 0) r = -r;
        d[l] = e[l] / (p + r);
        d[l + 1] = e[l] * (p + r);
        const dl1 = d[l + 1];
        let h = g - d[l];
        for (let i = l + 2; i < n; i++) d[i] -= h;
        f += h;
        p = d[m];
        let c = 1;
        let c2 = c;
        let c3 = c;
        const el1 = e[l + 1];
        let s = 0;
        let s2 = 0;
        for (let i = m - 1; i >= l; i--) {
          c3 = c2;
          c2 = c;
          s2 = s;
          g = c * e[i];
          h = c * p;
          r = Math.hypot(p, e[i]);
          e[i + 1] = s * r;
          s = e[i] / r;
          c = p / r;
          p = c * d[i] - s * g;
          d[i + 1] = h + s * (c * g + s * d[i]);
          if (accumulate) {
            const ri = i * n;
            const rj = (i + 1) * n;
            for (let k = 0; k < n; k++) {
              const t = w[rj + k];
              w[rj + k] = s * w[ri + k] + c * t;
              w[ri + k] = c * w[ri + k] - s * t;
            }
          }
        }
        p = (-s * s2 * c3 * el1 * e[l]) / dl1;
        e[l] = s * p;
        d[l] = c * p;
      } while (Math.abs(e[l]) > eps * tst1);
    }
    d[l] += f;
    e[l] = 0;
  }
}

function sortEigen(w: Float64Array, d: Float64Array, n: number, withVectors: boolean): SymmetricEigen {
  const order = Array.from({ length: n }, (_, i) => i).sort((p, q) => d[p] - d[q]);
  const values = Float64Array.from(order, (i) => d[i]);
  if (!withVectors) return { values };
  const vec = new Float64Array(n * n);
  order.forEach((src, dst) => vec.set(w.subarray(src * n, (src + 1) * n), dst * n));
  return { values, vectors: { rows: n, cols: n, data: vec } };
}

/**
 * The principal square root of a symmetric positive semi-definite matrix: Vᵀ diag(√λ) V.
 * Eigenvalues below zero (rounding on a singular matrix) are taken as 0.
 */
export function sqrtmPsd(a: Matrix): Matrix {
  const { values, vectors } = symmetricEigen(a);
  const n = a.rows;
  const v = vectors!.data;
  // scaled[i] = λ_i^{1/4} v_i, so scaledᵀ scaled = Σ √λ_i v_i v_iᵀ, symmetric by construction.
  const scaled = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    const q = Math.sqrt(Math.sqrt(Math.max(values[i], 0)));
    for (let k = 0; k < n; k++) scaled[i * n + k] = q * v[i * n + k];
  }
  const t = transpose({ rows: n, cols: n, data: scaled });
  return matmulNT(t, t);
}

/** Σ √max(λ, 0) over the eigenvalues of a symmetric PSD matrix: its trace norm. */
export function traceSqrtPsd(a: Matrix): number {
  const { values } = symmetricEigen(a, { vectors: false });
  let s = 0;
  for (const v of values) s += Math.sqrt(Math.max(v, 0));
  return s;
}
