/**
 * Laws of the StarGAN v2 networks and training step: official parameter counts, unit
 * variance of residual blocks at init, output shapes for every domain, per-sample head
 * selection, which networks each sub-step changes, flat memory over a fold, exact resume,
 * and parity with PyTorch on the committed oracle files.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import './lib/setup.ts';
import {
  advance, countParams, disposeParams, flattenParams, key, labels, liveTensors, meanAbsDiff, normal, split, type Tensor,
} from '../dsl/index.ts';
import { initResBlk, resBlk } from '../layers/resblk.ts';
import { afhq, celebaHQ, defaultTrain, small, type NetConfig } from '../stargan/v2/config.ts';
import { discriminator, initDiscriminator } from '../stargan/v2/discriminator.ts';
import { initMapping, mappingNetwork } from '../stargan/v2/mapping.ts';
import { initNets } from '../stargan/v2/nets.ts';
import { initStyleEncoder, styleEncoder } from '../stargan/v2/style-encoder.ts';
import { loadCheckpoint, saveCheckpoint } from '../stargan/checkpoints/ours.ts';
import { dStep, emaUpdate, gGrads, gStep, initTrainState, step, type StarGANConfig, type TrainState } from '../stargan/v2/step.ts';
import { translate } from '../stargan/samples.ts';
import { syntheticBatch } from '../stargan/data/batch.ts';
import { readSafetensors } from '../dsl/io/safetensors.ts';

const counts = (cfg: NetConfig) => {
  const nets = initNets(key(0), cfg);
  const c = Object.fromEntries(Object.entries(nets).map(([k, v]) => [k, countParams(v)]));
  disposeParams(nets);
  return c;
};

test('training defaults are the official ones (main.py, solver.py) and those of the PyTorch oracles', () => {
  const official = {
    lambdaReg: 1, lambdaSty: 1, lambdaDs: 1, lambdaCyc: 1, dsIter: 100_000,
    lr: 1e-4, fLr: 1e-6, beta1: 0, beta2: 0.99, weightDecay: 1e-4, emaBeta: 0.999,
    emaRampup: 0, // no ramp-up: the official constant EMA beta
  };
  assert.deepEqual(defaultTrain, official);
  // pytorch-parity.ts takes the oracle's config, so the defaults are only checked here.
  for (const oracle of ['oracle-img16-k2.safetensors', 'oracle-img32-k3-lds0.safetensors']) {
    const { metadata } = readSafetensors(path.join(import.meta.dirname, 'fixtures', oracle));
    const meta = { lr: 'lr', f_lr: 'fLr', beta1: 'beta1', beta2: 'beta2', weight_decay: 'weightDecay', ema_beta: 'emaBeta' } as const;
    for (const [k, field] of Object.entries(meta)) assert.equal(Number(metadata[k]), defaultTrain[field], `${oracle}: ${k}`);
  }
});

test('parameter counts equal the official ones (CelebA-HQ, AFHQ, small CPU config)', () => {
  assert.deepEqual(counts(celebaHQ), { generator: 43_467_395, mapping_network: 2_438_272, style_encoder: 20_916_928, discriminator: 20_852_290 });
  assert.deepEqual(counts(afhq), { generator: 33_892_995, mapping_network: 3_259_072, style_encoder: 20_949_760, discriminator: 20_852_803 });
  assert.deepEqual(counts(small), { generator: 1_584_579, mapping_network: 2_438_272, style_encoder: 2_887_072, discriminator: 2_854_690 });
});

test('parameter-count formulas: F = 796,672 + 820,800 K; E - D = K (C+1)(S-1) over the shared trunk', () => {
  fc.assert(fc.property(fc.integer({ min: 2, max: 6 }), fc.constantFrom(16, 32), fc.constantFrom(4, 8), (k, img, base) => {
    const cfg: NetConfig = { ...small, img, base, maxConv: 64, domains: k };
    const f = initMapping(key(k), cfg);
    assert.equal(countParams(f), 796_672 + k * 820_800);
    const e = initStyleEncoder(key(k), cfg);
    const d = initDiscriminator(key(k), cfg);
    const c = Math.min(base * 2 ** (Math.log2(img) - 2), 64);
    assert.equal(countParams(e) - countParams(d), k * (c + 1) * (cfg.styleDim - 1));
    [f, e, d].forEach(disposeParams);
  }), { numRuns: 4, seed: 3 });
});

function variance(t: tf.Tensor): number {
  return tf.tidy(() => tf.moments(t).variance.dataSync()[0]);
}

test('residual blocks keep unit variance at init: N(0,1) in, variance ~1 out (random widths, sizes, with/without norm)', () => {
  // Only blocks without pooling: 2x2 average pooling of white noise divides its variance by 4
  // whatever the block does, so unit variance is not a property a pooling block can have.
  fc.assert(fc.property(
    fc.record({ c: fc.integer({ min: 16, max: 64 }), hw: fc.constantFrom(8, 16, 32), normalize: fc.boolean(), seed: fc.nat(1e6) }),
    ({ c, hw, normalize, seed }) => {
      const [kp, kx] = split(key(seed), 2);
      const p = initResBlk(kp, { din: c, dout: c, normalize });
      const v = tf.tidy(() => variance(resBlk(p, normal(kx, [4, c, hw, hw], 'image') as Tensor<[4, number, number, number]>)));
      disposeParams(p);
      assert.ok(v > 0.75 && v < 1.3, `variance ${v.toFixed(3)} (c ${c}, ${hw}px, normalize ${normalize})`);
    }), { numRuns: 12, seed: 5, includeErrorInReport: true });
});

const tiny: NetConfig = { img: 16, base: 8, maxConv: 16, domains: 3, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 0 };

test('style codes are (N, S) for every domain; D logits are (N,); heads are chosen per sample', () => {
  const f = initMapping(key(1), tiny);
  const e = initStyleEncoder(key(2), tiny);
  const d = initDiscriminator(key(3), tiny);
  fc.assert(fc.property(fc.integer({ min: 1, max: 4 }), fc.array(fc.nat(tiny.domains - 1), { minLength: 4, maxLength: 4 }), (n, ys) => {
    tf.tidy(() => {
      const z = normal(key(n), [n, tiny.latentDim] as const);
      const x = normal(key(n + 1), [n, 3, tiny.img, tiny.img] as const, 'image');
      const y = labels(ys.slice(0, n));
      for (let dom = 0; dom < tiny.domains; dom++) {
        const all = labels(new Array(n).fill(dom));
        assert.deepEqual(mappingNetwork(f, z, all).shape, [n, tiny.styleDim]);
        assert.deepEqual(styleEncoder(e, x, all).shape, [n, tiny.styleDim]);
        assert.deepEqual(discriminator(d, x, all).shape, [n]);
      }
      // Mixed domains: sample i gets exactly the output of its own domain's head.
      const mixed = mappingNetwork(f, z, y).arraySync() as number[][];
      ys.slice(0, n).forEach((dom, i) => {
        const own = mappingNetwork(f, z, labels(new Array(n).fill(dom))).arraySync() as number[][];
        assert.deepEqual(mixed[i], own[i]);
      });
    });
  }), { numRuns: 6, seed: 9 });
  [f, e, d].forEach(disposeParams);
});

const cfg: StarGANConfig = { net: tiny, train: { ...defaultTrain, lr: 1e-3, fLr: 1e-4 } };

/** Names of the tensors of `after` whose values differ from `before` (same structure). */
function changed(before: unknown, after: unknown): Set<string> {
  const a = flattenParams(before), b = new Map(flattenParams(after));
  return new Set(a.filter(([n, t]) => {
    const u = b.get(n)!;
    return t !== u && tf.tidy(() => tf.any(tf.notEqual(t, u)).dataSync()[0] === 1);
  }).map(([n]) => n.split('.').slice(0, 2).join('.')));
}

