/**
 * The measured wasm ceiling of a StarGAN v2 config (dsl/engine/ceiling.ts at the networks' own
 * conv shapes, stargan/v2/flops.ts): measured in a child process per thread count
 * (examples/ceiling.ts), because the single-threaded and the threaded wasm builds cannot both be
 * the 'wasm' backend of one process, and so the measurement starts from a fresh wasm heap.
 */
import { spawnSync } from 'node:child_process';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { mixGflops, type ConvShape, type ShapeRate } from '../../dsl/engine/ceiling.ts';
import type { CpuInfo } from '../../dsl/io/cpu.ts';
import type { NetConfig } from '../../stargan/v2/config.ts';
import { forwardConvs, iterationForwards } from '../../stargan/v2/flops.ts';

/** What examples/ceiling.ts --json prints. */
export interface CeilingRun {
  readonly threads: number;
  readonly cpu: CpuInfo;
  readonly rates: readonly ShapeRate[];
}

/** GFLOP/s of G's forward convs and of a training iteration's forward-conv mix, at the shapes' ceilings. */
export interface CeilingFigures {
  readonly gForward: number;
  readonly iteration: number;
  /** The same mixes with one kernel only (forward conv, plain matMul). */
  readonly convOnly: { gForward: number; iteration: number };
  readonly matMulOnly: { gForward: number; iteration: number };
}

const repeat = <T>(xs: readonly T[], times: number): T[] => Array.from({ length: times }, () => xs).flat();

/** Every conv shape of G, E and D at this config and batch (the list to measure). */
export function ceilingShapes(net: NetConfig, batch: number): ConvShape[] {
  const c = forwardConvs(net, batch);
  return [...c.G, ...c.trunk, c.dHead];
}

/**
 * The iteration mix weights each network's forward convs as the FLOP count does
 * (24 F_D + 16 F_G + 17 F_E; F's linears are 0.06 % of the FLOPs and not convs).
 */
export function ceilingFigures(net: NetConfig, batch: number, rates: readonly ShapeRate[]): CeilingFigures {
  const c = forwardConvs(net, batch);
  const m = iterationForwards;
  const iter = [...repeat(c.G, m.G), ...repeat([...c.trunk, c.dHead], m.D), ...repeat(c.trunk, m.E)];
  const fig = (ms?: (r: ShapeRate) => number) => ({ gForward: mixGflops(c.G, rates, ms), iteration: mixGflops(iter, rates, ms) });
  return { ...fig(), convOnly: fig((r) => r.convMs), matMulOnly: fig((r) => r.matMulMs) };
}

/**
 * Two measurements of the same shapes as one: each shape's best time of either. The bench
 * measures its own thread count before and after its timed runs, so a burst of another job
 * on a shared machine during one of them does not lower the ceiling.
 */
export function mergeRuns(a: CeilingRun, b: CeilingRun): CeilingRun {
  const key = (r: ShapeRate) => JSON.stringify(r.shape);
  const other = new Map(b.rates.map((r) => [key(r), r]));
  const rates = a.rates.map((r) => {
    const o = other.get(key(r));
    return o ? { ...r, convMs: Math.min(r.convMs, o.convMs), matMulMs: Math.min(r.matMulMs, o.matMulMs) } : r;
  });
  return { ...a, rates };
}

/**
 * Our speed as a fraction of the ceiling, like with like: `ours[i]` (GFLOP/s of one timed run)
 * over `ceiling[i]` (the probe pass timed right after it, so in the same phase of a machine whose
 * speed moves by 20 % between minutes), the median of these ratios.
 */
export function pairedFraction(ours: readonly number[], ceiling: readonly number[]): number {
  if (ours.length === 0 || ours.length !== ceiling.length) throw new Error(`pairedFraction: ${ours.length} runs against ${ceiling.length} ceiling passes`);
  const r = ours.map((g, i) => g / ceiling[i]).sort((a, b) => a - b);
  const m = r.length >> 1;
  return r.length % 2 ? r[m] : (r[m - 1] + r[m]) / 2;
}

const program = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../ceiling.ts');

/** Runs examples/ceiling.ts --json in a child process (same Node flags, so tsx loads it). */
export function measureCeiling(net: NetConfig, batch: number, threads: number): CeilingRun {
  const args = [...process.execArgv, program, '--json', '--threads', String(threads), '--img', String(net.img),
    '--base', String(net.base), '--maxc', String(net.maxConv), '--domains', String(net.domains), '--batch', String(batch)];
  const r = spawnSync(process.execPath, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  if (r.status !== 0) throw new Error(`examples/ceiling.ts --threads ${threads} failed (exit ${r.status})`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as CeilingRun;
}
