/**
 * Official StarGAN v1 checkpoints (`torch.save(G.state_dict(), '{iter}-G.ckpt')`, the same for D):
 * written by live PyTorch (Debian's /usr/bin/python3 with the official module structure of
 * properties/fixtures/v1/make_oracle.py; skipped with a reason without it, failed under CI=true),
 * in the zip and the legacy containers, loaded by stargan/checkpoints/official-v1.ts; our G and D
 * must give PyTorch's outputs on a fixed input. Broken files (a missing, an unexpected, a
 * mis-shaped tensor; G and D swapped; a label layout G cannot read) must give one line naming
 * the file and the tensor; examples/translate-v1.ts must turn the files into a grid.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { disposeParams, fromTorch, toTorch, type Tensor } from '../dsl/index.ts';
import { readSafetensors, writeSafetensors, type Entry } from '../dsl/io/safetensors.ts';
import { loadOfficialV1, readOfficialV1 } from '../stargan/checkpoints/official-v1.ts';
import { discriminatorV1 } from '../stargan/v1/discriminator.ts';
import { generatorV1 } from '../stargan/v1/generator.ts';
import { needsTorch, python, runChild } from './lib/child.ts';
import { jpegBytes, pngBytes, pattern, put } from './lib/images.ts';
import './lib/setup.ts';

const FIX = path.resolve('properties/fixtures/v1');
let tmp = '';
before(() => { tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'v1-official-')); });
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

/**
 * Two official-structure models: CelebA-like (c_dim 5, img 32, G 8 channels x 2 blocks, D 4 convs;
 * G zip, D legacy) and Both (5 + 8 + mask 2, img 16, G 4 x 1, D 3 convs; G legacy, D zip). The
 * InstanceNorm affine parameters are perturbed (so a mis-ordered load cannot pass by symmetry)
 * and G is run once in train mode (as the official code always runs it), so its running
 * buffers are in the file as in a real checkpoint. io.safetensors: x, c and PyTorch's G(x, c),
 * D_src(x), D_cls(x), float32.
 */
const script = `
import sys, torch, torch.nn as nn
sys.path.insert(0, ${JSON.stringify(FIX)})
from make_oracle import Generator, Discriminator, save_safetensors
out = sys.argv[1]
torch.manual_seed(20261130)
for name, sizes, img, gdim, grep, ddim, drep, gzip in [('celeba', [5], 32, 8, 2, 4, 4, True), ('both', [5, 8], 16, 4, 1, 4, 3, False)]:
    cdim = sum(sizes) + (len(sizes) if len(sizes) > 1 else 0)
    G, D = Generator(gdim, cdim, grep), Discriminator(img, ddim, sum(sizes), drep)
    with torch.no_grad():
        for m in G.modules():
            if isinstance(m, nn.InstanceNorm2d):
                m.weight.uniform_(0.5, 1.5)
                m.bias.uniform_(-0.5, 0.5)
        x = torch.rand(3, 3, img, img) * 2 - 1
        c = (torch.rand(3, cdim) > 0.5).float()
        y = G(x, c)
        src, cls = D(x)
    torch.save(G.state_dict(), '%s/%s-G.ckpt' % (out, name), _use_new_zipfile_serialization=gzip)
    torch.save(D.state_dict(), '%s/%s-D.ckpt' % (out, name), _use_new_zipfile_serialization=not gzip)
    save_safetensors('%s/%s-io.safetensors' % (out, name), {'x': x, 'c': c, 'y': y, 'src': src, 'cls': cls}, {})
`;

let written = false;
function official(t: import('node:test').TestContext): boolean {
  if (!needsTorch(t)) return false;
  if (!written) {
    const r = runChild(python, ['-c', script, tmp]);
    assert.equal(r.status, 0, r.why);
    written = true;
  }
  return true;
}

function asTensor(e: Entry): tf.Tensor {
  return tf.tensor(e.data, [...e.shape]);
}

function maxAbsDiff(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]);
}

