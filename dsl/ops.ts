/**
 * Differentiable ops over typed tensors. Each signature states the shape rule; the
 * bodies work on the NHWC memory layout (see tensor.ts).
 *
 * Ops never dispose their inputs and never tidy: callers scope memory (tf.tidy in the
 * training step), so ops compose freely inside gradients.
 */
import * as tf from '@tensorflow/tfjs-core';
import { conv2dBias } from './engine/kernels.ts';
import { simdAddScale, simdAddScaleApplies } from './engine/add-scale-simd.ts';
import { simdNormAct, simdNormActApplies } from './engine/norm-act-simd.ts';
import { simdUp2, simdUp2Applies } from './engine/up2-simd.ts';
import type { Flat, Half, Double, KernelFits, OddKernel, Poolable, Shape, Sum, Upsamplable, ValidSize } from './shape.ts';
import { typed, type Labels, type Scalar, type ShapeOf, type Tensor } from './tensor.ts';

/** Conv weights `(Co, Ci, K, K)` and an optional bias `(Co,)`, as PyTorch's nn.Conv2d. */
export interface ConvParams<Co extends number, Ci extends number, K extends number> {
  readonly weight: Tensor<[Co, Ci, K, K]>;
  readonly bias?: Tensor<[Co]>;
}

/** Linear weights `(O, I)` and bias `(O,)`, as PyTorch's nn.Linear. */
export interface LinearParams<O extends number, I extends number> {
  readonly weight: Tensor<[O, I]>;
  readonly bias: Tensor<[O]>;
}

/** Per-channel scale and shift `(C,)`, as an affine InstanceNorm2d. */
export interface AffineParams<C extends number> {
  readonly weight: Tensor<[C]>;
  readonly bias: Tensor<[C]>;
}

/** 'same' convolution, stride 1, odd kernel: `(N, Ci, H, W) -> (N, Co, H, W)`. */
export function conv2d<N extends number, Ci extends number, H extends number, W extends number, Co extends number, K extends OddKernel>(
  x: Tensor<[N, Ci, H, W]>,
  p: ConvParams<Co, NoInfer<Ci>, K>,
): Tensor<[N, Co, H, W]> {
  return typed(conv2dBias(x as tf.Tensor4D, p.weight as tf.Tensor4D, p.bias, 'same'));
}

/** Valid (unpadded) convolution, stride 1: `(N, Ci, H, W) -> (N, Co, H-K+1, W-K+1)`, e.g. 4x4 on 4x4 gives 1x1. */
export function conv2dValid<N extends number, Ci extends number, H extends number, W extends number, Co extends number, K extends number>(
  x: Tensor<[N, Ci, H, W]> & KernelFits<H, W, K>,
  p: ConvParams<Co, NoInfer<Ci>, K>,
): Tensor<[N, Co, ValidSize<H, K>, ValidSize<W, K>]> {
  return typed(conv2dBias(x as tf.Tensor4D, p.weight as tf.Tensor4D, p.bias, 'valid'));
}

/** Fully connected layer: `(N, I) -> (N, O)`. */
export function linear<N extends number, I extends number, O extends number>(
  x: Tensor<[N, I]>,
  p: LinearParams<O, NoInfer<I>>,
): Tensor<[N, O]> {
  return typed(tf.add(tf.matMul(x, p.weight), p.bias));
}

/** Instance normalisation over H, W per sample and channel (biased variance, eps 1e-5); affine if params are given. */
export function instanceNorm<N extends number, C extends number, H extends number, W extends number>(
  x: Tensor<[N, C, H, W]>,
  affine?: AffineParams<NoInfer<C>>,
  eps = 1e-5,
): Tensor<[N, C, H, W]> {
  return typed(normalizeScaleShift(x, affine?.weight, affine?.bias, eps));
}

/**
 * AdaIN's core: instance norm without affine, then `* (1 + gamma) + beta` per sample and channel,
 * gamma and beta `(N, C)`. The same as `modulate(instanceNorm(x), gamma, beta)` up to float
 * rounding, with one full-size multiply fewer forward and two backward (see `normalizeScaleShift`).
 */
