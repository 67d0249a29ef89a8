/**
 * Laws of the StyleGAN pieces (layers/stylegan) and of the StarGAN v2 variant whose decoder uses
 * modulated convolutions: equalized layers keep unit variance at init whatever their lr multiplier;
 * demodulation gives unit variance per output channel; the input-scaling modulated conv equals the
 * per-sample-kernel ("fused") definition and its gradients equal finite differences; truncation and
 * style mixing do exactly what they say; the mapping network ignores the scale of z; and the modconv
 * StarGAN keeps the AdaIN one's invariants (shapes per domain, flat memory, exact resume).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import { backend } from './lib/setup.ts';
import { gradCheck, weightedSum } from './lib/fd.ts';
import { errorOf } from './lib/errors.ts';
import {
  advance, disposeParams, flattenParams, key, labels, liveTensors, normal, split, typed, type Tensor,
} from '../dsl/index.ts';
import { equalizedLinear, initEqualizedLinear } from '../layers/stylegan/equalized-linear.ts';
import { equalizedConv, initEqualizedConv } from '../layers/stylegan/equalized-conv.ts';
import { initStyleMapping, initWAvg, styleMapping, updateWAvg, type StyleMappingConfig } from '../layers/stylegan/mapping.ts';
import { demodulation, initModConv, modConv, modulatedConv2d, modulatedConv2dUp } from '../layers/stylegan/modulated-conv.ts';
import { crossoverLayer, mixStyles } from '../layers/stylegan/style-mixing.ts';
import { truncate } from '../layers/stylegan/truncation.ts';
import { drawNoise, initNoise, injectNoise } from '../layers/stylegan/noise.ts';
import { initStyleMod, styleMod } from '../layers/stylegan/style-mod.ts';
import { pixelNorm } from '../layers/stylegan/pixel-norm.ts';
import { isModConvResBlk } from '../layers/modconv-resblk.ts';
import { defaultTrain, type NetConfig } from '../stargan/v2/config.ts';
import { initNets } from '../stargan/v2/nets.ts';
import { generator } from '../stargan/v2/generator.ts';
import { mappingNetwork } from '../stargan/v2/mapping.ts';
import { styleEncoder } from '../stargan/v2/style-encoder.ts';
import { discriminator } from '../stargan/v2/discriminator.ts';
import { initTrainState, step, type StarGANConfig, type TrainState } from '../stargan/v2/step.ts';
import { configDiff, loadCheckpoint, saveCheckpoint } from '../stargan/checkpoints/ours.ts';
import { loadAnyCheckpoint, disposeLoaded } from '../stargan/checkpoints/official.ts';
import { exportSafetensors } from '../stargan/checkpoints/export.ts';
import { syntheticBatch } from '../stargan/data/batch.ts';

const runs = { numRuns: 6, seed: 20260514, includeErrorInReport: true };

const variance = (t: tf.Tensor) => tf.tidy(() => tf.moments(t).variance.dataSync()[0]);

test('equalized linear and conv: unit-variance outputs at init for unit-variance inputs, for any lr multiplier', () => {
  fc.assert(fc.property(
    fc.record({ din: fc.integer({ min: 32, max: 256 }), dout: fc.integer({ min: 16, max: 128 }), lrMul: fc.constantFrom(1, 0.1, 0.01), seed: fc.nat(1e6) }),
    ({ din, dout, lrMul, seed }) => {
      const [kp, kx] = split(key(seed), 2);
      const p = initEqualizedLinear(kp, { din, dout, lrMul });
      const v = tf.tidy(() => variance(equalizedLinear(p, normal(kx, [256, din] as const), { lrMul })));
      disposeParams(p);
      assert.ok(v > 0.8 && v < 1.2, `linear ${din}->${dout}, lrMul ${lrMul}: variance ${v.toFixed(3)}`);
    }), runs);
  fc.assert(fc.property(
    fc.record({ ci: fc.integer({ min: 8, max: 48 }), co: fc.integer({ min: 8, max: 32 }), k: fc.constantFrom(1 as const, 3 as const), lrMul: fc.constantFrom(1, 0.01), seed: fc.nat(1e6) }),
    ({ ci, co, k, lrMul, seed }) => {
      const [kp, kx] = split(key(seed), 2);
      const p = initEqualizedConv(kp, { din: ci, dout: co, kernel: k, lrMul });
      // Interior pixels only: zero padding lowers the variance at the border.
      const v = tf.tidy(() => variance(tf.slice(equalizedConv(p, normal(kx, [4, ci, 16, 16] as const, 'image'), { lrMul }), [0, 1, 1, 0], [-1, 14, 14, -1])));
      disposeParams(p);
      assert.ok(v > 0.8 && v < 1.2, `conv ${k}x${k} ${ci}->${co}, lrMul ${lrMul}: variance ${v.toFixed(3)}`);
    }), runs);
});

/** Random conv weights with a different scale per output channel, and styles of mixed signs and sizes: demodulation must undo both. */
function modConvInputs(seed: number, n: number, ci: number, co: number, hw: number) {
  const [kx, kw, ks, kc] = split(key(seed), 4);
  const x = normal(kx, [n, ci, hw, hw] as const, 'image');
  const channelScale = tf.tidy(() => tf.exp(tf.mul(normal(kc, [co] as const), 1.5)));
  const weight = tf.tidy(() => typed<[number, number, 3, 3]>(tf.mul(normal(kw, [co, ci, 3, 3] as const, 'conv'), channelScale)));
  const styles = tf.tidy(() => typed<[number, number]>(tf.mul(normal(ks, [n, ci] as const), 3)));
  channelScale.dispose();
  return { x, weight, styles };
}

