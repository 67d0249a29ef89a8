/**
 * Laws of StarGAN v1: parity with PyTorch on the committed oracle files (outputs, losses with
 * the gradient penalty, gradients, one full iteration), official parameter counts, output
 * shapes (the PatchGAN map at img 128), the gradient penalty against finite differences, the
 * mask vector, the lr schedule, which network each iteration updates, flat memory, exact resume.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import './lib/setup.ts';
import {
  adamInit, advance, countParams, disposeParams, flattenParams, fromTorch, key, liveTensors, split, tensor, tidyTree, typed, uniform,
  type Tensor,
} from '../dsl/index.ts';
import { recordToEntries } from '../dsl/record-io.ts';
import { readSafetensors, type Entry } from '../dsl/io/safetensors.ts';
import { loadCheckpointV1, loadNetsV1, saveCheckpointV1 } from '../stargan/checkpoints/v1.ts';
import { bothV1, celebaV1, defaultTrainV1, lrAt, type V1NetConfig, type V1TrainConfig } from '../stargan/v1/config.ts';
import { discriminatorV1, initDiscriminatorV1 } from '../stargan/v1/discriminator.ts';
import { generatorV1, initGeneratorV1 } from '../stargan/v1/generator.ts';
import { classificationLoss, conditionVector } from '../stargan/v1/labels.ts';
import { gradientPenalty, type SubBatch } from '../stargan/v1/losses.ts';
import {
  dGradsV1, dStepV1, gGradsV1, gStepV1, initStateV1, stepV1, type V1Batch, type V1Config, type V1State,
} from '../stargan/v1/step.ts';
import { judge } from './lib/parity.ts';

const TOL = 1e-3;

// ---------------------------------------------------------------------------------------
// Parity with PyTorch (properties/fixtures/v1/make_oracle.py)

/** Torch order (NCHW) of an NHWC tensor's values. */
const torchOrder = (t: tf.Tensor) => tf.tidy(() => (t.rank === 4 ? tf.transpose(t, [0, 3, 1, 2]) : t).dataSync());

function oracleBatch(ref: Map<string, Entry>, cfg: V1NetConfig, file: string): V1Batch {
  return cfg.datasets.map((_, k) => {
    const io = (n: string) => {
      const e = ref.get(`io.${k}.${n}`);
      if (!e) throw new Error(`${file}: oracle lacks io.${k}.${n}`);
      return tf.tensor(e.data, [...e.shape]);
    };
    return tf.tidy(() => ({
      dataset: k, x: fromTorch(io('x'), 'image'), labelOrg: typed(io('label_org')), labelTrg: typed(io('label_trg')), alpha: typed(io('alpha')),
    })) as SubBatch;
  });
}

