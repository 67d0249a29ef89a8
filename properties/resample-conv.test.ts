/**
 * Laws of the convolutions fused with 2x resampling (dsl/resample-conv.ts):
 * - each SIMD map (the sub-pixel filter, the pooled filter, the pixel shuffle) and the kernel
 *   registered as its adjoint satisfy <A x, y> = <x, A' y>, for any sizes and channel counts
 *   (SIMD lanes and scalar tails): the gradients are right;
 * - `up2Conv3x3` equals `conv2d(up2(x))` and `conv3x3Pool2` equals `avgPool2(conv2d(x))` in value
 *   and in the gradients of input, weight and bias, with and without a bias (on maps large enough
 *   for the fused forms, which the first test checks they run);
 * - through `conv3x3Pool2`, a second-order gradient (an R1-type penalty's weight gradient) equals
 *   the composed ops' (D's downsampling blocks are differentiated twice).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { backend } from './lib/setup.ts';
import * as ops from '../dsl/ops.ts';
import { conv3x3Pool2, up2Conv3x3 } from '../dsl/resample-conv.ts';
import type { Tensor } from '../dsl/tensor.ts';
import {
  poolFilterAdjointKernel, poolFilterKernel, runLinear, type LinearKernel, stride2InputFilterAdjointKernel, stride2InputFilterKernel, shuffleKernel, subpixelFilterAdjointKernel, subpixelFilterKernel, unshuffleKernel,
} from '../dsl/engine/resample-conv-simd.ts';

const T = (t: tf.Tensor) => t as Tensor<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const skip = backend !== 'wasm' && 'the fused forms run on wasm only (elsewhere the ops are the composed ones)';

const dot = (a: tf.Tensor, b: tf.Tensor) => {
  const x = a.dataSync(), y = b.dataSync();
  let s = 0;
  for (let i = 0; i < x.length; i++) s += x[i] * y[i];
  return s;
};
const absSum = (a: tf.Tensor) => Array.from(a.dataSync()).reduce((s, v) => s + Math.abs(v), 0);

/** max |a - b| relative to max |b| (the reference). */
function close(a: tf.Tensor, b: tf.Tensor, what: string, tol = 2e-5): void {
  assert.deepEqual(a.shape, b.shape, `${what}: shape`);
  const x = a.dataSync(), y = b.dataSync();
  let d = 0, m = 1e-30;
  for (let i = 0; i < x.length; i++) { d = Math.max(d, Math.abs(x[i] - y[i])); m = Math.max(m, Math.abs(y[i])); }
  assert.ok(d / m <= tol, `${what}: max difference ${d.toExponential(2)} against max ${m.toExponential(2)}`);
}

test('each resampling map and its registered adjoint satisfy <A x, y> = <x, A\' y>', { skip }, () => {
  const dims = fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 5 }), fc.integer({ min: 1, max: 5 }),
    fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 1e6 }));
  fc.assert(fc.property(dims, ([n, h, w, ci, co, seed]) => {
    tf.tidy(() => {
      const pairs: [LinearKernel, LinearKernel, number[]][] = [
        [subpixelFilterKernel, subpixelFilterAdjointKernel, [3, 3, ci, co]],
        [poolFilterKernel, poolFilterAdjointKernel, [3, 3, ci, co]],
        [stride2InputFilterKernel, stride2InputFilterAdjointKernel, [4, 4, ci, co]],
        [shuffleKernel, unshuffleKernel, [n, h + 1, w + 1, 4 * co]],
      ];
      for (const [k, adj, shape] of pairs) {
        const x = tf.randomNormal(shape, 0, 1, 'float32', seed) as tf.Tensor as tf.Tensor4D;
        const ax = runLinear(k, x);
        const y = tf.randomNormal(ax.shape as number[], 0, 1, 'float32', seed + 1) as tf.Tensor as tf.Tensor4D;
        const aty = runLinear(adj, y);
        assert.deepEqual(aty.shape, x.shape, `${k.name}: the adjoint maps back to the input's shape`);
        const lhs = dot(ax, y), rhs = dot(x, aty);
        const scale = Math.sqrt(absSum(ax) * absSum(y)) + 1e-9;
        assert.ok(Math.abs(lhs - rhs) <= 1e-5 * scale, `${k.name} [${shape}]: <Ax, y> ${lhs} vs <x, A'y> ${rhs}`);
        // the registered gradient is the adjoint
        const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(runLinear(k, t as tf.Tensor4D), y)))(x);
        close(g, aty, `${k.name}: gradient`, 0);
      }
    });
  }), { numRuns: 25, seed: 20261205 });
});

type Case = { n: number; h: number; w: number; ci: number; co: number; bias: boolean; seed: number };
/** Maps of at least 1024 input pixels (below, the ops run the composed forms): sides from `min`. */
const cases = (min: number) => fc.record({
  n: fc.integer({ min: 1, max: 2 }), h: fc.integer({ min, max: min + 3 }), w: fc.integer({ min, max: min + 3 }),
  ci: fc.integer({ min: 1, max: 9 }), co: fc.integer({ min: 1, max: 9 }), bias: fc.boolean(), seed: fc.integer({ min: 1, max: 1e6 }),
});

/** The kernels one call runs. */
async function kernelsOf(f: () => tf.Tensor): Promise<string[]> {
  const info = await tf.profile(() => f());
  return info.kernelNames;
}