test('demodulated conv: unit variance per output channel for unit-variance inputs (whatever the weight and style scales)', () => {
  fc.assert(fc.property(
    fc.record({ ci: fc.integer({ min: 8, max: 32 }), co: fc.integer({ min: 2, max: 8 }), seed: fc.nat(1e6) }),
    ({ ci, co, seed }) => {
      const { x, weight, styles } = modConvInputs(seed, 4, ci, co, 24);
      const perChannel = tf.tidy(() => {
        const y = tf.slice(modulatedConv2d(x, weight, styles), [0, 1, 1, 0], [-1, 22, 22, -1]);
        return Array.from(tf.moments(y, [0, 1, 2]).variance.dataSync());
      });
      tf.dispose([x, weight, styles]);
      perChannel.forEach((v, o) => assert.ok(v > 0.8 && v < 1.2, `output channel ${o}: variance ${v.toFixed(3)} (ci ${ci})`));
    }), runs);
});

/** The definition: per sample, weights modulated and demodulated, then that sample's own convolution ("fused" form, one kernel per sample). */
function perSampleKernels(x: tf.Tensor4D, weight: tf.Tensor4D, styles: tf.Tensor2D, up: boolean): tf.Tensor {
  return tf.tidy(() => {
    const n = x.shape[0];
    const outs = Array.from({ length: n }, (_, i) => {
      const s = tf.reshape(tf.slice(styles, [i, 0], [1, -1]), [1, 1, -1, 1]); // scales input channels: [K, K, Ci, Co]
      const w = tf.mul(weight, s);
      const d = tf.rsqrt(tf.add(tf.sum(tf.square(w), [0, 1, 2], true), 1e-8));
      let xi = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]) as tf.Tensor4D;
      if (up) xi = tf.image.resizeNearestNeighbor(xi, [2 * xi.shape[1], 2 * xi.shape[2]]);
      return tf.conv2d(xi, tf.mul(w, d) as tf.Tensor4D, 1, 'same');
    });
    return tf.concat(outs, 0);
  });
}

