/**
 * Laws of the stride-2 convolutions (dsl/conv-strided.ts, dsl/engine/strided.ts):
 * - space-to-depth and the phase filter are invertible rearrangements;
 * - the gradients of the 4x4 stride-2 conv, and the transposed conv itself, equal tfjs's own
 *   reference kernels (Conv2DBackpropInput / Conv2DBackpropFilter, run on the cpu backend);
 * - first-order gradients (input, weight, bias) equal central finite differences;
 * - second-order gradients (the gradient w.r.t. parameters of a squared input gradient, as in
 *   WGAN-GP) through strided convs and leaky ReLU equal finite differences.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { backend } from './lib/setup.ts';
import { gradCheck, weightedSum } from './lib/fd.ts';
import { conv2dDown, convTranspose2dUp } from '../dsl/conv-strided.ts';
import { depthToSpace2, phaseFilter, spaceToDepth2, unphaseFilter } from '../dsl/engine/strided.ts';
import { gradInput } from '../dsl/grad.ts';
import * as ops from '../dsl/ops.ts';
import type { Tensor } from '../dsl/tensor.ts';

const T = (t: tf.Tensor) => t as Tensor<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const TOL = 2e-2;

const size = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  ci: fc.integer({ min: 1, max: 5 }),
  co: fc.integer({ min: 1, max: 5 }),
  h: fc.constantFrom(2, 4, 6, 8),
  w: fc.constantFrom(2, 4, 8),
  seed: fc.integer({ min: 1, max: 1e6 }),
});

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

function expectGrad(name: string, f: (xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed: number, h = 1e-2) {
  const r = gradCheck(f, xs, seed, h);
  tf.dispose(xs);
  assert.ok(r.relErr < TOL, `${name} on ${backend}: analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relErr})`);
}

test('space-to-depth and the phase filter are invertible rearrangements', () => {
  fc.assert(fc.property(size, ({ n, ci, co, h, w, seed }) => {
    tf.tidy(() => {
      const x = rand([n, h, w, ci], seed);
      const s = spaceToDepth2(x as tf.Tensor4D);
      assert.deepEqual(s.shape, [n, h / 2, w / 2, 4 * ci]);
      assert.deepEqual(depthToSpace2(s).dataSync(), x.dataSync());
      // Channel (rh * 2 + rw) * C + c of cell (i, j) is pixel (2i + rh, 2j + rw).
      const xs = x.arraySync() as number[][][][];
      const ss = s.arraySync() as number[][][][];
      assert.equal(ss[n - 1][h / 2 - 1][0][(1 * 2 + 0) * ci + (ci - 1)], xs[n - 1][h - 1][0][ci - 1]);
      const k = rand([4, 4, ci, co], seed + 1);
      assert.deepEqual(unphaseFilter(phaseFilter(k as tf.Tensor4D)).dataSync(), k.dataSync());
    });
  }), { numRuns: 8, seed: 20261130 });
});

test('stride-2 conv gradients and the transposed conv equal tfjs\'s reference kernels on the cpu backend', async () => {
  const cases = fc.sample(size, { numRuns: 8, seed: 4 });
  const ours = cases.map(({ n, ci, co, h, w, seed }) => tf.tidy(() => {
    const x = rand([n, h, w, ci], seed), k = rand([4, 4, ci, co], seed + 1), dy = rand([n, h / 2, w / 2, co], seed + 2);
    const kt = rand([4, 4, co, ci], seed + 3);
    const [dx, dk] = tf.grads((a: tf.Tensor, b: tf.Tensor) => tf.sum(tf.mul(conv2dDown(T(a), { weight: T(b) }), dy)))([x, k]);
    const up = convTranspose2dUp(T(x), { weight: T(kt) });
    return { data: [x, k, dy, kt].map((t) => ({ shape: t.shape, values: t.dataSync().slice() })), got: [dx, dk, up].map((t) => Array.from(t.dataSync())) };
  }));
  const { useBackend } = await import('../dsl/engine/backend.ts');
  await useBackend('cpu');
  try {
    ours.forEach(({ data, got }, i) => {
      const [x, k, dy, kt] = data.map((d) => tf.tensor4d(d.values, d.shape as [number, number, number, number]));
      const [n, h, w, ci] = x.shape;
      const co = k.shape[3];
      const attrs = { strides: 2, pad: 1, dataFormat: 'NHWC', dilations: 1 };
      const want = [
        tf.engine().runKernel('Conv2DBackpropInput', { dy, filter: k }, { ...attrs, inputShape: [n, h, w, ci] }) as tf.Tensor,
        tf.engine().runKernel('Conv2DBackpropFilter', { x, dy }, { ...attrs, filterShape: [4, 4, ci, co] }) as tf.Tensor,
        tf.conv2dTranspose(x, kt, [n, 2 * h, 2 * w, co], 2, 1),
      ].map((t) => Array.from(t.dataSync()));
      ['input gradient', 'weight gradient', 'transposed conv'].forEach((what, j) => {
        const scale = Math.max(...want[j].map(Math.abs));
        want[j].forEach((v, e) => assert.ok(Math.abs(got[j][e] - v) <= 1e-5 * scale, `case ${i} ${what} at ${e}: ${got[j][e]} vs ${v}`));
      });
      tf.dispose([x, k, dy, kt]);
    });
  } finally {
    await useBackend(backend);
  }
});

test('conv 4x4 stride 2 and transposed conv 4x4 stride 2: gradients w.r.t. input, weight and bias', () => {
  fc.assert(fc.property(size, ({ n, ci, co, h, w, seed }) => {
    expectGrad('conv2dDown', ([x, k, b]) => weightedSum(conv2dDown(T(x), { weight: T(k), bias: T(b) }), seed),
      [rand([n, h, w, ci], seed), rand([4, 4, ci, co], seed + 1), rand([co], seed + 2)], seed);
    expectGrad('convTranspose2dUp', ([x, k, b]) => weightedSum(convTranspose2dUp(T(x), { weight: T(k), bias: T(b) }), seed),
      [rand([n, h, w, ci], seed), rand([4, 4, co, ci], seed + 1), rand([co], seed + 2)], seed);
  }), { numRuns: 6, seed: 20261123, includeErrorInReport: true });
});

/** The gradient w.r.t. parameters of 0.5 * sum (d net / d x)^2 (R1; WGAN-GP differentiates the same input gradient). */
function r1(net: (x: tf.Tensor, ps: tf.Tensor[]) => tf.Tensor, x: tf.Tensor, seed: number) {
  return (ps: tf.Tensor[]): tf.Scalar => {
    const gx = gradInput((xi: Tensor) => T(weightedSum(net(xi, ps), seed)))(T(x));
    return tf.mul(tf.sum(tf.square(gx)), 0.5) as tf.Scalar;
  };
}

