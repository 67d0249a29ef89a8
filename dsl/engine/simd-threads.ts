/**
 * This project's wasm SIMD kernels on all of the backend's threads. tfjs's threaded build shares
 * its memory, so `threads - 1` Node workers instantiate our kernel files on it once; a call
 * splits its work into shares (ranges of rows or elements, or a shared counter of work items),
 * runs share 0 on the calling thread and the others on the workers, and returns when all are
 * done (a kernel call is synchronous, like tfjs's own). The split never changes a result: every
 * output value is computed by one thread, in the same order as without the split.
 *
 * On tfjs's single-threaded build (memory not shared) everything runs on the calling thread.
 */
import { getThreadsCount } from '@tensorflow/tfjs-backend-wasm';
import { Worker } from 'node:worker_threads';
import { simdInstance, type WasmBackendLike, type WasmModule } from './simd-module.ts';

/**
 * Kernel files (simd/<file>.c) and the exports of theirs that run split. Not norm-act: split by
 * samples it ran no faster on 2 threads than on 1 (1.04 vs 1.05 ms at [8, 64, 64, 32]; the
 * elementwise kernels here gain 1.6-1.9x from 256k values on).
 */
const entries = [
  ['conv-filter-grad', 'conv_filter_grad'],
  ['up2', 'up2'],
  ['leaky-relu', 'leaky_relu'],
  ['leaky-relu', 'leaky_relu_grad'],
  ['adam-step', 'adam_step'],
  ['add-scale', 'add_scale'],
  ['resample-conv', 'subpixel_shuffle'],
  ['resample-conv', 'subpixel_unshuffle'],
] as const;
export type SplitKernel = (typeof entries)[number][1];
const fileOf = (k: SplitKernel) => entries.find(([, e]) => e === k)![0];

// control block (Int32, shared with the workers): generation, workers done, a worker failed
const GEN = 0;
const DONE = 1;
const FAILED = 2;
/** Arguments per call (float64 slots: pointers below 4 GiB and float32 constants are exact). */
const NARGS = 20;

/** Each worker: wait for a generation, run its entry (-1: none this time) on its arguments, count itself done. */
const workerSource = `
const { workerData } = require('node:worker_threads');
const { memory, modules, entries, control, args, index } = workerData;
const exportsOf = new Map(Object.entries(modules).map(([f, m]) => [f, new WebAssembly.Instance(m, { env: { memory } }).exports]));
const fns = entries.map(([f, e]) => exportsOf.get(f)[e]);
const c = new Int32Array(control);
const a = new Float64Array(args, 8 * ${NARGS + 1} * index, ${NARGS + 1});
let gen = 0;
for (;;) {
  Atomics.wait(c, ${GEN}, gen);
  gen = Atomics.load(c, ${GEN});
  try {
    if (a[0] >= 0) fns[a[0]](...a.subarray(1));
  } catch (e) {
    Atomics.store(c, ${FAILED}, 1);
  }
  Atomics.add(c, ${DONE}, 1);
  Atomics.notify(c, ${DONE});
}
`;

interface Pool {
  workers: number;
  control: Int32Array;
  /** Per worker: entry index, then NARGS arguments. */
  args: Float64Array;
}

const pools = new WeakMap<WasmModule, Pool>();
/** No share of ours runs for a minute (the largest take ~30 ms). */
const workerTimeoutMs = 60_000;
let threadLimit = Infinity;

/** At most this many threads for the split kernels from now on (tests compare 1 with all; Infinity: all). */
export function limitSimdThreads(n: number): void {
  threadLimit = Math.max(1, n);
}

function poolFor(wasm: WasmModule): Pool {
  const known = pools.get(wasm);
  if (known) return known;
  const files = [...new Set(entries.map(([f]) => f))];
  const instances = files.map((f) => [f, simdInstance(wasm, f)] as const);
  const { memory, shared } = instances[0]![1];
  const workers = shared ? Math.max(0, getThreadsCount() - 1) : 0;
  const pool: Pool = {
    workers,
    control: new Int32Array(new SharedArrayBuffer(16)),
    args: new Float64Array(new SharedArrayBuffer(8 * (NARGS + 1) * Math.max(1, workers))),
  };
  const modules = Object.fromEntries(instances.map(([f, i]) => [f, i.module]));
  for (let index = 0; index < workers; index++) {
    const workerData = { memory, modules, entries, control: pool.control.buffer, args: pool.args.buffer, index };
    new Worker(workerSource, { eval: true, workerData, execArgv: [] }).unref();
  }
  pools.set(wasm, pool);
  return pool;
}