test('the input-scaling modulated conv equals the per-sample-kernel definition (with and without upsampling)', () => {
  fc.assert(fc.property(
    fc.record({ n: fc.integer({ min: 1, max: 3 }), ci: fc.integer({ min: 1, max: 12 }), co: fc.integer({ min: 1, max: 6 }), hw: fc.constantFrom(4, 8), seed: fc.nat(1e6) }),
    ({ n, ci, co, hw, seed }) => {
      const { x, weight, styles } = modConvInputs(seed, n, ci, co, hw);
      const [plain, upped] = tf.tidy(() => [
        tf.max(tf.abs(tf.sub(modulatedConv2d(x, weight, styles), perSampleKernels(x as tf.Tensor4D, weight as tf.Tensor4D, styles as tf.Tensor2D, false)))).dataSync()[0],
        tf.max(tf.abs(tf.sub(modulatedConv2dUp(x as Tensor<[number, number, 8, 8]>, weight, styles), perSampleKernels(x as tf.Tensor4D, weight as tf.Tensor4D, styles as tf.Tensor2D, true)))).dataSync()[0],
      ]);
      tf.dispose([x, weight, styles]);
      assert.ok(plain < 1e-4 && upped < 1e-4, `max |difference| ${plain} (no up), ${upped} (up)`);
    }), runs);
});

test('modulated conv: gradients w.r.t. input, weight and styles equal finite differences (with and without demodulation, with upsampling); and through a layer\'s affine map', () => {
  fc.assert(fc.property(
    fc.record({ n: fc.integer({ min: 1, max: 2 }), ci: fc.integer({ min: 1, max: 4 }), co: fc.integer({ min: 1, max: 4 }), hw: fc.constantFrom(2, 4), demodulate: fc.boolean(), up: fc.boolean(), seed: fc.nat(1e6) }),
    ({ n, ci, co, hw, demodulate, up, seed }) => {
      const xs = tf.tidy(() => [tf.randomNormal([n, hw, hw, ci], 0, 1, 'float32', seed), tf.randomNormal([3, 3, ci, co], 0, 1, 'float32', seed + 1), tf.add(tf.randomNormal([n, ci], 0, 0.5, 'float32', seed + 2), 1)]);
      type X = Tensor<[number, number, number, number]>;
      const conv = (x: X, w: Tensor<[number, number, 3, 3]>, s: Tensor<[number, number]>) => (up ? modulatedConv2dUp(x, w, s, { demodulate }) : modulatedConv2d(x, w, s, { demodulate }));
      const r = gradCheck(([x, w, s]) => weightedSum(conv(typed(x), typed(w), typed(s)), seed), xs, seed);
      tf.dispose(xs);
      assert.ok(r.relErr < 2e-2, `${demodulate ? 'demodulated' : 'modulated'}${up ? ', up' : ''} on ${backend}: analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relErr})`);
    }), runs);
  const p = initModConv(key(3), { din: 3, dout: 2, kernel: 3, styleDim: 5 });
  const inputs = tf.tidy(() => [tf.randomNormal([2, 4, 4, 3], 0, 1, 'float32', 7), tf.randomNormal([2, 5], 0, 1, 'float32', 8), p.affine.weight.clone(), p.affine.bias.clone(), p.weight.clone()]);
  const r = gradCheck(([x, w, aw, ab, wt]) => weightedSum(modConv({ weight: typed<[2, 3, 3, 3]>(wt), bias: p.bias, affine: { weight: typed<[3, 5]>(aw), bias: typed<[3]>(ab) } }, typed<[number, 3, number, number]>(x), typed<[number, number]>(w)), 9), inputs, 9);
  tf.dispose(inputs);
  disposeParams(p);
  assert.ok(r.relErr < 2e-2, `modConv layer: analytic ${r.analytic} vs numeric ${r.numeric} (rel ${r.relErr})`);
});

test('truncation: psi 0 gives w_avg and psi 1 gives w, bit for bit; psi 0.5 the midpoint', () => {
  fc.assert(fc.property(fc.record({ n: fc.integer({ min: 1, max: 5 }), d: fc.integer({ min: 1, max: 16 }), seed: fc.nat(1e6) }), ({ n, d, seed }) => {
    tf.tidy(() => {
      const w = normal(key(seed), [n, d] as const, 'plain', 10);
      const wAvg = normal(key(seed + 1), [d] as const, 'plain', 10);
      assert.deepEqual(truncate(w, wAvg, 1).dataSync(), w.dataSync());
      assert.deepEqual(truncate(w, wAvg, 0).dataSync(), tf.tile(tf.expandDims(wAvg, 0), [n, 1]).dataSync());
      const mid = tf.max(tf.abs(tf.sub(truncate(w, wAvg, 0.5), tf.div(tf.add(w, wAvg), 2)))).dataSync()[0];
      assert.ok(mid < 1e-5, `psi 0.5: off the midpoint by ${mid}`);
    });
  }), runs);
});

