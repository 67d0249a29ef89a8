/**
 * Law: the ONNX export of G, F, E (stargan/onnx/) computes what our wasm networks compute. A small random config
 * (img 32, w_hpf 0, w_hpf 1 with face masks as graph inputs, and the modulated-conv decoder), its weights perturbed so that no bias is zero and
 * no norm is the identity, is exported once, loaded in onnxruntime-node, and run at batch 1 and 3 (one export: the
 * batch is dynamic); every output equals ours within 1e-4 relative (norm of the difference over norm of ours).
 * Official PyTorch checkpoints exported the same way reproduce PyTorch's own outputs (fixtures of interop.test.ts and
 * highpass.test.ts: F, E, G of an img 32 K 3 checkpoint; G with w_hpf 1 and face masks at img 64, skips at 32 and 64 px).
 * The programs agree: translate.ts --engine ort on export-onnx.ts's files writes the wasm engine's PNGs.
 * onnxruntime-node is an optional dependency: without it the test is skipped with the reason printed, and fails
 * under CI=true (.ci/run installs it with `npm ci`).
 */
import './lib/setup.ts';
import { test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { PNG } from 'pngjs';
import { needsOrt, relErr } from './lib/ort.ts';
import { assertExitsOk, runChild } from './lib/child.ts';
import { disposeParams, image, labels, mapParams, tensor, toTorch, type Tensor } from '../dsl/index.ts';
import { encodeOnnxModel } from '../dsl/io/onnx.ts';
import { readSafetensors } from '../dsl/io/safetensors.ts';
import { disposeLoaded, loadAnyCheckpoint } from '../stargan/checkpoints/official.ts';
import { exportOnnx, onnxOpset } from '../stargan/onnx/export.ts';
import { generatorGraph } from '../stargan/onnx/nets.ts';
import { closeOnnx, loadOrt, openOnnx, runGenerator, runMapping, runStyleEncoder, type Batch } from '../stargan/onnx/runtime.ts';
import { needsFaceMasks, type NetConfig } from '../stargan/v2/config.ts';
import { generator, type Masks } from '../stargan/v2/generator.ts';
import { mappingNetwork } from '../stargan/v2/mapping.ts';
import { initNets, type EmaNets } from '../stargan/v2/nets.ts';
import { styleEncoder } from '../stargan/v2/style-encoder.ts';
import { key } from '../dsl/index.ts';

const small: NetConfig = { img: 32, base: 8, maxConv: 32, domains: 3, styleDim: 16, latentDim: 8, mappingHidden: 32, wHpf: 0 };

/** Deterministic data in [lo, hi): a linear congruential sequence (the test needs variety, not statistics). */
function data(count: number, seed: number, lo = -1, hi = 1): Float32Array {
  let s = seed >>> 0;
  return Float32Array.from({ length: count }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + ((hi - lo) * s) / 2 ** 32;
  });
}

/** He-initialised networks with every tensor shifted by a small random amount: biases non-zero, norms not identity. */
function perturbedNets(cfg: NetConfig, seed: number): EmaNets {
  const nets = initNets(key(seed), cfg);
  const ema = { generator: nets.generator, mapping_network: nets.mapping_network, style_encoder: nets.style_encoder };
  let i = 0;
  const out = mapParams((t) => tf.tidy(() => tf.add(t, tf.tensor(data(t.size, seed * 1000 + i++, -0.2, 0.2), t.shape))), ema);
  disposeParams(nets);
  return out;
}

const imageData = (t: Tensor): Float32Array => tf.tidy(() => toTorch(t, 'image').dataSync() as Float32Array);