test('second order through a PatchGAN stack (conv 4x4 s2, leaky ReLU 0.01, conv 4x4 s2, conv 3x3) on its parameters', () => {
  let checked = 0;
  fc.assert(fc.property(size, ({ n, ci, co, seed }) => {
    const x = rand([n, 8, 8, ci], seed);
    // The input gradient jumps where a pre-activation changes sign as the parameters move; the
    // law holds where it is smooth, so runs whose finite difference crosses a kink are discarded.
    const signs = new Set<string>();
    const net = (t: tf.Tensor, [w1, b1, w2, b2, w3]: tf.Tensor[]) => {
      const a = conv2dDown(T(t), { weight: T(w1), bias: T(b1) });
      const b = conv2dDown(T(ops.leakyRelu(T(a), 0.01)), { weight: T(w2), bias: T(b2) });
      signs.add(tf.sign(a).dataSync().join() + tf.sign(b).dataSync().join());
      return ops.conv2d(T(ops.leakyRelu(T(b), 0.01)), { weight: T(w3) });
    };
    const ps = [rand([4, 4, ci, co], seed + 1), rand([co], seed + 2), rand([4, 4, co, 3], seed + 3), rand([3], seed + 4), rand([3, 3, 3, 1], seed + 5)];
    const r = gradCheck(r1(net, x, seed), ps, seed, 1e-3);
    tf.dispose([x, ...ps]);
    fc.pre(signs.size === 1);
    checked++;
    assert.ok(r.relErr < TOL, `second order through strided convs: analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relErr})`);
  }), { numRuns: 6, seed: 7, includeErrorInReport: true, maxSkipsPerRun: 20 });
  assert.ok(checked >= 6, `only ${checked} runs were away from kinks`);
});

test('second order per op: conv 4x4 s2 and transposed conv 4x4 s2 alone', () => {
  fc.assert(fc.property(size, ({ n, ci, co, h, w, seed }) => {
    const x = rand([n, h, w, ci], seed);
    const single = (op: (t: tf.Tensor, k: tf.Tensor) => tf.Tensor) => (t: tf.Tensor, [k]: tf.Tensor[]) => tf.square(op(t, k));
    expectGrad('conv2dDown', r1(single((t, k) => conv2dDown(T(t), { weight: T(k) })), x, seed), [rand([4, 4, ci, co], seed + 1)], seed, 1e-3);
    expectGrad('convTranspose2dUp', r1(single((t, k) => convTranspose2dUp(T(t), { weight: T(k) })), x, seed), [rand([4, 4, co, ci], seed + 1)], seed, 1e-3);
    x.dispose();
  }), { numRuns: 4, seed: 11, includeErrorInReport: true });
});
