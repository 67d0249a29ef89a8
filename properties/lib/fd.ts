/**
 * Finite-difference checks. A gradient g of f at x is checked along a random direction v:
 * <g, v> must equal the derivative of f along v, estimated from central differences
 * D(h) = (f(x + h v) - f(x - h v)) / 2h by Richardson extrapolation, (4 D(h/2) - D(h)) / 3.
 *
 * Why: f is evaluated in float32, so each D(h) carries a rounding error ~ eps |f| / h, and
 * D(h) alone has a truncation error ~ h^2 f'''. The extrapolation cancels the h^2 term
 * (its error is O(h^4), and zero for polynomials of degree <= 4: linear ops, bilinear
 * products, the quartic R1 of a linear op), so h can be large enough for the rounding to
 * stay ~1e-5 relative. Piecewise-linear functions bound h instead: x +- h v must not cross a kink.
 */
import * as tf from '@tensorflow/tfjs-core';

export type FdResult = { readonly analytic: number; readonly numeric: number; readonly relErr: number };

/** Compares `sum_i <grads_i, v_i>` with the central difference of f along v (one direction per input). */
export function directionalCheck(
  f: (xs: tf.Tensor[]) => tf.Tensor,
  xs: tf.Tensor[],
  grads: tf.Tensor[],
  seed: number,
  h = 5e-2,
): FdResult {
  return tf.tidy(() => {
    const vs = xs.map((x, i) => tf.randomNormal(x.shape, 0, 1, 'float32', seed * 7919 + 104729 + i));
    const analytic = grads.reduce((acc, g, i) => acc + (tf.sum(tf.mul(g, vs[i])).arraySync() as number), 0);
    const at = (t: number) => tf.tidy(() => f(xs.map((x, i) => tf.add(x, tf.mul(vs[i], t)))).arraySync() as number);
    const central = (s: number) => (at(s) - at(-s)) / (2 * s);
    const numeric = (4 * central(h / 2) - central(h)) / 3;
    const relErr = Math.abs(analytic - numeric) / Math.max(Math.abs(numeric), Math.abs(analytic), 1e-3);
    return { analytic, numeric, relErr };
  });
}

/** Gradient of f w.r.t. all of xs, then the directional check. */
export function gradCheck(f: (xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed: number, h = 5e-2): FdResult {
  return tf.tidy(() => {
    const { grads } = tf.engine().gradients(() => f(xs) as tf.Scalar, xs, undefined, true);
    const filled = grads.map((g, i) => g ?? tf.zerosLike(xs[i]));
    return directionalCheck(f, xs, filled, seed, h);
  });
}

/** Moves values away from 0 by `margin`, so piecewise-linear kinks are not crossed by a finite difference. */
export function awayFromZero(x: tf.Tensor, margin = 0.1): tf.Tensor {
  return tf.tidy(() => tf.add(x, tf.mul(tf.sign(x), margin)));
}

/** Fixed random weighting, so a test's scalar depends on every output element differently. */
export function weightedSum(y: tf.Tensor, seed: number): tf.Scalar {
  return tf.sum(tf.mul(y, tf.randomNormal(y.shape, 0, 1, 'float32', seed * 31 + 1000003)));
}
