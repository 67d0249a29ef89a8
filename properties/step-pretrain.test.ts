/**
 * Laws of StEP on StarGAN v2 (stargan/step): the triplet loss vanishes when negatives are far; the
 * neighbour sets hold exactly the nearest / farthest items (brute force), and triplets are drawn from
 * them; the Gram-vector distance is StEP's style distance; each stage trains only its networks and the
 * stage boundaries do what they say; memory stays flat over all four stages; and a run resumed from a
 * checkpoint across a stage boundary equals an uninterrupted one, bit for bit.
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
  advance, disposeParams, flattenParams, gradInput, key, liveTensors, normal, split, tidyTree, typed, uniforms, type Tensor,
} from '../dsl/index.ts';
import { defaultTrain, type NetConfig } from '../stargan/v2/config.ts';
import { syntheticBatch } from '../stargan/data/batch.ts';
import { loadCheckpoint, saveCheckpoint } from '../stargan/checkpoints/ours.ts';
import { compatibleSchedule, defaultStep, stageAt, type StepRunConfig } from '../stargan/step/config.ts';
import { featureMaps, gramVectors, initFeatureNet, pairwiseDistances } from '../stargan/step/features.ts';
import { tripletLoss } from '../stargan/step/losses.ts';
import { neighbourSets, sampleTriplets } from '../stargan/step/neighbours.ts';
import { tripletBatch, tripletPoolFromImages, type TripletPool } from '../stargan/step/triplets.ts';
import {
  fromTrainState, initStepState, nearestCandidates, step, toTrainState, type StepBatch, type StepContext, type StepState,
} from '../stargan/step/step.ts';

type Codes = Tensor<[number, number]>;

test('triplet loss: zero (value and gradient) when every negative is farther than its positive by the margin; the margin when n = p', () => {
  fc.assert(fc.property(
    fc.record({ n: fc.integer({ min: 1, max: 6 }), s: fc.integer({ min: 2, max: 16 }), far: fc.double({ min: 0.5, max: 10, noNaN: true }), seed: fc.nat(1e6) }),
    ({ n, s, far, seed }) => {
      tf.tidy(() => {
        const [ka, kp, kn] = split(key(seed), 3);
        const a = normal(ka, [n, s] as const);
        const p = typed<[number, number]>(tf.add(a, normal(kp, [n, s] as const, 'plain', 0.01)));
        // Negatives at distance >= far + 1 in one coordinate: |a-n|^2 >= 1.25 > |a-p|^2 + 0.1 for these sizes.
        const shift = tf.mul(tf.oneHot(tf.fill([n], 0, 'int32'), s), tf.add(tf.abs(normal(kn, [n, 1] as const)), far + 1));
        const neg = typed<[number, number]>(tf.add(a, shift));
        const dPos = tf.max(tf.sum(tf.squaredDifference(a, p), 1)).dataSync()[0];
        assert.ok(dPos + 0.1 < (far + 1) ** 2, `setup: positives at ${dPos}`);
        assert.equal(tripletLoss(a, p, neg, 0.1).dataSync()[0], 0, 'loss with far negatives');
        const g = gradInput((x: Codes) => tripletLoss(x, p, neg, 0.1))(a);
        assert.equal(tf.max(tf.abs(g)).dataSync()[0], 0, 'gradient with far negatives');
        assert.ok(Math.abs(tripletLoss(a, p, p, 0.1).dataSync()[0] - 0.1) < 1e-6, 'n = p gives the margin');
      });
    }), { numRuns: 8, seed: 1, includeErrorInReport: true });
});

/** Brute-force squared distances of points (P x D), with some exact duplicates (self must still be excluded). */
function points(seed: number, p: number, d: number): number[][] {
  const u = uniforms(key(seed), p * d);
  const pts = Array.from({ length: p }, (_, i) => u.slice(i * d, (i + 1) * d).map((v) => Math.round(v * 20) / 4));
  pts[p - 1] = [...pts[0]];
  pts[p - 2] = [...pts[1]];
  return pts;
}