test('each sub-step changes only the networks it should', () => {
  const s0 = initTrainState(key(4), cfg);
  const b = syntheticBatch(key(5), tiny, 2);
  const d1 = dStep(cfg, s0, b, 'latent');
  assert.deepEqual(changed(s0.nets, d1.nets), new Set(['discriminator.main']));
  assert.deepEqual(changed(s0.ema, d1.ema), new Set());
  const d2 = dStep(cfg, d1, b, 'reference');
  assert.deepEqual(changed(d1.nets, d2.nets), new Set(['discriminator.main']));
  const g1 = gStep(cfg, d2, b, 'latent');
  assert.deepEqual([...changed(d2.nets, g1.nets)].map((n) => n.split('.')[0]).sort(), ['generator', 'generator', 'generator', 'generator', 'mapping_network', 'mapping_network', 'style_encoder', 'style_encoder']);
  const g2 = gStep(cfg, g1, b, 'reference');
  assert.deepEqual(new Set([...changed(g1.nets, g2.nets)].map((n) => n.split('.')[0])), new Set(['generator']));
  const e = emaUpdate(cfg, g2);
  assert.deepEqual(changed(g2.nets, e.nets), new Set());
  assert.deepEqual(new Set([...changed(g2.ema, e.ema)].map((n) => n.split('.')[0])), new Set(['generator', 'mapping_network', 'style_encoder']));
  assert.deepEqual([s0, d1, d2, g1, g2, e].map((s) => s.opt.discriminator.step), [0, 1, 2, 2, 2, 2]);
  assert.deepEqual([s0, d1, d2, g1, g2, e].map((s) => s.opt.generator.step), [0, 0, 0, 1, 2, 2]);
  assert.deepEqual([g1, g2].map((s) => [s.opt.mapping_network.step, s.opt.style_encoder.step]), [[1, 1], [1, 1]]);
});

