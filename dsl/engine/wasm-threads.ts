/**
 * The multi-threaded wasm backend in Node: tfjs-backend-wasm ships a threaded SIMD build
 * (Emscripten pthreads, XNNPACK's thread pool) but switches it off in Node
 * (`WASM_HAS_MULTITHREAD_SUPPORT` is false there, tfjs issue #3830). Node has everything it
 * needs (worker_threads, shared WebAssembly memory); what fails is tfjs's loader, which hands
 * Emscripten blob: URLs. So this module instantiates the threaded build itself and registers
 * it as the 'wasm' backend: the same kernels (and this project's gradients and fast paths)
 * run, convolutions and matrix products on `threads` threads, everything else as before.
 *
 * Results are bit-identical to the single-threaded backend: XNNPACK splits the output into
 * tiles, each computed as with one thread.
 *
 * Three details of tfjs-backend-wasm 4.22 (pinned in package.json) are worked around:
 * - the pthread worker script is written to a temporary file (Node's Worker cannot load blob: URLs);
 * - workers start without the parent's `execArgv` (a loader such as tsx must not transform
 *   Emscripten's worker script);
 * - the C++ side caps the pool at `emscripten_num_logical_cores() / 2`, assuming two hardware
 *   threads per core; in Node that is `os.cpus().length / 2`, so while the module initialises,
 *   `os.cpus()` reports twice the CPUs. `threads` still caps the pool.
 */
import * as tf from '@tensorflow/tfjs-core';
import * as wasmBackend from '@tensorflow/tfjs-backend-wasm';
import * as fs from 'node:fs';
import { createRequire } from 'node:module';
import type * as OsModule from 'node:os';
import * as path from 'node:path';
import { Worker as NodeWorker, type WorkerOptions } from 'node:worker_threads';
import './backend.ts';

const require = createRequire(import.meta.url);
// The CommonJS module object, which Emscripten's glue reads `cpus` from (ESM namespaces are read-only).
const os = require('node:os') as typeof OsModule;

/** What this module uses of the Emscripten module object. */
interface EmscriptenModule {
  cwrap(name: string, ret: string | null, args: string[]): (...a: number[]) => number;
  PThread: { unusedWorkers: NodeWorker[]; runningWorkers: NodeWorker[] };
  tfjs?: unknown;
}

/** A Worker that does not inherit the parent's loader flags. */
class PlainWorker extends NodeWorker {
  constructor(file: string | URL, options?: WorkerOptions) {
    super(file, { ...options, execArgv: [] });
  }
}

let threadsInUse = 0;

/**
 * Makes the threaded wasm build the 'wasm' backend, with `threads` threads (the main thread
 * counts as one), and selects it. Call it before creating tensors (it replaces the 'wasm'
 * backend, and with it any tensors that backend held). Resolves to the number of threads in use.
 */
export async function useThreadedWasm(threads = os.cpus().length): Promise<number> {
  if (threadsInUse) {
    if (tf.getBackend() !== 'wasm') await tf.setBackend('wasm');
    return threadsInUse;
  }
  const dir = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'wasm-out');
  const glue = path.join(dir, 'tfjs-backend-wasm-threaded-simd.js');
  const factory = require(glue) as (config: object) => Promise<EmscriptenModule>;
  const { wasmWorkerContents } = require(path.join(dir, 'tfjs-backend-wasm-threaded-simd.worker.js')) as { wasmWorkerContents: string };

  // The worker script, as tfjs would serve it (its string literals' '\n' were unescaped by the template literal).
  const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'tfjs-wasm-threads-'));
  const workerFile = path.join(tmp, 'tfjs-backend-wasm-threaded-simd.worker.cjs');
  fs.writeFileSync(workerFile, wasmWorkerContents.replace(/\n/g, '\\n'));
  process.once('exit', () => fs.rmSync(tmp, { recursive: true, force: true }));

  const cpus = os.cpus;
  const previousWorker = Object.getOwnPropertyDescriptor(globalThis, 'Worker');
  let module: EmscriptenModule;
  try {
    os.cpus = () => [...cpus(), ...cpus()];
    // Emscripten assigns global.Worker = worker_threads.Worker; keep ours for the pool it starts.
    Object.defineProperty(globalThis, 'Worker', { configurable: true, get: () => PlainWorker, set: () => {} });
    module = await factory({
      locateFile: (file: string, prefix: string) =>
        file.endsWith('.worker.js') ? workerFile : file.endsWith('.wasm') ? path.join(dir, file) : prefix + file,
      mainScriptUrlOrBlob: glue,
    });
  } finally {
    os.cpus = cpus;
    if (previousWorker) Object.defineProperty(globalThis, 'Worker', previousWorker);
    else Object.defineProperty(globalThis, 'Worker', { configurable: true, writable: true, value: PlainWorker });
  }
  module.tfjs = {
    init: module.cwrap('init', null, []),
    initWithThreadsCount: module.cwrap('init_with_threads_count', null, ['number']),
    getThreadsCount: module.cwrap('get_threads_count', 'number', []),
    registerTensor: module.cwrap('register_tensor', null, ['number', 'number', 'number']),
    disposeData: module.cwrap('dispose_data', null, ['number']),
    dispose: module.cwrap('dispose', null, []),
  };
  wasmBackend.setThreadsCount(threads);
  if (tf.findBackendFactory('wasm')) tf.removeBackend('wasm');
  tf.registerBackend('wasm', () => new wasmBackend.BackendWasm(module as never), 2);
  if (!(await tf.setBackend('wasm'))) throw new Error('the threaded wasm backend could not be initialised');
  await tf.ready();
  // Idle pthreads must not keep the process alive.
  for (const w of [...module.PThread.unusedWorkers, ...module.PThread.runningWorkers]) w.unref();
  threadsInUse = wasmBackend.getThreadsCount();
  return threadsInUse;
}