test('neighbour sets: positives are the 5 nearest, negatives the 13 farthest (brute force), never the anchor; triplets come from them', () => {
  fc.assert(fc.property(fc.record({ p: fc.integer({ min: 19, max: 40 }), d: fc.integer({ min: 1, max: 4 }), seed: fc.nat(1e6) }), ({ p, d, seed }) => {
    const pts = points(seed, p, d);
    const dist = new Float64Array(p * p);
    for (let i = 0; i < p; i++) for (let j = 0; j < p; j++) dist[i * p + j] = pts[i].reduce((s, v, k) => s + (v - pts[j][k]) ** 2, 0);
    const sets = neighbourSets(dist, p, 5, 13);
    for (let i = 0; i < p; i++) {
      const pos = sets.positives[i], neg = sets.negatives[i];
      assert.equal(pos.length, 5);
      assert.equal(neg.length, 13);
      assert.ok(!pos.includes(i) && !neg.includes(i), `anchor ${i} among its own neighbours`);
      const others = Array.from({ length: p }, (_, j) => j).filter((j) => j !== i);
      const dOf = (j: number) => dist[i * p + j];
      const maxPos = Math.max(...pos.map(dOf));
      const minNeg = Math.min(...neg.map(dOf));
      for (const j of others) {
        if (!pos.includes(j)) assert.ok(dOf(j) >= maxPos, `anchor ${i}: ${j} (at ${dOf(j)}) is nearer than positive at ${maxPos}`);
        if (!neg.includes(j)) assert.ok(dOf(j) <= minNeg, `anchor ${i}: ${j} (at ${dOf(j)}) is farther than negative at ${minNeg}`);
      }
    }
    const draws = sampleTriplets(key(seed + 1), [sets, sets], 400);
    for (const t of draws) {
      assert.ok(sets.positives[t.anchor].includes(t.positive), `positive ${t.positive} of anchor ${t.anchor}`);
      assert.ok(sets.negatives[t.anchor].includes(t.negative), `negative ${t.negative} of anchor ${t.anchor}`);
    }
    assert.deepEqual(new Set(draws.map((t) => t.domain)), new Set([0, 1]), 'both domains drawn');
  }), { numRuns: 10, seed: 2, includeErrorInReport: true });
});

test("Gram-vector distances equal StEP's style distance sum_layers mean (G_i - G_j)^2 (brute force)", () => {
  const net = initFeatureNet(key(3));
  tf.tidy(() => {
    const x = normal(key(4), [4, 3, 8, 8] as const, 'image');
    const dist = pairwiseDistances(gramVectors(net, x));
    const grams = featureMaps(net, x).map((f) => {
      const [n, h, w, c] = f.shape;
      const v = f.arraySync() as number[][][][];
      return Array.from({ length: n }, (_, i) => Array.from({ length: c * c }, (_, k) => {
        const [a, b] = [Math.floor(k / c), k % c];
        let sum = 0;
        for (let y = 0; y < h; y++) for (let z = 0; z < w; z++) sum += v[i][y][z][a] * v[i][y][z][b];
        return sum / (c * h * w);
      }));
    });
    for (let i = 0; i < 4; i++) for (let j = 0; j < 4; j++) {
      const want = grams.reduce((s, g) => s + g[i].reduce((t, v, k) => t + (v - g[j][k]) ** 2, 0) / g[i].length, 0);
      const got = dist[i * 4 + j];
      assert.ok(Math.abs(got - want) <= 1e-3 * want + 1e-9, `d(${i}, ${j}) = ${got}, brute force ${want}`);
    }
  });
  disposeParams(net);
});

