/**
 * The training-loop shell of the programs (examples/lib/run-training.ts), driven by a fake
 * iteration: it runs to the total, calls `after` once per iteration with the iteration reached,
 * ends with `finish` and a summary; an iteration that throws after progress saves the last
 * consistent state and becomes one line saying how to continue; one that throws before any
 * progress is rethrown unsaved. (Ctrl-C's save and exit 130 are tested on the programs:
 * properties/v1-programs.test.ts.)
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { UserError } from '../examples/lib/cli.ts';
import { runTraining, type TrainingRun } from '../examples/lib/run-training.ts';

/** A fake run from `start` to `total` that fails when it is about to run iteration `failAt` (1-based). */
function fake(start: number, total: number, failAt?: number) {
  const calls: string[] = [];
  let it = start;
  const run: TrainingRun = {
    total, dir: 'runs/x', ckpt: 'runs/x/checkpoint.safetensors', logFile: 'runs/x/losses.jsonl',
    iteration: () => it,
    step: () => {
      if (it + 1 === failAt) throw new Error(`NaN in iteration ${it + 1}\nsecond line`);
      it++;
      return { losses: `loss ${it}` };
    },
    after: (i) => calls.push(`after ${i}`),
    save: () => calls.push(`save ${it}`),
    finish: (ran) => calls.push(`finish ${ran}`),
  };
  return { run, calls };
}

/** Runs f with console.log captured (the progress bar itself still writes to stdout). */
async function quietly<T>(f: () => Promise<T>): Promise<{ value?: T; error?: unknown; out: string }> {
  const log = console.log;
  let out = '';
  console.log = (...a: unknown[]) => { out += a.join(' ') + '\n'; };
  try {
    return { value: await f(), out };
  } catch (error) {
    return { error, out };
  } finally {
    console.log = log;
  }
}

test('runs from the start to the total, `after` once per iteration, then finish and a summary', async () => {
  const { run, calls } = fake(2, 5);
  const r = await quietly(() => runTraining(run));
  assert.equal(r.error, undefined);
  assert.deepEqual(calls, ['after 3', 'after 4', 'after 5', 'finish true']);
  assert.match(r.out, /done: iteration 5 \(3 this session in \d+ s, [\d.]+ s\/it\)/);
  assert.match(r.out, /checkpoint {2}runs\/x\/checkpoint\.safetensors/);
});

test('nothing to do: finish(false), no iteration', async () => {
  const { run, calls } = fake(5, 5);
  const r = await quietly(() => runTraining(run));
  assert.equal(r.error, undefined);
  assert.deepEqual(calls, ['finish false']);
  assert.match(r.out, /done: iteration 5 \(0 this session/);
});

test('an iteration that throws after progress: the last consistent state is saved, one line says how to continue', async () => {
  const { run, calls } = fake(0, 10, 4);
  const r = await quietly(() => runTraining(run));
  assert.ok(r.error instanceof UserError, String(r.error));
  assert.equal((r.error as Error).message, 'NaN in iteration 4 (checkpoint saved at iteration 3: rerun with --resume --out runs/x)');
  assert.deepEqual(calls, ['after 1', 'after 2', 'after 3', 'save 3']);
});

test('an iteration that throws before any progress is rethrown as it is, nothing saved', async () => {
  const { run, calls } = fake(7, 10, 8);
  const r = await quietly(() => runTraining(run));
  assert.ok(r.error instanceof Error && !(r.error instanceof UserError));
  assert.match((r.error as Error).message, /^NaN in iteration 8/);
  assert.deepEqual(calls, []);
});