describe('official v1 checkpoints written by PyTorch', () => {
  for (const name of ['celeba', 'both']) {
    test(`${name}: G and D load with the official layout and give PyTorch's outputs`, (t) => {
      if (!official(t)) return;
      const io = readSafetensors(path.join(tmp, `${name}-io.safetensors`)).tensors;
      const o = loadOfficialV1(path.join(tmp, `${name}-G.ckpt`), path.join(tmp, `${name}-D.ckpt`));
      try {
        assert.deepEqual(o.net.datasets.map((d) => [d.name, d.size, d.kind]), name === 'celeba' ? [['CelebA', 5, 'multi']] : [['CelebA', 5, 'multi'], ['RaFD', 8, 'single']]);
        assert.equal(o.net.img, name === 'celeba' ? 32 : 16);
        assert.ok(o.notes.some((n) => /skipped \d+ InstanceNorm running buffers/.test(n)), o.notes.join('\n'));
        const xTorch = asTensor(io.get('x')!);
        const x = fromTorch<[number, 3, number, number]>(xTorch, 'image');
        const c = asTensor(io.get('c')!) as Tensor<[number, number]>;
        const y = toTorch(generatorV1(o.G, x, c), 'image');
        const d = discriminatorV1(o.D!, x);
        const src = toTorch(d.src, 'image');
        const ref = { y: asTensor(io.get('y')!), src: asTensor(io.get('src')!), cls: asTensor(io.get('cls')!) };
        const errs = { y: maxAbsDiff(y, ref.y), src: maxAbsDiff(src, ref.src), cls: maxAbsDiff(d.cls, ref.cls) };
        const scale = tf.tidy(() => tf.max(tf.abs(ref.y)).dataSync()[0]);
        assert.ok(scale > 0.05, `G's output is almost constant (${scale}): the check would be weak`);
        t.diagnostic(`${name}: max |ours - PyTorch|: G ${errs.y.toExponential(2)}, D_src ${errs.src.toExponential(2)}, D_cls ${errs.cls.toExponential(2)} (G output scale ${scale.toFixed(2)})`);
        for (const [k, e] of Object.entries(errs)) assert.ok(e < 2e-4, `${name} ${k}: max |ours - PyTorch| = ${e}`);
        tf.dispose([xTorch, x, c, y, src, d.src, d.cls, ...Object.values(ref)]);
      } finally {
        disposeParams({ G: o.G, D: o.D });
      }
    });
  }

  test('translate-v1.ts: an official G + D and a folder of images -> one grid (source + 5 columns), D guessing the labels', (t) => {
    if (!official(t)) return;
    const dir = path.join(tmp, 'inputs');
    for (let i = 0; i < 2; i++) put(path.join(dir, `${i}.png`), pngBytes(40, 40, pattern(i, i)));
    const out = path.join(tmp, 'grid.png');
    const r = runChild(process.execPath, ['--import', 'tsx', 'examples/translate-v1.ts', '--checkpoint', path.join(tmp, 'celeba-G.ckpt'), '--d', path.join(tmp, 'celeba-D.ckpt'), '--input', dir, '--out', out]);
    assert.equal(r.status, 0, r.why);
    assert.match(r.stdout, /D guesses/);
    const png = fs.readFileSync(out); // IHDR: width and height at bytes 16 and 20; cells of 32 with 2-pixel gaps
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [6 * 32 + 5 * 2, 2 * 32 + 2]);
    assert.match(r.stdout, /2 image\(s\) x 5 targets/);
  });
});