export function adaptiveInstanceNorm<N extends number, C extends number, H extends number, W extends number>(
  x: Tensor<[N, C, H, W]>,
  gamma: Tensor<[NoInfer<N>, NoInfer<C>]>,
  beta: Tensor<[NoInfer<N>, NoInfer<C>]>,
  eps = 1e-5,
): Tensor<[N, C, H, W]> {
  const [n, c] = gamma.shape;
  return typed(normalizeScaleShift(x, tf.add(tf.reshape(gamma, [n, 1, 1, c]), 1), tf.reshape(beta, [n, 1, 1, c]), eps));
}

/**
 * `(x - mean) * rsqrt(var + eps) * scale + shift` over H, W, with the per-channel factors
 * multiplied first at `[N, 1, 1, C]` size: one full-size product instead of two, and its
 * gradient one full-size product and reduction instead of two (tf.moments, with x - mean
 * computed once and shared by the variance and the output).
 */
function normalizeScaleShift(x: tf.Tensor, scale: tf.Tensor | undefined, shift: tf.Tensor | undefined, eps: number): tf.Tensor {
  const centred = tf.sub(x, tf.mean(x, [1, 2], true));
  const variance = tf.mean(tf.square(centred), [1, 2], true);
  const inv = tf.rsqrt(tf.add(variance, eps));
  const scaled = tf.mul(centred, scale ? tf.mul(inv, scale) : inv);
  return shift ? tf.add(scaled, shift) : scaled;
}

/**
 * `leakyRelu(instanceNorm(x, affine))`, the generator's norm-then-activation pair. On wasm one fused
 * SIMD kernel forward and one backward (dsl/engine/norm-act-simd.ts): **first-order gradients
 * only**; for second order compose `instanceNorm` and `leakyRelu`.
 */
export function instanceNormLeakyRelu<N extends number, C extends number, H extends number, W extends number>(
  x: Tensor<[N, C, H, W]>,
  affine?: AffineParams<NoInfer<C>>,
  slope = 0.2,
  eps = 1e-5,
): Tensor<[N, C, H, W]> {
  return typed(normScaleShiftLeakyRelu(x, affine?.weight, affine?.bias, eps, slope));
}

/**
 * `leakyRelu(adaptiveInstanceNorm(x, gamma, beta))`, fused on wasm as `instanceNormLeakyRelu`
 * (first-order gradients only there).
 */
export function adaptiveInstanceNormLeakyRelu<N extends number, C extends number, H extends number, W extends number>(
  x: Tensor<[N, C, H, W]>,
  gamma: Tensor<[NoInfer<N>, NoInfer<C>]>,
  beta: Tensor<[NoInfer<N>, NoInfer<C>]>,
  slope = 0.2,
  eps = 1e-5,
): Tensor<[N, C, H, W]> {
  return typed(normScaleShiftLeakyRelu(x, tf.add(gamma, 1), beta, eps, slope));
}

/** `leakyRelu(normalizeScaleShift(x, scale, shift))` with scale and shift both `[N, C]` (per sample), both `[C]`, or absent. */
function normScaleShiftLeakyRelu(x: tf.Tensor, scale: tf.Tensor | undefined, shift: tf.Tensor | undefined, eps: number, slope: number): tf.Tensor {
  const [n, , , c] = x.shape as number[];
  if (simdNormActApplies(x)) {
    return simdNormAct(x as tf.Tensor4D, (scale ?? tf.ones([c!])) as tf.Tensor1D, (shift ?? tf.zeros([c!])) as tf.Tensor1D, eps, slope);
  }
  const perPixel = (t: tf.Tensor | undefined) => (t ? tf.reshape(t, [t.rank === 1 ? 1 : n!, 1, 1, c!]) : undefined);
  return tf.leakyRelu(normalizeScaleShift(x, perPixel(scale), perPixel(shift), eps), slope);
}

/** Leaky ReLU (slope 0.2 by default, as StarGAN v2). Shape-preserving. */
export function leakyRelu<S extends Shape>(x: Tensor<S>, slope = 0.2): Tensor<S> {
  return typed(tf.leakyRelu(x, slope));
}

/** ReLU. Shape-preserving. */
export function relu<S extends Shape>(x: Tensor<S>): Tensor<S> {
  return typed(tf.relu(x));
}

/** tanh. Shape-preserving. */
export function tanh<S extends Shape>(x: Tensor<S>): Tensor<S> {
  return typed(tf.tanh(x));
}

