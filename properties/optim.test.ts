/**
 * Adam and EMA against torch.optim.Adam: 3 steps with weight decay on, values produced by
 * torch 1.13 in float64 (lr 0.1, betas (0.9, 0.99), eps 1e-8, weight_decay 0.01; EMA
 * `torch.lerp(p, ema, 0.9)` after each step). The 4th coordinate has a gradient below eps,
 * which checks where eps enters the denominator.
 *
 * On wasm the step is one pass of our SIMD kernel (dsl/engine/adam-step-simd.ts); it must equal
 * the tfjs op chain bit for bit, for any length (SIMD lanes and the scalar tail) and settings.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { backend } from './lib/setup.ts';
import { adamInit, adamStep, emaStep, type AdamConfig } from '../dsl/index.ts';
import { AdamStepSimd, registerSimdAdamStep } from '../dsl/engine/adam-step-simd.ts';

const cfg: AdamConfig = { lr: 0.1, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.01 };
const grads = [[0.1, -0.2, 0.3, 1e-9], [-0.4, 0.5, 0.0, 0.2], [0.25, 0.25, -0.75, -0.1]];
const torchSteps = [
  {
    p: [0.4000000095238086, -1.4000000046511625, 1.900000003125, -0.00909090909090909],
    m: [0.010499999999999999, -0.0215, 0.031999999999999994, 9.999999999999998e-11],
    v: [0.00011025000000000012, 0.00046225000000000053, 0.0010240000000000008, 1.000000000000001e-20],
    ema: [0.4900000009523809, -1.4900000004651162, 1.9900000003125, -0.0009090909090909089],
  },
  {
    p: [0.4546580294049878, -1.4408983754259461, 1.8285385521480155, -0.0833368830262915],
    m: [-0.030149999990476184, 0.029249999995348826, 0.030700000003124995, 0.019990909180909087],
    v: [0.001677307499245716, 0.0028195874995479097, 0.0010173700000118758, 0.0003996364462809921],
    ema: [0.4864658037976416, -1.4850898379611992, 1.9738538554960516, -0.009151870120810965],
  },
  {
    p: [0.45688211452652105, -1.495737179609575, 1.864850676522637, -0.1058893506512085],
    m: [-0.001680341962023587, 0.04988410162038799, -0.04554146144503947, 0.00790848137979189],
    v: [0.002308474039647211, 0.0033464228939094386, 0.006361259070426251, 0.0004973137645147807],
    ema: [0.48350743487052955, -1.4861545721260367, 1.9629535375987102, -0.018825618173850717],
  },
];

function close(actual: ArrayLike<number>, expected: number[], what: string) {
  expected.forEach((e, i) => {
    const tol = 2e-6 * Math.max(1, Math.abs(e));
    assert.ok(Math.abs(actual[i] - e) <= tol, `${what}[${i}]: ${actual[i]} vs torch ${e}`);
  });
}

test('Adam (coupled weight decay, bias correction, eps) and EMA match torch over 3 steps', () => {
  let params = { w: tf.tensor1d([0.5, -1.5, 2.0, 0.0]) };
  let ema = { w: params.w.clone() };
  let state = adamInit(params);
  torchSteps.forEach((expected, i) => {
    const g = { w: tf.tensor1d(grads[i]) };
    [params, state] = adamStep(cfg, g, state, params);
    ema = emaStep(0.9, params, ema);
    assert.equal(state.step, i + 1);
    close(params.w.dataSync(), expected.p, `step ${i + 1} p`);
    close(state.m.w.dataSync(), expected.m, `step ${i + 1} exp_avg`);
    close(state.v.w.dataSync(), expected.v, `step ${i + 1} exp_avg_sq`);
    close(ema.w.dataSync(), expected.ema, `step ${i + 1} ema`);
  });
});

test('Adam works over nested records and leaves the inputs untouched', () => {
  const params = { a: { weight: tf.ones([2, 2]) }, b: [tf.zeros([3])] };
  const grads = { a: { weight: tf.fill([2, 2], 0.5) }, b: [tf.fill([3], -1)] };
  const [next, st] = adamStep(cfg, grads, adamInit(params), params);
  close(next.a.weight.dataSync(), [0.9, 0.9, 0.9, 0.9].map((v) => v - 0.0000001), 'a.weight');
  close(next.b[0].dataSync(), [0.1, 0.1, 0.1], 'b.0');
  close(params.a.weight.dataSync(), [1, 1, 1, 1], 'input unchanged');
  assert.equal(st.step, 1);
});

test('on wasm, the SIMD Adam kernel equals the op chain bit for bit', { skip: backend !== 'wasm' && 'the kernel exists on wasm only' }, () => {
  const settings = fc.record({
    sizes: fc.array(fc.integer({ min: 1, max: 70 }), { minLength: 1, maxLength: 4 }),
    step: fc.integer({ min: 0, max: 2000 }),
    lr: fc.double({ min: 1e-6, max: 1e-1, noNaN: true }),
    beta1: fc.constantFrom(0, 0.5, 0.9),
    beta2: fc.constantFrom(0.99, 0.999),
    weightDecay: fc.constantFrom(0, 1e-4, 0.01),
    seed: fc.integer({ min: 1, max: 1e6 }),
  });
  fc.assert(fc.property(settings, (c) => {
    const make = (k: number, scale: number) => c.sizes.map((n, i) => tf.mul(tf.randomNormal([n], 0, 1, 'float32', c.seed + 7 * i + k), scale));
    // gradients spanning magnitudes around eps (1e-9) to 10, second moments >= 0
    const params = make(0, 1), grads = c.sizes.map((n, i) => tf.mul(tf.randomNormal([n], 0, 1, 'float32', c.seed + 7 * i + 1), tf.pow(10, tf.randomUniform([n], -9, 1, 'float32', c.seed + 7 * i + 2))));
    const state = { step: c.step, m: make(3, 0.1), v: make(4, 0.1).map((t) => tf.square(t)) };
    const cfg: AdamConfig = { lr: c.lr, beta1: c.beta1, beta2: c.beta2, eps: 1e-8, weightDecay: c.weightDecay };
    const values = () => { const [p, s] = adamStep(cfg, grads, state, params); const out = [...p, ...s.m, ...s.v].map((t) => t.dataSync().slice()); tf.dispose([...p, ...s.m, ...s.v]); return out; };
    const viaKernel = values();
    tf.unregisterKernel(AdamStepSimd, 'wasm');
    let viaOps: ReturnType<typeof values>;
    try { viaOps = values(); } finally { registerSimdAdamStep(); }
    tf.dispose([...params, ...grads, ...state.m, ...state.v]);
    viaKernel.forEach((t, i) => assert.deepEqual(Array.from(t), Array.from(viaOps[i]!), `tensor ${i} of ${c.sizes.length * 3}`));
  }), { numRuns: 40, seed: 20261201 });
});
