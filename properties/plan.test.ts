/**
 * Laws of the architecture plan and of the specs built from it: init hands out keys and widths exactly as
 * before the plan existed (pinned digests of the weights), the FLOP model read from the plan counts what the
 * rule says (pinned at w_hpf = 0, where the old model in examples/bench.ts was exact), and a checkpoint loaded
 * into a shapes-only template is init's record: same names, order, layouts and values, nothing else allocated.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import * as tf from '@tensorflow/tfjs-core';
import './lib/setup.ts';
import { disposeParams, flattenParams, flattenSpec, key, liveTensors } from '../dsl/index.ts';
import { recordToEntries } from '../dsl/record-io.ts';
import { loadEmaNets, loadNets } from '../stargan/checkpoints/ours.ts';
import { afhq, small, type NetConfig } from '../stargan/v2/config.ts';
import { forwardFlops, iterationFlops } from '../stargan/v2/flops.ts';
import { initNets, netsSpec } from '../stargan/v2/nets.ts';

const tiny: NetConfig = { img: 32, base: 8, maxConv: 32, domains: 2, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 0 };
const tinyHpf: NetConfig = { img: 32, base: 4, maxConv: 8, domains: 3, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 1 };

/** sha256 over every tensor's name, torch-order shape and float32 bytes. */
function digest(record: unknown): string {
  const h = createHash('sha256');
  for (const [name, e] of recordToEntries(record)) {
    h.update(`${name} ${e.shape.join(',')}\n`).update(new Uint8Array(e.data.buffer, e.data.byteOffset, e.data.byteLength));
  }
  return h.digest('hex');
}

test('init is pinned: the same key gives the weights the code gave before the plan (two configs, w_hpf 0 and 1)', () => {
  // Computed with the init of commit d51e1e8 (loops in generator.ts / trunk.ts); a changed key split, width or
  // block order changes them.
  const want: [NetConfig, Record<string, string>][] = [
    [tiny, {
      generator: '8ae553ea895668a1d44a43f903fa22842e3735e318c761966078d5b751a3778a',
      mapping_network: '33bd7dac5356bbcce2cb7a4956b89daac2bd5a5f2eed2e4e5b762cf19db22ef6',
      style_encoder: 'f252a9889f33497a7f1fb45b94cf337c5eacbcfbde9dbd0c218124fb4d11e387',
      discriminator: '9650fc78f89f051fae803a7c4fe896204e6a6ba08bb595cbba50da11467df36c',
    }],
    [tinyHpf, {
      generator: 'd473965a6dbb3649b3822bab3869f02b73d86e84bf03751107c5335a4551a499',
      mapping_network: '3f149e2c0345b9ccfb2e6cf02c7f570dafed65f5ecf1b726a9ebfc6ba1164ff2',
      style_encoder: '420d923a2990b752cc51946b7f4544d2ba6d64f2e11b672e9ee674bf4565631d',
      discriminator: 'af2ae349c957af9a905c4c52032d91f5e656b59a7461036955558c1b383c3236',
    }],
  ];
  for (const [cfg, digests] of want) {
    const nets = initNets(key(7), cfg);
    assert.deepEqual(Object.fromEntries(Object.entries(nets).map(([n, p]) => [n, digest(p)])), digests, JSON.stringify(cfg));
    disposeParams(nets);
  }
});

test('FLOP model: forward and iteration counts of the rule at w_hpf = 0 (bench config, AFHQ), pinned', () => {
  assert.deepEqual(forwardFlops(small, 8), { G: 10_869_080_064, F: 38_928_384, E: 3_949_461_504, D: 3_948_945_408 });
  assert.equal(iterationFlops(small, 8), 336_015_458_304);
  assert.deepEqual(forwardFlops(afhq, 8), { G: 778_337_648_640, F: 52_035_584, E: 265_014_476_800, D: 265_012_928_512 });
  assert.equal(iterationFlops(afhq, 8), 23_319_218_946_048);
});

test('loading into a shapes-only template gives init\'s record: names, order, layouts, values; nothing left behind but the loaded tensors', () => {
  for (const cfg of [tiny, tinyHpf]) {
    const nets = initNets(key(3), cfg);
    const entries = new Map(recordToEntries(nets));
    const before = liveTensors();
    const loaded = loadNets(entries, cfg, 'mem');
    const want = flattenParams(nets);
    const got = flattenParams(loaded);
    assert.equal(liveTensors() - before, want.length, 'tensors left by loading');
    assert.deepEqual(got.map(([n, t]) => [n, t.shape]), want.map(([n, t]) => [n, t.shape]), 'names, order and memory shapes');
    got.forEach(([n, t], i) => assert.deepEqual(t.dataSync(), want[i][1].dataSync(), n));
    disposeParams(loaded);
    disposeParams(nets);
  }
});

test('a failed load names the tensor and frees what it had loaded', () => {
  const nets = initNets(key(4), tiny);
  const entries = new Map(recordToEntries(nets));
  entries.delete('style_encoder.unshared.1.bias');
  const before = liveTensors();
  assert.throws(() => loadEmaNets(entries, tiny, 'x.safetensors', ''), /^Error: x\.safetensors: missing tensor 'style_encoder\.unshared\.1\.bias'$/);
  assert.equal(liveTensors(), before, 'no tensor left behind');
  tf.dispose(flattenParams(nets).map(([, t]) => t));
});

test('below the channel cap, the trunk\'s last conv and E\'s and D\'s heads read the trunk\'s width, not maxConv', () => {
  // The type checker cannot tell cfg.maxConv from the trunk's width inside init (generic code; docs/types.md),
  // and in the pinned configs above the two are equal. img 16, base 8: two blocks, 8 -> 16 -> 32, cap 512.
  const cfg: NetConfig = { ...tiny, img: 16, base: 8, maxConv: 512, domains: 3, styleDim: 6 };
  const shapes = new Map(flattenSpec(netsSpec(key(0), cfg)).map(([name, s]) => [name, s.shape]));
  assert.deepEqual(shapes.get('style_encoder.shared.4.weight'), [32, 32, 4, 4]);
  assert.deepEqual(shapes.get('style_encoder.unshared.2.weight'), [6, 32]);
  assert.deepEqual(shapes.get('discriminator.main.4.weight'), [32, 32, 4, 4]);
  assert.deepEqual(shapes.get('discriminator.main.6.weight'), [3, 32, 1, 1]);
});