for (const oracle of ['celeba_img32.safetensors', 'both_img16.safetensors']) {
  test(`PyTorch parity on ${oracle}: outputs, losses with GP, gradients, one full iteration`, () => {
    const file = path.join(import.meta.dirname, 'fixtures', 'v1', oracle);
    const { tensors: ref, metadata } = readSafetensors(file);
    const cfg: V1Config = { net: JSON.parse(metadata.net_config), train: JSON.parse(metadata.train_config) };
    const start = Number(metadata.iteration);
    const nets = loadNetsV1(ref, cfg.net, file);
    const batch = oracleBatch(ref, cfg.net, file);
    const j = judge(TOL);
    const s0: V1State = { nets, opt: { G: adamInit(nets.G), D: adamInit(nets.D) }, iteration: start, key: key(0), losses: {} };
    let s = s0;
    const own: V1State[] = [];
    batch.forEach((b, k) => {
      tf.tidy(() => {
        const xFake = generatorV1(s.nets.G, b.x, conditionVector(cfg.net, k, b.labelTrg));
        j.value(`io.${k}.x_fake`, torchOrder(xFake), ref.get(`io.${k}.x_fake`)?.data);
        const d = discriminatorV1(s.nets.D, b.x);
        j.value(`io.${k}.d_src`, torchOrder(d.src), ref.get(`io.${k}.d_src`)?.data);
        j.value(`io.${k}.d_cls`, d.cls.dataSync(), ref.get(`io.${k}.d_cls`)?.data);
        const losses = ref.get(`losses.${k}`)!.data;
        const dg = dGradsV1(cfg, s, b);
        const dParts = [dg.value, dg.parts.real, dg.parts.fake, dg.parts.cls, dg.parts.gp].map((t) => t.dataSync()[0]);
        ['D', 'D_real', 'D_fake', 'D_cls', 'D_gp'].forEach((n, i) => j.value(`losses.${k}.${n}`, [dParts[i]], [losses[i]]));
        j.record(recordToEntries(dg.grads, `grad.${k}.D`), ref, true);
        tf.dispose(Object.values(dg.parts));
      });
      const afterD = dStepV1(cfg, s, b);
      own.push(afterD);
      tf.tidy(() => {
        const losses = ref.get(`losses.${k}`)!.data;
        const gg = gGradsV1(cfg, afterD, b);
        const gParts = [gg.value, gg.parts.fake, gg.parts.rec, gg.parts.cls].map((t) => t.dataSync()[0]);
        ['G', 'G_fake', 'G_rec', 'G_cls'].forEach((n, i) => j.value(`losses.${k}.${n}`, [gParts[i]], [losses[5 + i]]));
        j.record(recordToEntries(gg.grads, `grad.${k}.G`), ref, true);
        tf.dispose(Object.values(gg.parts));
      });
      s = gStepV1(cfg, afterD, b);
      own.push(s);
    });
    // The step function itself (which sub-steps it runs, in which order) must land on the same weights.
    const stepped = stepV1(cfg, s0, batch);
    const after = recordToEntries(stepped.nets, 'after');
    j.record(after, ref);
    j.updates(after, ref, new Map(recordToEntries(nets)), cfg.train.gLr, 'after.');
    assert.equal(stepped.iteration, start + 1);
    assert.deepEqual([stepped.opt.D.step, stepped.opt.G.step], [batch.length, batch.length]);
    const failed = j.failures();
    assert.equal(failed.length, 0, `${failed.length} of ${j.verdicts.length} checks failed:\n${failed.join('\n')}`);
    own.forEach((st) => disposeParams({ nets: st.nets, opt: st.opt, losses: st.losses }));
    disposeParams({ nets: stepped.nets, opt: stepped.opt, losses: stepped.losses });
    disposeParams({ nets, opt: s0.opt });
    batch.forEach((b) => tf.dispose(Object.values(b).filter((v) => v instanceof tf.Tensor)));
  });
}

// ---------------------------------------------------------------------------------------
// Architecture

test('parameter counts equal the official ones (G 8,430,528 / D 44,762,048 for CelebA; 8,461,888 / 44,827,584 for Both)', () => {
  const count = (cfg: V1NetConfig) => {
    const g = initGeneratorV1(key(1), cfg);
    const d = initDiscriminatorV1(key(2), cfg);
    const c = [countParams(g), countParams(d)];
    disposeParams([g, d]);
    return c;
  };
  assert.deepEqual(count(celebaV1), [8_430_528, 44_762_048]);
  assert.deepEqual(count(bothV1), [8_461_888, 44_827_584]);
});

test('parameter names are the official state_dict keys', () => {
  const cfg: V1NetConfig = { ...celebaV1, gConvDim: 4, dConvDim: 4, gRepeat: 2 };
  const g = initGeneratorV1(key(1), cfg);
  const d = initDiscriminatorV1(key(2), cfg);
  const gNames = flattenParams(g).map(([n]) => n);
  const dNames = flattenParams(d).map(([n]) => n);
  disposeParams([g, d]);
  assert.deepEqual(gNames, [
    'main.0.weight', 'main.1.weight', 'main.1.bias', 'main.3.weight', 'main.4.weight', 'main.4.bias',
    'main.6.weight', 'main.7.weight', 'main.7.bias',
    ...[9, 10].flatMap((i) => [`main.${i}.main.0.weight`, `main.${i}.main.1.weight`, `main.${i}.main.1.bias`, `main.${i}.main.3.weight`, `main.${i}.main.4.weight`, `main.${i}.main.4.bias`]),
    'main.11.weight', 'main.12.weight', 'main.12.bias', 'main.14.weight', 'main.15.weight', 'main.15.bias', 'main.17.weight',
  ]);
  assert.deepEqual(dNames, [...[0, 2, 4, 6, 8, 10].flatMap((i) => [`main.${i}.weight`, `main.${i}.bias`]), 'conv1.weight', 'conv2.weight']);
});

