/**
 * Child processes in tests: every one has a timeout (a hung program fails its test instead of
 * hanging the suite), and a failed or killed one is described with its stderr. Also the live
 * PyTorch policy: Debian's python3 (not a pyenv shim without torch); without PyTorch a test
 * is skipped with the reason printed, except under CI=true, where it fails.
 */
import { spawnSync, type SpawnSyncOptionsWithStringEncoding } from 'node:child_process';
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';

/** Generous for a 2-core machine shared with other jobs; tiny programs take 3-10 s. */
export const CHILD_TIMEOUT_MS = 300_000;

export interface ChildResult {
  readonly status: number | null;
  readonly signal: NodeJS.Signals | null;
  readonly stdout: string;
  readonly stderr: string;
  /** How it ended: 'exit 1', 'killed by SIGKILL', 'timed out after 300 s ...', 'could not run: ...'. */
  readonly how: string;
  /** One paragraph for an assertion message: how it ended, then its stderr. */
  readonly why: string;
}

/** Runs a command to completion (or its timeout), with UTF-8 output. */
export function runChild(cmd: string, args: readonly string[], opts: Omit<SpawnSyncOptionsWithStringEncoding, 'encoding'> = {}): ChildResult {
  const timeout = opts.timeout ?? CHILD_TIMEOUT_MS;
  const r = spawnSync(cmd, args, { maxBuffer: 64 << 20, ...opts, timeout, encoding: 'utf8' });
  const stdout = r.stdout ?? '';
  const stderr = r.stderr ?? '';
  const err = r.error as NodeJS.ErrnoException | undefined;
  const how = err?.code === 'ETIMEDOUT'
    ? `timed out after ${timeout / 1000} s (killed by ${r.signal ?? 'SIGTERM'})`
    : err ? `could not run: ${err.message}`
    : r.signal ? `killed by ${r.signal}` : `exit ${r.status}`;
  const why = `${[cmd, ...args].map((a) => (a.length > 80 ? `${a.slice(0, 77)}...` : a)).join(' ')}: ${how}\n--- stderr ---\n${stderr.trim() || '(empty)'}`;
  return { status: r.status, signal: r.signal, stdout, stderr, how, why };
}

/** Asserts exit 0; the message says how it ended and shows stderr. */
export function assertExitsOk(r: ChildResult): void {
  assert.equal(r.status, 0, r.why);
}

/** Debian's python3, which has python3-torch; TORCH_PYTHON overrides. */
export const python = process.env.TORCH_PYTHON ?? '/usr/bin/python3';

let torchProbe: string | undefined;
/** '' if `python -c "import torch"` works, else why not (one line). Probed once. */
export function torchUnavailable(): string {
  if (torchProbe === undefined) {
    const r = runChild(python, ['-c', 'import torch'], { timeout: 120_000 });
    const last = r.stderr.trim().split('\n').pop();
    torchProbe = r.status === 0 ? '' : `PyTorch unavailable (${python} -c "import torch": ${last || r.how})`;
  }
  return torchProbe;
}

/**
 * For a test that needs live PyTorch: true if it is there. Otherwise the test is skipped with
 * the reason (a user's `npm test`), or fails under CI=true, where .ci/run installs PyTorch.
 */
export function needsTorch(t: TestContext): boolean {
  const reason = torchUnavailable();
  if (!reason) return true;
  if (process.env.CI === 'true') assert.fail(`${reason}; CI=true requires it (.ci/run installs python3-torch)`);
  console.log(`skipping "${t.name}": ${reason}`);
  t.skip(reason);
  return false;
}
