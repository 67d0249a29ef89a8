/**
 * Law: every op's gradient, for inputs and parameters, equals the finite difference
 * (lib/fd.ts: central differences, Richardson-extrapolated) to 1e-3 relative; and so do
 * second-order gradients (the gradient w.r.t. parameters of a squared input-gradient, as
 * in R1) through conv, avgpool2, up2, leaky ReLU and instance norm.
 * Runs on the wasm backend, where tfjs alone cannot compute most of these.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { backend } from './lib/setup.ts';
import { awayFromZero, gradCheck, weightedSum } from './lib/fd.ts';
import * as ops from '../dsl/ops.ts';
import type { Tensor } from '../dsl/tensor.ts';
import { gradInput } from '../dsl/grad.ts';

const T = (t: tf.Tensor) => t as Tensor<any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const runs = { numRuns: 6, seed: 20261123, includeErrorInReport: true };
/**
 * Relative error bound. Measured worst per check (seeds below, wasm): 2.0e-4 (avgPool2),
 * 1.7e-4 (R1 through a whole block), 1e-4 (piecewise-linear ops at h = 1e-2), most 1e-5.
 */
const TOL = 1e-3;
/** Worst relative error per check, printed once at the end. */
const worst: Record<string, number> = {};
after(() => console.log(`worst finite-difference relative error per check: ${Object.entries(worst).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`));

const size = fc.record({
  n: fc.integer({ min: 1, max: 2 }),
  ci: fc.integer({ min: 1, max: 4 }),
  co: fc.integer({ min: 1, max: 4 }),
  hw: fc.constantFrom(2, 4, 8),
  seed: fc.integer({ min: 1, max: 1e6 }),
});

function rand(shape: number[], seed: number): tf.Tensor {
  return tf.randomNormal(shape, 0, 1, 'float32', seed);
}

/** Asserts the gradient check of f over the given inputs passes. */
function expectGrad(name: string, f: (xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], seed: number, h?: number) {
  const r = gradCheck(f, xs, seed, h);
  tf.dispose(xs);
  worst[name] = Math.max(worst[name] ?? 0, r.relErr);
  assert.ok(r.relErr < TOL, `${name} on ${backend}: analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relErr})`);
}

test('conv2d 3x3 same: gradients w.r.t. input, weight and bias', () => {
  fc.assert(fc.property(size, ({ n, ci, co, hw, seed }) => {
    expectGrad('conv3x3', ([x, w, b]) => weightedSum(ops.conv2d(T(x), { weight: T(w), bias: T(b) }), seed),
      [rand([n, hw, hw, ci], seed), rand([3, 3, ci, co], seed + 1), rand([co], seed + 2)], seed);
  }), runs);
});

test('conv2d 1x1 without bias and 4x4 valid: gradients w.r.t. input and weight', () => {
  fc.assert(fc.property(size, ({ n, ci, co, hw, seed }) => {
    expectGrad('conv1x1', ([x, w]) => weightedSum(ops.conv2d(T(x), { weight: T(w) }), seed),
      [rand([n, hw, hw, ci], seed), rand([1, 1, ci, co], seed + 1)], seed);
    expectGrad('conv4x4 valid', ([x, w, b]) => weightedSum(ops.conv2dValid(T(x), { weight: T(w), bias: T(b) }), seed),
      [rand([n, 4, 4, ci], seed), rand([4, 4, ci, co], seed + 1), rand([co], seed + 2)], seed);
  }), runs);
});

test('linear: gradients w.r.t. input, weight and bias', () => {
  fc.assert(fc.property(size, ({ n, ci, co, seed }) => {
    expectGrad('linear', ([x, w, b]) => weightedSum(ops.linear(T(x), { weight: T(w), bias: T(b) }), seed),
      [rand([n, ci * 3], seed), rand([ci * 3, co], seed + 1), rand([co], seed + 2)], seed);
  }), runs);
});

test('instance norm with and without affine: gradients', () => {
  fc.assert(fc.property(size, ({ n, ci, hw, seed }) => {
    expectGrad('instanceNorm affine', ([x, g, b]) => weightedSum(ops.instanceNorm(T(x), { weight: T(g), bias: T(b) }), seed),
      [rand([n, hw, hw, ci], seed), rand([ci], seed + 1), rand([ci], seed + 2)], seed);
    expectGrad('instanceNorm', ([x]) => weightedSum(ops.instanceNorm(T(x)), seed), [rand([n, hw, hw, ci], seed)], seed);
    expectGrad('adaptiveInstanceNorm', ([x, g, b]) => weightedSum(ops.adaptiveInstanceNorm(T(x), T(g), T(b)), seed),
      [rand([n, hw, hw, ci], seed), rand([n, ci], seed + 1), rand([n, ci], seed + 2)], seed);
  }), runs);
});

