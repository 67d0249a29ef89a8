/**
 * Laws of the SIMD weight-gradient kernel (dsl/engine/conv-filter-grad-simd.ts), on tfjs-wasm's
 * threaded build with 2 threads (the kernel's worker path):
 * - it equals the definition, dW[i,j,c,o] = sum of x[b, s y+i-top, s x+j-left, c] dy[b, y, x, o],
 *   computed in float64, for any sizes, kernel sizes, paddings and strides (1, 2) it accepts;
 * - the result does not depend on the number of threads (bit-identical);
 * - a conv's weight gradient goes through it when the channels allow (Ci % 4, Co % 8), and
 *   equals the finite difference of the loss there;
 * - the committed .wasm files are what build.sh makes of the C source (when clang is here).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { useThreadedWasm } from '../dsl/engine/wasm-threads.ts';
import { ConvFilterGradSimd, simdFilterGrad } from '../dsl/engine/conv-filter-grad-simd.ts';
import { gradCheck, weightedSum } from './lib/fd.ts';
import * as ops from '../dsl/ops.ts';
import type { Tensor } from '../dsl/tensor.ts';

const threads = await useThreadedWasm(2);
const runs = { numRuns: 25, seed: 20261201, includeErrorInReport: true };

/** The definition, in float64. */
function reference(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, top: number, left: number, stride: number): Float64Array {
  const [n, h, w, ci] = x.shape;
  const [, ho, wo, co] = dy.shape;
  const xs = x.dataSync(), ds = dy.dataSync();
  const out = new Float64Array(kh * kw * ci * co);
  for (let i = 0; i < kh; i++) for (let j = 0; j < kw; j++)
    for (let b = 0; b < n; b++) for (let y = 0; y < ho; y++) for (let xx = 0; xx < wo; xx++) {
      const yy = stride * y + i - top, xi = stride * xx + j - left;
      if (yy < 0 || yy >= h || xi < 0 || xi >= w) continue;
      for (let c = 0; c < ci; c++) {
        const xv = xs[((b * h + yy) * w + xi) * ci + c];
        for (let o = 0; o < co; o++) out[((i * kw + j) * ci + c) * co + o] += xv * ds[((b * ho + y) * wo + xx) * co + o];
      }
    }
  return out;
}

const case_ = fc.record({
  n: fc.integer({ min: 1, max: 3 }),
  h: fc.integer({ min: 1, max: 20 }),
  w: fc.integer({ min: 1, max: 20 }),
  ci: fc.constantFrom(4, 8, 12, 32),
  co: fc.constantFrom(8, 16, 24),
  kh: fc.integer({ min: 1, max: 5 }),
  kw: fc.integer({ min: 1, max: 5 }),
  padTop: fc.integer({ min: 0, max: 4 }),
  padLeft: fc.integer({ min: 0, max: 4 }),
  padBottom: fc.integer({ min: 0, max: 4 }),
  padRight: fc.integer({ min: 0, max: 4 }),
  stride: fc.constantFrom(1 as const, 2 as const),
  seed: fc.integer({ min: 1, max: 1e6 }),
}).filter((c) => c.padTop < c.kh && c.padBottom < c.kh && c.padLeft < c.kw && c.padRight < c.kw
  && c.h + c.padTop + c.padBottom >= c.kh && c.w + c.padLeft + c.padRight >= c.kw);

