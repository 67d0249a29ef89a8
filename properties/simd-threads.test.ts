/**
 * Our SIMD kernels split across threads (dsl/engine/simd-threads.ts), on tfjs's threaded build
 * with 2 threads: the split ranges tile the work, and every split kernel gives bit for bit what it
 * gives on one thread (each output value is computed by one thread, in the same order).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { useThreadedWasm } from '../dsl/engine/wasm-threads.ts';
import { limitSimdThreads, simdThreads, splitRange } from '../dsl/engine/simd-threads.ts';
import type { WasmBackendLike } from '../dsl/engine/simd-module.ts';
import { simdUp2 } from '../dsl/engine/up2-simd.ts';
import { simdLeakyReluGrad } from '../dsl/engine/leaky-relu-simd.ts';
import { simdAdamStep } from '../dsl/engine/adam-step-simd.ts';
import { simdFilterGrad } from '../dsl/engine/conv-filter-grad-simd.ts';
import { simdAddScale } from '../dsl/engine/add-scale-simd.ts';

const threads = await useThreadedWasm(2);

test('splitRange: contiguous aligned ranges covering the total, at most `parts`, none below minItems unless alone', () => {
  fc.assert(fc.property(fc.integer({ min: 0, max: 5000 }), fc.integer({ min: 1, max: 8 }), fc.constantFrom(1, 4, 16), fc.integer({ min: 1, max: 700 }),
    (total, parts, align, minItems) => {
      const r = splitRange(total, parts, align, minItems);
      assert.ok(r.length >= 1 && r.length <= parts);
      let next = 0;
      for (const [s, n] of r) {
        assert.equal(s, next);
        assert.equal(s % align, 0);
        next = s + n;
      }
      assert.equal(next, total);
      if (r.length > 1) assert.ok(r.every(([, n], i) => i === r.length - 1 || n >= minItems));
    }), { numRuns: 300 });
});

/**
 * `f()`'s outputs on one thread and on all, as arrays. The one-thread outputs stay allocated and
 * blocks of their sizes filled with NaN are freed just before the second run, so a share nobody
 * computed cannot pass by reading the first run's values from recycled memory.
 */
function oneAndAll(f: () => tf.Tensor[]): [Float32Array[], Float32Array[]] {
  try {
    limitSimdThreads(1);
    const ones = f();
    tf.dispose(ones.map((y) => tf.fill(y.shape, NaN)));
    limitSimdThreads(Infinity);
    const alls = f();
    const out: [Float32Array[], Float32Array[]] = [ones.map((y) => y.dataSync() as Float32Array), alls.map((y) => y.dataSync() as Float32Array)];
    tf.dispose([...ones, ...alls]);
    return out;
  } finally {
    limitSimdThreads(Infinity);
  }
}

const same = ([one, all]: [Float32Array[], Float32Array[]]) => {
  assert.equal(one.length, all.length);
  one.forEach((a, i) => assert.deepEqual(all[i], a));
};

test('every split kernel gives on 2 threads what it gives on 1, bit for bit', { skip: threads < 2 ? 'the threaded wasm build is not available' : false }, () => {
  assert.equal(simdThreads(tf.backend() as unknown as WasmBackendLike), 2);
  const before = tf.memory().numTensors;
  // sizes above the split thresholds, odd lengths for the elementwise tails
  const x = tf.randomNormal([4, 32, 32, 64], 0, 1, 'float32', 1) as tf.Tensor4D;
  const dy = tf.randomNormal([4, 32, 32, 64], 0, 1, 'float32', 2) as tf.Tensor4D;
  const flat = tf.randomNormal([200_003], 0, 1, 'float32', 5);
  const flatDy = tf.randomNormal([200_003], 0, 1, 'float32', 6);
  const v = tf.abs(flatDy);
  same(oneAndAll(() => [simdUp2(x)]));
  same(oneAndAll(() => [tf.leakyRelu(flat, 0.2), simdLeakyReluGrad(flatDy, flat, 0.2)]));
  same(oneAndAll(() => simdAdamStep(flat, flatDy, flatDy, v, { wd: 1e-4, b1: 0, c1: 1, b2: 0.99, c2: 0.01, bc2: 0.1, eps: 1e-8, lr: 1e-4 })));
  same(oneAndAll(() => [simdFilterGrad(x, dy, 3, 3, 1, 1)]));
  same(oneAndAll(() => [simdAddScale(flat, flatDy, Math.SQRT1_2)]));
  tf.dispose([x, dy, flat, flatDy, v]);
  assert.equal(tf.memory().numTensors, before);
});
