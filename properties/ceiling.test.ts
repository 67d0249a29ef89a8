/**
 * The measured-ceiling machinery of `npm run bench`: the CPU report, the mix arithmetic, the
 * conv list the ceiling is measured at (it must be exactly the FLOPs the bench divides by), and
 * a measurement that leaves no tensors behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../dsl/index.ts';
import { bestOfPasses, ceilingProbe, measureShape, mixGflops, shapeFlops, type ConvShape, type ShapeRate } from '../dsl/engine/ceiling.ts';
import { parseCpuInfo } from '../dsl/io/cpu.ts';
import { small } from '../stargan/v2/config.ts';
import { forwardConvs, forwardFlops, iterationFlops } from '../stargan/v2/flops.ts';
import { ceilingShapes, mergeRuns, pairedFraction } from '../examples/lib/ceiling.ts';

test('parseCpuInfo: model and SIMD flags of x86 and ARM /proc/cpuinfo', () => {
  const x86 = 'processor\t: 0\nmodel name\t: Intel(R) Xeon(R) Processor\nflags\t\t: fpu sse sse2 ssse3 fma sse4_1 avx avx2 avx512f aes\n';
  assert.deepEqual(parseCpuInfo(x86, 'x', 2), { model: 'Intel(R) Xeon(R) Processor', logical: 2, simd: ['sse', 'sse2', 'ssse3', 'fma', 'sse4_1', 'avx', 'avx2', 'avx512f'] });
  const arm = 'processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes sve\n';
  assert.deepEqual(parseCpuInfo(arm, 'Neoverse', 4), { model: 'Neoverse', logical: 4, simd: ['asimd', 'sve'] });
});

test('mixGflops: the time of a mix is the sum of its shapes\' times', () => {
  const a: ConvShape = { n: 1, h: 4, w: 4, k: 3, ci: 2, co: 2, pad: 'same' };
  const b: ConvShape = { ...a, ci: 4 };
  const rates: ShapeRate[] = [
    { shape: a, flops: shapeFlops(a), convMs: 1, matMulMs: 2 },
    { shape: b, flops: shapeFlops(b), convMs: 4, matMulMs: 2 },
  ];
  // best: a 1 ms, b 2 ms; a twice and b once: 2 shapeFlops(a) + shapeFlops(b) in 4 ms.
  assert.equal(mixGflops([a, a, b], rates), (2 * shapeFlops(a) + shapeFlops(b)) / 0.004 / 1e9);
  assert.equal(mixGflops([b], rates, (r) => r.convMs), shapeFlops(b) / 0.004 / 1e9);
  assert.throws(() => mixGflops([{ ...a, n: 2 }], rates), /not measured/);
});

test('the conv list is the conv FLOPs the bench counts', () => {
  const c = forwardConvs(small, 8);
  const sum = (cs: readonly ConvShape[]) => cs.reduce((s, x) => s + shapeFlops(x), 0);
  const f = forwardFlops(small, 8);
  assert.equal(f.D, sum(c.trunk) + shapeFlops(c.dHead));
  assert.ok(f.G - sum(c.G) > 0 && f.G - sum(c.G) < 1e-3 * f.G, 'G: convs plus the small AdaIN projections');
  assert.equal(ceilingShapes(small, 8).length, c.G.length + c.trunk.length + 1);
  assert.equal(iterationFlops(small, 8), 336_015_458_304);
});

test('measureShape leaves no tensors and times both kernels', async () => {
  await useBackend('wasm');
  const before = tf.memory().numTensors;
  const r = measureShape({ n: 2, h: 8, w: 8, k: 3, ci: 8, co: 8, pad: 'same' }, 2, 1);
  assert.equal(tf.memory().numTensors, before);
  assert.ok(r.convMs > 0 && r.matMulMs > 0 && r.flops === 2 * 9 * 8 * 8 * 64 * 2);
});

test('mergeRuns keeps each shape\'s best time of two measurements', () => {
  const a: ConvShape = { n: 1, h: 4, w: 4, k: 3, ci: 2, co: 2, pad: 'same' };
  const b: ConvShape = { ...a, co: 4 };
  const cpu = parseCpuInfo('', 'x', 1);
  const r = (s: ConvShape, convMs: number, matMulMs: number): ShapeRate => ({ shape: s, flops: shapeFlops(s), convMs, matMulMs });
  const merged = mergeRuns({ threads: 2, cpu, rates: [r(a, 1, 5), r(b, 3, 3)] }, { threads: 2, cpu, rates: [r(a, 2, 4), r(b, 1, 6)] });
  assert.deepEqual(merged.rates.map((x) => [x.convMs, x.matMulMs]), [[1, 4], [1, 3]]);
});

test('ceilingProbe: one rate per distinct shape per pass, its tensors freed by dispose', async () => {
  await useBackend('wasm');
  const before = tf.memory().numTensors;
  const a: ConvShape = { n: 2, h: 8, w: 8, k: 3, ci: 4, co: 8, pad: 'same' };
  const probe = ceilingProbe([a, a, { ...a, k: 1 }]);
  assert.equal(probe.bytes, 4 * (2 * (2 * 8 * 8 * 4) + 9 * 4 * 8 + 4 * 8));
  const pass = probe.pass();
  assert.equal(pass.length, 2);
  assert.ok(pass.every((r) => r.convMs > 0 && r.matMulMs > 0));
  assert.equal(probe.pass(3).length, 2);
  assert.equal(tf.memory().numTensors, before + 4);
  probe.dispose();
  assert.equal(tf.memory().numTensors, before);
});

test('bestOfPasses: each shape\'s best of each kernel over the passes (the statistic of measureShape)', () => {
  const a: ConvShape = { n: 1, h: 4, w: 4, k: 3, ci: 2, co: 2, pad: 'same' };
  const b: ConvShape = { ...a, co: 4 };
  const r = (s: ConvShape, convMs: number, matMulMs: number): ShapeRate => ({ shape: s, flops: shapeFlops(s), convMs, matMulMs });
  const best = bestOfPasses([[r(a, 3, 5), r(b, 2, 9)], [r(a, 1, 6), r(b, 4, 8)], [r(a, 2, 7), r(b, 3, 1)]]);
  assert.deepEqual(best.map((x) => [x.shape, x.convMs, x.matMulMs]), [[a, 1, 5], [b, 2, 1]]);
  assert.throws(() => bestOfPasses([]), /no passes/);
});

test('pairedFraction: the median of each run\'s rate over the ceiling pass beside it', () => {
  // A machine whose speed halves in the second phase: run and pass slow down together, the ratio does not.
  assert.equal(pairedFraction([9, 4.5, 9], [10, 5, 10]), 0.9);
  assert.ok(Math.abs(pairedFraction([8, 3, 9, 5], [10, 5, 10, 5]) - 0.85) < 1e-12);
  fc.assert(fc.property(fc.array(fc.double({ min: 0.1, max: 100, noNaN: true }), { minLength: 1, maxLength: 9 }), fc.double({ min: 0.1, max: 2, noNaN: true }),
    (ceiling, f) => Math.abs(pairedFraction(ceiling.map((c) => f * c), ceiling) - f) < 1e-9 * f), { numRuns: 50 });
  assert.throws(() => pairedFraction([1, 2], [1]), /2 runs against 1/);
});
