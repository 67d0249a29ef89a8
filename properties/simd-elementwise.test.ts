/**
 * Laws of the small wasm SIMD kernels (dsl/engine/leaky-relu-simd.ts, flip-filter-simd.ts, up2-simd.ts,
 * add-scale-simd.ts):
 * - leaky ReLU and its gradient equal tfjs's `x * step(x, alpha)` and `dy * step(x, alpha)`
 *   bit for bit, for any length (SIMD lanes and the scalar tail), zeros included;
 * - the flipped, channel-swapped filter equals `reverse(transpose(f, [0, 1, 3, 2]), [0, 1])`
 *   bit for bit, and applied twice gives f back;
 * - nearest upsampling by 2 equals the broadcast product with ones bit for bit, for any sizes
 *   and channel counts (SIMD lanes and the scalar tail);
 * - the residual merge (a + b) * s equals mul(add(a, b), s) bit for bit, with the same gradients
 *   to second order;
 * - an R1 penalty's parameter gradient (second order through conv and leaky ReLU) is the same
 *   with these kernels as with the tfjs ops they replace.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { backend } from './lib/setup.ts';
import { weightedSum } from './lib/fd.ts';
import * as ops from '../dsl/ops.ts';
import type { Tensor } from '../dsl/tensor.ts';
import { gradInput } from '../dsl/grad.ts';
import { FlipFilterSimd, registerSimdFlipFilter, simdFlipFilter } from '../dsl/engine/flip-filter-simd.ts';
import { LeakyReluGradSimd, registerSimdLeakyRelu, simdLeakyReluGrad } from '../dsl/engine/leaky-relu-simd.ts';
import { Up2Simd, simdUp2 } from '../dsl/engine/up2-simd.ts';
import { AddScaleSimd, registerSimdAddScale, simdAddScale } from '../dsl/engine/add-scale-simd.ts';

const T = (t: tf.Tensor) => t as Tensor<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const skip = backend !== 'wasm' && 'the kernels exist on wasm only';
const same = (a: tf.Tensor, b: tf.Tensor, what: string) => assert.deepEqual(Array.from(a.dataSync()), Array.from(b.dataSync()), what);

/** x with some exact zeros (the kink) among normal values. */
const withZeros = (n: number, seed: number) => tf.tidy(() => tf.mul(tf.randomNormal([n], 0, 1, 'float32', seed), tf.step(tf.randomUniform([n], -0.2, 1, 'float32', seed + 1))));

test('leaky ReLU and its gradient equal x * step(x) and dy * step(x) bit for bit', { skip }, () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.constantFrom(0.2, 0.01, 0.5), fc.integer({ min: 1, max: 1e6 }), (n, alpha, seed) => {
    tf.tidy(() => {
      const x = withZeros(n, seed), dy = tf.randomNormal([n], 0, 1, 'float32', seed + 2);
      same(tf.leakyRelu(x, alpha), tf.mul(x, tf.step(x, alpha)), `forward, n ${n}`);
      same(simdLeakyReluGrad(dy, x, alpha), tf.mul(dy, tf.step(x, alpha)), `gradient, n ${n}`);
    });
  }), { numRuns: 40, seed: 20261203 });
});

test('the SIMD filter flip equals reverse(transpose) bit for bit and is its own inverse', { skip }, () => {
  const shapes = fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 }), fc.constantFrom(4, 8, 12, 32), fc.constantFrom(4, 8, 16, 24), fc.integer({ min: 1, max: 1e6 }));
  fc.assert(fc.property(shapes, ([kh, kw, ci, co, seed]) => {
    tf.tidy(() => {
      const f = tf.randomNormal([kh, kw, ci, co], 0, 1, 'float32', seed) as tf.Tensor4D;
      const flipped = simdFlipFilter(f);
      same(flipped, tf.reverse(tf.transpose(f, [0, 1, 3, 2]), [0, 1]), `[${kh},${kw},${ci},${co}]`);
      same(simdFlipFilter(flipped), f, `twice, [${kh},${kw},${ci},${co}]`);
    });
  }), { numRuns: 30, seed: 20261204 });
});

test('the SIMD 2x upsampling equals the broadcast product with ones bit for bit, and is what up2 runs', { skip }, async () => {
  const shapes = fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 37 }), fc.integer({ min: 1, max: 1e6 }));
  fc.assert(fc.property(shapes, ([n, h, w, c, seed]) => {
    tf.tidy(() => {
      const x = tf.randomNormal([n, h, w, c], 0, 1, 'float32', seed) as tf.Tensor4D;
      const want = tf.reshape(tf.mul(tf.reshape(x, [n, h, 1, w, 1, c]), tf.ones([1, 1, 2, 1, 2, 1])), [n, 2 * h, 2 * w, c]);
      same(simdUp2(x), want, `[${n},${h},${w},${c}]`);
    });
  }), { numRuns: 40, seed: 20261206 });
  const x = tf.ones([1, 2, 2, 4]);
  const profile = await tf.profile(() => ops.up2(T(x)) as unknown as tf.Tensor);
  (profile.result as tf.Tensor).dispose();
  x.dispose();
  assert.ok(profile.kernels.some((k) => k.name === Up2Simd), `kernels run: ${profile.kernels.map((k) => k.name).join(', ')}`);
});

