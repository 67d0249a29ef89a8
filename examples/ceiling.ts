/**
 * Measures the wasm ceiling on this machine: what tfjs-wasm's fastest kernels (XNNPACK forward
 * conv, plain matMul) reach at every conv shape of StarGAN v2's G, E and D for a config
 * (dsl/engine/ceiling.ts). `npm run bench` runs it with --json, once per thread count.
 */
import * as tf from '@tensorflow/tfjs-core';
import { useBackend } from '../dsl/index.ts';
import { useThreadedWasm } from '../dsl/engine/wasm-threads.ts';
import { measureShapes, shapeFlops, bestOf } from '../dsl/engine/ceiling.ts';
import { cpuInfo } from '../dsl/io/cpu.ts';
import { small, type NetConfig } from '../stargan/v2/config.ts';
import { ceilingFigures, ceilingShapes, type CeilingRun } from './lib/ceiling.ts';
import { intFlag, parseFlags, runMain } from './lib/cli.ts';

const usage = `usage: tsx examples/ceiling.ts [options]

Times every conv shape of G, E and D (forward conv and the same work as one matMul, best of
several runs) on the wasm backend, and prints GFLOP/s per shape and for G's forward and a
training iteration's mix of convs if each ran at its shape's best.
  --img N --base N --maxc N --domains K --batch N   the config (defaults: the bench's, 64 32 256 2 8)
  --threads N      wasm threads (default 1: tfjs's single-threaded SIMD build; > 1: the threaded build)
  --min-ms N       time each kernel for at least N ms (default 100; at least 3 runs)
  --json           print one JSON line (what npm run bench reads)`;

const flags = {
  img: { type: 'string' }, base: { type: 'string' }, maxc: { type: 'string' }, domains: { type: 'string' }, batch: { type: 'string' },
  threads: { type: 'string' }, 'min-ms': { type: 'string' }, json: { type: 'boolean' },
} as const;

const shapeName = (s: CeilingRun['rates'][number]['shape']) => `${s.k}x${s.k} ${s.ci}->${s.co} at ${s.h}x${s.w}${s.pad === 'valid' ? ' valid' : ''}`;

runMain('ceiling', async () => {
  const { values: v } = parseFlags(flags, usage);
  const net: NetConfig = { ...small, img: intFlag('img', v.img, 64, 16), base: intFlag('base', v.base, 32), maxConv: intFlag('maxc', v.maxc, 256), domains: intFlag('domains', v.domains, 2, 2) };
  const batch = intFlag('batch', v.batch, 8);
  const requested = intFlag('threads', v.threads, 1, 1, 64);
  const threads = requested > 1 ? await useThreadedWasm(requested) : (await useBackend('wasm'), 1);
  const before = tf.memory().numTensors;
  const rates = measureShapes(ceilingShapes(net, batch), 3, intFlag('min-ms', v['min-ms'], 100, 1));
  if (tf.memory().numTensors !== before) throw new Error('ceiling measurement leaked tensors');
  const run: CeilingRun = { threads, cpu: cpuInfo(), rates };
  if (v.json) {
    console.log(JSON.stringify(run));
    return;
  }
  console.log(`${run.cpu.model}, ${run.cpu.logical} logical CPUs; SIMD: ${run.cpu.simd.join(' ')}`);
  console.log(`wasm, ${threads} thread${threads > 1 ? 's' : ''}; img ${net.img} base ${net.base} maxc ${net.maxConv} batch ${batch}`);
  const g = (flops: number, ms: number) => (flops / ms / 1e6).toFixed(1).padStart(7);
  console.log(`${'conv'.padEnd(28)} ${'GFLOP'.padStart(7)} ${'conv'.padStart(7)} ${'matMul'.padStart(7)}  GFLOP/s`);
  for (const r of rates) {
    console.log(`${shapeName(r.shape).padEnd(28)} ${(shapeFlops(r.shape) / 1e9).toFixed(3).padStart(7)} ${g(r.flops, r.convMs)} ${g(r.flops, r.matMulMs)}  (best ${g(r.flops, bestOf(r)).trim()})`);
  }
  const f = ceilingFigures(net, batch, rates);
  console.log(`ceiling, G forward mix:  ${f.gForward.toFixed(1)} GFLOP/s (conv only ${f.convOnly.gForward.toFixed(1)}, matMul only ${f.matMulOnly.gForward.toFixed(1)})`);
  console.log(`ceiling, iteration mix:  ${f.iteration.toFixed(1)} GFLOP/s (conv only ${f.convOnly.iteration.toFixed(1)}, matMul only ${f.matMulOnly.iteration.toFixed(1)})`);
});