/** How many shares a call may have on this backend now (1 + its workers, within the limit). */
export function simdThreads(b: WasmBackendLike): number {
  return Math.min(1 + poolFor(b.wasm).workers, threadLimit);
}

/** Runs `kernel` once per share of arguments: the first on this thread, the others on workers. */
export function runShares(b: WasmBackendLike, kernel: SplitKernel, shares: readonly (readonly number[])[]): void {
  const pool = poolFor(b.wasm);
  const run = simdInstance(b.wasm, fileOf(kernel)).exports[kernel] as (...a: number[]) => void;
  if (shares.length > 1 + pool.workers) throw new Error(`runShares: ${shares.length} shares for ${1 + pool.workers} threads`);
  const helpers = shares.length - 1;
  if (helpers > 0) {
    const stride = NARGS + 1;
    const entry = entries.findIndex(([, e]) => e === kernel);
    for (let k = 0; k < pool.workers; k++) {
      const share = shares[k + 1];
      if (share && share.length > NARGS) throw new Error(`runShares: ${kernel} takes at most ${NARGS} arguments`);
      pool.args[k * stride] = share ? entry : -1;
      if (share) pool.args.set(share, k * stride + 1);
    }
    Atomics.store(pool.control, DONE, 0);
    Atomics.store(pool.control, FAILED, 0);
    Atomics.add(pool.control, GEN, 1);
    Atomics.notify(pool.control, GEN);
  }
  try {
    run(...shares[0]!);
  } finally {
    // the workers write into tensors: wait for them even when this thread's share threw
    if (helpers > 0) {
      for (let done = Atomics.load(pool.control, DONE); done < pool.workers; done = Atomics.load(pool.control, DONE)) {
        // a worker that died (it cannot answer) must not hang the process
        if (Atomics.wait(pool.control, DONE, done, workerTimeoutMs) === 'timed-out') throw new Error(`${kernel}: a worker thread did not answer in ${workerTimeoutMs / 1000} s`);
      }
    }
  }
  if (helpers > 0 && Atomics.load(pool.control, FAILED)) throw new Error(`${kernel}: a worker thread failed`);
}

/**
 * `[start, count]` of `parts` nearly equal ranges of `total` items in multiples of `align`
 * (the last takes the rest); fewer parts when a range would be below `minItems`.
 */
export function splitRange(total: number, parts: number, align = 1, minItems = 1): [number, number][] {
  const k = Math.max(1, Math.min(parts, Math.floor(total / Math.max(minItems, align))));
  const step = Math.ceil(total / k / align) * align;
  const out: [number, number][] = [];
  for (let s = 0; s < total; s += step) out.push([s, Math.min(step, total - s)]);
  return out.length ? out : [[0, total]];
}

/** Runs `kernel` over `total` items split across the threads: `argsOf(start, count)` gives a share's arguments. */
export function runSplit(b: WasmBackendLike, kernel: SplitKernel, total: number, argsOf: (start: number, count: number) => number[],
  align = 1, minItems = 1): void {
  runShares(b, kernel, splitRange(total, simdThreads(b), align, minItems).map(([s, n]) => argsOf(s, n)));
}

/**
 * An elementwise kernel `kernel(...pointers, count, ...constants)` over `total` float32 values,
 * split into ranges of whole 16-value blocks and at least 64k values (~50 us: a smaller share is
 * not worth waking a worker); each share's pointers start at its first value.
 */
export function runElementwise(b: WasmBackendLike, kernel: SplitKernel, pointers: readonly number[], total: number, constants: readonly number[] = []): void {
  runSplit(b, kernel, total, (s, k) => [...pointers.map((p) => p + 4 * s), k, ...constants], 16, 65536);
}