test('adaptiveInstanceNorm is modulate(instanceNorm(x)) up to float rounding', () => {
  tf.tidy(() => {
    const x = rand([2, 8, 8, 3], 5);
    const g = rand([2, 3], 6);
    const b = rand([2, 3], 7);
    const fused = ops.adaptiveInstanceNorm(T(x), T(g), T(b)) as tf.Tensor;
    const plain = ops.modulate(ops.instanceNorm(T(x)), T(g), T(b)) as tf.Tensor;
    const err = tf.max(tf.abs(tf.sub(fused, plain))).dataSync()[0];
    assert.ok(err < 1e-5, `max |difference| ${err}`);
  });
});

test('activations: leaky ReLU, ReLU, tanh', () => {
  fc.assert(fc.property(size, ({ n, ci, hw, seed }) => {
    const x = () => tf.tidy(() => awayFromZero(rand([n, hw, hw, ci], seed)));
    // h = 1e-2: x +- h v must not cross the kink at 0 (|x| >= 0.1, |v| < ~4).
    expectGrad('leakyRelu', ([t]) => weightedSum(ops.leakyRelu(T(t)), seed), [x()], seed, 1e-2);
    expectGrad('relu', ([t]) => weightedSum(ops.relu(T(t)), seed), [x()], seed, 1e-2);
    expectGrad('tanh', ([t]) => weightedSum(ops.tanh(T(t)), seed), [x()], seed);
  }), runs);
});

test('avgpool2, up2, concat, flatten, per-sample scaling, modulate: gradients', () => {
  fc.assert(fc.property(size, ({ n, ci, co, hw, seed }) => {
    expectGrad('avgPool2', ([t]) => weightedSum(ops.avgPool2(T(t)), seed), [rand([n, hw, hw, ci], seed)], seed);
    expectGrad('up2', ([t]) => weightedSum(ops.up2(T(t)), seed), [rand([n, hw, hw, ci], seed)], seed);
    expectGrad('concat', ([a, b]) => weightedSum(ops.concatChannels(T(a), T(b)), seed),
      [rand([n, hw, hw, ci], seed), rand([n, hw, hw, co], seed + 1)], seed);
    expectGrad('flatten', ([t]) => weightedSum(ops.flatten(T(t)), seed), [rand([n, hw, hw, ci], seed)], seed);
    expectGrad('scaleSamples', ([x, v]) => weightedSum(ops.scaleSamples(T(x), T(v)), seed),
      [rand([n, hw, hw, ci], seed), rand([n], seed + 1)], seed);
    expectGrad('modulate', ([x, g, b]) => weightedSum(ops.modulate(T(x), T(g), T(b)), seed),
      [rand([n, hw, hw, ci], seed), rand([n, ci], seed + 1), rand([n, ci], seed + 2)], seed);
  }), runs);
});

test('losses: mean |a-b|, BCE with logits for both targets', () => {
  fc.assert(fc.property(size, ({ n, ci, seed }) => {
    expectGrad('meanAbsDiff', ([a, b]) => ops.meanAbsDiff(T(a), T(b)),
      [rand([n, ci], seed), tf.tidy(() => tf.add(rand([n, ci], seed), awayFromZero(rand([n, ci], seed + 1), 0.2)))], seed, 1e-2);
    expectGrad('bce target 1', ([x]) => ops.bceWithLogits(T(x), 1), [rand([n * 3], seed)], seed);
    expectGrad('bce target 0', ([x]) => ops.bceWithLogits(T(x), 0), [rand([n * 3], seed)], seed);
  }), runs);
});

test('domain heads by one-hot contraction, and gather (registered one-hot gradient)', () => {
  fc.assert(fc.property(size, ({ n, ci, co, seed }) => {
    const k = ci + 1;
    const y = tf.tensor1d(Array.from({ length: n }, (_, i) => (seed + i) % k), 'int32');
    expectGrad('selectHead', ([h]) => weightedSum(ops.selectHead(T(h), T(y)), seed), [rand([k, n, co], seed)], seed);
    expectGrad('selectLogit', ([l]) => weightedSum(ops.selectLogit(T(l), T(y)), seed), [rand([n, k], seed)], seed);
    expectGrad('gather', ([p]) => weightedSum(tf.gather(p, y), seed), [rand([k, co], seed)], seed);
    y.dispose();
  }), runs);
});