async function checkConfig(t: TestContext, cfg: NetConfig): Promise<void> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-test-'));
  const ema = perturbedNets(cfg, 7);
  exportOnnx(dir, ema, cfg, ['a', 'b', 'c']);
  const ort = await openOnnx(dir, 1);
  try {
    for (const n of [1, 3]) {
      const y = Array.from({ length: n }, (_, i) => (i + 1) % cfg.domains);
      const x: Batch = { data: data(n * 3 * cfg.img * cfg.img, n), shape: [n, 3, cfg.img, cfg.img] };
      const z: Batch = { data: data(n * cfg.latentDim, 10 + n), shape: [n, cfg.latentDim] };
      const s: Batch = { data: data(n * cfg.styleDim, 20 + n), shape: [n, cfg.styleDim] };
      const maskShape = [n, 1, 64, 64] as const;
      const maskData = [data(n * 64 * 64, 30 + n, 0, 1), data(n * 64 * 64, 40 + n, 0, 1)] as const;
      const masks = needsFaceMasks(cfg) ? ([{ data: maskData[0], shape: maskShape }, { data: maskData[1], shape: maskShape }] as const) : undefined;

      const ours = tf.tidy(() => {
        const xs = image(x.data, [n, 3, cfg.img, cfg.img]);
        const m = masks && ([image(maskData[0], maskShape), image(maskData[1], maskShape)] as Masks<number>);
        return {
          g: imageData(generator(ema.generator, xs, tensor(s.data, [n, cfg.styleDim]), cfg, m)),
          f: mappingNetwork(ema.mapping_network, tensor(z.data, [n, cfg.latentDim]), labels(y)).dataSync() as Float32Array,
          e: styleEncoder(ema.style_encoder, xs, labels(y)).dataSync() as Float32Array,
        };
      });
      const [g, f, e] = await Promise.all([runGenerator(ort, x, s, masks), runMapping(ort, z, y), runStyleEncoder(ort, x, y)]);
      assert.deepEqual(g.shape, [n, 3, cfg.img, cfg.img]);
      for (const [name, theirs, mine] of [['G', g.data, ours.g], ['F', f.data, ours.f], ['E', e.data, ours.e]] as const) {
        const err = relErr(theirs, mine);
        t.diagnostic(`w_hpf ${cfg.wHpf} batch ${n} ${name}: relative error ${err.toExponential(2)}`);
        assert.ok(err < 1e-4, `w_hpf ${cfg.wHpf}, batch ${n}: ${name} through onnxruntime differs from ours by ${err.toExponential(2)} relative`);
      }
    }
  } finally {
    await closeOnnx(ort);
    disposeParams(ema);
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

test('ONNX export of G, F, E (w_hpf 0) matches our wasm forward at batch 1 and 3', async (t) => {
  if (!(await needsOrt(t))) return;
  await checkConfig(t, small);
});

test('ONNX export of G with the modulated-conv decoder matches ours at batch 1 and 3', async (t) => {
  if (!(await needsOrt(t))) return;
  await checkConfig(t, { ...small, decoder: 'modconv' });
});

test('ONNX export of G with the high-pass path (w_hpf 1, masks as inputs) matches ours at batch 1 and 3', async (t) => {
  if (!(await needsOrt(t))) return;
  await checkConfig(t, { ...small, wHpf: 1 });
});

test("ONNX export of G with the high-pass path on every pixel (hpfMask 'whole', no mask inputs) matches ours", async (t) => {
  if (!(await needsOrt(t))) return;
  await checkConfig(t, { ...small, wHpf: 1, hpfMask: 'whole' });
});

const FIX = path.join(import.meta.dirname, 'fixtures', 'interop');
const ioBatch = (io: Map<string, { data: ArrayLike<number>; shape: readonly number[] }>, name: string): Batch => {
  const e = io.get(`io.${name}`) ?? assert.fail(`fixture lacks io.${name}`);
  return { data: Float32Array.from(e.data), shape: e.shape };
};

test('an official PyTorch checkpoint exported to ONNX gives PyTorch\'s F, E, G outputs (rel < 1e-4)', async (t) => {
  if (!(await needsOrt(t))) return;
  const loaded = loadAnyCheckpoint(path.join(FIX, 'img32_k3_nets_ema_legacy.ckpt'));
  const io = readSafetensors(path.join(FIX, 'img32_k3_io.safetensors')).tensors;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-test-'));
  exportOnnx(dir, loaded.ema, loaded.net);
  disposeLoaded(loaded);
  const ort = await openOnnx(dir, 1);
  try {
    const y = Array.from(io.get('io.y')!.data);
    const x = ioBatch(io, 'x');
    const s = await runMapping(ort, ioBatch(io, 'z'), y);
    const got = { s_latent: s, s_reference: await runStyleEncoder(ort, x, y), x_fake: await runGenerator(ort, x, s) };
    for (const [name, b] of Object.entries(got)) {
      const err = relErr(b.data, ioBatch(io, name).data);
      assert.ok(err < 1e-4, `${name}: relative error ${err.toExponential(2)} against PyTorch`);
    }
  } finally {
    await closeOnnx(ort);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('G with w_hpf 1 exported to ONNX, masks as inputs, gives the official masked forward pass (rel < 1e-4)', async (t) => {
  if (!(await needsOrt(t))) return;
  const file = path.join(FIX, 'img64_hpf_masked.safetensors');
  const { tensors, metadata } = readSafetensors(file);
  const cfg = JSON.parse(metadata.net_config) as NetConfig;
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-test-'));
  const model = path.join(dir, 'generator.onnx');
  fs.writeFileSync(model, encodeOnnxModel({ graph: generatorGraph(tensors, cfg, file), opset: onnxOpset, producer: 'test' }));
  const ort = await loadOrt();
  const session = await ort.InferenceSession.create(model, { intraOpNumThreads: 1 });
  try {
    const feed = (n: string) => new ort.Tensor('float32', ioBatch(tensors, n).data, ioBatch(tensors, n).shape);
    const out = (await session.run({ x: feed('x'), s: feed('s'), mask0: feed('mask0'), mask1: feed('mask1') })).out;
    const err = relErr(out.data as Float32Array, ioBatch(tensors, 'x_fake').data);
    assert.ok(err < 1e-4, `G with masks: relative error ${err.toExponential(2)} against PyTorch`);
  } finally {
    await session.release();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('export-onnx.ts, then translate.ts --engine ort --onnx DIR writes the PNGs of the wasm engine (within one 8-bit level)', async (t) => {
  if (!(await needsOrt(t))) return;
  const root = path.resolve(import.meta.dirname, '..');
  const ckpt = path.join(root, 'docs', 'demo', 'checkpoint.safetensors');
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'onnx-programs-'));
  const run = (program: string, args: string[]) => {
    const r = runChild(process.execPath, ['--import', 'tsx', `examples/${program}.ts`, ...args], { cwd: root });
    assertExitsOk(r);
    return r.stdout;
  };
  try {
    const inputs = path.join(tmp, 'in');
    fs.mkdirSync(inputs);
    const emoji = path.join(root, 'node_modules', 'emoji-datasource-google', 'img', 'google', '64');
    for (const f of ['1f44b.png', '1f44d.png']) fs.copyFileSync(path.join(emoji, f), path.join(inputs, f));
    assert.match(run('export-onnx', [ckpt, '--out', path.join(tmp, 'onnx')]), /generator\.onnx/);
    const common = [ckpt, '--input', inputs, '--target', '3', '--samples', '2', '--psi', '0.7'];
    run('translate', [...common, '--out', path.join(tmp, 'wasm')]);
    run('translate', [...common, '--out', path.join(tmp, 'ort'), '--engine', 'ort', '--onnx', path.join(tmp, 'onnx')]);
    const files = fs.readdirSync(path.join(tmp, 'wasm'));
    assert.equal(files.length, 5, 'two sources x two styles, and the grid');
    for (const f of files) {
      const [a, b] = ['wasm', 'ort'].map((e) => PNG.sync.read(fs.readFileSync(path.join(tmp, e, f))).data);
      const worst = a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i])), 0);
      assert.ok(worst <= 1, `${f}: the engines differ by ${worst} 8-bit levels`);
    }
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
});
