/**
 * The shell every training program puts around its iterations: a progress bar with rate and ETA,
 * Ctrl-C (save a checkpoint, say how to continue, exit 130), save-on-error (an iteration that
 * throws after some progress leaves a checkpoint of the last consistent state, then one error
 * line), and the end-of-run summary. The program supplies the iteration itself and what it
 * does after each one (logs, grids, periodic checkpoints); the state stays in the program.
 */
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import { UserError } from './cli.ts';

/** What a program hands to {@link runTraining}. */
export interface TrainingRun {
  /** The iteration the run stops at. */
  readonly total: number;
  /** Iterations completed so far (read after every step). */
  readonly iteration: () => number;
  /**
   * Runs one iteration (the program's state changes inside) and returns the progress bar's
   * fields: `losses` (a short summary) and any named in `barFields`.
   */
  readonly step: () => Record<string, string>;
  /** After iteration `it` (completed), `elapsed` seconds into this session: logs, grids, periodic checkpoints. */
  readonly after: (it: number, elapsed: number) => void;
  /** Writes the checkpoint of the current state (atomically). */
  readonly save: () => void;
  /** Called once at a normal end with whether any iteration ran (e.g. a grid when there was nothing to do). */
  readonly finish: (ranAny: boolean) => void;
  /** Extra progress-bar fields shown before the rate, e.g. `{stage}`; their initial values. */
  readonly barFields?: Record<string, string>;
  /** The run folder, the checkpoint and the losses log, for the messages. */
  readonly dir: string;
  readonly ckpt: string;
  readonly logFile: string;
}

/** Whether stdout is a terminal (the bar redraws in place) or a log (a line every 30 s). */
function progressBar(fields: readonly string[]): cliProgress.SingleBar {
  const extra = fields.map((f) => `{${f}} | `).join('');
  return new cliProgress.SingleBar({
    format: `{bar} {value}/{total} | ${extra}{rate} it/s | ETA {eta_formatted} | {losses}`,
    etaBuffer: 20, hideCursor: true, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 30_000,
  }, cliProgress.Presets.shades_classic);
}

/**
 * Runs the iterations up to `total`. Returns normally at the end; on Ctrl-C saves and exits
 * 130; when an iteration throws, saves (if any iteration of this session completed: the
 * state is the last consistent one, the failed iteration had not replaced it) and rethrows as
 * one line saying how to continue.
 */
export async function runTraining(r: TrainingRun): Promise<void> {
  let interrupted = false;
  const onSigint = () => { interrupted = true; };
  process.once('SIGINT', onSigint);
  const bar = progressBar(Object.keys(r.barFields ?? {}));
  const startIter = r.iteration();
  bar.start(r.total, startIter, { ...r.barFields, rate: '-', losses: '' });
  const t0 = performance.now();
  try {
    while (r.iteration() < r.total && !interrupted) {
      const fields = r.step();
      const it = r.iteration();
      const elapsed = (performance.now() - t0) / 1000;
      bar.update(it, { ...fields, rate: ((it - startIter) / elapsed).toFixed(2) });
      r.after(it, elapsed);
      await new Promise((res) => setImmediate(res)); // lets Ctrl-C be seen between iterations
    }
  } catch (e) {
    bar.stop();
    process.removeListener('SIGINT', onSigint);
    if (r.iteration() === startIter) throw e;
    r.save();
    throw new UserError(`${(e as Error).message.split('\n')[0]} (checkpoint saved at iteration ${r.iteration()}: rerun with --resume --out ${r.dir})`);
  }
  bar.stop();
  process.removeListener('SIGINT', onSigint);
  if (interrupted) {
    r.save();
    console.log(`interrupted at iteration ${r.iteration()}; checkpoint saved to ${r.ckpt}; continue with --resume --out ${r.dir}`);
    process.exit(130);
  }
  const ran = r.iteration() - startIter;
  r.finish(ran > 0);
  const seconds = (performance.now() - t0) / 1000;
  console.log(`done: iteration ${r.iteration()} (${ran} this session in ${seconds.toFixed(0)} s${ran > 0 ? `, ${(seconds / ran).toFixed(2)} s/it` : ''}). Output folder: ${path.resolve(r.dir)}`);
  console.log(`  checkpoint  ${r.ckpt}\n  losses      ${r.logFile}, ${path.join(r.dir, 'losses.png')}\n  grids       ${path.join(r.dir, 'samples')}/`);
}