test('matMul with transpose flags uses plain products and stays exact', () => {
  fc.assert(fc.property(size, ({ ci, co, seed }) => {
    for (const [ta, tb] of [[false, false], [true, false], [false, true], [true, true]] as const) {
      const a = rand(ta ? [ci + 1, 3] : [3, ci + 1], seed);
      const b = rand(tb ? [co, ci + 1] : [ci + 1, co], seed + 1);
      expectGrad(`matMul ${ta} ${tb}`, ([p, q]) => weightedSum(tf.matMul(p, q, ta, tb), seed), [a, b], seed);
    }
  }), runs);
});

/** R1-like: the gradient w.r.t. parameters of 0.5 * sum (d net / d x)^2. */
function r1(net: (x: tf.Tensor, ps: tf.Tensor[]) => tf.Tensor, x: tf.Tensor, seed: number) {
  return (ps: tf.Tensor[]): tf.Scalar => {
    const gx = gradInput((xi: Tensor) => T(weightedSum(net(xi, ps), seed)))(T(x));
    return tf.mul(tf.sum(tf.square(gx)), 0.5) as tf.Scalar;
  };
}

test('second order through conv, leaky ReLU, avgpool2, instance norm and up2 (R1 on parameters)', () => {
  let checked = 0;
  fc.assert(fc.property(size, ({ n, ci, co, hw, seed }) => {
    const hw2 = Math.max(hw, 4);
    const x = rand([n, hw2, hw2, ci], seed);
    // R1 jumps where a pre-activation changes sign as the parameters move; the law holds
    // where it is smooth, so runs whose finite difference crosses a kink are discarded.
    const signPatterns = new Set<string>();
    const net = (t: tf.Tensor, [w1, b1, g, b, w2]: tf.Tensor[]) => {
      let h = ops.conv2d(T(t), { weight: T(w1), bias: T(b1) });
      signPatterns.add(tf.sign(h).dataSync().join());
      h = ops.leakyRelu(T(h));
      h = ops.avgPool2(T(h));
      h = ops.instanceNorm(T(h), { weight: T(g), bias: T(b) });
      h = ops.up2(T(h));
      return ops.conv2d(T(h), { weight: T(w2) });
    };
    const ps = [rand([3, 3, ci, co], seed + 1), rand([co], seed + 2), rand([co], seed + 3), rand([co], seed + 4), rand([3, 3, co, 2], seed + 5)];
    const r = gradCheck(r1(net, x, seed), ps, seed, 1e-3);
    tf.dispose([x, ...ps]);
    fc.pre(signPatterns.size === 1);
    checked++;
    worst['R1 net'] = Math.max(worst['R1 net'] ?? 0, r.relErr);
    assert.ok(r.relErr < TOL, `R1 through conv/lrelu/pool/IN/up: analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relErr})`);
  }), { numRuns: 6, seed: 7, includeErrorInReport: true, maxSkipsPerRun: 20 });
  assert.ok(checked >= 6, `only ${checked} runs were away from kinks`);
});

test('second order per op: conv 1x1 and 4x4 valid, linear, pooling and upsampling alone', () => {
  fc.assert(fc.property(size, ({ n, ci, co, seed }) => {
    const x = rand([n, 4, 4, ci], seed);
    const single = (op: (t: tf.Tensor, w: tf.Tensor) => tf.Tensor) => (t: tf.Tensor, [w]: tf.Tensor[]) => tf.square(op(t, w));
    expectGrad('R1 conv4x4 valid', r1(single((t, w) => ops.conv2dValid(T(t), { weight: T(w) })), x, seed), [rand([4, 4, ci, co], seed + 1)], seed);
    expectGrad('R1 conv1x1', r1(single((t, w) => ops.conv2d(T(t), { weight: T(w) })), x, seed), [rand([1, 1, ci, co], seed + 1)], seed);
    expectGrad('R1 pool', r1(single((t, w) => ops.avgPool2(T(tf.mul(t, w)))), x, seed), [rand([ci], seed + 1)], seed);
    expectGrad('R1 up', r1(single((t, w) => ops.up2(T(tf.mul(t, w)))), x, seed), [rand([ci], seed + 1)], seed);
    const f = rand([n, ci + 2], seed);
    expectGrad('R1 linear', r1(single((t, w) => ops.linear(T(t), { weight: T(w), bias: T(tf.zeros([co])) })), f, seed), [rand([ci + 2, co], seed + 1)], seed);
    tf.dispose([x, f]);
  }), { numRuns: 4, seed: 11, includeErrorInReport: true });
});