// avgpool2 and up2 are each other's adjoints (up to a factor 4), so each one's gradient is
// the other: exact at every order, and both are fast XNNPACK/wasm kernels.
type UnaryOp = (x: tf.Tensor) => tf.Tensor;
/** A unary op with a hand-written gradient; the gradient's own ops are taped, so it differentiates again. */
function withGradient(forward: UnaryOp, backward: UnaryOp): UnaryOp {
  const f = (x: tf.Tensor) => ({ value: forward(x), gradFunc: (dy: tf.Tensor) => backward(dy) });
  return tf.customGrad(f as unknown as Parameters<typeof tf.customGrad>[0]) as UnaryOp;
}
const poolKernel: UnaryOp = withGradient(
  (x) => tf.avgPool(x as tf.Tensor4D, 2, 2, 'valid'),
  (dy) => tf.mul(upKernel(dy), 0.25),
);
const upKernel: UnaryOp = withGradient(
  // Nearest x2: on wasm our SIMD copy kernel; elsewhere a broadcast product with ones (exact:
  // x * 1), as XNNPACK's broadcasting multiply is 3x faster on wasm than ResizeNearestNeighbor.
  (x) => {
    if (simdUp2Applies(x)) return simdUp2(x as tf.Tensor4D);
    const [n, h, w, c] = x.shape as [number, number, number, number];
    return tf.reshape(tf.mul(tf.reshape(x, [n, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1])), [n, 2 * h, 2 * w, c]);
  },
  (dy) => tf.mul(poolKernel(dy), 4),
);

/** 2x2 average pooling, stride 2: `(N, C, H, W) -> (N, C, H/2, W/2)`. */
export function avgPool2<N extends number, C extends number, H extends number, W extends number>(
  x: Tensor<[N, C, H, W]> & Poolable<H, W>,
): Tensor<[N, C, Half<H>, Half<W>]> {
  return typed(poolKernel(x));
}

/** Nearest-neighbour upsampling by 2 (PyTorch `interpolate(scale_factor=2)`): `(N, C, H, W) -> (N, C, 2H, 2W)`. */
export function up2<N extends number, C extends number, H extends number, W extends number>(
  x: Tensor<[N, C, H, W]> & Upsamplable<H, W>,
): Tensor<[N, C, Double<H>, Double<W>]> {
  return typed(upKernel(x));
}

/** Channel concatenation: `(N, C1, H, W), (N, C2, H, W) -> (N, C1+C2, H, W)`. */
export function concatChannels<N extends number, C1 extends number, C2 extends number, H extends number, W extends number>(
  a: Tensor<[N, C1, H, W]>,
  b: Tensor<[NoInfer<N>, C2, NoInfer<H>, NoInfer<W>]>,
): Tensor<[N, Sum<C1, C2>, H, W]> {
  return typed(tf.concat([a, b], 3));
}

/** Flattens a map to features in PyTorch's (C, H, W) order: `(N, C, H, W) -> (N, C*H*W)`. */
export function flatten<N extends number, C extends number, H extends number, W extends number>(
  x: Tensor<[N, C, H, W]>,
): Tensor<[N, Flat<C, H, W>]> {
  const [n, h, w, c] = x.shape;
  const chw = h === 1 && w === 1 ? x : tf.transpose(x, [0, 3, 1, 2]);
  return typed(tf.reshape(chw, [n, c * h * w]));
}

/** Elementwise sum of two tensors of the same shape. */
export function add<S extends Shape>(a: Tensor<S>, b: Tensor<NoInfer<S>>): Tensor<S> {
  return typed(tf.add(a, b));
}

/** `(a + b) * k` for two tensors of the same shape: a residual merge, one pass on wasm (engine/add-scale-simd.ts), the same values. */
export function scaledSum<S extends Shape>(a: Tensor<S>, b: Tensor<NoInfer<S>>, k: number): Tensor<S> {
  return typed(simdAddScaleApplies(a, b) ? simdAddScale(a as tf.Tensor, b as tf.Tensor, k) : tf.mul(tf.add(a, b), k));
}

/** Elementwise difference of two tensors of the same shape. */
export function sub<S extends Shape>(a: Tensor<S>, b: Tensor<NoInfer<S>>): Tensor<S> {
  return typed(tf.sub(a, b));
}

/** Multiplies by a constant. */
export function scale<S extends Shape>(a: Tensor<S>, k: number): Tensor<S> {
  return typed(tf.mul(a, k));
}

