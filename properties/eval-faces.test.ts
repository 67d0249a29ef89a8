/**
 * evaluate.ts on a tiny face fixture (female/male crops of the photos shipped in
 * @vladmandic/face-api, properties/lib/face-fixture.ts) with a random checkpoint of a w_hpf 1
 * config: the face metrics are reported, named, in the terminal table, report.json and report.csv,
 * with sane ranges; the "source unchanged" baseline scores identity 1; the sources' face masks
 * reach the generator; --faces off drops them.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import './lib/setup.ts';
import { disposeParams, key } from '../dsl/index.ts';
import { saveCheckpoint } from '../stargan/checkpoints/ours.ts';
import { defaultTrain, type NetConfig } from '../stargan/v2/config.ts';
import { initTrainState } from '../stargan/v2/step.ts';
import { runChild } from './lib/child.ts';
import { writeFaceFixture } from './lib/face-fixture.ts';

/** img 256 so that face-api finds the faces (it misses most at 64-128 px); narrow widths keep G cheap. */
const faceNet: NetConfig = { img: 256, base: 8, maxConv: 32, domains: 2, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 1 };

interface FaceScores { detectionRate: number; attributeFlipAccuracy: number; attributeFlipAccuracyDetected: number | null; identityCosineSimilarity: number | null; sameIdentityRate: number | null; outputs: number }
interface Report { faces: { flag: string; metrics: boolean }; notes: string[]; rows: { mode: string; task: string; faces?: Record<'model' | 'source unchanged', FaceScores> }[]; metrics: Record<string, unknown> }

describe('evaluate.ts on a tiny face fixture', () => {
  let tmp = '';
  let ckpt = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stargan-eval-faces-'));
    writeFaceFixture(path.join(tmp, 'faces'));
    ckpt = path.join(tmp, 'checkpoint.safetensors');
    const cfg = { net: faceNet, train: defaultTrain };
    const state = initTrainState(key(2), cfg);
    saveCheckpoint(ckpt, cfg, state, ['female', 'male']);
    disposeParams(state);
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const run = (args: string[]) => runChild(process.execPath, ['--import', 'tsx', 'examples/evaluate.ts', '--checkpoint', ckpt, '--data', path.join(tmp, 'faces'), '--samples', '2', '--feature-size', '75', '--modes', 'latent', ...args]);
  const inUnit = (v: number | null, what: string) => assert.ok(v === null || (v >= 0 && v <= 1), `${what}: ${v}`);

  test('female/male domains: attribute-flip accuracy and identity similarity in the table, JSON and CSV, in range', () => {
    const out = path.join(tmp, 'out');
    const r = run(['--out', out]);
    assert.equal(r.status, 0, r.why);
    assert.match(r.stdout, /attribute-flip accuracy \(face-api gender\/age nets\)/);
    assert.match(r.stdout, /identity similarity \(face-api recognition embeddings\)/);
    assert.match(r.stdout, /face detected %.*attribute-flip acc \(all\).*identity cosine/);
    assert.match(r.stdout, /sources' face masks from face-api's landmarks \(faces found in [34]\/4 validation images/);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    assert.deepEqual(report.faces, { flag: 'auto', metrics: true });
    assert.match(String(report.metrics.attribute_flip), /^attribute-flip accuracy \(face-api gender\/age nets\)/);
    assert.deepEqual(report.rows.map((x) => x.task), ['male2female', 'female2male', 'mean']);
    for (const row of report.rows) {
      const f = row.faces!;
      assert.ok(f, `${row.task}: no face metrics`);
      for (const o of ['model', 'source unchanged'] as const) {
        inUnit(f[o].detectionRate, `${row.task} ${o} detection rate`);
        inUnit(f[o].attributeFlipAccuracy, `${row.task} ${o} flip accuracy`);
        inUnit(f[o].attributeFlipAccuracyDetected, `${row.task} ${o} flip accuracy over detected`);
        inUnit(f[o].sameIdentityRate, `${row.task} ${o} same identity`);
        const cos = f[o].identityCosineSimilarity;
        assert.ok(cos === null || (cos >= -1 && cos <= 1), `${row.task} ${o} cosine ${cos}`);
      }
      assert.equal(f.model.outputs, row.task === 'mean' ? 8 : 4, 'outputs: 2 sources x 2 samples per task');
      // the sources are real faces: found, themselves by identity, and mostly not already the target gender
      assert.ok(f['source unchanged'].detectionRate >= 0.5, `${row.task}: sources detected ${f['source unchanged'].detectionRate}`);
      assert.ok(Math.abs(f['source unchanged'].identityCosineSimilarity! - 1) < 1e-6);
      assert.ok(f['source unchanged'].attributeFlipAccuracy <= 0.5, `${row.task}: sources already flipped ${f['source unchanged'].attributeFlipAccuracy}`);
    }
    const csv = fs.readFileSync(path.join(out, 'report.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 4);
    const header = csv[0].split(',');
    const col = header.indexOf('model_attribute_flip_accuracy');
    assert.ok(col > 0 && header.includes('model_identity_cosine_similarity') && header.includes('source_unchanged_identity_cosine_similarity'));
    const v = Number(csv[1].split(',')[col]);
    assert.ok(v >= 0 && v <= 1, `CSV flip accuracy ${v}`);
  });

  test('--faces off: no face metrics, and the note says the high-pass path is skipped; a bad --faces is one line', () => {
    const out = path.join(tmp, 'off');
    const r = run(['--out', out, '--faces', 'off']);
    assert.equal(r.status, 0, r.why);
    assert.match(r.stdout, /--faces off, so no face masks/);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    assert.ok(report.rows.every((x) => !x.faces));
    const bad = run(['--faces', 'maybe']);
    assert.notEqual(bad.status, 0);
    const lines = bad.stderr.split('\n').filter((l) => l && !l.includes('Unknown user config'));
    assert.equal(lines.length, 1, lines.join('\n'));
    assert.match(lines[0], /--faces/);
  });
});