/** dL/dW of a stride-1 'same' 3x3 conv for L = sum(conv(x, W) * dy), by plain loops. */
function convWeightGradLoops(x: tf.Tensor4D, dy: tf.Tensor4D): Float64Array {
  const [n, h, w, ci] = x.shape;
  const co = dy.shape[3];
  const xs = x.dataSync(), ds = dy.dataSync();
  const out = new Float64Array(9 * ci * co);
  for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) {
    for (let b = 0; b < n; b++) for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) {
      const yy = y + i - 1, zz = z + j - 1;
      if (yy < 0 || yy >= h || zz < 0 || zz >= w) continue;
      const xo = ((b * h + yy) * w + zz) * ci, dOff = ((b * h + y) * w + z) * co;
      for (let c = 0; c < ci; c++) {
        const xv = xs[xo + c], o0 = ((i * 3 + j) * ci + c) * co;
        for (let o = 0; o < co; o++) out[o0 + o] += xv * ds[dOff + o];
      }
    }
  }
  return out;
}

test('conv weight gradient equals the direct sum in every code path (channel interleaving, x as the filter, row bands)', () => {
  // [n, h, w, ci, co]: interleave 4 / 2 / 1, x as the filter (ci * 4 <= co), row bands (n*h*w > 16384).
  const shapes = fc.constantFrom([2, 8, 8, 8, 4], [2, 7, 9, 6, 5], [1, 5, 6, 3, 4], [2, 12, 10, 3, 16], [8, 48, 48, 4, 8], [4, 66, 70, 2, 3]);
  fc.assert(fc.property(shapes, fc.integer({ min: 1, max: 1e6 }), ([n, h, w, ci, co], seed) => {
    const x = rand([n, h, w, ci], seed) as tf.Tensor4D, dy = rand([n, h, w, co], seed + 1) as tf.Tensor4D;
    const wt = rand([3, 3, ci, co], seed + 2) as tf.Tensor4D;
    const got = tf.tidy(() => tf.grad((k: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, k as tf.Tensor4D, 1, 'same'), dy)))(wt)).dataSync();
    const want = convWeightGradLoops(x, dy);
    tf.dispose([x, dy, wt]);
    const scale = Math.max(...want.map(Math.abs));
    want.forEach((v, i) => assert.ok(Math.abs(got[i] - v) <= 1e-5 * scale, `[${n},${h},${w},${ci}]->${co} at ${i}: ${got[i]} vs ${v}`));
  }), { numRuns: 12, seed: 20261123 });
});

test('slice equals the cpu backend (the wasm fast path copies runs from the heap)', async () => {
  const arb = fc.array(fc.integer({ min: 1, max: 5 }), { minLength: 1, maxLength: 5 }).chain((shape) => fc.tuple(
    fc.constant(shape),
    fc.tuple(...shape.map((d) => fc.integer({ min: 0, max: d - 1 }))),
    fc.tuple(...shape.map((d) => fc.integer({ min: -1, max: d }))),
  ));
  const cases = fc.sample(arb, { numRuns: 60, seed: 20261123 });
  const data = cases.map(([shape, begin, size]) => {
    const sz = size.map((s, a) => (s === -1 ? -1 : Math.min(s, shape[a] - begin[a])));
    const x = tf.randomNormal(shape, 0, 1, 'float32', 7);
    const got = tf.tidy(() => tf.slice(x, begin, sz).arraySync());
    const values = x.dataSync().slice();
    x.dispose();
    return { shape, begin, sz, got, values };
  });
  const { useBackend } = await import('../dsl/engine/backend.ts');
  await useBackend('cpu');
  try {
    for (const { shape, begin, sz, got, values } of data) {
      const want = tf.tidy(() => tf.slice(tf.tensor(values, shape), begin, sz).arraySync());
      assert.deepEqual(got, want, `slice of [${shape}] at [${begin}] size [${sz}]`);
    }
  } finally {
    await useBackend(backend);
  }
});