test('style mixing: layers before the crossover take w1, from it on w2; crossover uniform in [1, numWs) with probability 0.9', () => {
  fc.assert(fc.property(fc.record({ n: fc.integer({ min: 1, max: 4 }), numWs: fc.integer({ min: 2, max: 12 }), seed: fc.nat(1e6) }), ({ n, numWs, seed }) => {
    const c = crossoverLayer(key(seed), numWs);
    assert.ok(Number.isInteger(c) && c >= 1 && c <= numWs, `crossover ${c} of ${numWs}`);
    tf.tidy(() => {
      const w1 = normal(key(seed + 1), [n, 8] as const);
      const w2 = normal(key(seed + 2), [n, 8] as const);
      const ws = mixStyles(w1, w2, numWs, c);
      assert.deepEqual(ws.shape, [n, numWs, 8]);
      for (let i = 0; i < numWs; i++) {
        const layer = tf.squeeze(tf.slice(ws, [0, i, 0], [-1, 1, -1]), [1]).dataSync();
        assert.deepEqual(layer, (i < c ? w1 : w2).dataSync(), `layer ${i}, crossover ${c}`);
      }
    });
  }), runs);
  const draws = Array.from({ length: 4000 }, (_, i) => crossoverLayer(key(i), 6));
  const unmixed = draws.filter((c) => c === 6).length / draws.length;
  assert.ok(unmixed > 0.08 && unmixed < 0.12, `no mixing in ${(100 * unmixed).toFixed(1)}% of batches, expected ~10%`);
  for (let c = 1; c < 6; c++) {
    const share = draws.filter((d) => d === c).length / draws.length;
    assert.ok(share > 0.9 / 5 - 0.03 && share < 0.9 / 5 + 0.03, `crossover ${c}: ${(100 * share).toFixed(1)}% of batches, expected 18%`);
  }
});

const mappingCfg: StyleMappingConfig = { zDim: 32, wDim: 24, layers: 8, hidden: 32, lrMul: 0.01, wAvgBeta: 0.995 };

test('mapping network: w ignores the scale of z (pixel norm first), keeps unit second moment, and lrMul changes nothing at init', () => {
  const p = initStyleMapping(key(1), mappingCfg);
  const same = initStyleMapping(key(1), { ...mappingCfg, lrMul: 1 });
  tf.tidy(() => {
    const z = normal(key(2), [64, 32] as const);
    const w = styleMapping(p, z, mappingCfg);
    assert.deepEqual(w.shape, [64, 24]);
    const scaled = tf.max(tf.abs(tf.sub(styleMapping(p, typed<[number, number]>(tf.mul(z, 7.5)), mappingCfg), w))).dataSync()[0];
    assert.ok(scaled < 1e-4, `w changes by ${scaled} when z is scaled by 7.5`);
    const m2 = tf.mean(tf.square(w)).dataSync()[0];
    assert.ok(m2 > 0.4 && m2 < 2.5, `second moment of w at init ${m2}`);
    const viaLr1 = tf.max(tf.abs(tf.sub(styleMapping(same, z, { ...mappingCfg, lrMul: 1 }), w))).dataSync()[0];
    assert.ok(viaLr1 < 1e-3, `lrMul 0.01 vs 1 at init differ by ${viaLr1}`);
    const norms = tf.mean(tf.square(pixelNorm(typed(tf.mul(z, 3)))), 1).dataSync();
    norms.forEach((v) => assert.ok(Math.abs(v - 1) < 1e-4, `pixel norm: mean square ${v}`));
  });
  [p, same].forEach(disposeParams);
});

