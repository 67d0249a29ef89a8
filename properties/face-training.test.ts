/**
 * Training with face masks (w_hpf > 0): every generator pass of a training step gets the batch's
 * masks (D's fake, G's fake, the detached second fake, the cycle); a batch's masks follow each
 * source's crop and flip; files without a detected face get the mean shape; and train-celeba.ts
 * --w-hpf 1 runs on a tiny face folder, finding the landmarks once (kept for --resume).
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import './lib/setup.ts';
import { disposeParams, key, meanAbsDiff, uniform, type Tensor } from '../dsl/index.ts';
import { datasetBatch, syntheticBatch, type Batch } from '../stargan/data/batch.ts';
import { domainFolders } from '../stargan/data/datasets.ts';
import { landmarkTable, viewLandmarks, type LandmarkTable } from '../stargan/data/face-landmarks.ts';
import { createImageCache } from '../stargan/data/sampler.ts';
import { defaultTrain, lambdaDsAt, type NetConfig } from '../stargan/v2/config.ts';
import { generator } from '../stargan/v2/generator.ts';
import { mappingNetwork } from '../stargan/v2/mapping.ts';
import { dGrads, gGrads, initTrainState, type StarGANConfig } from '../stargan/v2/step.ts';
import { styleEncoder } from '../stargan/v2/style-encoder.ts';
import { discriminator } from '../stargan/v2/discriminator.ts';
import { bceWithLogits } from '../dsl/index.ts';
import { runChild } from './lib/child.ts';
import { writeFaceFixture } from './lib/face-fixture.ts';

const hpf: StarGANConfig = { net: { img: 32, base: 8, maxConv: 16, domains: 2, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 1 } as NetConfig, train: defaultTrain };
const num = (t: Tensor<[]> | tf.Scalar) => (t as tf.Tensor).dataSync()[0];

describe('face masks in a training step', () => {
  const s = initTrainState(key(21), hpf);
  const plain = syntheticBatch(key(22), hpf.net, 2);
  const masks = [uniform(key(23), [2, 1, 256, 256] as const, 0, 1, 'image'), uniform(key(24), [2, 1, 256, 256] as const, 0, 1, 'image')] as const;
  const masked: Batch = { ...plain, masks: masks as unknown as Batch['masks'] };
  after(() => {
    [s, plain].forEach(disposeParams);
    tf.dispose([...masks]);
  });

  test('D\'s fake is made with the masks: the D objective equals its definition with them, and differs without', () => {
    const withM = dGrads(hpf, s, masked, 'latent');
    const without = dGrads(hpf, s, plain, 'latent');
    const fakeTerm = tf.tidy(() => {
      const xFake = generator(s.nets.generator, plain.x, mappingNetwork(s.nets.mapping_network, plain.z1, plain.yTrg), hpf.net, masked.masks);
      return num(bceWithLogits(discriminator(s.nets.discriminator, xFake, plain.yTrg), 0));
    });
    assert.ok(Math.abs(num(withM.parts.fake) - fakeTerm) < 1e-5, `D fake term ${num(withM.parts.fake)} vs ${fakeTerm} by definition`);
    assert.ok(Math.abs(num(withM.parts.fake) - num(without.parts.fake)) > 1e-5, 'the masks change nothing');
    [withM, without].forEach((r) => tf.dispose([r.value, ...Object.values(r.parts), ...Object.values(r.grads)]));
  });

  test('G\'s fake, the detached second fake and the cycle all get the masks: each G part equals its definition with masks', () => {
    const r = gGrads(hpf, s, masked, 'latent');
    const expected = tf.tidy(() => {
      const m = masked.masks;
      const sTrg = mappingNetwork(s.nets.mapping_network, plain.z1, plain.yTrg);
      const xFake = generator(s.nets.generator, plain.x, sTrg, hpf.net, m);
      const xFake2 = generator(s.nets.generator, plain.x, mappingNetwork(s.nets.mapping_network, plain.z2, plain.yTrg), hpf.net, m);
      const xRec = generator(s.nets.generator, xFake, styleEncoder(s.nets.style_encoder, plain.x, plain.y), hpf.net, m);
      return {
        adv: num(bceWithLogits(discriminator(s.nets.discriminator, xFake, plain.yTrg), 1)),
        ds: num(meanAbsDiff(xFake, xFake2)),
        cyc: num(meanAbsDiff(xRec, plain.x)),
      };
    });
    for (const k of ['adv', 'ds', 'cyc'] as const) {
      const got = num(r.parts[k]);
      assert.ok(Math.abs(got - expected[k]) <= 1e-5 * Math.max(1, Math.abs(expected[k])), `G ${k}: ${got} in training vs ${expected[k]} with masks in every pass`);
    }
    assert.ok(lambdaDsAt(hpf.train, 0) > 0);
    tf.dispose([r.value, ...Object.values(r.parts), ...Object.values(r.grads).flatMap((g) => tf.util.flatten([g as never]))]);
  });
});

describe('a batch\'s masks follow its augmentation', () => {
  // A face-like set of 68 points (units of the square): a ring, enough for the mask code.
  const pts = Array.from({ length: 68 }, (_, j) => ({ x: 0.3 + 0.15 * Math.cos(j) + (j < 34 ? 0 : 0.1), y: 0.5 + 0.2 * Math.sin(j) }));
  const table: LandmarkTable = new Map([['a.png', pts]]);

  test('viewLandmarks: whole image scales, a crop shifts and scales, a flip mirrors', () => {
    const whole = viewLandmarks(table, { file: 'a.png', box: { x: 0, y: 0, w: 1, h: 1 }, flip: false }, 32);
    assert.ok(whole.every((p, j) => Math.abs(p.x - pts[j].x * 32) < 1e-9 && Math.abs(p.y - pts[j].y * 32) < 1e-9));
    const flipped = viewLandmarks(table, { file: 'a.png', box: { x: 0, y: 0, w: 1, h: 1 }, flip: true }, 32);
    assert.ok(flipped.every((p, j) => Math.abs(p.x - (32 - whole[j].x)) < 1e-9 && p.y === whole[j].y));
    const crop = viewLandmarks(table, { file: 'a.png', box: { x: 0.1, y: 0.2, w: 0.8, h: 0.8 }, flip: false }, 32);
    assert.ok(crop.every((p, j) => Math.abs(p.x - ((pts[j].x - 0.1) / 0.8) * 32) < 1e-9 && Math.abs(p.y - ((pts[j].y - 0.2) / 0.8) * 32) < 1e-9));
  });

  test('files without a face get the mean shape of the found ones; none found is an error', () => {
    const other = pts.map((p) => ({ x: p.x + 0.1, y: p.y }));
    const { table: t, found, missed } = landmarkTable(new Map([['a', pts], ['b', other], ['c', null]]));
    assert.deepEqual([found, missed], [2, ['c']]);
    assert.ok(t.get('c')!.every((p, j) => Math.abs(p.x - (pts[j].x + 0.05)) < 1e-12 && Math.abs(p.y - pts[j].y) < 1e-12));
    assert.throws(() => landmarkTable(new Map([['a', null]])), /no face in any of the 1 images/);
  });
});

describe('train-celeba.ts --w-hpf 1 on a tiny face folder', () => {
  let tmp = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stargan-face-train-'));
    writeFaceFixture(path.join(tmp, 'faces'));
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('datasetBatch with the landmarks carries non-zero masks for every source', () => {
    const ds = domainFolders(path.join(tmp, 'faces'), 'train');
    const file = ds.files[0][0];
    const p = Array.from({ length: 68 }, (_, j) => ({ x: 0.35 + 0.12 * Math.cos(j), y: 0.5 + 0.18 * Math.sin(j) }));
    const t: LandmarkTable = new Map(ds.files.flat().map((f) => [f, p]));
    const b = datasetBatch(ds, createImageCache(), key(3), hpf.net, 4, true, t);
    assert.ok(b.masks, 'no masks in the batch');
    assert.equal(b.masks![0].size, 4 * 256 * 256);
    assert.ok(num(tf.tidy(() => tf.max(b.masks![0]) as tf.Scalar)) > 0.5);
    tf.dispose(Object.values(b));
    assert.ok(file);
  });

  const train = (args: string[]) => runChild(process.execPath, ['--import', 'tsx', 'examples/train-celeba.ts', '--data', path.join(tmp, 'faces'), '--w-hpf', '1',
    '--img', '32', '--base', '8', '--max-conv', '16', '--mapping-hidden', '16', '--style-dim', '8', '--latent-dim', '4', '--batch', '2', '--log-every', '1', '--out', path.join(tmp, 'run'), ...args]);

  test('trains with the masks; face-api runs once per image and the landmarks are kept for --resume', () => {
    const r = train(['--iters', '2']);
    assert.equal(r.status, 0, r.why);
    assert.match(r.stdout, /face landmarks \(face-api, once per image\): 5\/5/);
    assert.match(r.stdout, /face-api found a face in 5\/5 training images/);
    const saved = JSON.parse(fs.readFileSync(path.join(tmp, 'run', 'face-landmarks.json'), 'utf8')) as { files: Record<string, unknown> };
    assert.equal(Object.values(saved.files).filter((v) => Array.isArray(v) && v.length === 68).length, 5);
    const again = train(['--iters', '3', '--resume']);
    assert.equal(again.status, 0, again.why);
    assert.doesNotMatch(again.stdout, /face landmarks \(face-api/);
    assert.match(again.stdout, /face-api found a face in 5\/5/);
  });
});