test('IMLE nearest-candidate search picks the argmin per target within its domain; schedules: stages by iteration, compatible changes', () => {
  const outs = [Float32Array.from([0, 0, 5, 5, 1, 1]), Float32Array.from([9, 9, -1, -1, 3, 3])];
  assert.deepEqual(nearestCandidates(outs, Float32Array.from([4, 4, 4, 4, 0.9, 0.8]), [0, 1, 0], 2), [1, 2, 2]);
  const s = { pretrain: 2, generator: 3, finetune: 0, mapper: 1 };
  assert.deepEqual([0, 1, 2, 4, 5, 6].map((i) => stageAt(s, i)), ['pretrain', 'pretrain', 'generator', 'generator', 'mapper', 'done']);
  assert.ok(compatibleSchedule(s, { ...s, generator: 10 }, 3), 'extending the current stage');
  assert.ok(compatibleSchedule(s, { ...s, mapper: 7 }, 3), 'changing a stage not begun');
  assert.ok(!compatibleSchedule(s, { ...s, pretrain: 3 }, 3), 'changing a finished stage');
  assert.ok(!compatibleSchedule(s, { ...s, generator: 0 }, 3), 'cutting the current stage below what has run');
});

const tiny: NetConfig = { img: 16, base: 8, maxConv: 16, domains: 2, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 0 };
const cfg: StepRunConfig = {
  net: tiny, train: { ...defaultTrain, lr: 1e-3, emaBeta: 0.9 },
  step: { ...defaultStep, stages: { pretrain: 2, generator: 2, finetune: 2, mapper: 2 }, poolSize: 20, imleCandidates: 3 },
};

function syntheticPool(): TripletPool {
  const per = 3 * 16 * 16;
  const images = [0, 1].map((d) => tf.tidy(() => tf.transpose(normal(key(10 + d), [20, 3, 16, 16] as const, 'image'), [0, 3, 1, 2]).dataSync() as Float32Array));
  assert.equal(images[0].length, 20 * per);
  const net = initFeatureNet(key(12));
  const pool = tripletPoolFromImages([0, 1].map((d) => Array.from({ length: 20 }, (_, i) => `d${d}/${i}`)), images, { poolSize: 20, img: 16, nearest: 5, farthest: 13 }, net);
  disposeParams(net);
  return pool;
}

const pool = syntheticPool();
const features = initFeatureNet(key(13));
const ctx: StepContext = { cfg, features };

/** The batch of the state's stage, drawn from its key (as the program does). */
function batchFor(s: StepState, c: StepContext = ctx): StepBatch {
  const stage = stageAt(c.cfg.step.stages, s.iteration);
  if (stage === 'pretrain') return { stage, triplets: tripletBatch(pool, s.key, 2) };
  if (stage === 'done') throw new Error('done');
  return { stage, batch: syntheticBatch(s.key, tiny, 2) };
}

function disposeBatch(b: StepBatch): void {
  tf.dispose(Object.values(b.stage === 'pretrain' ? b.triplets : b.batch));
}

function run(state: StepState, iterations: number): StepState {
  let s = state;
  for (let i = 0; i < iterations; i++) {
    const b = batchFor(s);
    s = advance((st: StepState, batch: StepBatch) => step(ctx, st, batch), s, b);
    disposeBatch(b);
  }
  return s;
}

/** Top-level networks whose tensors differ between two records of the same structure. */
function changed(before: unknown, after: unknown): string[] {
  const b = new Map(flattenParams(after));
  const names = flattenParams(before).filter(([n, t]) => tf.tidy(() => tf.any(tf.notEqual(t, b.get(n)!)).dataSync()[0] === 1)).map(([n]) => n.split('.')[0]);
  return [...new Set(names)].sort();
}

