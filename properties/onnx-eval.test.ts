/**
 * Law: evaluation on the ONNX export (--engine ort) measures what evaluation on our wasm networks measures.
 * - The protocol's networks through onnxruntime (stargan/onnx/eval-nets.ts) equal ours within 1e-4 relative, for
 *   F, E, and G with w_hpf 1 both with face masks (built from landmarks, NHWC tensors handed over as NCHW inputs)
 *   and without (zero masks fed, as our skipped high-pass path).
 * - evaluate.ts --engine ort --onnx DIR writes the report of --engine wasm on a tiny paired dataset: the same tasks,
 *   paired L1 within 1e-4 absolute, PSNR within 0.01 dB, FID and LPIPS within 1e-3 relative (+1e-3 absolute).
 *   The fakes are rounded to 8 bits before anything is measured, so a 1e-6 difference can move a pixel one level;
 *   these bounds leave room for a few such pixels, and are orders of magnitude below any real difference.
 * - A --onnx folder exported from another checkpoint is refused by evaluate.ts and translate.ts with one error line
 *   naming the folder and the checkpoint, and a non-zero exit.
 * onnxruntime-node is an optional dependency: without it the tests are skipped with the reason printed, and fail
 * under CI=true.
 */
import './lib/setup.ts';
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { disposeParams, key, normal, toTorch, type Tensor } from '../dsl/index.ts';
import { saveCheckpoint } from '../stargan/checkpoints/ours.ts';
import { tfjsNets } from '../stargan/eval/protocol.ts';
import { ortEvalNets } from '../stargan/onnx/eval-nets.ts';
import { exportOnnx } from '../stargan/onnx/export.ts';
import { closeOnnx, openOnnx } from '../stargan/onnx/runtime.ts';
import { defaultTrain, type NetConfig } from '../stargan/v2/config.ts';
import { faceMasks, type Point } from '../stargan/v2/face-masks.ts';
import { initNets } from '../stargan/v2/nets.ts';
import { initTrainState } from '../stargan/v2/step.ts';
import { needsOrt, relErr } from './lib/ort.ts';
import { runChild, type ChildResult } from './lib/child.ts';
import { pattern, pngBytes, put } from './lib/images.ts';

const torchData = (t: Tensor) => tf.tidy(() => toTorch(t, t.rank === 4 ? 'image' : 'plain').dataSync() as Float32Array);