test(`the SIMD weight gradient equals its definition (float64), on ${threads} threads`, () => {
  let worst = 0;
  fc.assert(fc.property(case_, (c) => {
    const ho = Math.floor((c.h + c.padTop + c.padBottom - c.kh) / c.stride) + 1;
    const wo = Math.floor((c.w + c.padLeft + c.padRight - c.kw) / c.stride) + 1;
    const x = tf.randomNormal([c.n, c.h, c.w, c.ci], 0, 1, 'float32', c.seed) as tf.Tensor4D;
    const dy = tf.randomNormal([c.n, ho, wo, c.co], 0, 1, 'float32', c.seed + 1) as tf.Tensor4D;
    const got = simdFilterGrad(x, dy, c.kh, c.kw, c.padTop, c.padLeft, 0, c.stride);
    assert.deepEqual(got.shape, [c.kh, c.kw, c.ci, c.co]);
    const want = reference(x, dy, c.kh, c.kw, c.padTop, c.padLeft, c.stride);
    const g = got.dataSync();
    const scale = Math.sqrt(c.n * ho * wo); // the size of a sum of that many unit products
    for (let k = 0; k < want.length; k++) {
      const err = Math.abs(g[k] - want[k]) / scale;
      worst = Math.max(worst, err);
      assert.ok(err < 1e-5, `dW[${k}] ${g[k]} vs ${want[k]} (${JSON.stringify(c)})`);
    }
    tf.dispose([x, dy, got]);
  }), runs);
  console.log(`worst error relative to sqrt(N*Ho*Wo): ${worst.toExponential(1)}`);
});

test('the SIMD weight gradient does not depend on the number of threads (bit-identical)', () => {
  assert.ok(threads >= 2, 'needs the threaded build with 2 threads');
  const x = tf.randomNormal([8, 16, 16, 32], 0, 1, 'float32', 1) as tf.Tensor4D;
  const dy = tf.randomNormal([8, 16, 16, 64], 0, 1, 'float32', 2) as tf.Tensor4D;
  const one = simdFilterGrad(x, dy, 3, 3, 1, 1, 1);
  const two = simdFilterGrad(x, dy, 3, 3, 1, 1, 2);
  assert.deepEqual(Array.from(two.dataSync()), Array.from(one.dataSync()));
  tf.dispose([x, dy, one, two]);
});

test('a conv with Ci % 4 == 0 and Co % 8 == 0 takes its weight gradient from the kernel, equal to the finite difference', () => {
  const seed = 7;
  const x = tf.randomNormal([2, 6, 6, 4], 0, 1, 'float32', seed);
  const w = tf.randomNormal([3, 3, 4, 8], 0, 0.3, 'float32', seed + 1);
  const b = tf.randomNormal([8], 0, 1, 'float32', seed + 2);
  const loss = ([xi, wi, bi]: tf.Tensor[]) => weightedSum(ops.conv2d(xi as Tensor<any>, { weight: wi as Tensor<any>, bias: bi as Tensor<any> }), seed); // eslint-disable-line @typescript-eslint/no-explicit-any
  const calls: string[] = [];
  const profile = tf.profile(() => tf.grad((wi: tf.Tensor) => loss([x, wi, b]))(w));
  return profile.then((p) => {
    for (const k of p.kernels) calls.push(k.name);
    assert.ok(calls.includes(ConvFilterGradSimd), `kernels run: ${[...new Set(calls)].join(', ')}`);
    const r = gradCheck(loss, [x, w, b], seed);
    assert.ok(r.relErr < 1e-3, `analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relErr})`);
    tf.dispose([x, w, b]);
  });
});

test('the committed .wasm files are the build of the C source', (t) => {
  const dir = path.join(import.meta.dirname, '..', 'dsl', 'engine', 'simd');
  const clang = spawnSync('clang', ['--version']);
  const lld = spawnSync('wasm-ld', ['--version']);
  if (clang.status !== 0 || lld.status !== 0) {
    const why = 'clang and wasm-ld are not installed (Debian: apt-get install clang lld); the committed .wasm files are used as they are';
    if (process.env.CI === 'true') assert.fail(`${why}, and CI must check them`);
    t.skip(why);
    return;
  }
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'simd-build-'));
  try {
    for (const f of fs.readdirSync(dir)) if (f.endsWith('.c') || f.endsWith('.sh')) fs.copyFileSync(path.join(dir, f), path.join(tmp, f));
    execFileSync('bash', [path.join(tmp, 'build.sh')]);
    const built = fs.readdirSync(tmp).filter((f) => f.endsWith('.wasm')).sort();
    assert.deepEqual(built, fs.readdirSync(dir).filter((f) => f.endsWith('.wasm')).sort());
    for (const f of built) assert.ok(fs.readFileSync(path.join(tmp, f)).equals(fs.readFileSync(path.join(dir, f))), `${f} differs from a fresh build: run dsl/engine/simd/build.sh`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
