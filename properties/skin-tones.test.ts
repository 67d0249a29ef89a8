/**
 * The skin-tone emoji default and what trains on it: the dataset (six domains, files
 * index-aligned across tones, a fixed held-out set disjoint from train, the anchor's split,
 * one-line errors), the paired metric (pure, in [0, 1] units, inside / outside the changed
 * region), and the schedules of long runs: the EMA warm-up (a pure function of the iteration;
 * off = the official constant; StyleGAN2-ADA's ramp) and the late learning-rate decay.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import './lib/setup.ts';
import { disposeParams, key, leaves, mapParams, tidyTree } from '../dsl/index.ts';
import { defaultTrain, emaBetaAt, lrScaleAt, type NetConfig, type TrainConfig } from '../stargan/v2/config.ts';
import { numpyPermutation } from '../stargan/data/numpy-permutation.ts';
import { SKIN_TONE_DOMAINS, skinToneDataset } from '../stargan/data/skin-tones.ts';
import { changedRegion, pairedL1 } from '../stargan/eval/paired.ts';
import { baselines, type HeldOut } from '../stargan/eval/held-out.ts';
import { adamFor, emaUpdate, initTrainState, type StarGANConfig } from '../stargan/v2/step.ts';

/** Asserts f throws one line that contains every fragment. */
function throwsWith(f: () => unknown, ...fragments: string[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    for (const s of fragments) assert.ok(e.message.includes(s), `"${e.message}" should contain "${s}"`);
    return true;
  });
}

/** '1f44d-1f3fb.png' -> '1f44d': the emoji without its tone modifier (and variation selectors). */
const base = (f: string) => path.basename(f, '.png').split('-').filter((c) => !/^(1f3f[b-f]|fe0f)$/.test(c)).join('-'); // toned names drop the variation selector
const tone = (f: string) => path.basename(f, '.png').split('-').find((c) => /^1f3f[b-f]$/.test(c)) ?? 'none';

describe('skinToneDataset', () => {
  const train = skinToneDataset();
  const val = skinToneDataset({ split: 'val' });

  test('six domains, default first; files[d][i] is emoji i in tone d, in every domain', () => {
    assert.deepEqual(train.domains, ['default', 'light', 'medium-light', 'medium', 'medium-dark', 'dark']);
    assert.deepEqual(train.domains, [...SKIN_TONE_DOMAINS]);
    const modifiers = ['none', '1f3fb', '1f3fc', '1f3fd', '1f3fe', '1f3ff'];
    for (const ds of [train, val]) {
      const n = ds.files[0].length;
      assert.equal(ds.items.length, n);
      ds.files.forEach((f, d) => {
        assert.equal(f.length, n, `domain ${ds.domains[d]}`);
        f.forEach((file, i) => {
          assert.equal(tone(file), modifiers[d], file);
          assert.equal(base(file), base(ds.files[0][i]), `${file} vs ${ds.files[0][i]}`);
        });
      });
    }
    assert.match(train.name, /^emoji-tones\[google\]\/train$/);
    assert.match(train.source, /^emoji-datasource-google@\d+\.\d+\.\d+$/);
  });

  test('held out: 60 emoji, disjoint from train, together all of them; fixed (the anchor\'s split)', () => {
    assert.equal(val.files[0].length, 60);
    const trainSet = new Set(train.files[0]);
    assert.ok(val.files[0].every((f) => !trainSet.has(f)), 'a held-out emoji is in train');
    assert.equal(train.files[0].length + val.files[0].length, 316);
    // RandomState(123).permutation(316)[:60], sorted, in emoji.json order (shared/anchors/emoji_learning).
    assert.deepEqual(val.items.slice(0, 8), ['horse_racing', 'woman-swimming', 'golfer', 'point_right', 'ok_hand', '-1', 'open_hands', 'male-artist'].map((n) => `google:${n}`));
    assert.deepEqual(skinToneDataset({ split: 'val' }).files, val.files, 'deterministic');
    const other = skinToneDataset({ split: 'val', seed: 7 });
    assert.notDeepEqual(other.items, val.items, 'the seed picks the set');
  });

  test('numpyPermutation is NumPy\'s RandomState(seed).permutation(n)', () => {
    // Values printed by numpy 1.24: np.random.RandomState(s).permutation(n).tolist()
    assert.deepEqual(numpyPermutation(10, 0), [2, 8, 4, 9, 1, 6, 7, 3, 0, 5]);
    assert.deepEqual(numpyPermutation(316, 123).slice(0, 6), [42, 11, 94, 114, 266, 219]);
    fc.assert(fc.property(fc.integer({ min: 0, max: 300 }), fc.nat(), (n, s) => {
      assert.deepEqual([...numpyPermutation(n, s)].sort((a, b) => a - b), Array.from({ length: n }, (_, i) => i));
    }), { numRuns: 30, seed: 1 });
  });

  test('two vendors: the same emoji in both, one vendor block after the other, still aligned', () => {
    const both = skinToneDataset({ vendors: ['google', 'twitter'], split: 'val' });
    assert.equal(both.files[0].length, 120);
    assert.deepEqual(both.items.slice(60).map((s) => s.replace('twitter:', '')), val.items.map((s) => s.replace('google:', '')));
    for (let d = 0; d < 6; d++) for (let i = 0; i < 60; i++) assert.equal(path.basename(both.files[d][i]), path.basename(both.files[d][i + 60]));
  });

  test('errors: one line naming the option or package', () => {
    throwsWith(() => skinToneDataset({ heldOut: 316 }), 'heldOut must be an integer in 1..315', 'got 316');
    throwsWith(() => skinToneDataset({ heldOut: 0 }), 'heldOut must be an integer in 1..315');
    throwsWith(() => skinToneDataset({ vendors: [] }), 'no vendors');
    throwsWith(() => skinToneDataset({ vendors: ['google', 'google'] }), "vendor 'google' chosen twice");
    throwsWith(() => skinToneDataset({ vendors: ['facebook'] }), 'emoji-datasource-facebook', 'not installed');
  });
});

