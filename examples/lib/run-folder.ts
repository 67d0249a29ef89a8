/**
 * What every training program does with its run folder: name it, create it (checking it is writable and
 * not already a run unless resuming), and cut its JSONL logs back to a resumed checkpoint's iteration.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { UserError } from './cli.ts';

/** `--out`, or a new folder per run: `runs/<prefix><dataset>-img<N>-<date>-<time>`. */
export function runDir(out: string | undefined, resume: boolean, prefix: string, dataset: string, img: number): string {
  if (out) return out;
  if (resume) throw new UserError('--resume needs --out DIR: the run folder to continue', 2);
  const stamp = new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-');
  return path.join('runs', `${prefix}${dataset.replace(/[^A-Za-z0-9]+/g, '-').replace(/^-|-$/g, '')}-img${img}-${stamp}`);
}

/** Creates the run folder and checks it is writable; refuses to overwrite a run unless resuming. Returns the checkpoint's path. */
export function prepareRunDir(dir: string, resume: boolean): string {
  const ckpt = path.join(dir, 'checkpoint.safetensors');
  try {
    fs.mkdirSync(path.join(dir, 'samples'), { recursive: true });
    const probe = path.join(dir, `.write-test-${process.pid}`);
    fs.writeFileSync(probe, '');
    fs.rmSync(probe);
  } catch (e) {
    throw new UserError(`--out ${dir}: cannot write there (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  if (resume && !fs.existsSync(ckpt)) throw new UserError(`--resume: ${ckpt} does not exist`);
  if (!resume && fs.existsSync(ckpt)) {
    throw new UserError(`--out ${dir} already holds a run (${ckpt}): pass --resume to continue it, or choose another --out`);
  }
  return ckpt;
}

/** A JSONL log truncated to `upTo` iterations (a resumed run rewrites what came after its checkpoint). */
export function readLog<L extends { iteration: number }>(file: string, upTo: number): L[] {
  if (!fs.existsSync(file)) return [];
  const lines = fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as L);
  const kept = lines.filter((l) => l.iteration <= upTo);
  fs.writeFileSync(file, kept.map((l) => JSON.stringify(l) + '\n').join(''));
  return kept;
}

/** A run folder's run.json (what train-celeba.ts writes beside the checkpoint), or one line naming it if it is not JSON. */
export function readRunJson<R>(file: string): R {
  try {
    return JSON.parse(fs.readFileSync(file, 'utf8')) as R;
  } catch (e) {
    throw new UserError(`${file}: not a run description (${(e as Error).message.split('\n')[0]})`);
  }
}