describe('train-stargan-v1.ts --resume-official', () => {
  /** A CelebA layout with the official five attributes (what the fixture G reads). */
  function celeba5(root: string): string {
    const names = ['Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Male', 'Young'];
    const rows = Array.from({ length: 6 }, (_, i) => `${String(i).padStart(6, '0')}.jpg  ${[i % 3 === 0 ? 1 : -1, i % 3 === 1 ? 1 : -1, i % 3 === 2 ? 1 : -1, i % 2 ? 1 : -1, 1].join(' ')}`);
    rows.forEach((_, i) => put(path.join(root, 'img_align_celeba', `${String(i).padStart(6, '0')}.jpg`), jpegBytes(18, 22, pattern(i % 2, i))));
    put(path.join(root, 'list_attr_celeba.txt'), [String(rows.length), names.join(' '), ...rows].join('\n') + '\n');
    return root;
  }
  const train = (args: string[]) => {
    const r = runChild(process.execPath, ['--import', 'tsx', 'examples/train-stargan-v1.ts', ...args]);
    return { ...r, lines: r.stderr.split('\n').filter((l) => l && !l.includes('Unknown user config')) };
  };

  test('official G + D at {iter} 3 start a run at iteration 3 with their exact weights (lr 0); conflicting flags are one line', (t) => {
    if (!official(t)) return;
    const data = celeba5(path.join(tmp, 'celeba5'));
    const g = path.join(tmp, '3-G.ckpt'), d = path.join(tmp, '3-D.ckpt');
    fs.copyFileSync(path.join(tmp, 'celeba-G.ckpt'), g);
    fs.copyFileSync(path.join(tmp, 'celeba-D.ckpt'), d);
    const out = path.join(tmp, 'from-official');
    const common = ['--data', data, '--test-size', '2', '--batch', '2', '--iters', '4', '--log-every', '1'];
    const r = train([...common, '--resume-official', `${g},${d}`, '--g-lr', '0', '--d-lr', '0', '--out', out]);
    assert.equal(r.status, 0, r.why);
    assert.match(r.stdout, /starting from .*3-G\.ckpt and .*3-D\.ckpt at iteration 3, Adam fresh/);
    const ckpt = readSafetensors(path.join(out, 'checkpoint.safetensors'));
    assert.equal(ckpt.metadata.iteration, '4');
    assert.deepEqual(JSON.parse(ckpt.metadata.net_config), { img: 32, gConvDim: 8, dConvDim: 4, gRepeat: 2, dRepeat: 4, datasets: [{ name: 'celeba[Black_Hair,Blond_Hair,Brown_Hair,Male,Young]', size: 5, kind: 'multi' }] });
    for (const [net, file] of [['G', g], ['D', d]] as const) {
      const want = readOfficialV1(file).entries;
      for (const [name, e] of want) assert.deepEqual(ckpt.tensors.get(`${net}.${name}`)?.data, e.data, `${net}.${name} differs from the official file`);
    }
    const bad = train([...common, '--resume-official', `${g},${d}`, '--g-conv-dim', '16', '--out', path.join(tmp, 'from-official-2')]);
    assert.ok(bad.status !== 0 && bad.status !== null, bad.why);
    assert.equal(bad.lines.length, 1, bad.stderr);
    assert.match(bad.lines[0], /3-G\.ckpt: the files are a different network \(requested gConvDim 16, files have 8\)/);
  });
});

