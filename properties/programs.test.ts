/**
 * The programs as a user runs them (child processes), on small fixture datasets made here in
 * the real layouts: StarGAN v2 domain folders and CelebA. Each bad input must give one line
 * naming the file or flag, a non-zero exit, and leave existing checkpoints and outputs intact.
 * An interrupted run must resume to the same weights as an uninterrupted one.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { PNG } from 'pngjs';
import { readSafetensors } from '../dsl/io/safetensors.ts';
import { jpegBytes, pattern, pngBytes, put } from './lib/images.ts';
import { CHILD_TIMEOUT_MS, runChild } from './lib/child.ts';

let tmp = '';
const tiny = ['--img', '16', '--base', '4', '--max-conv', '8', '--mapping-hidden', '8', '--style-dim', '4', '--latent-dim', '4', '--batch', '2', '--log-every', '1'];

/** Runs an example program (with a timeout); `why` says how it ended, with its stderr. */
function run(program: string, args: string[]) {
  const r = runChild(process.execPath, ['--import', 'tsx', `examples/${program}.ts`, ...args]);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => l && !l.includes('Unknown user config')), why: r.why };
}

/** Asserts a successful run. */
function assertOk(r: ReturnType<typeof run>) {
  assert.equal(r.code, 0, r.why);
}

/** Asserts a failed run: non-zero exit (not a timeout) and exactly one error line matching `message`. */
function assertFails(r: ReturnType<typeof run>, message: RegExp) {
  assert.ok(r.code !== 0 && r.code !== null, `expected an error exit, got: ${r.why}\n--- stdout ---\n${r.stdout}`);
  assert.equal(r.stderr.length, 1, `expected one error line, got:\n${r.stderr.join('\n')}`);
  assert.match(r.stderr[0], message);
}

const digest = (file: string) => createHash('sha256').update(fs.readFileSync(file)).digest('hex');

function domainFolders(root: string, domains: Record<string, number>) {
  Object.entries(domains).forEach(([name, n], d) => {
    for (const split of ['train', 'val']) {
      for (let i = 0; i < n; i++) put(path.join(root, split, name, `${i}.png`), pngBytes(20, 20, pattern(d, i)));
    }
  });
  return root;
}

