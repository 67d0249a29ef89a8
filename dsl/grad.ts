/**
 * Gradients over parameter records, w.r.t. inputs, and gradients of gradients.
 * All built on tfjs's tape: a gradient computed inside another gradient's function is
 * itself taped, which is what R1 and WGAN-GP need.
 */
import * as tf from '@tensorflow/tfjs-core';
import { leaves, rebuild } from './params.ts';
import type { Shape } from './shape.ts';
import { typed, type Scalar, type Tensor } from './tensor.ts';

/** The value of `f(params, ...args)` and its gradient w.r.t. every tensor of `params` (zeros where it does not depend). */
export function valueAndGrad<P, A extends unknown[]>(
  f: (params: P, ...args: A) => Scalar,
): (params: P, ...args: A) => { value: Scalar; grads: P } {
  return (params, ...args) => {
    const xs = leaves(params);
    const { value, grads } = tf.engine().gradients(() => f(params, ...args), xs, undefined, true);
    const filled = grads.map((g, i) => g ?? tf.zerosLike(xs[i]));
    return { value: typed(value), grads: rebuild(params, filled) };
  };
}

/** The gradient of a scalar function w.r.t. its tensor input, with the input's shape. */
export function gradInput<S extends Shape>(f: (x: Tensor<S>) => Scalar): (x: Tensor<S>) => Tensor<S> {
  return (x) => typed(tf.grad((t: tf.Tensor) => f(typed(t)))(x));
}