test('output shapes: G keeps (N, 3, H, W) in (-1, 1); at img 128 D_src is a 2x2 map and D_cls has c logits', () => {
  fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 7 }), fc.constantFrom(128, 64), (n, c, img) => {
    const cfg: V1NetConfig = { img, gConvDim: 4, dConvDim: 2, gRepeat: 1, dRepeat: 6, datasets: [{ name: 'A', size: c, kind: 'multi' }] };
    const g = initGeneratorV1(key(c), cfg);
    const d = initDiscriminatorV1(key(c + 1), cfg);
    tf.tidy(() => {
      const x = uniform(key(n), [n, 3, img, img] as const, -1, 1, 'image');
      const y = generatorV1(g, x, tensor(new Float32Array(n * c).fill(1), [n, c] as const));
      assert.deepEqual(y.shape, [n, img, img, 3]); // memory NHWC of (N, 3, H, W)
      const v = y.dataSync();
      assert.ok(v.every((p) => p > -1 && p < 1), 'tanh output');
      const out = discriminatorV1(d, x);
      assert.deepEqual(out.src.shape, [n, img / 64, img / 64, 1]); // (N, 1, img/64, img/64)
      assert.deepEqual(out.cls.shape, [n, c]);
    });
    disposeParams([g, d]);
  }), { numRuns: 4, seed: 5 });
});

// ---------------------------------------------------------------------------------------
// Losses

test('the gradient penalty equals the one computed from a finite-difference input gradient', () => {
  // D is piecewise linear in x (convs and leaky ReLUs), so central differences of sum D_src are
  // exact up to float rounding away from kinks: every input element is perturbed, as one batch.
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 1, max: 2 }), (seed, n) => {
    const img = 8;
    const cfg: V1NetConfig = { img, gConvDim: 2, dConvDim: 3, gRepeat: 0, dRepeat: 2, datasets: [{ name: 'A', size: 2, kind: 'multi' }] };
    const d = initDiscriminatorV1(key(seed), cfg);
    const [gpOurs, gpFd] = tf.tidy(() => {
      const x = uniform(key(seed + 1), [n, 3, img, img] as const, -1, 1, 'image');
      const m = 3 * img * img;
      const h = 1e-2;
      const sums = (t: tf.Tensor) => tf.sum(tf.reshape(discriminatorV1(d, typed<[number, 3, number, number]>(t)).src, [t.shape[0]!, -1]), 1);
      const norms: number[] = [];
      for (let i = 0; i < n; i++) {
        const xi = tf.slice(x, [i, 0, 0, 0], [1, -1, -1, -1]);
        const eye = tf.reshape(tf.mul(tf.eye(m), h), [m, img, img, 3]); // one element of the NHWC sample each
        const plus = Array.from(sums(tf.add(xi, eye)).dataSync());
        const minus = sums(tf.sub(xi, eye)).dataSync();
        norms.push(Math.sqrt(plus.reduce((s, p, k) => s + ((p - minus[k]) / (2 * h)) ** 2, 0)));
      }
      const fd = norms.reduce((s, v) => s + (v - 1) ** 2, 0) / n;
      return [gradientPenalty(d, x).dataSync()[0], fd];
    });
    disposeParams(d);
    assert.ok(Math.abs(gpOurs - gpFd) <= 1e-3 * Math.max(1, Math.abs(gpFd)), `GP ${gpOurs} vs finite differences ${gpFd}`);
  }), { numRuns: 4, seed: 17 });
});