const attrNames = ['5_o_Clock_Shadow', 'Black_Hair', 'Blond_Hair', 'Male', 'Young'];
function celeba(root: string, lines?: string[]) {
  const rows = Array.from({ length: 8 }, (_, i) => `${String(i).padStart(6, '0')}.jpg  ${[1, i % 2 ? 1 : -1, i % 2 ? -1 : 1, i % 2 ? 1 : -1, 1].join(' ')}`);
  rows.forEach((_, i) => put(path.join(root, 'img_align_celeba', `${String(i).padStart(6, '0')}.jpg`), jpegBytes(18, 22, pattern(i % 2, i))));
  put(path.join(root, 'list_attr_celeba.txt'), [String(rows.length), attrNames.join(' '), ...(lines ?? rows)].join('\n') + '\n');
  return root;
}

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stargan-programs-'));
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('train-celeba.ts on real layouts', () => {
  test('StarGAN v2 domain folders: trains, writes checkpoint, losses log and plot, and the four grids', () => {
    const data = domainFolders(path.join(tmp, 'afhq'), { cat: 3, dog: 3, wild: 3 });
    const out = path.join(tmp, 'run-afhq');
    const r = run('train-celeba', ['--data', data, '--out', out, '--iters', '2', '--sample-every', '2', ...tiny]);
    assertOk(r);
    for (const f of ['checkpoint.safetensors', 'losses.jsonl', 'losses.png', 'run.json']) assert.ok(fs.existsSync(path.join(out, f)), f);
    for (const kind of ['cycle', 'latent', 'reference', 'interpolation']) assert.ok(fs.existsSync(path.join(out, 'samples', `000002_${kind}.png`)), kind);
    assert.equal(fs.readFileSync(path.join(out, 'losses.jsonl'), 'utf8').trim().split('\n').length, 2);
    const meta = readSafetensors(path.join(out, 'checkpoint.safetensors')).metadata;
    assert.equal(meta.iteration, '2');
    assert.deepEqual(JSON.parse(meta.domain_names), ['cat', 'dog', 'wild']);
  });

  test('CelebA layout with --attrs Male: trains on female/male domains', () => {
    const data = celeba(path.join(tmp, 'celeba'));
    const out = path.join(tmp, 'run-celeba');
    const r = run('train-celeba', ['--data', data, '--attrs', 'Male', '--test-size', '2', '--out', out, '--iters', '1', ...tiny]);
    assertOk(r);
    assert.deepEqual(JSON.parse(readSafetensors(path.join(out, 'checkpoint.safetensors')).metadata.domain_names), ['not_Male', 'Male']);
  });

  test('skin-tone emoji (the default): --eval-every writes metrics.jsonl and plots it under the losses; a paired grid', () => {
    const out = path.join(tmp, 'run-tones');
    const r = run('train-celeba', ['--out', out, '--iters', '2', '--eval-every', '1', '--sample-every', '2', ...tiny]);
    assertOk(r);
    const lines = fs.readFileSync(path.join(out, 'metrics.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(lines.map((l) => l.iteration), [0, 1, 2], 'evaluated before training and after each iteration');
    for (const l of lines) {
      for (const k of ['latent', 'latent_inside', 'latent_outside', 'ref', 'ref_inside', 'ref_outside', 'latent_to_dark', 'identity', 'identity_inside', 'identity_outside', 'mean_shift_inside', 'domain_mean']) {
        assert.ok(l[k] >= 0 && l[k] <= 1, `${k} = ${l[k]}`);
      }
      assert.deepEqual([l.identity, l.identity_inside], [lines[0].identity, lines[0].identity_inside], 'the baseline is fixed');
      assert.ok(l.identity_inside > l.identity && l.identity > l.identity_outside, 'the source differs from the target inside the changed region');
    }
    const info = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    assert.deepEqual(info.domains, ['default', 'light', 'medium-light', 'medium', 'medium-dark', 'dark']);
    assert.equal(info.held_out.length, 60);
    assert.deepEqual(info.images, [256, 256, 256, 256, 256, 256], 'trains on the other emoji only');
    const plot = PNG.sync.read(fs.readFileSync(path.join(out, 'losses.png')));
    assert.deepEqual([plot.width, plot.height], [960, 1080], 'losses above, held-out metrics below');
    assert.ok(fs.existsSync(path.join(out, 'samples', '000002_paired.png')));
  });

  test('translate.ts: a single image and a folder, latent-guided with psi and reference-guided', () => {
    const ckpt = path.join(tmp, 'run-afhq', 'checkpoint.safetensors');
    const cats = path.join(tmp, 'afhq', 'val', 'cat');
    const out = path.join(tmp, 'translated');
    let r = run('translate', [ckpt, '--input', path.join(cats, '0.png'), '--target', 'dog', '--samples', '2', '--psi', '0.7', '--out', out]);
    assertOk(r);
    assert.ok(fs.existsSync(path.join(out, '0_to_dog_1.png')));
    r = run('translate', [ckpt, '--input', cats, '--target', '2', '--ref', path.join(tmp, 'afhq', 'val', 'wild', '0.png'), '--out', out]);
    assertOk(r);
    for (let i = 0; i < 3; i++) assert.ok(fs.existsSync(path.join(out, `${i}_to_wild_ref.png`)));
    assertFails(run('translate', [ckpt, '--input', cats, '--target', 'horse', '--out', out]), /--target: unknown domain 'horse' \(choose from cat, dog, wild/);
  });
});

describe('resume', () => {
  // With the EMA warm-up on, whose beta must follow the iteration across a resume.
  const common = () => ['--data', path.join(tmp, 'afhq'), '--sample-every', '100', '--ckpt-every', '100', '--seed', '3', '--ema-rampup', '0.5', ...tiny];
  const tensorsOf = (file: string) => readSafetensors(file).tensors;

  function assertSameWeights(a: string, b: string) {
    const ta = tensorsOf(a), tb = tensorsOf(b);
    assert.deepEqual([...ta.keys()].sort(), [...tb.keys()].sort());
    for (const [name, e] of ta) assert.deepEqual(e.data, tb.get(name)!.data, `${name} differs`);
  }

  test('stopping at k and resuming gives the weights of an uninterrupted run', () => {
    const straight = path.join(tmp, 'straight');
    assertOk(run('train-celeba', [...common(), '--out', straight, '--iters', '4']));
    const split = path.join(tmp, 'split');
    assertOk(run('train-celeba', [...common(), '--out', split, '--iters', '2']));
    const r = run('train-celeba', [...common(), '--out', split, '--iters', '4', '--resume']);
    assertOk(r);
    assertSameWeights(path.join(straight, 'checkpoint.safetensors'), path.join(split, 'checkpoint.safetensors'));
    const log = fs.readFileSync(path.join(split, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).iteration);
    assert.deepEqual(log, [1, 2, 3, 4]);
  });

  test('training flags given with --resume replace the checkpoint\'s: a late lr decay added at k equals the run that had it from the start', () => {
    const decay = ['--lr-decay-start', '2', '--lr-decay-iters', '3'];
    const straight = path.join(tmp, 'straight-decay');
    assertOk(run('train-celeba', [...common(), '--out', straight, '--iters', '4', ...decay]));
    const split = path.join(tmp, 'split-decay');
    assertOk(run('train-celeba', [...common(), '--out', split, '--iters', '2']));
    const r = run('train-celeba', [...common(), '--out', split, '--iters', '4', '--resume', ...decay]);
    assertOk(r);
    assert.match(r.stdout, /training config changed on resume: lrDecayStart 0 -> 2, lrDecayIters 0 -> 3/);
    assertSameWeights(path.join(straight, 'checkpoint.safetensors'), path.join(split, 'checkpoint.safetensors'));
    const saved = JSON.parse(readSafetensors(path.join(split, 'checkpoint.safetensors')).metadata.train_config);
    assert.deepEqual([saved.lrDecayStart, saved.lrDecayIters], [2, 3], 'saved with the checkpoint');
    const plain = path.join(tmp, 'straight-no-decay');
    assertOk(run('train-celeba', [...common(), '--out', plain, '--iters', '4']));
    assert.throws(() => assertSameWeights(path.join(plain, 'checkpoint.safetensors'), path.join(split, 'checkpoint.safetensors')), /differs/, 'the decay changed the last two updates');
  });

  test('widen.ts: a run widened to base 6 gives its old outputs and resumes at the new width; bad input gets one line', () => {
    const from = path.join(tmp, 'straight');
    const to = path.join(tmp, 'widened');
    const w = run('widen', ['--from', from, '--to', to, '--base', '6']);
    assertOk(w);
    assert.match(w.stdout, /base 4 -> 6, iteration 4/);
    assert.match(w.stdout, /largest output change on random inputs: G \d/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(to, 'run.json'), 'utf8')).net.base, 6);
    const noBase = common().filter((a, i, all) => a !== '--base' && all[i - 1] !== '--base');
    const r = run('train-celeba', [...noBase, '--out', to, '--iters', '5', '--resume']);
    assertOk(r);
    assert.match(r.stdout, /base 6,.*iteration 4 -> 5/);
    const log = fs.readFileSync(path.join(to, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l).iteration);
    assert.deepEqual(log, [1, 2, 3, 4, 5]);
    assertFails(run('widen', ['--from', from, '--to', to, '--base', '6']), /--to .*widened already holds a run/);
    assertFails(run('widen', ['--from', path.join(tmp, 'nowhere'), '--to', path.join(tmp, 'w2'), '--base', '6']), /--from .*nowhere: no checkpoint.safetensors there/);
    assertFails(run('widen', ['--from', from, '--to', path.join(tmp, 'w3'), '--base', '8']), /base 8 changes the blocks/);
    assert.ok(!fs.existsSync(path.join(tmp, 'w3')), 'nothing written on a refusal');
    const corrupt = path.join(tmp, 'corrupt-run');
    fs.mkdirSync(corrupt);
    fs.copyFileSync(path.join(from, 'checkpoint.safetensors'), path.join(corrupt, 'checkpoint.safetensors'));
    fs.writeFileSync(path.join(corrupt, 'run.json'), '{"batch": 2,');
    assertFails(run('widen', ['--from', corrupt, '--to', path.join(tmp, 'w4'), '--base', '6']), /corrupt-run\/run.json: not a run description/);
    assert.ok(!fs.existsSync(path.join(tmp, 'w4')), 'nothing written when run.json is corrupt');
  });

  test('the batch size and augmentation of a run are kept on resume unless given again, and a change is said', () => {
    const base = common().filter((a, i, all) => a !== '--batch' && all[i - 1] !== '--batch');
    const settings = ['--no-augment', '--batch', '3'];
    const straight = path.join(tmp, 'straight-settings');
    assertOk(run('train-celeba', [...base, '--out', straight, '--iters', '4', ...settings]));
    const split = path.join(tmp, 'split-settings');
    assertOk(run('train-celeba', [...base, '--out', split, '--iters', '2', ...settings]));
    assertOk(run('train-celeba', [...base, '--out', split, '--iters', '4', '--resume']));
    assertSameWeights(path.join(straight, 'checkpoint.safetensors'), path.join(split, 'checkpoint.safetensors'));
    const r = run('train-celeba', [...base, '--out', split, '--iters', '5', '--resume', '--augment']);
    assertOk(r);
    assert.match(r.stdout, /run settings changed on resume: augment false -> true/);
    assert.equal(JSON.parse(fs.readFileSync(path.join(split, 'run.json'), 'utf8')).batch, 3);
  });

  test('Ctrl-C saves a checkpoint and exits 130; --resume continues to the same weights', async () => {
    const out = path.join(tmp, 'interrupted');
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/train-celeba.ts', ...common(), '--out', out, '--iters', '1000'], { timeout: CHILD_TIMEOUT_MS });
    let stderr = '';
    child.stderr.on('data', (d) => (stderr += d));
    const log = path.join(out, 'losses.jsonl');
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (fs.existsSync(log) && fs.readFileSync(log, 'utf8').trim()) {
          clearInterval(poll);
          child.kill('SIGINT');
          resolve();
        }
      }, 100);
      child.on('exit', (code, signal) => reject(new Error(`exited (${code ?? signal}${signal === 'SIGTERM' ? ': timed out?' : ''}) before the first iteration:\n${stderr}`)));
    });
    const [code, signal] = await new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, sig) => resolve([c, sig])));
    assert.equal(code, 130, `exit ${code ?? signal}${signal === 'SIGTERM' ? ' (timed out?)' : ''}\n--- stderr ---\n${stderr}`);
    const k = Number(readSafetensors(path.join(out, 'checkpoint.safetensors')).metadata.iteration);
    assert.ok(k >= 1 && k < 1000, `stopped at ${k}`);
    assertOk(run('train-celeba', [...common(), '--out', out, '--iters', String(k + 1), '--resume']));
    const straight = path.join(tmp, `straight-${k + 1}`);
    assertOk(run('train-celeba', [...common(), '--out', straight, '--iters', String(k + 1)]));
    assertSameWeights(path.join(straight, 'checkpoint.safetensors'), path.join(out, 'checkpoint.safetensors'));
  });
});