test('w_avg: the official EMA lerp(mean_n w, w_avg, beta), starting from zeros', () => {
  tf.tidy(() => {
    const w = normal(key(5), [16, 24] as const);
    const a0 = initWAvg(mappingCfg);
    const a1 = updateWAvg(a0, w, 0.995);
    const mean = tf.mean(w, 0);
    assert.ok(tf.max(tf.abs(tf.sub(a1, tf.mul(mean, 0.005)))).dataSync()[0] < 1e-6, 'first update: 0.005 mean(w)');
    const a2 = updateWAvg(a1, w, 0.995);
    const want = tf.add(tf.mul(mean, 0.005), tf.mul(a1, 0.995));
    assert.ok(tf.max(tf.abs(tf.sub(a2, want))).dataSync()[0] < 1e-6, 'second update: lerp(mean, w_avg, 0.995)');
  });
});

test('noise injection is the identity at init and adds noise * strength per channel; style modulation is x (ys + 1) + yb', () => {
  tf.tidy(() => {
    const x = normal(key(1), [2, 3, 4, 4] as const, 'image');
    const noise = drawNoise(key(2), 2, 4, 4);
    const p = initNoise(3);
    assert.deepEqual(injectNoise(p, x, noise).dataSync(), x.dataSync());
    const strength = tf.tensor1d([0, 1, -2]);
    const y = injectNoise({ noise_strength: typed<[3]>(strength) }, x, noise);
    const want = tf.add(x, tf.mul(noise, strength));
    assert.ok(tf.max(tf.abs(tf.sub(y, want))).dataSync()[0] === 0, 'x + noise * strength per channel');
    const ch0 = tf.max(tf.abs(tf.sub(tf.slice(y, [0, 0, 0, 0], [-1, -1, -1, 1]), tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, 1])))).dataSync()[0];
    assert.equal(ch0, 0, 'a channel with strength 0 gets no noise');
    const m = initStyleMod(key(3), 5, 3);
    const w = normal(key(4), [2, 5] as const);
    const ys = tf.slice(equalizedLinear(m.affine, w), [0, 0], [-1, 3]);
    const yb = tf.slice(equalizedLinear(m.affine, w), [0, 3], [-1, 3]);
    const manual = tf.add(tf.mul(x, tf.reshape(tf.add(ys, 1), [2, 1, 1, 3])), tf.reshape(yb, [2, 1, 1, 3]));
    assert.ok(tf.max(tf.abs(tf.sub(styleMod(m, x, w), manual))).dataSync()[0] < 1e-6, 'x (ys + 1) + yb');
  });
});

test('demodulation coefficients equal 1 / |modulated weights| per (sample, output channel)', () => {
  tf.tidy(() => {
    const { x, weight, styles } = modConvInputs(11, 3, 5, 4, 4);
    const d = demodulation(weight, styles).arraySync() as number[][];
    const w = tf.transpose(weight, [3, 2, 0, 1]).arraySync() as number[][][][]; // (Co, Ci, K, K)
    const s = styles.arraySync() as number[][];
    for (let n = 0; n < 3; n++) for (let o = 0; o < 4; o++) {
      let sum = 0;
      for (let i = 0; i < 5; i++) for (const row of w[o][i]) for (const v of row) sum += (v * s[n][i]) ** 2;
      assert.ok(Math.abs(d[n][o] - 1 / Math.sqrt(sum + 1e-8)) < 1e-5 * d[n][o], `d[${n}][${o}]`);
    }
    x.dispose();
  });
});

// ---------------------------------------------------------------------------------------------------------
// The StarGAN v2 variant with a modulated-conv decoder

const tiny: NetConfig = { img: 16, base: 8, maxConv: 16, domains: 3, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 0 };
const modconv: NetConfig = { ...tiny, decoder: 'modconv' };
const cfg: StarGANConfig = { net: modconv, train: { ...defaultTrain, lr: 1e-3, fLr: 1e-4 } };

test('modconv StarGAN: the default decoder is unchanged (bit-identical init), and modconv builds ModConvResBlks', () => {
  const a = initNets(key(1), tiny);
  const b = initNets(key(1), { ...tiny, decoder: 'adain' });
  const m = initNets(key(1), modconv);
  const fa = flattenParams(a), fb = new Map(flattenParams(b));
  assert.equal(fa.length, fb.size);
  for (const [name, t] of fa) assert.deepEqual(t.dataSync(), fb.get(name)!.dataSync(), name);
  assert.ok(m.generator.decode.every(isModConvResBlk), 'modconv decoder blocks');
  assert.ok(!a.generator.decode.some(isModConvResBlk), 'adain decoder blocks');
  assert.ok(flattenParams(m.generator).some(([n]) => n === 'decode.0.conv1.affine.weight'));
  [a, b, m].forEach(disposeParams);
});

