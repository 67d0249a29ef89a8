/**
 * What every example program shares: one-line errors with a non-zero exit, typed flag
 * parsing that names the flag, and the backend flag.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { backendNames, useBackend } from '../../dsl/index.ts';
import { useThreadedWasm } from '../../dsl/engine/wasm-threads.ts';

/** A user-facing error: printed as one line, exit code 2 for usage, 1 otherwise. */
export class UserError extends Error {
  constructor(message: string, readonly exitCode = 1) {
    super(message);
  }
}

/** Runs a program's main, turning any error into one readable line and a non-zero exit. */
export function runMain(program: string, main: () => Promise<void>): void {
  main().catch((e: unknown) => {
    const err = e as Error;
    console.error(`${program}: ${err.message.split('\n')[0]}`);
    if (process.env.DEBUG) console.error(err.stack);
    process.exit(e instanceof UserError ? e.exitCode : 1);
  });
}

/** parseArgs that reports unknown or malformed flags as a usage error, and handles --help. */
export function parseFlags<T extends NonNullable<ParseArgsConfig['options']>>(options: T, usage: string, allowPositionals = false) {
  try {
    const parsed = parseArgs({ options: { ...options, help: { type: 'boolean', short: 'h' } }, allowPositionals, strict: true });
    if ((parsed.values as Record<string, unknown>).help) {
      console.log(usage);
      process.exit(0);
    }
    return parsed;
  } catch (e) {
    throw new UserError(`${(e as Error).message.split('\n')[0]} (see --help)`, 2);
  }
}

/** A flag's value as an integer within [min, max]. */
export function intFlag(name: string, value: string | undefined, fallback: number, min = 1, max = Number.MAX_SAFE_INTEGER): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < min || n > max) {
    throw new UserError(`--${name} must be an integer in ${min}..${max === Number.MAX_SAFE_INTEGER ? '∞' : max}, got '${value}'`, 2);
  }
  return n;
}

/** A flag's value as a finite number >= min. */
export function numFlag(name: string, value: string | undefined, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < min) throw new UserError(`--${name} must be a number >= ${min}, got '${value}'`, 2);
  return n;
}

/** A flag's value as one of a set of choices. */
export function choiceFlag<C extends string>(name: string, value: string | undefined, choices: readonly C[], fallback: C): C {
  if (value === undefined) return fallback;
  if (!choices.includes(value as C)) throw new UserError(`--${name} must be one of ${choices.join(', ')}, got '${value}'`, 2);
  return value as C;
}

export const backendFlag = { backend: { type: 'string' }, threads: { type: 'string' } } as const;

/**
 * Selects the backend named by --backend (default wasm). On wasm, --threads > 1 uses the
 * threaded build (dsl/engine/wasm-threads.ts), whose results are bit-identical. Default 1: at small
 * widths thread synchronisation costs more than it saves (see docs/PERFORMANCE.md).
 */
export async function backendFrom(value: string | undefined, threadsFlag?: string): Promise<string> {
  const name = choiceFlag('backend', value, backendNames, 'wasm');
  const threads = intFlag('threads', threadsFlag, 1, 1, 64);
  if (name === 'wasm' && threads > 1) return `wasm, ${await useThreadedWasm(threads)} threads`;
  return useBackend(name);
}

const IMAGE_EXT = /\.(png|jpe?g)$/i;

/** The images an `--input` flag names: one file, or a folder's .png/.jpg files in name order. */
export function inputFiles(input: string | undefined): string[] {
  if (!input) throw new UserError('--input is required (an image or a folder)', 2);
  if (!fs.existsSync(input)) throw new UserError(`--input ${input}: no such file or folder`);
  if (!fs.statSync(input).isDirectory()) return [input];
  const files = fs.readdirSync(input).filter((f) => IMAGE_EXT.test(f)).sort().map((f) => path.join(input, f));
  if (!files.length) throw new UserError(`--input ${input}: no images (.png, .jpg, .jpeg)`);
  return files;
}
