/**
 * Law: with face masks given, the w_hpf > 0 generator equals the official forward pass: encoder features at 32 and
 * 64 px are masked (masks resized bilinearly), high-pass filtered and added back after the decoder blocks of the same
 * size. Fixture from properties/fixtures/interop/make_masked_fixture.py (PyTorch, float64 outputs).
 */
import './lib/setup.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { disposeParams, fromTorch, key, toTorch, type Tensor } from '../dsl/index.ts';
import { recordFromEntries } from '../dsl/record-io.ts';
import { readSafetensors } from '../dsl/io/safetensors.ts';
import type { NetConfig } from '../stargan/v2/config.ts';
import { generator, initGenerator, type Masks } from '../stargan/v2/generator.ts';

const file = path.join(import.meta.dirname, 'fixtures', 'interop', 'img64_hpf_masked.safetensors');

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0, n = 0;
  for (let i = 0; i < a.length; i++) {
    d += (a[i] - b[i]) ** 2;
    n += b[i] ** 2;
  }
  return Math.sqrt(d / n);
}

test('w_hpf > 0 with masks: G(x, s, masks) equals the official forward pass (rel < 1e-4), and the masks matter', () => {
  const { tensors, metadata } = readSafetensors(file);
  const cfg = JSON.parse(metadata.net_config) as NetConfig;
  const template = initGenerator(key(0), cfg);
  const g = recordFromEntries(template, tensors, 'generator', file);
  disposeParams(template);
  const get = (n: string) => tensors.get(`io.${n}`) ?? assert.fail(`fixture lacks io.${n}`);
  const [ours, unmasked] = tf.tidy(() => {
    const img = (n: string) => fromTorch<[number, number, number, number]>(tf.tensor(get(n).data, [...get(n).shape]), 'image');
    const x = img('x') as Tensor<[number, 3, number, number]>;
    const s = tf.tensor(get('s').data, [...get('s').shape]) as Tensor<[number, number]>;
    const masks = [img('mask0'), img('mask1')] as unknown as Masks<number>;
    const run = (m?: Masks<number>) => toTorch(generator(g, x, s, cfg, m), 'image').dataSync();
    return [run(masks), run()];
  });
  const want = get('x_fake').data;
  const err = relErr(ours, want);
  assert.ok(err < 1e-4, `G with masks: relative error ${err.toExponential(2)} against PyTorch`);
  assert.ok(relErr(unmasked, want) > 1e-2, 'the masks change the output (the high-pass path runs)');
  disposeParams(g);
});

test("hpfMask 'whole': G(x, s) without masks equals the official G with masks of ones (exactly), and the path runs", () => {
  const { tensors, metadata } = readSafetensors(file);
  const face = JSON.parse(metadata.net_config) as NetConfig;
  const whole: NetConfig = { ...face, hpfMask: 'whole' };
  const g = initGenerator(key(3), face);
  const get = (n: string) => tensors.get(`io.${n}`) ?? assert.fail(`fixture lacks io.${n}`);
  const [onWhole, withOnes, noPath] = tf.tidy(() => {
    const x = fromTorch<[number, number, number, number]>(tf.tensor(get('x').data, [...get('x').shape]), 'image') as Tensor<[number, 3, number, number]>;
    const s = tf.tensor(get('s').data, [...get('s').shape]) as Tensor<[number, number]>;
    const n = x.shape[0];
    // Ones at another size than the skips': resized bilinearly, still ones.
    const ones = [tf.ones([n, 7, 7, 1]), tf.ones([n, 7, 7, 1])] as unknown as Masks<number>;
    const run = (cfg: NetConfig, m?: Masks<number>) => toTorch(generator(g, x, s, cfg, m), 'image').dataSync();
    return [run(whole), run(face, ones), run(face)];
  });
  assert.ok(relErr(onWhole, withOnes) < 1e-6, `whole vs masks of ones: relative difference ${relErr(onWhole, withOnes).toExponential(2)}`);
  assert.ok(relErr(onWhole, noPath) > 1e-2, 'the whole-image path changes the output');
  disposeParams(g);
});
