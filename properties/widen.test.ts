/**
 * Laws of widening a checkpoint (stargan/checkpoints/widen.ts): the widened G, F, E, D and EMA networks give
 * the old outputs; the copied channels start equal and part after one training step (so the new width is
 * used); Adam starts afresh while the iteration and key are kept; configs whose blocks would change are refused.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import './lib/setup.ts';
import { disposeParams, key, labels, normal, split } from '../dsl/index.ts';
import { readSafetensors, writeSafetensors } from '../dsl/io/safetensors.ts';
import { loadCheckpoint, saveCheckpoint } from '../stargan/checkpoints/ours.ts';
import { widenCheckpoint } from '../stargan/checkpoints/widen.ts';
import { defaultTrain, type NetConfig } from '../stargan/v2/config.ts';
import { discriminator } from '../stargan/v2/discriminator.ts';
import { generator } from '../stargan/v2/generator.ts';
import { mappingNetwork } from '../stargan/v2/mapping.ts';
import { styleEncoder } from '../stargan/v2/style-encoder.ts';
import type { EmaNets, Nets } from '../stargan/v2/nets.ts';
import { initTrainState, step, type StarGANConfig, type TrainState } from '../stargan/v2/step.ts';
import { syntheticBatch } from '../stargan/data/batch.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stargan-widen-'));

/** A trained-for-two-steps state of `net`, saved, widened to `base` and loaded back. */
function widened(net: NetConfig, base: number, seed: number): { before: TrainState; after: TrainState; cfg: StarGANConfig } {
  const cfg: StarGANConfig = { net, train: { ...defaultTrain, lr: 1e-3, fLr: 1e-4 } };
  let s = initTrainState(key(seed), cfg);
  for (let i = 0; i < 2; i++) {
    const b = syntheticBatch(split(key(seed), 3)[i], net, 2);
    const next = step(cfg, s, b);
    [s, b].forEach(disposeParams);
    s = next;
  }
  const [from, to] = [path.join(tmp, `from-${seed}.safetensors`), path.join(tmp, `to-${seed}.safetensors`)];
  saveCheckpoint(from, cfg, s);
  const w = widenCheckpoint(readSafetensors(from), base, key(seed + 1), from);
  writeSafetensors(to, w.tensors, w.metadata);
  const loaded = loadCheckpoint(to);
  return { before: s, after: loaded.state, cfg: loaded.cfg };
}

/** The outputs of G, F, E (and D when given) on fixed random inputs, as flat arrays. */
function outputs(nets: EmaNets & Partial<Pick<Nets, 'discriminator'>>, net: NetConfig): Float32Array[] {
  return tf.tidy(() => {
    const [kx, kz, ks] = split(key(99), 3);
    const x = normal(kx, [3, 3, net.img, net.img], 'image');
    const z = normal(kz, [3, net.latentDim]);
    const s = normal(ks, [3, net.styleDim]);
    const y = labels([0, 1, net.domains - 1]);
    const outs: tf.Tensor[] = [generator(nets.generator, x, s, net), mappingNetwork(nets.mapping_network, z, y), styleEncoder(nets.style_encoder, x, y)];
    if (nets.discriminator) outs.push(discriminator(nets.discriminator, x, y));
    return outs.map((t) => t.dataSync() as Float32Array);
  });
}

const maxGap = (a: Float32Array[], b: Float32Array[]): number =>
  Math.max(...a.map((t, i) => Math.max(...t.map((v, j) => Math.abs(v - b[i][j]) / (1 + Math.abs(v))))));

test('widened G, F, E, D and their EMA copies give the old outputs (any base >= the old, img 16 and 32)', () => {
  let checked = 0;
  fc.assert(fc.property(fc.constantFrom(16, 32), fc.integer({ min: 3, max: 6 }), fc.integer({ min: 1, max: 6 }), fc.integer({ min: 0, max: 1e6 }), (img, base, extra, seed) => {
    const net: NetConfig = { img, base, maxConv: 64, domains: 3, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 0 };
    const { before, after, cfg } = widened(net, base + extra, seed);
    assert.equal(cfg.net.base, base + extra);
    const gaps = [maxGap(outputs(before.nets, net), outputs(after.nets, cfg.net)), maxGap(outputs(before.ema, net), outputs(after.ema, cfg.net))];
    [before, after].forEach(disposeParams);
    checked++;
    assert.ok(gaps.every((g) => g < 1e-4), `relative output change ${gaps.join(', ')} after widening base ${base} -> ${base + extra} at img ${img}`);
  }), { numRuns: 6, seed: 13 });
  assert.equal(checked, 6);
});

test('copied channels start equal and part after one training step; Adam starts afresh, iteration and key are kept', () => {
  const net: NetConfig = { img: 16, base: 4, maxConv: 64, domains: 2, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 0 };
  const { before, after, cfg } = widened(net, 8, 5);
  assert.equal(after.iteration, before.iteration);
  assert.deepEqual(after.key, before.key);
  assert.equal(after.opt.generator.step, 0);
  assert.equal(tf.tidy(() => tf.max(tf.abs(after.opt.generator.v.from_rgb.weight)).dataSync()[0]), 0);
  // from_rgb reads the image (not widened), so its copied filters are exactly equal: channel c and c + 4.
  const filters = (s: TrainState) => tf.tidy(() => {
    const w = tf.transpose(s.nets.generator.from_rgb.weight, [3, 0, 1, 2]); // memory layout (kh, kw, in, out) -> out first
    return [w.slice(0, 4).dataSync(), w.slice(4, 4).dataSync()];
  });
  const [orig, copy] = filters(after);
  assert.deepEqual(copy, orig);
  const b = syntheticBatch(key(6), cfg.net, 2);
  const next = step(cfg, after, b);
  const [o2, c2] = filters(next);
  const parted = Array.from(o2).filter((v, i) => Math.abs(v - c2[i]) > 1e-7).length;
  assert.ok(parted > o2.length / 2, `only ${parted} of ${o2.length} copied filter weights differ after a step: the copies get equal gradients`);
  [before, after, next, b].forEach(disposeParams);
});

test('widening refuses a smaller base, the modconv decoder, and a base whose blocks differ (a 1x1 shortcut lost at max_conv)', () => {
  const net: NetConfig = { img: 16, base: 4, maxConv: 8, domains: 2, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 0 };
  const cfg: StarGANConfig = { net, train: defaultTrain };
  const file = path.join(tmp, 'refuse.safetensors');
  const s = initTrainState(key(1), cfg);
  saveCheckpoint(file, cfg, s);
  disposeParams(s);
  const f = readSafetensors(file);
  assert.throws(() => widenCheckpoint(f, 3, key(0), file), /new base must be an integer >= the checkpoint's 4/);
  assert.throws(() => widenCheckpoint(f, 8, key(0), file), /changes the blocks.*style_encoder\.shared\.\d\.conv1x1/);
  const modconv = { ...f, metadata: { ...f.metadata, net_config: JSON.stringify({ ...net, decoder: 'modconv' }) } };
  assert.throws(() => widenCheckpoint(modconv, 6, key(0), file), /only with the adain decoder/);
});