test('w_hpf > 0: the G inside the training loss is the G that sampling runs (both drop the decoder shortcuts)', () => {
  const hpf: StarGANConfig = { net: { ...tiny, wHpf: 1 }, train: cfg.train };
  const s = initTrainState(key(11), hpf);
  const b = syntheticBatch(key(12), hpf.net, 2);
  const { value, grads, parts } = gGrads(hpf, s, b, 'latent');
  const [trained, bySampling] = tf.tidy(() => {
    const fake = translate(s.nets, b.x, mappingNetwork(s.nets.mapping_network, b.z1, b.yTrg), hpf.net);
    const rec = translate(s.nets, fake, styleEncoder(s.nets.style_encoder, b.x, b.y), hpf.net);
    return [parts.cyc.dataSync()[0], meanAbsDiff(rec, b.x).dataSync()[0]];
  });
  assert.ok(Math.abs(trained - bySampling) <= 1e-6 * Math.abs(bySampling), `cycle loss ${trained} in training vs ${bySampling} by the sampling G`);
  tf.dispose([value, ...Object.values(parts)]);
  [grads, s, b].forEach(disposeParams);
});

/** The training fold as the main program runs it: each batch drawn from the state's key. */
function run(state: TrainState, iterations: number): TrainState {
  let s = state;
  for (let i = 0; i < iterations; i++) {
    const b = syntheticBatch(s.key, tiny, 2);
    s = advance((st: TrainState, batch: typeof b) => step(cfg, st, batch), s, b);
    tf.dispose(Object.values(b));
  }
  return s;
}

test('memory is flat: tf.memory().numTensors does not grow over 50 iterations', () => {
  const s1 = run(initTrainState(key(6), cfg), 1);
  const before = liveTensors();
  const s50 = run(s1, 49);
  assert.equal(liveTensors(), before, 'tensors leaked across iterations');
  assert.equal(s50.iteration, 50);
  disposeParams(s50);
});

test('resume equals uninterrupted: stop at k = 2, save, load, continue 2 more (bit-identical)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stargan-resume-'));
  const file = path.join(dir, 'ckpt.safetensors');
  const straight = run(initTrainState(key(7), cfg), 4);
  const first = run(initTrainState(key(7), cfg), 2);
  saveCheckpoint(file, cfg, first);
  disposeParams(first);
  const { cfg: loadedCfg, state } = loadCheckpoint(file, tiny);
  assert.deepEqual(loadedCfg, cfg);
  const resumed = run(state, 2);
  assert.equal(resumed.iteration, 4);
  assert.deepEqual(resumed.key, straight.key);
  const a = flattenParams({ nets: resumed.nets, ema: resumed.ema, opt: resumed.opt });
  const b = new Map(flattenParams({ nets: straight.nets, ema: straight.ema, opt: straight.opt }));
  assert.equal(a.length, b.size);
  for (const [name, t] of a) assert.deepEqual(t.dataSync(), b.get(name)!.dataSync(), `${name} differs after resume`);
  assert.deepEqual(
    Object.fromEntries(Object.entries(resumed.opt).map(([n, o]) => [n, o.step])),
    Object.fromEntries(Object.entries(straight.opt).map(([n, o]) => [n, o.step])),
  );
  [straight, resumed].forEach(disposeParams);
  fs.rmSync(dir, { recursive: true });
});

test('a checkpoint from a different config is refused with the differing fields named', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'stargan-cfg-'));
  const file = path.join(dir, 'ckpt.safetensors');
  const s = initTrainState(key(8), cfg);
  saveCheckpoint(file, cfg, s);
  disposeParams(s);
  assert.throws(() => loadCheckpoint(file, { ...tiny, base: 16 }), /ckpt\.safetensors: checkpoint config differs .*base 8 vs 16/);
  fs.rmSync(dir, { recursive: true });
});

for (const oracle of ['oracle-img16-k2.safetensors', 'oracle-img32-k3-lds0.safetensors']) {
  test(`PyTorch parity: examples/pytorch-parity.ts passes on ${oracle}`, () => {
    const file = path.join(import.meta.dirname, 'fixtures', oracle);
    let out: string;
    try {
      out = execFileSync(process.execPath, ['--import', 'tsx', 'examples/pytorch-parity.ts', file], { encoding: 'utf8', timeout: 120_000 });
    } catch (e) {
      const { stdout, stderr, signal } = e as { stdout?: string; stderr?: string; signal?: string };
      assert.fail(`parity failed${signal ? ` (killed by ${signal}: timed out?)` : ''}:\n${stdout ?? e}\n${stderr ?? ''}`);
    }
    assert.match(out, /^\d+ passed, 0 failed$/m);
  });
}