// ---------------------------------------------------------------------------------------

describe('paired metric', () => {
  // Two 1x3x2x2 images in [-1, 1]: pixel 0 differs by 1.0 (in [0, 1] units) in red only, the rest equal.
  const src = new Float32Array([-1, 1, 1, 1, /* g */ 0, 0, 0, 0, /* b */ 0.5, 0.5, 0.5, 0.5]);
  const tgt = new Float32Array([1, 1, 1, 1, /* g */ 0, 0, 0, 0, /* b */ 0.5, 0.5, 0.5, 0.5]);

  test('changed region: where some channel differs by more than the threshold', () => {
    assert.deepEqual([...changedRegion(src, tgt, 1)], [1, 0, 0, 0]);
    const slight = tgt.map((v, i) => (i === 5 ? v + 0.1 : v)); // green of pixel 1 moves by 0.05 in [0, 1]
    assert.deepEqual([...changedRegion(slight, tgt, 1)], [0, 0, 0, 0]);
    const more = tgt.map((v, i) => (i === 5 ? v + 0.3 : v)); // by 0.15: above the threshold (0.1)
    assert.deepEqual([...changedRegion(more, tgt, 1)], [0, 1, 0, 0]);
  });

  test('L1 in [0, 1] units, a pixel\'s error averaged over channels; inside and outside the region', () => {
    const region = changedRegion(src, tgt, 1);
    const r = pairedL1(src, tgt, region, 1);
    assert.equal(r.inside, 1 / 3); // red differs by 1 at the one changed pixel, green and blue by 0
    assert.equal(r.outside, 0);
    assert.equal(r.all, 1 / 12);
    assert.deepEqual(pairedL1(tgt, tgt, region, 1), { all: 0, inside: 0, outside: 0 });
    const clipped = tgt.map((v) => v * 3); // outputs beyond [-1, 1] count as clipped
    assert.ok(Math.abs(pairedL1(clipped, tgt, region, 1).all - pairedL1(tgt.map((v) => (v === 0.5 ? 1 : v === 0 ? 0 : v)), tgt, region, 1).all) < 1e-7);
    assert.ok(Number.isNaN(pairedL1(src, tgt, new Uint8Array(4), 1).inside), 'empty region: NaN');
  });

  test('symmetric, zero iff equal, and all = the region-weighted mean of inside and outside', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 4 }), fc.integer({ min: 0, max: 1e6 }), (n, side, seed) => {
      const len = n * 3 * side * side;
      let s = seed;
      const rand = () => ((s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32) * 2 - 1;
      const a = Float32Array.from({ length: len }, rand);
      const b = Float32Array.from({ length: len }, rand);
      const region = changedRegion(a, b, n);
      const ab = pairedL1(a, b, region, n);
      const ba = pairedL1(b, a, region, n);
      assert.ok(Math.abs(ab.all - ba.all) < 1e-12);
      const k = region.reduce((x, y) => x + y, 0);
      const total = n * side * side;
      const mix = ((k > 0 ? ab.inside * k : 0) + (k < total ? ab.outside * (total - k) : 0)) / total;
      assert.ok(Math.abs(mix - ab.all) < 1e-9, `${mix} vs ${ab.all}`);
      assert.equal(pairedL1(a, a, region, n).all, 0);
    }), { numRuns: 40, seed: 2 });
  });

  test('baselines: a tone that is a constant offset of the source is exact under the mean shift; identity scores the source', () => {
    const n = 2;
    const size = 3 * 2 * 2;
    const src = Float32Array.from({ length: n * size }, (_, k) => ((k * 37) % 11) / 11 - 0.6);
    const offset = Float32Array.from({ length: size }, (_, j) => (j % 3) * 0.1 - 0.05);
    const toned = Float32Array.from(src, (v, k) => v + offset[k % size]);
    const mean = (x: Float32Array) => Float32Array.from({ length: size }, (_, j) => (x[j] + x[size + j]) / 2);
    const set: HeldOut = {
      n, img: 2, srcDomain: 0, real: [src, toned], trainMean: [mean(src), mean(toned)],
      targets: [{ domain: 1, region: changedRegion(src, toned, n), ref: toned }],
    };
    const b = baselines(set);
    assert.ok(b.meanShift.all < 1e-7, `mean shift ${b.meanShift.all}`);
    assert.deepEqual(b.identity, pairedL1(src, toned, set.targets[0].region, n));
    assert.ok(b.identity.all > 0.01 && b.domainMean.all > 0.01);
  });

  test('errors: sizes that do not match', () => {
    throwsWith(() => pairedL1(src, tgt.subarray(0, 8), new Uint8Array(4), 1), 'errorSums', 'differ in size');
    throwsWith(() => pairedL1(src, tgt, new Uint8Array(3), 1), 'errorSums', 'region has 3 pixels');
    throwsWith(() => changedRegion(src, tgt, 5), 'changedRegion', 'not 5 images');
  });
});