test('the protocol\'s networks through onnxruntime equal ours (w_hpf 1, with and without face masks; rel < 1e-4)', async (t) => {
  if (!(await needsOrt(t))) return;
  const cfg: NetConfig = { img: 32, base: 8, maxConv: 32, domains: 3, styleDim: 16, latentDim: 8, mappingHidden: 32, wHpf: 1 };
  const all = initNets(key(3), cfg);
  const ema = { generator: all.generator, mapping_network: all.mapping_network, style_encoder: all.style_encoder };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-eval-'));
  exportOnnx(dir, ema, cfg);
  const o = await openOnnx(dir, 1);
  const face: Point[] = Array.from({ length: 68 }, (_, i) => ({ x: 8 + (i % 9) * 2, y: 6 + Math.floor(i / 9) * 3 }));
  const x = tf.tidy(() => tf.tanh(normal(key(4), [2, 3, 32, 32] as const, 'image'))) as Tensor<[number, 3, number, number]>;
  const z = normal(key(5), [2, cfg.latentDim] as const);
  const masks = faceMasks<number>([face, null], cfg.img);
  const nets = { ours: tfjsNets(ema, cfg), ort: ortEvalNets(o) };
  try {
    const run = async (n: typeof nets.ours) => {
      const s = await n.mapping(z, 2);
      const e = await n.styleEncoder(x, 1);
      const outs = [s, e, await n.generator(x, s, masks), await n.generator(x, s, undefined)];
      const data = outs.map(torchData);
      tf.dispose(outs);
      return data;
    };
    const [ours, theirs] = [await run(nets.ours), await run(nets.ort)];
    const maskEffect = relErr(ours[2], ours[3]);
    assert.ok(maskEffect > 1e-3, `the masks should change G's output (relative change ${maskEffect.toExponential(2)})`);
    ['F', 'E', 'G with masks', 'G without masks'].forEach((name, i) => {
      const err = relErr(theirs[i], ours[i]);
      t.diagnostic(`${name}: relative error ${err.toExponential(2)}`);
      assert.ok(err < 1e-4, `${name}: onnxruntime differs from ours by ${err.toExponential(2)} relative`);
    });
  } finally {
    await closeOnnx(o);
    tf.dispose([x, z, ...masks]);
    disposeParams(all);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

/** img 16 and narrow widths: the programs' cost is the feature net's, at its smallest input (75 px). */
const tinyNet: NetConfig = { img: 16, base: 8, maxConv: 16, domains: 2, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 0 };

type Row = Record<string, unknown>;

/** Every number of a report row, by its path ('fid.value', 'paired.model.l1', ...). */
function numbers(v: unknown, at = '', out = new Map<string, number>()): Map<string, number> {
  if (typeof v === 'number') out.set(at, v);
  else if (v && typeof v === 'object') for (const [k, w] of Object.entries(v)) numbers(w, at ? `${at}.${k}` : k, out);
  return out;
}

/** The tolerance of a report number, by what it measures (see the header). */
function tolerance(name: string, wasm: number): number {
  if (/psnr/i.test(name)) return 0.01;
  if (/fid|lpips/i.test(name)) return 1e-3 * Math.abs(wasm) + 1e-3;
  return 1e-4;
}

describe('evaluate.ts --engine ort', () => {
  let tmp = '';
  const ckpt = (seed: number) => path.join(tmp, `seed${seed}.safetensors`);
  const root = path.resolve(import.meta.dirname, '..');
  const program = (name: string, args: string[]): ChildResult => runChild(process.execPath, ['--import', 'tsx', `examples/${name}.ts`, ...args], { cwd: root });
  const evaluate = (seed: number, out: string, extra: string[]) => program('evaluate', [
    '--checkpoint', ckpt(seed), '--data', path.join(tmp, 'data'), '--out', path.join(tmp, out), '--samples', '2', '--feature-size', '75', ...extra,
  ]);
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-eval-programs-'));
    for (const seed of [1, 2]) {
      const cfg = { net: tinyNet, train: defaultTrain };
      const state = initTrainState(key(seed), cfg);
      saveCheckpoint(ckpt(seed), cfg, state, ['cat', 'dog']);
      disposeParams(state);
    }
    for (const [d, name] of ['cat', 'dog'].entries()) {
      for (const split of ['train', 'val']) for (let i = 0; i < 3; i++) put(path.join(tmp, 'data', split, name, `${i}.png`), pngBytes(20, 20, pattern(d, i)));
    }
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  test('gives the report of --engine wasm (both modes, every metric, within the stated tolerances)', async (t) => {
    if (!(await needsOrt(t))) return;
    const exported = program('export-onnx', [ckpt(1), '--out', path.join(tmp, 'onnx1')]);
    assert.equal(exported.status, 0, exported.why);
    const wasm = evaluate(1, 'wasm', []);
    assert.equal(wasm.status, 0, wasm.why);
    const ort = evaluate(1, 'ort', ['--engine', 'ort', '--onnx', path.join(tmp, 'onnx1')]);
    assert.equal(ort.status, 0, ort.why);
    assert.match(ort.stdout, /translations: onnxruntime-node/);
    const rows = (dir: string) => (JSON.parse(fs.readFileSync(path.join(tmp, dir, 'report.json'), 'utf8')) as { rows: Row[] }).rows;
    const [a, b] = [rows('wasm'), rows('ort')];
    assert.deepEqual(b.map((r) => `${r.mode}/${r.task}`), a.map((r) => `${r.mode}/${r.task}`));
    assert.ok(a.every((r) => r.paired), 'the data is paired: every row has paired errors');
    let worst = { name: '', diff: 0 };
    a.forEach((row, i) => {
      const [wa, or] = [numbers(row), numbers(b[i])];
      assert.deepEqual([...or.keys()], [...wa.keys()], `${row.mode}/${row.task}: the same metrics`);
      for (const [name, v] of wa) {
        const diff = Math.abs(or.get(name)! - v);
        if (diff > worst.diff) worst = { name: `${row.mode}/${row.task} ${name}`, diff };
        assert.ok(diff <= tolerance(name, v), `${row.mode}/${row.task} ${name}: wasm ${v}, ort ${or.get(name)} (differ by ${diff.toExponential(2)})`);
      }
    });
    t.diagnostic(`largest difference: ${worst.name} ${worst.diff.toExponential(2)}`);
  });

  test('a --onnx folder of another checkpoint: one error line naming both, non-zero exit (evaluate.ts and translate.ts)', async (t) => {
    if (!(await needsOrt(t))) return;
    const onnx = path.join(tmp, 'onnx2');
    const exported = program('export-onnx', [ckpt(2), '--out', onnx]);
    assert.equal(exported.status, 0, exported.why);
    const oneLine = (r: ChildResult, program: string) => {
      assert.notEqual(r.status, 0, `${program} accepted a foreign --onnx folder:\n${r.stdout}`);
      const lines = r.stderr.split('\n').filter((l) => l && !l.includes('Unknown user config') && !l.startsWith('npm warn'));
      assert.equal(lines.length, 1, `expected one error line, got:\n${r.stderr}`);
      assert.ok(lines[0].includes(`--onnx ${onnx} is not an export of ${ckpt(1)}`), lines[0]);
      assert.match(lines[0], /seed2\.safetensors/, 'names where the folder came from');
    };
    oneLine(evaluate(1, 'mismatch', ['--engine', 'ort', '--onnx', onnx]), 'evaluate.ts');
    const src = put(path.join(tmp, 'in', 'a.png'), pngBytes(16, 16, pattern(0, 0)));
    oneLine(program('translate', [ckpt(1), '--input', src, '--target', 'dog', '--out', path.join(tmp, 'tr'), '--engine', 'ort', '--onnx', onnx]), 'translate.ts');
  });
});
