/**
 * Law: weights cross between the official PyTorch StarGAN v2 and this project unchanged, in both directions.
 * - Checkpoints written by torch.save (legacy and zip, with and without a discriminator, w_hpf = 0 and > 0) load with
 *   loadAnyCheckpoint, their config is inferred from the shapes alone, and our networks reproduce PyTorch's outputs.
 * - inferNetConfig refuses non-official names and inconsistent shapes with one-line errors naming the file.
 * - Our networks exported as safetensors or as a torch.save .ckpt load into PyTorch with load_state_dict(strict=True)
 *   and give our outputs (live PyTorch, Debian's /usr/bin/python3: skipped with a reason when it lacks torch, failed under CI=true).
 * Fixtures come from properties/fixtures/interop/make_fixtures.py.
 *
 * Over 400 lines because the live PyTorch round trip carries its Python half inline (one script, run once).
 */
import { errorOf } from './lib/errors.ts';
import { needsTorch, python, runChild } from './lib/child.ts';
import './lib/setup.ts';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { disposeParams, flattenParams, fromTorch, key, logicalShape, mapParams, roleOf, toTorch, type Labels, type Tensor } from '../dsl/index.ts';
import { readSafetensors, writeSafetensors, type Entry } from '../dsl/io/safetensors.ts';
import { saveCheckpoint } from '../stargan/checkpoints/ours.ts';
import { defaultTrain, type NetConfig } from '../stargan/v2/config.ts';
import { discriminator } from '../stargan/v2/discriminator.ts';
import { generator } from '../stargan/v2/generator.ts';
import { disposeLoaded, loadAnyCheckpoint, readCheckpointEntries } from '../stargan/checkpoints/official.ts';
import { exportSafetensors, exportTorchCheckpoint } from '../stargan/checkpoints/export.ts';
import { inferNetConfig, inferNetConfigWithNotes } from '../stargan/checkpoints/infer.ts';
import { officialShapes, type Parts } from '../stargan/checkpoints/names.ts';
import { mappingNetwork } from '../stargan/v2/mapping.ts';
import { initNets, netNames, type EmaNets, type Nets } from '../stargan/v2/nets.ts';
import { initTrainState } from '../stargan/v2/step.ts';
import { styleEncoder } from '../stargan/v2/style-encoder.ts';

const ROOT = path.resolve(import.meta.dirname, '..');
const FIX = path.join(import.meta.dirname, 'fixtures', 'interop');
const fixture = (name: string): string => path.join(FIX, name);
const tmpDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'interop-test-'));

function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  assert.equal(ours.length, ref.length, 'sizes');
  return norm(Array.from(ours, (v, i) => v - ref[i])) / Math.max(norm(ref), Number.MIN_VALUE);
}


/** Inputs of an io file as typed tensors: x (N,3,H,W) from NCHW data, y labels, z latents. */
function inputs(io: Map<string, Entry>) {
  const get = (n: string) => io.get(`io.${n}`) ?? assert.fail(`io file lacks io.${n}`);
  const x = get('x');
  const y = get('y');
  const z = get('z');
  return {
    x: fromTorch<[number, 3, number, number]>(tf.tensor(x.data, [...x.shape]), 'image'),
    y: tf.tensor(y.data, [...y.shape], 'int32') as Labels,
    z: fromTorch<[number, number]>(tf.tensor(z.data, [...z.shape]), 'plain'),
  };
}

/** Our F(z,y), E(x,y), G(x, F(z,y)) (NCHW) and, when D is given, D(x,y), as flat arrays. */
function ourOutputs(ema: EmaNets, d: Nets['discriminator'] | undefined, io: Map<string, Entry>, wHpf: number): Record<string, Float32Array> {
  return tf.tidy(() => {
    const { x, y, z } = inputs(io);
    const s = mappingNetwork(ema.mapping_network, z, y);
    const out: Record<string, Float32Array> = {
      'io.s_latent': s.dataSync() as Float32Array,
      'io.s_reference': styleEncoder(ema.style_encoder, x, y).dataSync() as Float32Array,
      'io.x_fake': toTorch(generator(ema.generator, x, s as Tensor<[number, number]>, { wHpf }), 'image').dataSync() as Float32Array,
    };
    if (d) out['io.d_logits'] = discriminator(d, x, y).dataSync() as Float32Array;
    return out;
  });
}

const ioConfig = (file: string): NetConfig => JSON.parse(readSafetensors(file).metadata.net_config) as NetConfig;