test('the mask vector: G sees [labels of dataset k | zeros | one-hot k], and only dataset k\'s logits count in its cls loss', () => {
  const cfg: V1NetConfig = { ...bothV1, datasets: [{ name: 'CelebA', size: 3, kind: 'multi' }, { name: 'RaFD', size: 4, kind: 'single' }] };
  fc.assert(fc.property(fc.integer({ min: 1, max: 1e6 }), fc.integer({ min: 0, max: 1 }), (seed, k) => {
    const n = 3;
    const size = cfg.datasets[k].size;
    const lo = k === 0 ? 0 : 3;
    tf.tidy(() => {
      const labels = k === 0
        ? typed<[number, number]>(tf.cast(tf.less(tf.randomUniform([n, size], 0, 1, 'float32', seed), 0.5), 'float32'))
        : typed<[number, number]>(tf.cast(tf.oneHot(tf.tensor1d([0, 3, 1], 'int32'), 4), 'float32'));
      const c = conditionVector(cfg, k, labels).arraySync() as number[][];
      const want = (labels.arraySync() as number[][]).map((row) => {
        const v = new Array(9).fill(0);
        row.forEach((x, i) => (v[lo + i] = x));
        v[7 + k] = 1;
        return v;
      });
      assert.deepEqual(c, want);
      // Loss and gradient w.r.t. all logits: the unknown dataset's columns do not matter at all.
      const logits = tf.randomNormal([n, 7], 0, 3, 'float32', seed + 1);
      const { value, grad } = tf.valueAndGrad((l: tf.Tensor) => classificationLoss(cfg, k, typed<[number, number]>(l), labels))(logits);
      const g = grad.arraySync() as number[][];
      g.forEach((row) => row.forEach((v, i) => {
        if (i < lo || i >= lo + size) assert.equal(v, 0, `gradient on the unknown dataset's logit ${i}`);
      }));
      const scrambled = tf.add(logits, tf.mul(tf.randomNormal([n, 7], 0, 10, 'float32', seed + 2), tf.tensor1d(Array.from({ length: 7 }, (_, i) => (i < lo || i >= lo + size ? 1 : 0)))));
      assert.equal(classificationLoss(cfg, k, typed<[number, number]>(scrambled), labels).dataSync()[0], value.dataSync()[0]);
    });
  }), { numRuns: 8, seed: 9 });
});

test('lr schedule: constant, then linear to 0 over the last numItersDecay iterations in lrUpdateStep steps', () => {
  const t: V1TrainConfig = { ...defaultTrainV1, numIters: 200_000, numItersDecay: 100_000, lrUpdateStep: 1000 };
  assert.equal(lrAt(t, 1e-4, 0), 1e-4);
  assert.equal(lrAt(t, 1e-4, 100_000), 1e-4);
  assert.equal(lrAt(t, 1e-4, 100_999), 1e-4);
  assert.ok(Math.abs(lrAt(t, 1e-4, 101_000) - 0.99e-4) < 1e-12);
  assert.ok(Math.abs(lrAt(t, 1e-4, 150_000) - 0.5e-4) < 1e-12);
  assert.equal(lrAt(t, 1e-4, 200_000), 0);
  fc.assert(fc.property(fc.integer({ min: 0, max: 200_000 }), fc.integer({ min: 0, max: 200_000 }), (a, b) => {
    const [lo, hi] = a <= b ? [a, b] : [b, a];
    assert.ok(lrAt(t, 1e-4, hi) <= lrAt(t, 1e-4, lo), 'non-increasing');
  }), { numRuns: 200, seed: 1 });
});

// ---------------------------------------------------------------------------------------
// Training step

const tinyNet: V1NetConfig = { img: 8, gConvDim: 2, dConvDim: 2, gRepeat: 1, dRepeat: 2, datasets: [{ name: 'A', size: 3, kind: 'multi' }] };
const tinyCfg: V1Config = { net: tinyNet, train: { ...defaultTrainV1, numIters: 12, numItersDecay: 6, lrUpdateStep: 2 } };

/** A random batch drawn from a key, as the training program draws one per iteration. */
function randomBatch(k: ReturnType<typeof key>, cfg: V1Config, n = 2): V1Batch {
  const [kx, kl, ka] = split(k, 3);
  return tidyTree(() => cfg.net.datasets.map((ds, d): SubBatch => {
    const labelOrg = typed<[number, number]>(tf.cast(tf.less(tf.randomUniform([n, ds.size], 0, 1, 'float32', kl[0] + d), 0.5), 'float32'));
    return {
      dataset: d,
      x: uniform(split(kx, d + 1)[d], [n, 3, cfg.net.img, cfg.net.img] as const, -1, 1, 'image'),
      labelOrg,
      labelTrg: typed<[number, number]>(tf.reverse(labelOrg, 0)),
      alpha: uniform(split(ka, d + 1)[d], [n] as const, 0, 1),
    };
  }));
}

function run(cfg: V1Config, state: V1State, iterations: number): V1State {
  let s = state;
  for (let i = 0; i < iterations; i++) {
    const b = randomBatch(s.key, cfg);
    s = advance((st: V1State, batch: V1Batch) => stepV1(cfg, st, batch), s, b);
    b.forEach((sb) => tf.dispose([sb.x, sb.labelOrg, sb.labelTrg, sb.alpha]));
  }
  return s;
}

const differs = (a: unknown, b: unknown) => {
  const x = flattenParams(a);
  const y = flattenParams(b);
  return x.some(([, t], i) => tf.tidy(() => tf.any(tf.notEqual(t, y[i][1])).dataSync()[0] === 1));
};