test('R1 through conv and leaky ReLU: the same parameter gradient with the SIMD kernels as with the tfjs ops', { skip }, () => {
  fc.assert(fc.property(fc.constantFrom(4, 8), fc.constantFrom(4, 8, 16), fc.integer({ min: 1, max: 1e6 }), (ci, co, seed) => {
    const x = tf.randomNormal([2, 6, 6, ci], 0, 1, 'float32', seed);
    const ps = [tf.randomNormal([3, 3, ci, co], 0, 0.3, 'float32', seed + 1), tf.randomNormal([co], 0, 0.3, 'float32', seed + 2), tf.randomNormal([3, 3, co, 4], 0, 0.3, 'float32', seed + 3)];
    const net = (t: tf.Tensor, [w1, b1, w2]: tf.Tensor[]) =>
      ops.conv2d(T(ops.leakyRelu(T(ops.conv2d(T(t), { weight: T(w1!), bias: T(b1!) })))), { weight: T(w2!) });
    const r1 = (...p: tf.Tensor[]) => {
      const gx = gradInput((xi: Tensor) => T(weightedSum(T(net(xi, p)), seed)))(T(x));
      return tf.mul(tf.sum(tf.square(gx)), 0.5) as tf.Scalar;
    };
    const withKernels = tf.grads(r1)(ps);
    tf.unregisterKernel(FlipFilterSimd, 'wasm');
    tf.unregisterKernel(LeakyReluGradSimd, 'wasm');
    let withOps: tf.Tensor[];
    try { withOps = tf.grads(r1)(ps); } finally { registerSimdFlipFilter(); registerSimdLeakyRelu(); }
    withKernels.forEach((g, i) => {
      const rel = tf.tidy(() => tf.max(tf.abs(tf.sub(g, withOps[i]!))).dataSync()[0]! / Math.max(1e-30, tf.max(tf.abs(withOps[i]!)).dataSync()[0]!));
      // (the bias's R1 gradient is 0: it moves only where the activation's slope changes)
      assert.ok(rel < 1e-5, `parameter ${i} (ci ${ci}, co ${co}): relative difference ${rel}`);
    });
    tf.dispose([x, ...ps, ...withKernels, ...withOps]);
  }), { numRuns: 6, seed: 20261205, includeErrorInReport: true });
});

test('the residual merge kernel equals mul(add(a, b), s) bit for bit, is what scaledSum runs, and its gradients are the ops\' to second order', { skip }, async () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 200 }), fc.integer({ min: 1, max: 1e6 }), (n, seed) => {
    tf.tidy(() => {
      const a = tf.randomNormal([n], 0, 1, 'float32', seed), b = tf.randomNormal([n], 0, 1, 'float32', seed + 1);
      same(simdAddScale(a, b, Math.SQRT1_2), tf.mul(tf.add(a, b), Math.SQRT1_2), `n ${n}`);
      const [ga, gb] = tf.grads((p: tf.Tensor, q: tf.Tensor) => weightedSum(T(simdAddScale(p, q, Math.SQRT1_2)), seed))([a, b]);
      const [oa, ob] = tf.grads((p: tf.Tensor, q: tf.Tensor) => weightedSum(T(tf.mul(tf.add(p, q), Math.SQRT1_2)), seed))([a, b]);
      same(ga!, oa!, 'gradient for a');
      same(gb!, ob!, 'gradient for b');
    });
  }), { numRuns: 40, seed: 20261207 });
  const x = tf.ones([1, 2, 2, 4]);
  const profile = await tf.profile(() => ops.scaledSum(T(x), T(x), 0.5) as unknown as tf.Tensor);
  (profile.result as tf.Tensor).dispose();
  assert.ok(profile.kernels.some((k) => k.name === AddScaleSimd), `kernels run: ${profile.kernels.map((k) => k.name).join(', ')}`);
  // R1 through a residual block (x + leakyRelu(conv(x))) / sqrt(2): second order through the merge
  const w = tf.randomNormal([3, 3, 4, 4], 0, 0.3, 'float32', 7);
  const xs = tf.randomNormal([2, 5, 5, 4], 0, 1, 'float32', 8);
  const block = (t: Tensor, wt: tf.Tensor) => ops.scaledSum(T(t), T(ops.leakyRelu(T(ops.conv2d(T(t), { weight: T(wt) })))), Math.SQRT1_2);
  const r1 = (wt: tf.Tensor) => tf.sum(tf.square(gradInput((xi: Tensor) => T(weightedSum(T(block(xi, wt)), 3)))(T(xs)))) as tf.Scalar;
  const withKernel = tf.grad(r1)(w);
  tf.unregisterKernel(AddScaleSimd, 'wasm');
  let withOps: tf.Tensor;
  try { withOps = tf.grad(r1)(w); } finally { registerSimdAddScale(); }
  same(withKernel, withOps, 'R1 parameter gradient');
  tf.dispose([x, w, xs, withKernel, withOps]);
});