test('each stage trains only its networks: E; then G and D; then G, E and D; then F; EMA and optimiser at the boundaries', () => {
  // Steps without the fold's disposal, so every intermediate state stays readable.
  const states = [initStepState(key(20), cfg)];
  for (let i = 0; i < 8; i++) {
    const b = batchFor(states[i]);
    states.push(tidyTree(() => step(ctx, states[i], b)));
    disposeBatch(b);
  }
  const netsChanged = states.slice(1).map((s, i) => changed(states[i].nets, s.nets));
  assert.deepEqual(netsChanged, [
    ['style_encoder'], ['style_encoder'],
    ['discriminator', 'generator'], ['discriminator', 'generator'],
    ['discriminator', 'generator', 'style_encoder'], ['discriminator', 'generator', 'style_encoder'],
    ['mapping_network'], ['mapping_network'],
  ]);
  assert.deepEqual(changed(states[2].ema, states[1].ema), [], 'stage 1 keeps the EMA');
  assert.deepEqual(changed(states[2].nets.style_encoder, states[3].ema.style_encoder), [], 'after stage 1, EMA E = E');
  assert.deepEqual(states.map((s) => s.opt.style_encoder.step), [0, 1, 2, 2, 2, 1, 2, 2, 2], 'E: Adam restarts at stage 3');
  assert.deepEqual(states.map((s) => s.opt.mapping_network.step), [0, 0, 0, 0, 0, 0, 0, 1, 2]);
  assert.ok(Object.keys(states[1].losses).includes('E/triplet') && !Object.keys(states[3].losses).includes('E/triplet'), 'losses are the current stage\'s');
  tf.dispose([...new Set(states.flatMap((s) => flattenParams(s).map(([, t]) => t)))]);
});

test('memory is flat in every stage: no tensor outside the state accumulates over iterations', () => {
  // The state changes size between stages (each logs different losses), and the engine's per-weight kernel
  // caches (dsl/engine/kernels.ts) hold whichever weights the stage back-propagates through, so the
  // count of live tensors the state does not hold is compared within each stage, after one warm-up iteration.
  const per = 4;
  const long: StepContext = { ...ctx, cfg: { ...cfg, step: { ...cfg.step, stages: { pretrain: per, generator: per, finetune: per, mapper: per } } } };
  const outside = (s: StepState) => liveTensors() - new Set(flattenParams(s).map(([, t]) => t.id)).size;
  let s = initStepState(key(21), long.cfg);
  for (const stage of ['pretrain', 'generator', 'finetune', 'mapper']) {
    const counts: number[] = [];
    for (let i = 0; i < per; i++) {
      const b = batchFor(s, long);
      s = advance((st: StepState, batch: StepBatch) => step(long, st, batch), s, b);
      disposeBatch(b);
      counts.push(outside(s));
    }
    assert.deepEqual(counts.slice(1), new Array(per - 1).fill(counts[1]), `${stage}: tensors outside the state per iteration ${counts.join(', ')}`);
  }
  disposeParams(s);
});

test('resume across stage boundaries equals uninterrupted (save at 3, load, 5 more; bit-identical)', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'step-resume-'));
  const file = path.join(dir, 'ckpt.safetensors');
  const straight = run(initStepState(key(22), cfg), 8);
  const first = run(initStepState(key(22), cfg), 3);
  saveCheckpoint(file, cfg, toTrainState(first), undefined, { step_config: JSON.stringify(cfg.step) });
  disposeParams(first);
  const loaded = loadCheckpoint(file, tiny);
  assert.deepEqual(JSON.parse(loaded.metadata.step_config), cfg.step);
  const resumed = run(fromTrainState(loaded.state), 5);
  const a = flattenParams({ nets: resumed.nets, ema: resumed.ema, opt: resumed.opt });
  const b = new Map(flattenParams({ nets: straight.nets, ema: straight.ema, opt: straight.opt }));
  assert.equal(a.length, b.size);
  for (const [name, t] of a) assert.deepEqual(t.dataSync(), b.get(name)!.dataSync(), `${name} differs after resume`);
  assert.deepEqual(resumed.key, straight.key);
  [straight, resumed].forEach(disposeParams);
  fs.rmSync(dir, { recursive: true });
});

test('triplet batches are a pure function of the key', () => {
  const [a, b] = [tripletBatch(pool, key(30), 3), tripletBatch(pool, key(30), 3)];
  for (const k of ['anchor', 'positive', 'negative', 'y'] as const) assert.deepEqual(a[k].dataSync(), b[k].dataSync(), k);
  tf.dispose([...Object.values(a), ...Object.values(b)]);
});
