/**
 * examples/train-stargan-v1.ts as a user runs it (child processes) with two datasets and the
 * mask vector (`--dataset both`), on small fixtures in the real layouts (CelebA and RaFD-like
 * class folders): the grid holds every source under both datasets' labels, the losses of both
 * datasets are logged and plotted, Ctrl-C saves and exits 130, --resume continues to the
 * weights of an uninterrupted run, and bad input is one line with a non-zero exit.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { readSafetensors } from '../dsl/io/safetensors.ts';
import { CHILD_TIMEOUT_MS, runChild } from './lib/child.ts';
import { jpegBytes, pattern, pngBytes, put } from './lib/images.ts';

let tmp = '';
const tiny = ['--img', '16', '--g-conv-dim', '4', '--d-conv-dim', '4', '--g-repeat', '1', '--d-repeat', '2', '--batch', '2', '--log-every', '1', '--seed', '3'];

function run(args: string[]) {
  const r = runChild(process.execPath, ['--import', 'tsx', 'examples/train-stargan-v1.ts', ...args]);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => l && !l.includes('Unknown user config')), why: r.why };
}

const attrNames = ['5_o_Clock_Shadow', 'Black_Hair', 'Blond_Hair', 'Male', 'Young'];

before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'v1-programs-'));
  const celeba = path.join(tmp, 'celeba');
  const rows = Array.from({ length: 8 }, (_, i) => `${String(i).padStart(6, '0')}.jpg  ${[1, i % 2 ? 1 : -1, i % 2 ? -1 : 1, i % 2 ? 1 : -1, 1].join(' ')}`);
  rows.forEach((_, i) => put(path.join(celeba, 'img_align_celeba', `${String(i).padStart(6, '0')}.jpg`), jpegBytes(18, 22, pattern(i % 2, i))));
  put(path.join(celeba, 'list_attr_celeba.txt'), [String(rows.length), attrNames.join(' '), ...rows].join('\n') + '\n');
  for (const [d, name] of ['happy', 'neutral', 'sad'].entries()) {
    for (let i = 0; i < 3; i++) put(path.join(tmp, 'rafd', 'train', name, `${i}.png`), pngBytes(20, 20, pattern(d + 2, i)));
  }
});
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const both = () => ['--celeba-dir', path.join(tmp, 'celeba'), '--rafd-dir', path.join(tmp, 'rafd'), '--attrs', 'Black_Hair,Blond_Hair,Male', '--test-size', '2', ...tiny];

function assertSameWeights(a: string, b: string) {
  const ta = readSafetensors(a).tensors, tb = readSafetensors(b).tensors;
  assert.deepEqual([...ta.keys()].sort(), [...tb.keys()].sort());
  for (const [name, e] of ta) assert.deepEqual(e.data, tb.get(name)!.data, `${name} differs`);
}

describe('train-stargan-v1.ts --dataset both', () => {
  test('CelebA + RaFD layouts: the mask vector layout, both datasets\' losses, a grid of every source under both label sets', () => {
    const out = path.join(tmp, 'both');
    const r = run([...both(), '--out', out, '--iters', '5', '--sample-every', '5']);
    assert.equal(r.code, 0, r.why);
    assert.match(r.stdout, /label vector: CelebA 3 \| RaFD 3 \| mask 2/);
    const ckpt = readSafetensors(path.join(out, 'checkpoint.safetensors'));
    assert.deepEqual(JSON.parse(ckpt.metadata.net_config).datasets, [{ name: 'CelebA', size: 3, kind: 'multi' }, { name: 'RaFD', size: 3, kind: 'single' }]);
    assert.deepEqual(JSON.parse(ckpt.metadata.label_names), ['Black_Hair', 'Blond_Hair', 'Male', 'happy', 'neutral', 'sad']);
    assert.deepEqual(JSON.parse(ckpt.metadata.label_groups), [[0, 1], [3, 4, 5]]);
    assert.deepEqual(ckpt.tensors.get('G.main.0.weight')!.shape, [4, 3 + 3 + 3 + 2, 7, 7]);
    const log = fs.readFileSync(path.join(out, 'losses.jsonl'), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, number>);
    assert.deepEqual(log.map((l) => l.iteration), [1, 2, 3, 4, 5]);
    for (const name of ['CelebA:D/loss_cls', 'RaFD:D/loss_cls', 'CelebA:D/loss_gp', 'RaFD:D/loss_gp']) assert.ok(Number.isFinite(log[0][name]), `${name} missing in ${JSON.stringify(log[0])}`);
    for (const name of ['CelebA:G/loss_rec', 'RaFD:G/loss_cls']) assert.ok(Number.isFinite(log[4][name]), `${name} missing at the G iteration 5`);
    assert.ok(fs.existsSync(path.join(out, 'losses.png')));
    // rows: 2 CelebA test images + 3 RaFD images (4 asked per dataset); columns: source + 3 + 3; cells of 16 with 2-pixel gaps
    const png = fs.readFileSync(path.join(out, 'samples', '000005.png'));
    assert.deepEqual([png.readUInt32BE(16), png.readUInt32BE(20)], [7 * 16 + 6 * 2, 5 * 16 + 4 * 2]);
    const runJson = JSON.parse(fs.readFileSync(path.join(out, 'run.json'), 'utf8'));
    assert.deepEqual(runJson.grid_columns, ['source', 'CelebA:Black_Hair', 'CelebA:Blond_Hair', 'CelebA:Male', 'RaFD:happy', 'RaFD:neutral', 'RaFD:sad']);
  });

  test('Ctrl-C saves a checkpoint and exits 130; --resume continues to the weights of an uninterrupted run', async () => {
    const out = path.join(tmp, 'interrupted');
    const iters = '40';
    const args = [...both(), '--iters', iters, '--sample-every', '100', '--ckpt-every', '100'];
    const child = spawn(process.execPath, ['--import', 'tsx', 'examples/train-stargan-v1.ts', ...args, '--out', out], { timeout: CHILD_TIMEOUT_MS });
    let stdout = '', stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const log = path.join(out, 'losses.jsonl');
    const exited = new Promise<[number | null, string | null]>((resolve) => child.on('exit', (c, sig) => resolve([c, sig])));
    await new Promise<void>((resolve, reject) => {
      const poll = setInterval(() => {
        if (fs.existsSync(log) && fs.readFileSync(log, 'utf8').trim()) {
          clearInterval(poll);
          child.kill('SIGINT');
          resolve();
        }
      }, 50);
      void exited.then(([c, sig]) => reject(new Error(`exited (${c ?? sig}) before the first iteration:\n${stderr}`)));
    });
    const [code, signal] = await exited;
    assert.equal(code, 130, `exit ${code ?? signal}\n--- stderr ---\n${stderr}`);
    assert.match(stdout, /interrupted at iteration \d+; checkpoint saved to .*; continue with --resume --out /);
    const k = Number(readSafetensors(path.join(out, 'checkpoint.safetensors')).metadata.iteration);
    assert.ok(k >= 1 && k < Number(iters), `stopped at ${k}`);
    const resumed = run([...args, '--out', out, '--resume']);
    assert.equal(resumed.code, 0, resumed.why);
    assert.match(resumed.stdout, new RegExp(`done: iteration ${iters} \\(${Number(iters) - k} this session`));
    const straight = path.join(tmp, 'straight');
    const s = run([...args, '--out', straight]);
    assert.equal(s.code, 0, s.why);
    assertSameWeights(path.join(straight, 'checkpoint.safetensors'), path.join(out, 'checkpoint.safetensors'));
  });

  test('--resume with a longer schedule that keeps the lr of the iterations run equals the uninterrupted run; one that does not is refused', () => {
    const args = [...both(), '--sample-every', '100', '--ckpt-every', '100'];
    const split = path.join(tmp, 'longer');
    assert.equal(run([...args, '--out', split, '--iters', '3', '--iters-decay', '0']).code, 0);
    const refused: [string[], RegExp][] = [
      [['--iters', '8', '--iters-decay', '7'], /--iters 8 with decay over the last 7 would change the lr of iteration 3, already run \(3 done with --iters 3, decay 0\)/],
      [['--g-lr', '0.001'], /gLr 0\.001 \(checkpoint has 0\.0001\): a resumed run keeps its training config/],
    ];
    for (const [extra, message] of refused) {
      const r = run([...args, '--out', split, '--resume', ...extra]);
      assert.ok(r.code !== 0 && r.code !== null, r.why);
      assert.equal(r.stderr.length, 1, r.stderr.join('\n'));
      assert.match(r.stderr[0], message);
    }
    const resumed = run([...args, '--out', split, '--resume', '--iters', '6', '--iters-decay', '2']);
    assert.equal(resumed.code, 0, resumed.why);
    const straight = path.join(tmp, 'longer-straight');
    assert.equal(run([...args, '--out', straight, '--iters', '6', '--iters-decay', '2']).code, 0);
    assertSameWeights(path.join(straight, 'checkpoint.safetensors'), path.join(split, 'checkpoint.safetensors'));
    assert.equal(JSON.parse(readSafetensors(path.join(split, 'checkpoint.safetensors')).metadata.train_config).numIters, 6);
  });

  test('bad input: one line, non-zero exit', () => {
    const cases: [string[], RegExp][] = [
      [['--dataset', 'both', '--rafd-dir', path.join(tmp, 'nowhere')], /nowhere: no such folder/],
      [['--dataset', 'both', '--data', path.join(tmp, 'celeba')], /--data is for one dataset; with --dataset both/],
      [['--celeba-dir', path.join(tmp, 'celeba'), '--dataset', 'one'], /--celeba-dir and --rafd-dir need --dataset both/],
      [['--dataset', 'three'], /--dataset must be one of one, both/],
      [['--dataset', 'both', '--vendors', 'google'], /needs two vendors or more/],
      [['--out', path.join(tmp, 'both'), '--resume', ...tiny], /this run trains 2 dataset\(s\) \(CelebA, RaFD\), the flags ask for 1: add --dataset both/],
    ];
    for (const [args, message] of cases) {
      const r = run(args);
      assert.ok(r.code !== 0 && r.code !== null, `${args.join(' ')}: expected an error exit, got: ${r.why}`);
      assert.equal(r.stderr.length, 1, `${args.join(' ')}: expected one error line, got:\n${r.stderr.join('\n')}`);
      assert.match(r.stderr[0], message);
    }
  });
});
