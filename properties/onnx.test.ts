/**
 * Law: the ONNX export of G, F, E (stargan/onnx/) computes what our wasm networks compute. A small random config
 * (img 32, w_hpf 0, and w_hpf 1 with face masks as graph inputs), its weights perturbed so that no bias is zero and
 * no norm is the identity, is exported once, loaded in onnxruntime-node, and run at batch 1 and 3 (one export: the
 * batch is dynamic); every output equals ours within 1e-4 relative (norm of the difference over norm of ours).
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
import { disposeParams, image, labels, mapParams, tensor, toTorch, type Tensor } from '../dsl/index.ts';
import { exportOnnx } from '../stargan/onnx/export.ts';
import { closeOnnx, openOnnx, ortUnavailable, runGenerator, runMapping, runStyleEncoder, type Batch } from '../stargan/onnx/runtime.ts';
import type { NetConfig } from '../stargan/v2/config.ts';
import { generator, type Masks } from '../stargan/v2/generator.ts';
import { mappingNetwork } from '../stargan/v2/mapping.ts';
import { initNets, type EmaNets } from '../stargan/v2/nets.ts';
import { styleEncoder } from '../stargan/v2/style-encoder.ts';
import { key } from '../dsl/index.ts';

const small: NetConfig = { img: 32, base: 8, maxConv: 32, domains: 3, styleDim: 16, latentDim: 8, mappingHidden: 32, wHpf: 0 };

/** Skips (printing why) when onnxruntime-node is absent; fails under CI=true. */
async function needsOrt(t: TestContext): Promise<boolean> {
  const reason = await ortUnavailable();
  if (!reason) return true;
  if (process.env.CI === 'true') assert.fail(`${reason}; CI=true requires it (.ci/run installs it with npm ci)`);
  console.log(`skipping "${t.name}": ${reason}`);
  t.skip(reason);
  return false;
}

function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  assert.equal(ours.length, ref.length, 'sizes');
  let d = 0;
  let r = 0;
  for (let i = 0; i < ref.length; i++) {
    d += (ours[i] - ref[i]) ** 2;
    r += ref[i] ** 2;
  }
  return Math.sqrt(d / Math.max(r, Number.MIN_VALUE));
}

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
      const masks = cfg.wHpf > 0 ? ([{ data: maskData[0], shape: maskShape }, { data: maskData[1], shape: maskShape }] as const) : undefined;

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

test('ONNX export of G with the high-pass path (w_hpf 1, masks as inputs) matches ours at batch 1 and 3', async (t) => {
  if (!(await needsOrt(t))) return;
  await checkConfig(t, { ...small, wHpf: 1 });
});