describe('broken files: one line naming the file and the tensor', () => {
  /** A small official-named G (one dataset of 5 labels, 8 channels, 1 block) as safetensors entries, from our own init. */
  function officialG(file: string, edit: (m: Map<string, Entry>) => void): string {
    const z = (shape: number[]): Entry => ({ dtype: 'F32', shape, data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    const m = new Map<string, Entry>([
      ['main.0.weight', z([8, 8, 7, 7])], ['main.1.weight', z([8])], ['main.1.bias', z([8])],
      ['main.3.weight', z([16, 8, 4, 4])], ['main.4.weight', z([16])], ['main.4.bias', z([16])],
      ['main.6.weight', z([32, 16, 4, 4])], ['main.7.weight', z([32])], ['main.7.bias', z([32])],
      ['main.9.main.0.weight', z([32, 32, 3, 3])], ['main.9.main.1.weight', z([32])], ['main.9.main.1.bias', z([32])],
      ['main.9.main.3.weight', z([32, 32, 3, 3])], ['main.9.main.4.weight', z([32])], ['main.9.main.4.bias', z([32])],
      ['main.10.weight', z([32, 16, 4, 4])], ['main.11.weight', z([16])], ['main.11.bias', z([16])],
      ['main.13.weight', z([16, 8, 4, 4])], ['main.14.weight', z([8])], ['main.14.bias', z([8])],
      ['main.16.weight', z([3, 8, 7, 7])],
      ['main.1.running_mean', z([8])], ['main.1.num_batches_tracked', { dtype: 'I32', shape: [], data: new Int32Array(1) }],
    ]);
    edit(m);
    writeSafetensors(file, [...m], {});
    return file;
  }
  const errorOf = (f: () => unknown): string => {
    try {
      f();
    } catch (e) {
      const msg = (e as Error).message;
      assert.ok(!msg.includes('\n'), `one line expected: ${msg}`);
      return msg;
    }
    assert.fail('expected an error');
  };

  test('the intact file loads; each break is named', () => {
    const ok = officialG(path.join(tmp, 'ok.safetensors'), () => {});
    const o = loadOfficialV1(ok);
    assert.equal(o.net.gRepeat, 1);
    assert.equal(o.net.gConvDim, 8);
    disposeParams(o.G);
    assert.equal(readOfficialV1(ok).entries.size, 22);

    const missing = officialG(path.join(tmp, 'missing.safetensors'), (m) => m.delete('main.9.main.4.bias'));
    assert.match(errorOf(() => loadOfficialV1(missing)), /missing\.safetensors: not the generator of this config: missing 'main\.9\.main\.4\.bias'/);
    const extra = officialG(path.join(tmp, 'extra.safetensors'), (m) => m.set('main.3.bias', m.get('main.4.bias')!));
    assert.match(errorOf(() => loadOfficialV1(extra)), /extra\.safetensors: .*unexpected 'main\.3\.bias'/);
    // a conv-transpose weight stored as a conv's (Co, Ci) instead of (Ci, Co)
    const transposed = officialG(path.join(tmp, 'transposed.safetensors'), (m) => m.set('main.10.weight', { ...m.get('main.10.weight')!, shape: [16, 32, 4, 4] }));
    assert.match(errorOf(() => loadOfficialV1(transposed)), /transposed\.safetensors: .*mis-shaped 'main\.10\.weight' is \[16, 32, 4, 4\], expected \[32, 16, 4, 4\]/);
    const wide = officialG(path.join(tmp, 'wide.safetensors'), (m) => m.set('main.0.weight', { dtype: 'F32', shape: [8, 9, 7, 7], data: new Float32Array(8 * 9 * 49) }));
    assert.match(errorOf(() => loadOfficialV1(wide)), /wide\.safetensors: G reads 6 labels, not an official layout .*--labels/);
    assert.match(errorOf(() => loadOfficialV1(ok, undefined, { datasets: [{ name: 'a', size: 3, kind: 'multi' }] })), /ok\.safetensors: G reads 5 labels, the layout a 3 has 3/);
  });

  test('G and D swapped, or from different runs, are refused', (t) => {
    if (!official(t)) return;
    const g = path.join(tmp, 'celeba-G.ckpt');
    const d = path.join(tmp, 'celeba-D.ckpt');
    assert.match(errorOf(() => loadOfficialV1(d)), /celeba-D\.ckpt: .*this file holds a discriminator: pass it as D/);
    assert.match(errorOf(() => loadOfficialV1(g, g)), /celeba-G\.ckpt: missing tensor 'conv2\.weight' \(D_cls\)/);
    assert.match(errorOf(() => loadOfficialV1(g, path.join(tmp, 'both-D.ckpt'))), /both-D\.ckpt: D classifies 13 labels, G's label vector implies 5/);
    // the program: one line, non-zero exit
    const r = runChild(process.execPath, ['--import', 'tsx', 'examples/translate-v1.ts', '--checkpoint', d, '--input', path.join(tmp, 'inputs')]);
    assert.ok(r.status !== 0 && r.status !== null, r.why);
    const lines = r.stderr.split('\n').filter((l) => l && !l.includes('Unknown user config'));
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0], /^translate-v1: .*celeba-D\.ckpt/);
  });
});