/** Per-sample, per-channel affine modulation `x * (1 + gamma) + beta` with gamma, beta `(N, C)` (AdaIN). */
export function modulate<N extends number, C extends number, H extends number, W extends number>(
  x: Tensor<[N, C, H, W]>,
  gamma: Tensor<[NoInfer<N>, NoInfer<C>]>,
  beta: Tensor<[NoInfer<N>, NoInfer<C>]>,
): Tensor<[N, C, H, W]> {
  const [n, c] = gamma.shape;
  const g = tf.reshape(gamma, [n, 1, 1, c]);
  const b = tf.reshape(beta, [n, 1, 1, c]);
  return typed(tf.add(tf.mul(x, tf.add(g, 1)), b));
}

/** Splits features in two along the feature axis: `(N, 2C) -> [(N, C), (N, C)]` (gamma and beta of AdaIN). */
export function chunk2<N extends number, C extends number>(h: Tensor<[N, number]>, c: C): [Tensor<[N, C]>, Tensor<[N, C]>] {
  const [a, b] = tf.split(h, [c, c], 1);
  return [typed(a), typed(b)];
}

/** Scales each sample by a value: `(N, ...), (N,) -> (N, ...)`. */
export function scaleSamples<N extends number, S extends Shape>(x: Tensor<[N, ...S]>, v: Tensor<[NoInfer<N>]>): Tensor<[N, ...S]> {
  const shape = x.shape.map((d, i) => (i === 0 ? d : 1));
  return typed(tf.mul(x, tf.reshape(v, shape)));
}

/** Mean of all elements. */
export function mean(x: Tensor): Scalar {
  return typed(tf.mean(x));
}

/** Mean absolute difference `mean(|a - b|)` (L1 losses). */
export function meanAbsDiff<S extends Shape>(a: Tensor<S>, b: Tensor<NoInfer<S>>): Scalar {
  return typed(tf.mean(tf.abs(tf.sub(a, b))));
}

/** Binary cross-entropy with logits against a constant target, averaged: `softplus(x) - t x`, stable for any x. */
export function bceWithLogits<N extends number>(logits: Tensor<[N]>, target: 0 | 1): Scalar {
  const loss = target === 1 ? tf.softplus(tf.neg(logits)) : tf.softplus(logits);
  return typed(tf.mean(loss));
}

/** One-hot float encoding of labels of K domains: `(N,) -> (N, K)`. */
export function oneHot<N extends number, K extends number>(y: Labels<N, NoInfer<K>>, k: K): Tensor<[N, K]> {
  return typed(tf.cast(tf.oneHot(tf.cast(y, 'int32'), k), 'float32'));
}

/**
 * Selects, per sample, the output of the head of its domain, by contraction with a one-hot
 * mask (differentiable everywhere, no gather): heads `(K, N, F)`, labels `(N,)` -> `(N, F)`.
 */
export function selectHead<K extends number, N extends number, F extends number>(
  heads: Tensor<[K, N, F]>,
  y: Labels<NoInfer<N>, NoInfer<K>>,
): Tensor<[N, F]> {
  const [k, n] = heads.shape;
  const mask = tf.reshape(tf.transpose(oneHot(y, k)), [k, n, 1]);
  return typed(tf.sum(tf.mul(heads, mask), 0));
}

/** Selects, per sample, the logit of its domain: `(N, K), (N,) -> (N,)`. */
export function selectLogit<N extends number, K extends number>(logits: Tensor<[N, K]>, y: Labels<NoInfer<N>, NoInfer<K>>): Tensor<[N]> {
  return typed(tf.sum(tf.mul(logits, oneHot(y, logits.shape[1]!)), 1));
}

/**
 * Stacks same-shaped tensors on a new leading axis: K x `S` -> `(K, ...S)`. K is the length of
 * a literal list (`stack([h0, h1])` has 2), `number` for an array; every tensor must have the first one's shape.
 */
export function stack<const Xs extends readonly Tensor[]>(
  xs: Xs & readonly Tensor<ShapeOf<Xs[0]>>[],
): Tensor<[Xs['length'], ...ShapeOf<Xs[0]>]> {
  return typed(tf.stack([...xs], 0));
}

/** Sum of squares per sample, averaged over the batch: `0.5 * mean_n sum (x_n)^2` is R1 with factor 0.5. */
export function meanSumSquares<N extends number, S extends Shape>(x: Tensor<[N, ...S]>): Scalar {
  const n = x.shape[0];
  return typed(tf.mean(tf.sum(tf.reshape(tf.square(x), [n, -1]), 1)));
}