// ---------------------------------------------------------------------------------------------------------

describe('official checkpoints written by torch.save', () => {
  const cases = [
    { ckpt: 'img16_k2_nets_legacy.ckpt', io: 'img16_k2_io.safetensors', d: true },
    { ckpt: 'img16_k2_nets_ema_zip.ckpt', io: 'img16_k2_io.safetensors', d: false },
    { ckpt: 'img32_k3_nets_zip.ckpt', io: 'img32_k3_io.safetensors', d: true },
    { ckpt: 'img32_k3_nets_ema_legacy.ckpt', io: 'img32_k3_io.safetensors', d: false },
    { ckpt: 'img16_k2_hpf_nets_ema_zip.ckpt', io: 'img16_k2_hpf_io.safetensors', d: false },
    { ckpt: 'img16_k2_hpf_release_nets_ema_legacy.ckpt', io: 'img16_k2_hpf_io.safetensors', d: false, wHpf: 1 },
  ];
  for (const c of cases) {
    test(`${c.ckpt}: config inferred from shapes, and F, E, G${c.d ? ', D' : ''} match PyTorch (rel < 1e-4)`, () => {
      const file = fixture(c.ckpt);
      const want = ioConfig(fixture(c.io));
      const expected = { ...want, wHpf: c.wHpf ?? want.wHpf };
      assert.deepEqual(inferNetConfig(readCheckpointEntries(file).entries, file), expected);
      const loaded = loadAnyCheckpoint(file);
      assert.equal(loaded.source, 'official-ckpt');
      assert.deepEqual(loaded.net, expected);
      assert.equal(loaded.nets !== undefined, c.d, 'nets (with D) present exactly when the file has a discriminator');
      const io = readSafetensors(fixture(c.io)).tensors;
      const ours = ourOutputs(loaded.ema, loaded.nets?.discriminator, io, loaded.net.wHpf);
      assert.equal(Object.keys(ours).length, c.d ? 4 : 3);
      for (const [name, v] of Object.entries(ours)) {
        const err = relErr(v, io.get(name)!.data);
        assert.ok(err < 1e-4, `${name}: relative error ${err.toExponential(2)}`);
      }
      if (c.wHpf !== undefined) assert.match(loaded.notes.join('\n'), /assumed w_hpf = 1/);
      disposeLoaded(loaded);
    });
  }

  test('a truncated official checkpoint gives a one-line error naming the file (legacy and zip)', () => {
    const dir = tmpDir();
    try {
      for (const name of ['img16_k2_nets_legacy.ckpt', 'img16_k2_nets_ema_zip.ckpt']) {
        const bytes = fs.readFileSync(fixture(name));
        for (const keep of [0.5, 0.98]) {
          const file = path.join(dir, `cut-${keep}-${name}`);
          fs.writeFileSync(file, bytes.subarray(0, Math.floor(bytes.length * keep)));
          const msg = errorOf(() => loadAnyCheckpoint(file), file);
          assert.match(msg, /truncated|corrupt|end of central directory|past the end/i, msg);
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('inferNetConfig refuses what is not an official StarGAN v2 checkpoint', () => {
  const file = fixture('img16_k2_nets_legacy.ckpt');
  const entries = () => readCheckpointEntries(file).entries;
  const rename = (m: Map<string, Entry>, f: (k: string) => string) => new Map([...m].map(([k, e]) => [f(k), e]));

  test('renamed networks: names the file and what was expected', () => {
    const msg = errorOf(() => inferNetConfig(rename(entries(), (k) => k.replace(/^generator\./, 'gen.')), file), file);
    assert.match(msg, /no 'generator\.\*' tensors .*found: .*gen/);
  });

  test('a garbled parameter name inside a network is an unexpected tensor, and its original is missing', () => {
    const m = rename(entries(), (k) => k.replace('style_encoder.shared.1.conv2.bias', 'style_encoder.shared.1.conv2.b'));
    const msg = errorOf(() => inferNetConfig(m, file), file);
    assert.match(msg, /missing tensor 'style_encoder\.shared\.1\.conv2\.bias'|unexpected tensor 'style_encoder\.shared\.1\.conv2\.b'/);
    const extra = new Map(entries()).set('mapping_network.shared.8.weight', { dtype: 'F32', shape: [2, 2], data: new Float32Array(4) });
    assert.match(errorOf(() => inferNetConfig(extra, file), file), /unexpected tensor 'mapping_network\.shared\.8\.weight'/);
  });

  test('inconsistent shapes: a missing domain head, a wrong width, a generator of the wrong depth', () => {
    const noHead = new Map([...entries()].filter(([k]) => !k.startsWith('mapping_network.unshared.1.')));
    assert.match(errorOf(() => inferNetConfig(noHead, file), file), /inconsistent number of domains: 1 \(mapping_network heads\) vs 2/);
    const m = entries();
    const w = m.get('generator.to_rgb.2.weight')!;
    m.set('generator.to_rgb.2.weight', { ...w, shape: [3, w.shape[1] * 2, 1, 1], data: new Float32Array(w.data.length * 2) });
    assert.match(errorOf(() => inferNetConfig(m, file), file), /tensor 'generator\.to_rgb\.2\.weight' has shape \[3, 16, 1, 1\], expected \[3, 8, 1, 1\]/);
    const shallow = new Map([...entries()].filter(([k]) => !/^generator\.(en|de)code\.1\./.test(k)));
    assert.match(errorOf(() => inferNetConfig(shallow, file), file), /generator has 1 encode and 1 decode blocks/);
    const deep = rename(entries(), (k) => k); // add a third and fourth block by copying block 1
    for (const [k, e] of entries()) {
      const hit = /^generator\.(encode|decode)\.1\.(.*)$/.exec(k);
      if (hit) for (const i of [2, 3]) deep.set(`generator.${hit[1]}.${i}.${hit[2]}`, e);
    }
    assert.match(errorOf(() => inferNetConfig(deep, file), file), /generator has 4 encode blocks, but the style encoder's 2 ResBlks mean img 16/);
  });

  test('a single network\'s state_dict and an optimizer checkpoint get a hint', () => {
    const g = new Map([...entries()].filter(([k]) => k.startsWith('generator.')).map(([k, e]) => [k.slice('generator.'.length), e]));
    assert.match(errorOf(() => inferNetConfig(g, file), file), /single network's state_dict/);
    const opt = new Map(entries());
    opt.set('generator.state.0.exp_avg', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    assert.match(errorOf(() => inferNetConfig(opt, file), file), /optimizer checkpoint/);
  });

  test('DataParallel prefixes are stripped; tensors outside the networks are ignored', () => {
    const m = rename(entries(), (k) => k.replace(/^(generator|style_encoder)\./, '$1.module.'));
    m.set('fan.conv1.weight', { dtype: 'F32', shape: [1], data: new Float32Array(1) });
    const { net, notes } = inferNetConfigWithNotes(m, file);
    assert.equal(net.img, 16);
    assert.match(notes.join('\n'), /generator: stripped the 'module\.' prefix/);
  });
});

/** He-initialised networks with every tensor perturbed (so biases / norms are not trivially 0 / 1). */
function randomNets(cfg: NetConfig, seed: number): Nets {
  const nets = initNets(key(seed), cfg);
  let i = 0;
  const out = mapParams((t) => tf.tidy(() => tf.add(t, tf.randomNormal(t.shape, 0, 0.05, 'float32', seed * 1000 + i++))), nets);
  disposeParams(nets);
  return out;
}

const ema = (n: Nets): EmaNets => ({ generator: n.generator, mapping_network: n.mapping_network, style_encoder: n.style_encoder });

const cfgA: NetConfig = { img: 16, base: 8, maxConv: 16, domains: 2, styleDim: 64, latentDim: 16, mappingHidden: 32, wHpf: 0 };
const cfgH: NetConfig = { img: 32, base: 4, maxConv: 16, domains: 3, styleDim: 32, latentDim: 8, mappingHidden: 32, wHpf: 0.5 };

describe('export', () => {
  test('officialShapes lists exactly our records\' names and torch-layout shapes', () => {
    for (const cfg of [cfgA, cfgH, { ...cfgH, img: 64, maxConv: 12, wHpf: 1 }, { ...cfgA, img: 32, base: 16, maxConv: 8 }]) {
      const nets = initNets(key(1), cfg);
      for (const n of netNames) {
        const ours = new Map(flattenParams(nets[n]).map(([k, t]) => [k, logicalShape(t, roleOf(k, t.rank))]));
        assert.deepEqual(ours, new Map([...officialShapes(n, cfg)].map(([k, s]) => [k, [...s]])), `${n} for ${JSON.stringify(cfg)}`);
      }
      disposeParams(nets);
    }
  });

  test('w_hpf > 0: generator.hpf.filter is written (or left out on request) and inference recovers w_hpf', () => {
    const dir = tmpDir();
    const nets = randomNets(cfgH, 7);
    try {
      const filter = [-1, -1, -1, -1, 8, -1, -1, -1, -1].map((v) => Math.fround(v / 0.5));
      for (const ext of ['safetensors', 'ckpt']) {
        const file = path.join(dir, `hpf.${ext}`);
        (ext === 'ckpt' ? exportTorchCheckpoint : exportSafetensors)(file, ema(nets), cfgH);
        const { entries } = readCheckpointEntries(file);
        const f = entries.get('generator.hpf.filter');
        assert.ok(f, `${ext}: has generator.hpf.filter`);
        assert.deepEqual([...f.shape], [3, 3]);
        assert.deepEqual([...f.data], filter);
        assert.deepEqual(inferNetConfig(entries, file), cfgH);
        const loaded = loadAnyCheckpoint(file);
        assert.deepEqual(loaded.net, cfgH);
        for (const [k, t] of flattenParams(loaded.ema)) {
          const want = flattenParams(ema(nets)).find(([n]) => n === k)![1];
          assert.equal(tf.tidy(() => tf.max(tf.abs(tf.sub(t, want))).dataSync()[0]), 0, k);
        }
        disposeParams(loaded.ema);

        const bare = path.join(dir, `bare.${ext}`);
        (ext === 'ckpt' ? exportTorchCheckpoint : exportSafetensors)(bare, ema(nets), cfgH, { hpfFilter: false });
        const bareEntries = readCheckpointEntries(bare).entries;
        assert.ok(!bareEntries.has('generator.hpf.filter'));
        const { net, notes } = inferNetConfigWithNotes(bareEntries, bare);
        assert.deepEqual(net, { ...cfgH, wHpf: 1 }, 'without the filter, w_hpf = 1 is assumed');
        assert.match(notes.join('\n'), /assumed w_hpf = 1/);
      }
      // The safetensors metadata resolves what shapes cannot: max_conv beyond the widths reached, w_hpf without a filter.
      // (img 16, base 4: the widths 4, 8, 16 never reach a cap of 512.)
      const wide: NetConfig = { ...cfgA, base: 4, maxConv: 512, wHpf: 2 };
      const small = randomNets(wide, 8);
      const file = path.join(dir, 'wide.safetensors');
      exportSafetensors(file, ema(small), wide, { hpfFilter: false });
      assert.deepEqual(inferNetConfigWithNotes(readCheckpointEntries(file).entries, file).net, { ...wide, maxConv: 16, wHpf: 1 });
      const loaded = loadAnyCheckpoint(file);
      assert.deepEqual(loaded.net, wide);
      assert.deepEqual(loaded.notes, []);
      disposeParams([loaded.ema, small]);
      // Networks that do not match the config are refused.
      assert.match(errorOf(() => exportSafetensors(path.join(dir, 'bad.safetensors'), ema(nets), { ...cfgH, domains: 2 }), path.join(dir, 'bad.safetensors')),
        /unexpected tensor 'mapping_network\.unshared\.2\./);
    } finally {
      disposeParams(nets);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('our training checkpoints load with their EMA networks as `ema`', () => {
    const dir = tmpDir();
    const s = initTrainState(key(3), { net: cfgA, train: defaultTrain });
    try {
      const file = path.join(dir, 'ours.safetensors');
      const shifted = { ...s, ema: mapParams((t) => tf.add(t, 1), s.ema) }; // EMA differs from the raw networks
      saveCheckpoint(file, { net: cfgA, train: defaultTrain }, shifted);
      const loaded = loadAnyCheckpoint(file);
      assert.equal(loaded.source, 'stargan-ts');
      assert.deepEqual(loaded.net, cfgA);
      const same = (a: unknown, b: unknown) => flattenParams(a).every(([, t], i) => tf.tidy(() => tf.max(tf.abs(tf.sub(t, flattenParams(b)[i][1]))).dataSync()[0]) === 0);
      assert.ok(same(loaded.ema, shifted.ema), 'ema = the EMA copies');
      assert.ok(same(loaded.nets, s.nets), 'nets = the trained networks');
      disposeParams(shifted.ema);
      disposeParams(loaded.ema);
      disposeParams(loaded.nets!);
    } finally {
      disposeParams(s);
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('CLI: import an official nets_ema.ckpt, export it back as .ckpt, bad flags exit 2', () => {
    const dir = tmpDir();
    const cli = (...args: string[]) => runChild(process.execPath, ['--import', 'tsx', 'examples/import-pytorch.ts', ...args], { cwd: ROOT });
    try {
      const ours = path.join(dir, 'ours.safetensors');
      const src = fixture('img16_k2_nets_ema_zip.ckpt');
      const imp = cli('import', src, '--out', ours, '--seed', '5');
      assert.equal(imp.status, 0, imp.why);
      assert.match(imp.stdout, /"img":16,"base":8,"maxConv":16,"domains":2/);
      assert.match(imp.stdout, /discriminator: none in the file; He-initialised/);
      const back = path.join(dir, 'back.ckpt');
      const exp = cli('export', ours, '--out', back);
      assert.equal(exp.status, 0, exp.why);
      const a = readCheckpointEntries(src).entries;
      const b = readCheckpointEntries(back).entries;
      assert.deepEqual([...b.keys()].sort(), [...a.keys()].sort());
      for (const [k, e] of a) assert.deepEqual(b.get(k)!.data, e.data, k);
      const bad = cli('export', ours, '--out', back, '--bogus');
      assert.equal(bad.status, 2, bad.why);
      assert.match(bad.stderr.trim(), /^import-pytorch: .*bogus.*$/);
      const missing = cli('inspect', path.join(dir, 'nope.ckpt'));
      assert.equal(missing.status, 1, missing.why);
      assert.match(missing.stderr.trim(), /^import-pytorch: .*nope\.ckpt: no such file$/);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('round trip into live PyTorch', () => {
  test('ours -> safetensors / .ckpt -> torch load_state_dict(strict=True) -> the same outputs', (t) => {
    if (!needsTorch(t)) return;
    const dir = tmpDir();
    const jobs: { name: string; weights: string; io: string }[] = [];
    try {
      for (const [tag, cfg, seed] of [['a', cfgA, 11], ['h', cfgH, 12]] as const) {
        const nets = randomNets(cfg, seed);
        // Inputs and our outputs.
        const n = 2;
        const x = tf.tidy(() => tf.randomUniform([n, 3, cfg.img, cfg.img], -1, 1, 'float32', seed));
        const z = tf.tidy(() => tf.randomNormal([n, cfg.latentDim], 0, 1, 'float32', seed + 1));
        const io = new Map<string, Entry>([
          ['io.x', { dtype: 'F32', shape: x.shape, data: x.dataSync() as Float32Array }],
          ['io.y', { dtype: 'I32', shape: [n], data: Int32Array.from({ length: n }, (_, i) => (i + 1) % cfg.domains) }],
          ['io.z', { dtype: 'F32', shape: z.shape, data: z.dataSync() as Float32Array }],
        ]);
        tf.dispose([x, z]);
        for (const [k, v] of Object.entries(ourOutputs(ema(nets), nets.discriminator, io, cfg.wHpf))) io.set(k, { dtype: 'F32', shape: [v.length], data: v });
        const ioFile = path.join(dir, `io_${tag}.safetensors`);
        writeSafetensors(ioFile, io, { net_config: JSON.stringify(cfg) });
        const parts: Parts = nets;
        for (const ext of ['safetensors', 'ckpt']) {
          const file = path.join(dir, `${tag}.${ext}`);
          // Tensors outside the networks (as `fan.*` of a CelebA-HQ checkpoint) travel along, int64 included.
          const extra = new Map<string, Entry>([
            ['fan.bn1.num_batches_tracked', { dtype: 'I32', shape: [], data: Int32Array.of(7) }],
            ['fan.conv1.weight', { dtype: 'F32', shape: [2, 1, 1, 1], data: Float32Array.of(0.5, -2) }],
          ]);
          (ext === 'ckpt' ? exportTorchCheckpoint : exportSafetensors)(file, parts, cfg, tag === 'a' ? { extra } : {});
          jobs.push({ name: `${tag}.${ext}`, weights: file, io: ioFile });
        }
        disposeParams(nets);
      }
      const script = `
import json, struct, sys
from collections import OrderedDict
import numpy as np, torch
sys.dont_write_bytecode = True  # no __pycache__ in the fixtures or anchors directories
sys.path.insert(0, ${JSON.stringify(path.resolve(ROOT, '..', 'shared', 'anchors'))})
sys.path.insert(0, ${JSON.stringify(FIX)})
from hpf_ref import HpfGenerator
from torch_ref import Generator, MappingNetwork, StyleEncoder, Discriminator

def read_st(p):
    b = open(p, 'rb').read()
    n = struct.unpack('<Q', b[:8])[0]
    h = json.loads(b[8:8 + n])
    meta = h.pop('__metadata__', {})
    out = {}
    for k, v in h.items():
        s, e = v['data_offsets']
        dt = {'F32': np.float32, 'I32': np.int32}[v['dtype']]
        out[k] = torch.from_numpy(np.frombuffer(b[8 + n + s:8 + n + e], dtype=dt).reshape(v['shape']).copy())
    return out, meta

results = {}
for job in json.loads(sys.argv[1]):
    if job['weights'].endswith('.ckpt'):
        sd = torch.load(job['weights'], weights_only=True)  # the safe loader accepts it: only allowed globals
        assert type(sd) is dict and all(type(v) is OrderedDict for v in sd.values()), type(sd)
    else:
        flat, _ = read_st(job['weights'])
        sd = {}
        for k, v in flat.items():
            top, rest = k.split('.', 1)
            sd.setdefault(top, OrderedDict())[rest] = v
    io, meta = read_st(job['io'])
    c = json.loads(meta['net_config'])
    img, base, maxc, k, S = c['img'], c['base'], c['maxConv'], c['domains'], c['styleDim']
    G = HpfGenerator(img, base, maxc, S, c['wHpf']) if c['wHpf'] > 0 else Generator(img, base, maxc, S)
    nets = {'generator': G, 'mapping_network': MappingNetwork(c['latentDim'], S, k, c['mappingHidden']),
            'style_encoder': StyleEncoder(img, base, maxc, S, k), 'discriminator': Discriminator(img, base, maxc, k)}
    fan = sd.pop('fan', None)
    assert sorted(sd) == sorted(nets), sorted(sd)
    for name, m in nets.items():
        m.load_state_dict(sd[name], strict=True)
        m.double().eval()
    r = {}
    if c['wHpf'] > 0:
        want = torch.tensor([[-1., -1, -1], [-1, 8, -1], [-1, -1, -1]]) / c['wHpf']
        r['hpf.filter'] = float((sd['generator']['hpf.filter'] - want).abs().max())
    if fan is not None:
        n, w = fan['bn1.num_batches_tracked'], fan['conv1.weight']
        ok = (n.dtype == (torch.int64 if job['weights'].endswith('.ckpt') else torch.int32) and n.shape == () and int(n) == 7
              and w.dtype == torch.float32 and w.reshape(-1).tolist() == [0.5, -2.0])
        r['fan'] = 0.0 if ok else 1.0
    x, y, z = io['io.x'].double(), io['io.y'].long(), io['io.z'].double()
    with torch.no_grad():
        s = nets['mapping_network'](z, y)
        outs = {'io.s_latent': s, 'io.s_reference': nets['style_encoder'](x, y),
                'io.x_fake': nets['generator'](x, s), 'io.d_logits': nets['discriminator'](x, y)}
    for name, ref in outs.items():
        ours = io[name].double().reshape(-1)
        ref = ref.reshape(-1)
        r[name] = float((ours - ref).norm() / ref.norm())
    results[job['name']] = r
print(json.dumps(results))
`;
      const py = runChild(python, ['-c', script, JSON.stringify(jobs)], { stdio: ['ignore', 'pipe', 'pipe'] });
      assert.equal(py.status, 0, `python failed: ${py.why}`);
      const out = py.stdout;
      const results = JSON.parse(out.trim().split('\n').pop()!) as Record<string, Record<string, number>>;
      assert.deepEqual(Object.keys(results).sort(), jobs.map((j) => j.name).sort());
      for (const [job, r] of Object.entries(results)) {
        const checks = ['io.s_latent', 'io.s_reference', 'io.x_fake', 'io.d_logits', ...(job.startsWith('h') ? ['hpf.filter'] : ['fan'])];
        assert.deepEqual(Object.keys(r).sort(), checks.sort(), job);
        for (const [name, err] of Object.entries(r)) {
          if (name === 'hpf.filter') assert.equal(err, 0, `${job}: hpf.filter differs from [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] / w_hpf`);
          else if (name === 'fan') assert.equal(err, 0, `${job}: extra tensors fan.* did not load back (int64 scalar, float weight)`);
          else assert.ok(err < 1e-4, `${job}: ${name} relative error ${err.toExponential(2)}`);
        }
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
