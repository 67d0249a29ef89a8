/**
 * Laws of the fused norm + leaky ReLU ops (dsl/ops.ts instanceNormLeakyRelu and
 * adaptiveInstanceNormLeakyRelu; on wasm the SIMD kernels of dsl/engine/norm-act-simd.ts):
 * - forward values and first-order gradients (input, scale, shift) equal those of the composed
 *   ops `leakyRelu(instanceNorm(...))` to float rounding, for any sizes (channels that the
 *   kernel takes, C % 4 == 0, and the fallback's);
 * - with slope 1 (no kink) the gradients equal the finite difference;
 * - the kernels are what runs when C % 4 == 0; a second-order gradient through them fails with
 *   a message naming the ops to use instead; no tensor is left behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { backend } from './lib/setup.ts';
import { gradCheck, weightedSum } from './lib/fd.ts';
import * as ops from '../dsl/ops.ts';
import type { Tensor } from '../dsl/tensor.ts';
import { NormActGradSimd, NormActSimd } from '../dsl/engine/norm-act-simd.ts';

const T = (t: tf.Tensor) => t as Tensor<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const rand = (shape: number[], seed: number, std = 1) => tf.randomNormal(shape, 0, std, 'float32', seed);

type Variant = 'adain' | 'affine' | 'plain';
/** The fused op and its composition, over [x, a, b] (a, b: gamma/beta `[N, C]` or weight/bias `[C]`). */
function pair(v: Variant, slope: number) {
  const fused = ([x, a, b]: tf.Tensor[]) => (v === 'adain' ? ops.adaptiveInstanceNormLeakyRelu(T(x!), T(a!), T(b!), slope)
    : ops.instanceNormLeakyRelu(T(x!), v === 'affine' ? { weight: T(a!), bias: T(b!) } : undefined, slope)) as unknown as tf.Tensor;
  const composed = ([x, a, b]: tf.Tensor[]) => ops.leakyRelu(v === 'adain' ? ops.adaptiveInstanceNorm(T(x!), T(a!), T(b!))
    : ops.instanceNorm(T(x!), v === 'affine' ? { weight: T(a!), bias: T(b!) } : undefined), slope) as unknown as tf.Tensor;
  return { fused, composed };
}

function inputs(v: Variant, n: number, h: number, w: number, c: number, seed: number): tf.Tensor[] {
  // x with a per-channel offset and scale, as a conv's output has
  const x = tf.tidy(() => tf.add(tf.mul(rand([n, h, w, c], seed), tf.add(tf.abs(rand([c], seed + 3)), 0.5)), rand([c], seed + 4, 3)));
  if (v === 'plain') return [x];
  const shape = v === 'adain' ? [n, c] : [c];
  return [x, rand(shape, seed + 1, 0.5), rand(shape, seed + 2, 0.5)];
}

const relDiff = (a: tf.Tensor, e: tf.Tensor) => tf.tidy(() => tf.max(tf.abs(tf.sub(a, e))).dataSync()[0]! / Math.max(1e-12, tf.max(tf.abs(e)).dataSync()[0]!));

const sizes = fc.record({
  variant: fc.constantFrom<Variant>('adain', 'affine', 'plain'),
  n: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 12 }),
  w: fc.integer({ min: 1, max: 12 }),
  c: fc.constantFrom(3, 4, 8, 12, 32, 64),
  seed: fc.integer({ min: 1, max: 1e6 }),
}).filter((s) => s.h * s.w >= 2); // instance norm of a single pixel is 0 / 0-flat: not a case that occurs

test('fused norm + leaky ReLU equals the composed ops: values and first-order gradients', () => {
  let worst = 0;
  fc.assert(fc.property(sizes, ({ variant, n, h, w, c, seed }) => {
    const { fused, composed } = pair(variant, 0.2);
    const xs = inputs(variant, n, h, w, c, seed);
    const loss = (f: typeof fused) => (...t: tf.Tensor[]) => weightedSum(f(t) as Tensor<any>, seed) as unknown as tf.Scalar; // eslint-disable-line @typescript-eslint/no-explicit-any
    const got = [fused(xs), ...tf.grads(loss(fused))(xs)];
    const want = [composed(xs), ...tf.grads(loss(composed))(xs)];
    got.forEach((g, i) => {
      const r = relDiff(g, want[i]!);
      worst = Math.max(worst, r);
      assert.ok(r < 1e-5, `${variant} [${n},${h},${w},${c}] ${i === 0 ? 'value' : `gradient ${i - 1}`}: relative difference ${r}`);
    });
    tf.dispose([...xs, ...got, ...want]);
  }), { numRuns: 40, seed: 20261201, includeErrorInReport: true });
  console.log(`fused vs composed, worst relative difference: ${worst.toExponential(1)}`);
});

test('with slope 1 the fused op\'s gradients equal the finite difference', () => {
  fc.assert(fc.property(sizes, ({ variant, n, h, w, c, seed }) => {
    const { fused } = pair(variant, 1);
    const xs = inputs(variant, n, h, w, c, seed);
    const r = gradCheck((t) => weightedSum(T(fused(t)), seed), xs, seed);
    tf.dispose(xs);
    assert.ok(r.relErr < 1e-3, `${variant} [${n},${h},${w},${c}]: analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relErr})`);
  }), { numRuns: 12, seed: 20261202, includeErrorInReport: true });
});

test('on wasm the kernels run when C % 4 == 0, second order fails clearly, and nothing leaks', { skip: backend !== 'wasm' && 'the kernels exist on wasm only' }, async () => {
  const { fused } = pair('adain', 0.2);
  const xs = inputs('adain', 2, 4, 4, 8, 11);
  const loss = (...t: tf.Tensor[]) => tf.sum(fused(t)) as tf.Scalar;
  tf.dispose(tf.grads(loss)(xs)); // warm-up: kernels' instances and scalars
  const before = tf.memory().numTensors;
  const profile = await tf.profile(() => tf.grads(loss)(xs));
  tf.dispose(profile.result as tf.Tensor[]);
  const names = new Set(profile.kernels.map((k) => k.name));
  assert.ok(names.has(NormActSimd) && names.has(NormActGradSimd), `kernels run: ${[...names].join(', ')}`);
  assert.equal(tf.memory().numTensors, before, 'tensors left behind by a forward and backward');
  const [x, g, b] = xs;
  const secondOrder = () => tf.grad((gi: tf.Tensor) => tf.sum(tf.square(tf.grad((xi: tf.Tensor) => tf.sum(fused([xi, gi, b!])))(x!))))(g!);
  assert.throws(secondOrder, /first-order only: for second-order gradients use instanceNorm and leakyRelu/);
  tf.dispose(xs);
});