test('modconv StarGAN: output shapes for every domain, and G depends on the style', () => {
  const nets = initNets(key(2), modconv);
  fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), (n) => {
    tf.tidy(() => {
      const x = normal(key(n), [n, 3, 16, 16] as const, 'image');
      const z = normal(key(n + 1), [n, tiny.latentDim] as const);
      for (let d = 0; d < tiny.domains; d++) {
        const y = labels(new Array(n).fill(d));
        const s = mappingNetwork(nets.mapping_network, z, y);
        assert.deepEqual(s.shape, [n, tiny.styleDim]);
        assert.deepEqual(styleEncoder(nets.style_encoder, x, y).shape, [n, tiny.styleDim]);
        assert.deepEqual(discriminator(nets.discriminator, x, y).shape, [n]);
        const out = generator(nets.generator, x, s, modconv);
        assert.deepEqual(out.shape, [n, 16, 16, 3]); // NHWC memory of (N, 3, 16, 16)
        const other = generator(nets.generator, x, typed(tf.add(s, 1)), modconv);
        assert.ok(tf.max(tf.abs(tf.sub(out, other))).dataSync()[0] > 1e-3, 'G ignores the style');
      }
    });
  }), { numRuns: 3, seed: 4 });
  disposeParams(nets);
});

function run(state: TrainState, iterations: number): TrainState {
  let s = state;
  for (let i = 0; i < iterations; i++) {
    const b = syntheticBatch(s.key, modconv, 2);
    s = advance((st: TrainState, batch: typeof b) => step(cfg, st, batch), s, b);
    tf.dispose(Object.values(b));
  }
  return s;
}

test('modconv StarGAN: memory is flat over training steps', () => {
  const s1 = run(initTrainState(key(6), cfg), 1);
  const before = liveTensors();
  const s4 = run(s1, 3);
  assert.equal(liveTensors(), before, 'tensors leaked across iterations');
  disposeParams(s4);
});

test('modconv StarGAN: resume equals uninterrupted (save at 1, load, 1 more; bit-identical), and loading honours the decoder', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'modconv-resume-'));
  const file = path.join(dir, 'ckpt.safetensors');
  const straight = run(initTrainState(key(7), cfg), 2);
  const first = run(initTrainState(key(7), cfg), 1);
  saveCheckpoint(file, cfg, first);
  disposeParams(first);
  const { cfg: loadedCfg, state } = loadCheckpoint(file, modconv);
  assert.deepEqual(loadedCfg, cfg);
  const resumed = run(state, 1);
  const a = flattenParams({ nets: resumed.nets, ema: resumed.ema, opt: resumed.opt });
  const b = new Map(flattenParams({ nets: straight.nets, ema: straight.ema, opt: straight.opt }));
  assert.equal(a.length, b.size);
  for (const [name, t] of a) assert.deepEqual(t.dataSync(), b.get(name)!.dataSync(), `${name} differs after resume`);
  // What translate.ts loads: the decoder comes from the checkpoint's metadata.
  const any = loadAnyCheckpoint(file);
  assert.equal(any.net.decoder, 'modconv');
  assert.ok(any.ema.generator.decode.every(isModConvResBlk), 'loaded generator has modconv blocks');
  disposeLoaded(any);
  assert.throws(() => loadCheckpoint(file, tiny), /decoder modconv vs adain/);
  assert.equal(configDiff(tiny, { ...tiny, decoder: 'adain' }), '', 'an absent decoder is adain');
  const msg = errorOf(() => exportSafetensors(path.join(dir, 'official.safetensors'), straight.ema, modconv), path.join(dir, 'official.safetensors'));
  assert.match(msg, /decoder 'modconv' has no official StarGAN v2 counterpart/);
  [straight, resumed].forEach(disposeParams);
  fs.rmSync(dir, { recursive: true });
});