describe('bad input: one line naming the file or flag, non-zero exit, nothing overwritten', () => {
  let out = '';
  let ckpt = '';
  let before = '';
  const args = (data: string, ...more: string[]) => ['--data', data, '--out', out, '--iters', '2', '--resume', ...tiny, ...more];

  test('setup: an existing run whose checkpoint must survive every failure below', () => {
    out = path.join(tmp, 'precious');
    assertOk(run('train-celeba', ['--data', path.join(tmp, 'afhq'), '--out', out, '--iters', '1', ...tiny]));
    ckpt = path.join(out, 'checkpoint.safetensors');
    before = digest(ckpt);
  });

  const cases: [string, () => string[], RegExp][] = [
    ['missing folder', () => args(path.join(tmp, 'nope')), /--data .*nope: no such folder/],
    ['empty domain', () => {
      const d = domainFolders(path.join(tmp, 'empty'), { cat: 2, dog: 2, wild: 2 });
      fs.rmSync(path.join(d, 'train', 'dog'), { recursive: true });
      fs.mkdirSync(path.join(d, 'train', 'dog'));
      return args(d);
    }, /train[/\\]dog: no images/],
    ['corrupt image', () => {
      const d = domainFolders(path.join(tmp, 'corrupt'), { cat: 2, dog: 2, wild: 2 });
      put(path.join(d, 'train', 'dog', '1.png'), 'this is not a png');
      return args(d);
    }, /dog[/\\]1\.png: .*(unsupported|corrupt|not a PNG)/i],
    ['truncated image', () => {
      const d = domainFolders(path.join(tmp, 'truncated'), { cat: 2, dog: 2, wild: 2 });
      const f = path.join(d, 'train', 'cat', '0.png');
      fs.writeFileSync(f, fs.readFileSync(f).subarray(0, 60));
      return args(d);
    }, /cat[/\\]0\.png: corrupt or truncated PNG/],
    ['unsupported format', () => {
      const d = domainFolders(path.join(tmp, 'gif'), { cat: 2, dog: 2, wild: 2 });
      put(path.join(d, 'train', 'wild', '0.png'), Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'));
      return args(d);
    }, /wild[/\\]0\.png: unsupported image format GIF/],
    ['malformed attribute file (column count)', () => {
      const d = path.join(tmp, 'celeba-bad');
      celeba(d, ['000000.jpg 1 -1 1', ...Array.from({ length: 7 }, (_, i) => `00000${i + 1}.jpg 1 1 -1 1 1`)]);
      return args(d, '--attrs', 'Male', '--test-size', '2');
    }, /list_attr_celeba\.txt:3: expected 6 columns/],
    ['unknown attribute name', () => args(celeba(path.join(tmp, 'celeba-attr')), '--attrs', 'Mustache'), /list_attr_celeba\.txt: unknown attribute "Mustache"/],
    ['checkpoint from a different config', () => ['--data', path.join(tmp, 'afhq'), '--out', out, '--iters', '2', '--resume', ...tiny, '--img', '32'], /checkpoint\.safetensors: checkpoint from a different config \(requested img 32, checkpoint has 16\)/],
    ['unwritable output dir', () => ['--data', path.join(tmp, 'afhq'), '--out', path.join(ckpt, 'sub'), '--iters', '1', ...tiny], /--out .*checkpoint\.safetensors[/\\]sub: cannot write there/],
    ['existing run without --resume', () => ['--data', path.join(tmp, 'afhq'), '--out', out, '--iters', '2', ...tiny], /already holds a run/],
    ['bad flag value: --batch 0', () => ['--batch', '0'], /--batch must be an integer in 1\.\.1024, got '0'/],
    ['bad flag value: --img 48', () => ['--img', '48'], /--img must be a power of two, got '48'/],
    ['bad flag value: --lr abc', () => ['--lr', 'abc'], /--lr must be a number >= 0, got 'abc'/],
    ['unknown flag', () => ['--learning-rate', '1'], /Unknown option '--learning-rate'/],
    ['--eval-every without ground truth', () => args(path.join(tmp, 'afhq'), '--eval-every', '5'), /--eval-every needs data with ground truth: the skin-tone emoji .*not --data/],
    ['bad flag value: --emoji faces', () => ['--emoji', 'faces'], /--emoji must be one of tones, vendors, got 'faces'/],
    ['bad flag value: --ema-beta 2', () => ['--ema-beta', '2'], /--ema-beta must be in 0\.\.1, got '2'/],
  ];
  for (const [name, makeArgs, message] of cases) {
    test(name, () => {
      assertFails(run('train-celeba', makeArgs()), message);
      assert.equal(digest(ckpt), before, 'the existing checkpoint was modified');
    });
  }
});

describe('the modconv decoder and StEP (train-step.ts)', () => {
  const stepArgs = (out: string, stages: [number, number, number, number]) => [
    '--data', path.join(tmp, 'styles'), '--out', out, '--pool-size', '19', '--seed', '5', '--sample-every', '100', ...tiny,
    '--pretrain-iters', String(stages[0]), '--generator-iters', String(stages[1]), '--finetune-iters', String(stages[2]), '--mapper-iters', String(stages[3]),
  ];

  test('train-celeba --decoder modconv records the decoder; translate.ts loads it from the checkpoint', () => {
    const out = path.join(tmp, 'run-modconv');
    let r = run('train-celeba', ['--data', path.join(tmp, 'afhq'), '--out', out, '--iters', '1', '--decoder', 'modconv', ...tiny]);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    assert.equal(JSON.parse(readSafetensors(path.join(out, 'checkpoint.safetensors')).metadata.net_config).decoder, 'modconv');
    r = run('translate', [path.join(out, 'checkpoint.safetensors'), '--input', path.join(tmp, 'afhq', 'val', 'cat', '0.png'), '--target', 'dog', '--samples', '1', '--out', path.join(tmp, 'translated-modconv')]);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    assert.ok(fs.existsSync(path.join(tmp, 'translated-modconv', '0_to_dog_0.png')));
  });

  test('train-celeba --w-hpf 1 --hpf-mask whole: no face masks sought, recorded in the checkpoint; translate.ts and export-onnx.ts use it', () => {
    const out = path.join(tmp, 'run-hpf-whole');
    const img32 = [...tiny, '--img', '32'];
    let r = run('train-celeba', ['--data', path.join(tmp, 'afhq'), '--out', out, '--iters', '1', '--w-hpf', '1', '--hpf-mask', 'whole', ...img32]);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    assert.equal(JSON.parse(readSafetensors(path.join(out, 'checkpoint.safetensors')).metadata.net_config).hpfMask, 'whole');
    assert.ok(!fs.existsSync(path.join(out, 'face-landmarks.json')), 'no face landmarks for whole-image masks');
    r = run('translate', [path.join(out, 'checkpoint.safetensors'), '--input', path.join(tmp, 'afhq', 'val', 'cat', '0.png'), '--target', 'dog', '--samples', '1', '--out', path.join(tmp, 'translated-hpf-whole')]);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    r = run('export-onnx', [path.join(out, 'checkpoint.safetensors'), '--out', path.join(tmp, 'onnx-hpf-whole')]);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    assert.match(r.stdout, /w_hpf 1 on every pixel/);
    assertFails(run('train-celeba', ['--out', out, '--resume', '--data', path.join(tmp, 'afhq'), '--hpf-mask', 'face', ...img32]), /requested hpfMask face, checkpoint has whole/);
    assertFails(run('train-celeba', ['--data', path.join(tmp, 'afhq'), '--out', path.join(tmp, 'run-hpf-bad'), '--hpf-mask', 'whole', ...tiny]), /hpfMask whole needs wHpf > 0/);
    assertFails(run('train-celeba', ['--data', path.join(tmp, 'afhq'), '--out', path.join(tmp, 'run-hpf-bad'), '--hpf-mask', 'edges', ...tiny]), /--hpf-mask must be one of face, whole, got 'edges'/);
  });

  test('all four stages, then a split run resumed with a longer schedule gives the same weights; translate.ts reads the result', () => {
    domainFolders(path.join(tmp, 'styles'), { plain: 20, striped: 20 });
    const straight = path.join(tmp, 'step-straight');
    let r = run('train-step', stepArgs(straight, [1, 1, 1, 1]));
    assert.equal(r.code, 0, r.stderr.join('\n'));
    for (const f of ['checkpoint.safetensors', 'losses.jsonl', 'run.json', 'samples/triplets.png', 'samples/000001_retrieval.png', 'samples/000004_latent.png']) {
      assert.ok(fs.existsSync(path.join(straight, f)), f);
    }
    const meta = readSafetensors(path.join(straight, 'checkpoint.safetensors')).metadata;
    assert.deepEqual(JSON.parse(meta.step_config).stages, { pretrain: 1, generator: 1, finetune: 1, mapper: 1 });
    const split = path.join(tmp, 'step-split');
    assert.equal(run('train-step', stepArgs(split, [1, 1, 0, 0])).code, 0);
    r = run('train-step', [...stepArgs(split, [1, 1, 1, 1]), '--resume']);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    const [a, b] = [straight, split].map((d) => readSafetensors(path.join(d, 'checkpoint.safetensors')).tensors);
    for (const [name, e] of a) assert.deepEqual(e.data, b.get(name)!.data, `${name} differs`);
    r = run('translate', [path.join(straight, 'checkpoint.safetensors'), '--input', path.join(tmp, 'styles', 'val', 'plain', '0.png'), '--target', 'striped', '--out', path.join(tmp, 'translated-step')]);
    assert.equal(r.code, 0, r.stderr.join('\n'));
  });

  test('bad input: too few images for triplets, a schedule that rewrites the past, resuming a non-StEP run', () => {
    assertFails(run('train-step', ['--data', path.join(tmp, 'afhq'), '--out', path.join(tmp, 'step-small'), ...tiny]), /afhq[/\\]train: domain 'cat' has 3 images; triplets need at least 19/);
    assertFails(run('train-step', [...stepArgs(path.join(tmp, 'step-split'), [2, 1, 1, 1]), '--resume']), /checkpoint\.safetensors: the stage lengths .* would change iterations already run/);
    assertFails(run('train-step', ['--out', path.join(tmp, 'run-modconv'), '--resume', '--data', path.join(tmp, 'afhq'), ...tiny]), /run-modconv[/\\]checkpoint\.safetensors: not a StEP run/);
  });
});
