/**
 * Law: the long float32 reductions of a training step stay close to float64. XNNPACK adds a
 * pooling window, or a matrix product's inner dimension, into one float32 accumulator in
 * sequence, so its error grows with the length: at 64x64 and batch 8 the Mean/Sum fast path
 * (instance norm's mean and variance, AdaIN's and the bias gradients) was 0.5-2e-6 off, tfjs's
 * own loop for a loss's mean over everything 7e-6 (2e-4 over 256x256 RGB at batch 8), and a
 * 1x1 conv's weight gradient (N*H*W = 32,768 long) 2-4e-6: 3-20x PyTorch's float32.
 * dsl/kernels.ts splits them into short pieces; each bound sits ~2x above what that gives on
 * this fixed data and ~2x below what the single sequence gave.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { backend } from './lib/setup.ts';
import { liveTensors } from '../dsl/engine/backend.ts';

/** ||ours - ref|| / ||ref||, the reference in float64. */
function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  let d = 0, r = 0;
  for (let i = 0; i < ref.length; i++) {
    d += (ours[i] - ref[i]) ** 2;
    r += ref[i] ** 2;
  }
  return Math.sqrt(d / r);
}

/** Float64 sums of x `[A, B, C]` over its middle axis: `[A, C]`. */
function middleSums(x: ArrayLike<number>, a: number, b: number, c: number): Float64Array {
  const out = new Float64Array(a * c);
  for (let i = 0; i < a; i++) for (let j = 0; j < b; j++) for (let k = 0; k < c; k++) out[i * c + k] += x[(i * b + j) * c + k];
  return out;
}

/** Activations as the Mean/Sum fast path meets them: NHWC, mean 1 (a sum that grows steadily). */
const activations = (shape: readonly number[], seed: number) =>
  tf.tidy(() => tf.add(tf.randomNormal([...shape], 0, 1, 'float32', seed), 1)) as tf.Tensor4D;

test(`Mean and Sum over H, W, over N, H, W and over everything at [8, 64, 64, 8] are within 3e-7 of float64 (${backend})`, () => {
  const before = liveTensors();
  const [n, h, w, c] = [8, 64, 64, 8];
  const x = activations([n, h, w, c], 11);
  const xs = x.dataSync();
  const perSample = middleSums(xs, n, h * w, c);
  const perChannel = middleSums(xs, 1, n * h * w, c);
  const checks: [string, tf.Tensor, Float64Array][] = [
    ['sum over H, W', tf.sum(x, [1, 2]), perSample],
    ['mean over H, W', tf.mean(x, [1, 2]), perSample.map((v) => v / (h * w))],
    ['sum over N, H, W', tf.sum(x, [0, 1, 2]), perChannel],
    ['mean of all', tf.mean(x), Float64Array.of(perChannel.reduce((a, v) => a + v, 0) / xs.length)],
  ];
  for (const [name, t, ref] of checks) {
    const err = relErr(t.dataSync(), ref);
    assert.ok(err < 3e-7, `${name}: relative error ${err.toExponential(2)} vs float64`);
  }
  tf.dispose([x, ...checks.map(([, t]) => t)]);
  assert.equal(liveTensors(), before);
});

test('Mean and Sum over consecutive axes (middle, trailing, all) equal the float64 reduction for any factorisation of the length', () => {
  // Lengths with a square split, an uneven one (60 = 6 x 10), a prime (97: one stage), 1x1 spatial.
  const shapes = fc.constantFrom([4, 7, 13, 16], [3, 6, 10, 32], [4, 97, 1, 16], [2, 64, 64, 1], [64, 1, 1, 128]);
  fc.assert(fc.property(shapes, fc.integer({ min: 1, max: 1e6 }), (shape, seed) => {
    const [n, h, w, c] = shape;
    tf.tidy(() => {
      const x = activations(shape, seed);
      const xs = x.dataSync();
      const sumHW = relErr(tf.sum(x, [1, 2]).dataSync(), middleSums(xs, n, h * w, c));
      const meanNHW = relErr(tf.mean(x, [0, 1, 2]).dataSync(), middleSums(xs, 1, n * h * w, c).map((v) => v / (n * h * w)));
      const sumHWC = relErr(tf.sum(x, [1, 2, 3]).dataSync(), middleSums(xs, n, h * w * c, 1));
      const meanAll = relErr(tf.mean(x).dataSync(), middleSums(xs, 1, xs.length, 1).map((v) => v / xs.length));
      const errs = { sumHW, meanNHW, sumHWC, meanAll };
      assert.ok(Object.values(errs).every((e) => e < 1e-6), `shape [${shape}]: relative errors ${JSON.stringify(errs)}`);
    });
  }), { numRuns: 10, seed: 20261130 });
});

test(`a 1x1 conv's weight gradient over N*H*W = 16,875-32,768 is within 8e-7 of float64 (${backend})`, () => {
  const before = liveTensors();
  // [n, h, w, ci, co]: both operand orders (ci >= co, ci < co), and lengths not a multiple of a band.
  const shapes = [[8, 64, 64, 8, 16], [8, 64, 64, 16, 8], [8, 64, 64, 8, 3], [5, 60, 60, 8, 16], [3, 75, 75, 16, 8]];
  for (const [n, h, w, ci, co] of shapes) {
    const rows = n * h * w;
    const x = activations([n, h, w, ci], ci);
    const dy = activations([n, h, w, co], 100 + co);
    const xs = x.dataSync(), dys = dy.dataSync();
    const ref = new Float64Array(ci * co); // dW[c, o] = sum over rows of x[r, c] dy[r, o]
    for (let r = 0; r < rows; r++) for (let i = 0; i < ci; i++) for (let o = 0; o < co; o++) ref[i * co + o] += xs[r * ci + i] * dys[r * co + o];
    const dW = tf.tidy(() => tf.grad((wt: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, wt as tf.Tensor4D, 1, 'valid'), dy)))(tf.zeros([1, 1, ci, co])));
    const err = relErr(dW.dataSync(), ref);
    tf.dispose([x, dy, dW]);
    assert.ok(err < 8e-7, `[${n}, ${h}, ${w}, ${ci}] -> ${co}: relative error ${err.toExponential(2)} vs float64`);
  }
  assert.equal(liveTensors(), before);
});