test('the fused forms run from 1024 input pixels, the composed ops below', { skip }, async () => {
  const w = { weight: T(tf.randomNormal([3, 3, 4, 8])) };
  const up = (n: number, h: number) => kernelsOf(() => up2Conv3x3(T(tf.zeros([n, h, h, 4])), w));
  const down = (n: number, h: number) => kernelsOf(() => conv3x3Pool2(T(tf.zeros([n, h, h, 4])), w));
  assert.ok((await up(4, 16)).includes('SubpixelShuffleSimd'), 'up2Conv3x3 at [4, 16, 16, 4]');
  assert.ok(!(await up(8, 8)).includes('SubpixelShuffleSimd'), 'up2Conv3x3 at [8, 8, 8, 4]');
  assert.ok((await down(1, 32)).includes('PoolFilterSimd'), 'conv3x3Pool2 at [1, 32, 32, 4]');
  assert.ok(!(await down(2, 16)).includes('PoolFilterSimd'), 'conv3x3Pool2 at [2, 16, 16, 4]');
});

/** Value and first-order gradients (input, weight, bias) of `fused` and `composed` on one case. */
function compare(c: Case, xShape: number[], fused: (x: tf.Tensor, p: ops.ConvParams<number, number, 3>) => tf.Tensor,
  composed: (x: tf.Tensor, p: ops.ConvParams<number, number, 3>) => tf.Tensor): void {
  tf.tidy(() => {
    const x = tf.randomNormal(xShape, 0, 1, 'float32', c.seed);
    const wt = tf.randomNormal([3, 3, c.ci, c.co], 0, 0.3, 'float32', c.seed + 1);
    const b = tf.randomNormal([c.co], 0, 1, 'float32', c.seed + 2);
    const params = (w: tf.Tensor, bb: tf.Tensor) => ({ weight: T(w), ...(c.bias ? { bias: T(bb) } : {}) });
    const yf = fused(x, params(wt, b)), yc = composed(x, params(wt, b));
    const what = `n ${c.n} ${c.h}x${c.w} ${c.ci}->${c.co}${c.bias ? ' bias' : ''}`;
    close(yf, yc, `${what}: value`);
    const dy = tf.randomNormal(yc.shape, 0, 1, 'float32', c.seed + 3);
    const loss = (f: typeof fused) => (xx: tf.Tensor, w: tf.Tensor, bb?: tf.Tensor) => tf.sum(tf.mul(f(xx, params(w, bb ?? b)), dy));
    const inputs = c.bias ? [x, wt, b] : [x, wt]; // tf.grads rejects an input the loss does not use
    const gf = tf.grads(loss(fused))(inputs), gc = tf.grads(loss(composed))(inputs);
    close(gf[0], gc[0], `${what}: input gradient`);
    close(gf[1], gc[1], `${what}: weight gradient`);
    if (c.bias) close(gf[2], gc[2], `${what}: bias gradient`);
  });
}

test('up2Conv3x3 equals conv2d(up2(x)) in value and gradients', { skip }, () => {
  fc.assert(fc.property(cases(32), (c) => compare(c, [c.n, c.h, c.w, c.ci],
    (x, p) => up2Conv3x3(T(x), p), (x, p) => ops.conv2d(ops.up2(T(x)), p))), { numRuns: 30, seed: 20261206 });
});

test('conv3x3Pool2 equals avgPool2(conv2d(x)) in value and gradients', { skip }, () => {
  fc.assert(fc.property(cases(16), (c) => compare(c, [c.n, 2 * c.h, 2 * c.w, c.ci],
    (x, p) => conv3x3Pool2(T(x), p), (x, p) => ops.avgPool2(ops.conv2d(T(x), p)))), { numRuns: 30, seed: 20261207 });
});

test('a second-order gradient through conv3x3Pool2 equals the composed ops\' (R1 through D)', { skip }, () => {
  fc.assert(fc.property(cases(16), (c) => {
    tf.tidy(() => {
      const x = tf.randomNormal([c.n, 2 * c.h, 2 * c.w, c.ci], 0, 1, 'float32', c.seed);
      const wt = tf.randomNormal([3, 3, c.ci, c.co], 0, 0.3, 'float32', c.seed + 1);
      const b = tf.randomNormal([c.co], 0, 1, 'float32', c.seed + 2);
      const r1 = (f: (x: tf.Tensor, p: ops.ConvParams<number, number, 3>) => tf.Tensor) => (w: tf.Tensor) => {
        const p = { weight: T(w), ...(c.bias ? { bias: T(b) } : {}) };
        const gx = tf.grad((xx: tf.Tensor) => tf.sum(ops.leakyRelu(T(f(xx, p)))))(x);
        return tf.sum(tf.square(gx));
      };
      const gf = tf.grad(r1((xx, p) => conv3x3Pool2(T(xx), p)))(wt);
      const gc = tf.grad(r1((xx, p) => ops.avgPool2(ops.conv2d(T(xx), p))))(wt);
      close(gf, gc, `n ${c.n} ${2 * c.h}x${2 * c.w} ${c.ci}->${c.co}: R1 weight gradient`, 1e-4);
    });
  }), { numRuns: 15, seed: 20261208 });
});