// ---------------------------------------------------------------------------------------

describe('EMA warm-up', () => {
  const off: TrainConfig = defaultTrain;
  const ramp: TrainConfig = { ...defaultTrain, emaRampup: 0.05 };

  test('off (default, and absent in old checkpoints): the official constant 0.999 at every iteration', () => {
    const { emaRampup: _, ...old } = defaultTrain;
    for (const it of [0, 1, 7, 600, 1e5, 1e7]) {
      assert.equal(emaBetaAt(off, it), 0.999);
      assert.equal(emaBetaAt(old, it), 0.999);
    }
  });

  test('ramp: StyleGAN2-ADA\'s beta = 0.5 ** (batch / min(ema_kimg * 1000, cur_nimg * rampup)), whatever the batch', () => {
    for (const batch of [1, 8, 32]) {
      const emaNimg = batch * Math.log(0.5) / Math.log(0.999); // ema_kimg * 1000 of a 0.999 EMA at this batch
      for (const it of [0, 1, 2, 10, 100, 600, 5000, 13_000, 14_000, 1e6]) {
        const curNimg = it * batch; // images seen before this update
        const ref = 0.5 ** (batch / Math.max(Math.min(emaNimg, curNimg * 0.05), 1e-8));
        assert.ok(Math.abs(emaBetaAt(ramp, it) - ref) < 1e-12, `batch ${batch}, iteration ${it}: ${emaBetaAt(ramp, it)} vs ${ref}`);
      }
    }
    assert.equal(emaBetaAt(ramp, 0), 0, 'the first update copies the networks');
    assert.equal(emaBetaAt(ramp, 20_000), 0.999, 'exactly the target once the ramp is over');
  });

  test('ramp: monotone in the iteration, below the target until it reaches it; a pure function', () => {
    fc.assert(fc.property(fc.double({ min: 0.001, max: 1, noNaN: true }), fc.constantFrom(0.99, 0.999, 0.9999), fc.nat(1e6), fc.nat(1e6), (r, beta, a, b) => {
      const t = { ...defaultTrain, emaRampup: r, emaBeta: beta };
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      assert.ok(emaBetaAt(t, lo) <= emaBetaAt(t, hi));
      assert.ok(emaBetaAt(t, hi) <= beta);
      assert.equal(emaBetaAt(t, lo), emaBetaAt({ ...t }, lo));
    }), { numRuns: 200, seed: 4 });
  });

  test('the step uses it: at iteration 0 the ramped EMA equals the networks, the official one does not', () => {
    const net: NetConfig = { img: 16, base: 4, maxConv: 8, domains: 2, styleDim: 4, latentDim: 4, mappingHidden: 8, wHpf: 0 };
    const before = tf.memory().numTensors;
    for (const [train, copies] of [[ramp, true], [off, false]] as const) {
      const cfg: StarGANConfig = { net, train };
      const s = initTrainState(key(1), cfg);
      const g = tidyTree(() => mapParams((t) => tf.add(t, 0.5), s.nets.generator)); // the networks moved away from their EMA copies
      const e = emaUpdate(cfg, { ...s, nets: { ...s.nets, generator: g } });
      const diff = Math.max(...leaves(e.ema.generator).map((t, i) => tf.tidy(() => tf.max(tf.abs(tf.sub(t, leaves(g)[i]))).dataSync()[0])));
      assert.equal(diff === 0, copies, `iteration 0, rampup ${train.emaRampup}: max |ema - nets| = ${diff}`);
      disposeParams(e.ema);
      disposeParams(g);
      disposeParams(s.nets);
      disposeParams(s.ema);
      disposeParams(s.opt);
    }
    assert.equal(tf.memory().numTensors, before);
  });
});