test('every iteration updates D; G only on iterations i with (i + 1) % nCritic == 0', () => {
  let s = initStateV1(key(3), tinyCfg);
  const updatedG: number[] = [];
  for (let i = 0; i < 10; i++) {
    const before = { G: flattenParams(s.nets.G).map(([, t]) => t.dataSync().slice()), D: flattenParams(s.nets.D).map(([, t]) => t.dataSync().slice()) };
    const next = run(tinyCfg, s, 1);
    const now = { G: flattenParams(next.nets.G).map(([, t]) => t.dataSync()), D: flattenParams(next.nets.D).map(([, t]) => t.dataSync()) };
    assert.ok(now.D.some((t, j) => t.some((v, e) => v !== before.D[j][e])), `D not updated at iteration ${i}`);
    if (now.G.some((t, j) => t.some((v, e) => v !== before.G[j][e]))) updatedG.push(i);
    s = next;
  }
  assert.deepEqual(updatedG, [4, 9]);
  assert.deepEqual([s.opt.D.step, s.opt.G.step], [10, 2]);
  assert.ok('G/loss_rec' in s.losses && 'D/loss_gp' in s.losses, 'losses under the official names');
  disposeParams(s);
});

test('memory is flat: tf.memory().numTensors does not grow over 12 iterations (D and G steps)', () => {
  const s1 = run(tinyCfg, initStateV1(key(6), tinyCfg), 1);
  const before = liveTensors();
  const s = run(tinyCfg, s1, 11);
  assert.equal(liveTensors(), before, 'tensors leaked across iterations');
  disposeParams(s);
});

test('resume equals uninterrupted (across the lr decay and a G update): stop at 3, save, load, continue to 7', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stargan-v1-resume-'));
  const file = path.join(dir, 'ckpt.safetensors');
  const straight = run(tinyCfg, initStateV1(key(7), tinyCfg), 7);
  const first = run(tinyCfg, initStateV1(key(7), tinyCfg), 3);
  saveCheckpointV1(file, tinyCfg, first, ['a', 'b', 'c']);
  disposeParams(first);
  const loaded = loadCheckpointV1(file, tinyNet);
  assert.deepEqual(loaded.cfg, tinyCfg);
  assert.deepEqual(loaded.labelNames, ['a', 'b', 'c']);
  const resumed = run(tinyCfg, loaded.state, 4);
  assert.equal(resumed.iteration, 7);
  assert.deepEqual(resumed.key, straight.key);
  assert.deepEqual([resumed.opt.G.step, resumed.opt.D.step], [straight.opt.G.step, straight.opt.D.step]);
  const a = flattenParams({ nets: resumed.nets, opt: resumed.opt });
  const b = new Map(flattenParams({ nets: straight.nets, opt: straight.opt }));
  assert.equal(a.length, b.size);
  for (const [name, t] of a) assert.deepEqual(t.dataSync(), b.get(name)!.dataSync(), `${name} differs after resume`);
  assert.equal(differs(resumed.nets, straight.nets), false);
  [straight, resumed].forEach(disposeParams);
  fs.rmSync(dir, { recursive: true });
});

test('a v1 checkpoint from another config, or a v2 checkpoint, is refused with one line naming the file', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stargan-v1-cfg-'));
  const file = path.join(dir, 'ckpt.safetensors');
  const s = initStateV1(key(8), tinyCfg);
  saveCheckpointV1(file, tinyCfg, s);
  disposeParams(s);
  assert.throws(() => loadCheckpointV1(file, { ...tinyNet, gConvDim: 4 }), /ckpt\.safetensors: checkpoint config differs .*gConvDim 2 vs 4/);
  fs.writeFileSync(path.join(dir, 'v2.safetensors'), fs.readFileSync(file).toString('latin1').replace('stargan-ts-v1/1', 'stargan-ts/1xxxx'), 'latin1');
  assert.throws(() => loadCheckpointV1(path.join(dir, 'v2.safetensors')), /v2\.safetensors: not a StarGAN v1 checkpoint/);
  fs.rmSync(dir, { recursive: true });
});

// Keep the typed entry points honest: a generator call type-checks with literal shapes.
export const typedCall = (g: Parameters<typeof generatorV1>[0], x: Tensor<[2, 3, 64, 64]>, c: Tensor<[2, 5]>): Tensor<[2, 3, 64, 64]> => generatorV1(g, x, c);