describe('learning-rate decay', () => {
  test('off (default, and absent in old checkpoints): lr and f-lr constant at every iteration', () => {
    const { lrDecayStart: _, lrDecayIters: __, ...old } = { ...defaultTrain, lrDecayStart: 0, lrDecayIters: 0 };
    for (const it of [0, 1, 600, 1e5, 1e7]) {
      assert.equal(lrScaleAt(defaultTrain, it), 1);
      assert.equal(lrScaleAt(old, it), 1);
      assert.equal(adamFor(old, 'generator', it).lr, defaultTrain.lr);
      assert.equal(adamFor(old, 'mapping_network', it).lr, defaultTrain.fLr);
    }
  });

  test('linear to 0 (pix2pix\'s n_epochs_decay): 1 up to the start, 0 from start + iters on, monotone, both learning rates alike', () => {
    fc.assert(fc.property(fc.nat(1e5), fc.integer({ min: 1, max: 1e5 }), fc.nat(3e5), fc.nat(3e5), (start, iters, a, b) => {
      const t: TrainConfig = { ...defaultTrain, lr: 5e-4, lrDecayStart: start, lrDecayIters: iters };
      const [lo, hi] = a <= b ? [a, b] : [b, a];
      assert.ok(lrScaleAt(t, lo) >= lrScaleAt(t, hi));
      assert.equal(lrScaleAt(t, Math.min(lo, start)), 1);
      assert.equal(lrScaleAt(t, start + iters + lo), 0);
      const mid = start + Math.floor(iters / 2);
      assert.ok(Math.abs(lrScaleAt(t, mid) - (1 - Math.floor(iters / 2) / iters)) < 1e-12);
      assert.equal(adamFor(t, 'generator', mid).lr, 5e-4 * lrScaleAt(t, mid));
      assert.equal(adamFor(t, 'mapping_network', mid).lr, t.fLr * lrScaleAt(t, mid));
    }), { numRuns: 200, seed: 5 });
  });
});
