/**
 * Benchmark of one StarGAN v2 training iteration and of a batched G forward, side by side
 * with the PyTorch reference (`../shared/anchors/torch_ref.py bench`), plus an optional
 * per-kernel profile of one training iteration (dsl/engine/profile.ts).
 *
 * GFLOP/s use the analytic FLOPs of stargan/v2/flops.ts (the work PyTorch's `iteration` does:
 * 24 F_D + 16 F_G + 17 F_E + 5 F_F). Our implementation evaluates D(x) twice per D step
 * (the R1 graph and the real logit are separate), which the "executed" GFLOP of `--profile`
 * (summed over the Conv2D and BatchMatMul kernels actually run) shows.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import * as tf from '@tensorflow/tfjs-core';
import { advance, backendNames, key, normal, split, useBackend, type BackendName } from '../dsl/index.ts';
import { KernelProfiler, profileTable, type KernelStat } from '../dsl/engine/profile.ts';
import { useThreadedWasm } from '../dsl/engine/wasm-threads.ts';
import { bestOfPasses, ceilingProbe, type ShapeRate } from '../dsl/engine/ceiling.ts';
import { ceilingFigures, ceilingShapes, measureCeiling, mergeRuns, pairedFraction, type CeilingFigures, type CeilingRun } from './lib/ceiling.ts';
import { defaultTrain, small, type NetConfig } from '../stargan/v2/config.ts';
import { forwardFlops, iterationFlops } from '../stargan/v2/flops.ts';
import { generator } from '../stargan/v2/generator.ts';
import { initTrainState, step, type Batch, type StarGANConfig, type TrainState } from '../stargan/v2/step.ts';
import { syntheticBatch } from '../stargan/data/batch.ts';
import { ortGForward } from './lib/ort-bench.ts';

const usage = `usage: npm run bench -- [options]     (tsx examples/bench.ts)

Times, after warm-up, the median of --steps runs of one full StarGAN v2 training iteration
(D latent, D reference, G latent, G reference, EMA; through advance, so memory is freed) and
of a batched forward of the EMA generator, and compares them with the PyTorch reference.

  --img N          image size (default 64)
  --base N         channels after from_rgb (default 32)
  --maxc N         channel cap (default 256)
  --batch N        batch size (default 8)
  --domains K      number of domains (default 2)
  --steps N        timed training iterations (default 5); the G forward runs 4x as many
  --warmup N       untimed runs first (default 1)
  --backend B      wasm | cpu (default wasm)
  --threads N      wasm threads (default 2: the threaded build, dsl/engine/wasm-threads.ts; 1: tfjs's
                   single-threaded build, what useBackend('wasm') gives)
  --no-torch       skip the PyTorch reference
  --no-tsc         skip timing 'tsc --noEmit'
  --no-ceiling     skip measuring the wasm ceiling (examples/ceiling.ts, 1 thread and all threads)
  --profile        per-kernel table (kernel, calls, total ms, % of iteration) of one iteration
  --top N          rows of the per-shape profile table (default 25)
  -h, --help       this text

The PyTorch reference runs when '/usr/bin/python3 -c "import torch"' works:
  /usr/bin/python3 ../shared/anchors/torch_ref.py bench --img .. --base .. --maxc .. --batch ..
      --domains .. --steps N --threads 2
The same G forward also runs exported to ONNX in onnxruntime-node (2 threads, like the reference) when that
optional dependency is installed: 'ort g_forward' and 'ratio ort/pytorch g_forward'.

Fractions of the measured wasm ceiling (what XNNPACK's conv and plain matMul reach at the networks' own conv
shapes, timed between our runs): 'fraction of measured wasm ceiling' pairs each timed run with the ceiling
pass right after it (median of the ratios); 'fraction of best-case wasm ceiling' compares our median with each
shape's best over all passes, beside what the ceiling's own median pass reaches of it; 'fraction of
fresh-process wasm ceiling' uses child processes before and after our runs (docs/PERFORMANCE.md).
The ceiling is XNNPACK doing the official network's convolutions as written; ours run the convs beside a
resampling with 2.25x fewer FLOPs (dsl/resample-conv.ts), so a fraction above 1 is possible: --profile
prints what our convolutions alone reach of the ceiling on the FLOPs they execute.`;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

interface Options {
  img: number; base: number; maxc: number; batch: number; domains: number; steps: number; warmup: number;
  backend: BackendName; threads: number; torch: boolean; tsc: boolean; ceiling: boolean; profile: boolean; top: number;
}

function parse(): Options {
  const { values } = parseArgs({
    options: {
      img: { type: 'string', default: '64' },
      base: { type: 'string', default: '32' },
      maxc: { type: 'string', default: '256' },
      batch: { type: 'string', default: '8' },
      domains: { type: 'string', default: '2' },
      steps: { type: 'string', default: '5' },
      warmup: { type: 'string', default: '1' },
      backend: { type: 'string', default: 'wasm' },
      threads: { type: 'string', default: '2' },
      'no-torch': { type: 'boolean', default: false },
      'no-tsc': { type: 'boolean', default: false },
      'no-ceiling': { type: 'boolean', default: false },
      profile: { type: 'boolean', default: false },
      top: { type: 'string', default: '25' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (values.help) {
    console.log(usage);
    process.exit(0);
  }
  const int = (name: 'img' | 'base' | 'maxc' | 'batch' | 'domains' | 'steps' | 'warmup' | 'top' | 'threads', min: number) => {
    const v = Number(values[name]);
    if (!Number.isInteger(v) || v < min) throw new Error(`--${name} must be an integer >= ${min}, got '${values[name]}'`);
    return v;
  };
  if (!backendNames.includes(values.backend as BackendName)) {
    throw new Error(`--backend must be one of ${backendNames.join(', ')}, got '${values.backend}'`);
  }
  return {
    img: int('img', 16), base: int('base', 1), maxc: int('maxc', 1), batch: int('batch', 1), domains: int('domains', 2),
    steps: int('steps', 1), warmup: int('warmup', 0), top: int('top', 1), threads: int('threads', 1),
    backend: values.backend as BackendName, torch: !values['no-torch'], tsc: !values['no-tsc'], ceiling: !values['no-ceiling'], profile: values.profile,
  };
}

// ---------------------------------------------------------------------------------------

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

function disposeBatch(b: Batch) {
  tf.dispose(Object.values(b) as tf.Tensor[]);
}

function wasmHeapBytes(): number | undefined {
  const b = tf.backend() as unknown as { wasm?: { HEAPU8?: Uint8Array } };
  return b.wasm?.HEAPU8?.byteLength;
}

const mib = (b: number) => `${(b / 2 ** 20).toFixed(0)} MiB`;

interface TorchResult { train_step_s: number; g_forward_s: number; impl: string; threads: number }

/** Threads of the PyTorch reference, and of onnxruntime's G forward beside it. */
const torchThreads = 2;

function torchAvailable(): boolean {
  return spawnSync('/usr/bin/python3', ['-c', 'import torch'], { stdio: 'ignore' }).status === 0;
}

function runTorch(o: Options): TorchResult {
  const script = path.resolve(root, '../shared/anchors/torch_ref.py');
  const args = [script, 'bench', '--img', String(o.img), '--base', String(o.base), '--maxc', String(o.maxc),
    '--batch', String(o.batch), '--domains', String(o.domains), '--steps', String(o.steps), '--threads', String(torchThreads)];
  console.log(`\n$ /usr/bin/python3 ${path.relative(root, script)} ${args.slice(1).join(' ')}`);
  const out = execFileSync('/usr/bin/python3', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] });
  const line = out.trim().split('\n').filter((l) => l.startsWith('{')).pop();
  if (!line) throw new Error(`torch_ref.py printed no JSON:\n${out}`);
  return JSON.parse(line) as TorchResult;
}

function timeTsc(): number {
  const t0 = performance.now();
  const r = spawnSync(process.execPath, [path.join(root, 'node_modules/typescript/bin/tsc'), '--noEmit', '-p', root], { stdio: 'ignore' });
  const s = (performance.now() - t0) / 1000;
  if (r.status !== 0) console.log('(tsc --noEmit reported errors)');
  return s;
}

/** The measured wasm ceiling at this config's conv shapes: 1 thread and all threads (and --threads); a child process each. */
function measureCeilings(o: Options, net: NetConfig): Map<number, CeilingRun> {
  const out = new Map<number, CeilingRun>();
  if (!o.ceiling || o.backend !== 'wasm') return out;
  for (const t of [...new Set([1, os.cpus().length, o.threads])].sort((a, b) => a - b)) out.set(t, measureCeiling(net, o.batch, t));
  return out;
}

function printCeilings(runs: Map<number, CeilingRun>, net: NetConfig, batch: number): Map<number, CeilingFigures> {
  const out = new Map<number, CeilingFigures>();
  const g1 = (x: number) => x.toFixed(1);
  for (const [t, run] of runs) {
    const f = ceilingFigures(net, batch, run.rates);
    console.log(`measured wasm ceiling, ${t} thread${t > 1 ? 's' : ''} (fresh child process): G forward ${g1(f.gForward)} GFLOP/s, training iteration ${
      g1(f.iteration)} GFLOP/s (best of XNNPACK conv / plain matMul per shape; conv only ${g1(f.convOnly.gForward)} / ${
      g1(f.convOnly.iteration)}, matMul only ${g1(f.matMulOnly.gForward)} / ${g1(f.matMulOnly.iteration)})`);
    out.set(t, f);
  }
  return out;
}

const loadAvg = () => os.loadavg().map((l) => l.toFixed(2)).join(' ');

async function main() {
  const o = parse();
  const net: NetConfig = { ...small, img: o.img, base: o.base, maxConv: o.maxc, domains: o.domains };
  console.log(`load average at start: ${loadAvg()}`);
  // Other jobs on the CPUs slow everything down; the interleaved ceiling passes see the same load as our runs, the best-case ceilings do not.
  if (os.loadavg()[0] > 1) console.log(`warning: load average ${os.loadavg()[0].toFixed(2)} > 1 before this run: other jobs share the CPUs, so the times below are not this machine's speed (the fractions of the interleaved ceiling are the least affected)`);
  const ceilingRuns = measureCeilings(o, net);
  const first = ceilingRuns.get(1);
  if (first) console.log(`machine: ${first.cpu.model}, ${first.cpu.logical} logical CPUs; SIMD flags: ${first.cpu.simd.join(' ')}`);
  const threads = o.backend === 'wasm' && o.threads > 1 ? await useThreadedWasm(o.threads) : (await useBackend(o.backend), 1);
  const cfg: StarGANConfig = { net, train: defaultTrain };
  const fw = forwardFlops(net, o.batch);
  const iterFlops = iterationFlops(net, o.batch);
  console.log(`config: img ${o.img} base ${o.base} maxc ${o.maxc} batch ${o.batch} domains ${o.domains}; backend ${tf.getBackend()}, ${threads} thread${threads > 1 ? 's' : ''}`);
  const g3 = (f: number) => (f / 1e9).toPrecision(3);
  console.log(`forward GFLOP (batch ${o.batch}): G ${g3(fw.G)}  D ${g3(fw.D)}  E ${g3(fw.E)}  F ${g3(fw.F)}`);
  console.log(`training iteration: ${g3(iterFlops)} GFLOP (24 F_D + 16 F_G + 17 F_E + 5 F_F; see stargan/v2/flops.ts)`);

  // Ceiling samples between our runs (dsl/engine/ceiling.ts): the same load as our timings see.
  const probe = o.ceiling && o.backend === 'wasm' ? ceilingProbe(ceilingShapes(net, o.batch)) : undefined;
  // Each pass takes each kernel's best of 3 back-to-back runs: the ceiling of that moment, which the
  // run timed just before it is compared with (pairedFraction).
  const passRepeats = 3;
  const trainPasses: ShapeRate[][] = [];
  const gPasses: ShapeRate[][] = [];

  let state: TrainState = initTrainState(key(0), cfg);
  const train = (s: TrainState, b: Batch) => step(cfg, s, b);
  const batchKeys = split(key(1), o.warmup + o.steps + 1);
  let peakBytes = tf.engine().state.numBytes;
  const iterate = (i: number): number => {
    const b = syntheticBatch(batchKeys[i], net, o.batch);
    const t0 = performance.now();
    state = advance(train, state, b);
    state.losses['G/ref']?.dataSync();
    const ms = performance.now() - t0;
    disposeBatch(b);
    peakBytes = Math.max(peakBytes, tf.engine().state.numBytes);
    return ms;
  };

  for (let i = 0; i < o.warmup; i++) console.log(`warm-up iteration: ${(iterate(i) / 1000).toFixed(2)} s`);
  const iterMs: number[] = [];
  for (let i = 0; i < o.steps; i++) {
    iterMs.push(iterate(o.warmup + i));
    if (probe) trainPasses.push(probe.pass(passRepeats));
  }
  const iterS = median(iterMs) / 1000;

  // Batched G forward of the EMA generator.
  const x = syntheticBatch(key(2), net, o.batch);
  const s = normal(key(3), [o.batch, net.styleDim] as const);
  const gForward = () => {
    const t0 = performance.now();
    tf.tidy(() => {
      generator(state.ema.generator, x.x, s, cfg.net).dataSync();
    });
    return performance.now() - t0;
  };
  // A forward takes ~0.3 s, so 4x as many runs (a steadier median on a shared machine).
  for (let i = 0; i < Math.max(2, o.warmup); i++) gForward();
  const gMs: number[] = [];
  for (let i = 0; i < 4 * o.steps; i++) {
    gMs.push(gForward());
    if (probe && i % 4 === 3) gPasses.push(probe.pass(passRepeats));
  }
  probe?.dispose();
  const gS = median(gMs) / 1000;
  // One instrumented iteration: peak tf memory inside it, and the profile if asked.
  const prof = new KernelProfiler(tf.getBackend(), o.profile);
  prof.install();
  const b = syntheticBatch(batchKeys[o.warmup + o.steps], net, o.batch);
  const t0 = performance.now();
  state = prof.run(() => advance(train, state, b));
  const profMs = performance.now() - t0;
  prof.uninstall();
  disposeBatch(b);
  peakBytes = Math.max(peakBytes, prof.peakBytes);
  // And 4 instrumented G forwards (--profile only).
  const gProf = new KernelProfiler(tf.getBackend(), false);
  let gProfMs = 0;
  if (o.profile) {
    gProf.install();
    const t1 = performance.now();
    gProf.run(() => { for (let i = 0; i < 4; i++) gForward(); });
    gProfMs = (performance.now() - t1) / 4;
    gProf.uninstall();
  }

  console.log(`load average after the timed runs: ${loadAvg()}`);
  // Our thread count's ceiling once more, after our timed runs (each shape's best of both).
  const again = ceilingRuns.get(threads);
  if (again) ceilingRuns.set(threads, mergeRuns(again, measureCeiling(net, o.batch, threads)));
  const ceiling = printCeilings(ceilingRuns, net, o.batch);
  // The fractions use the interleaved passes: each shape's best over all passes between our runs (the
  // statistic of the child's best-of-runs), against our median run. The median pass is the typical speed.
  const passes = [...trainPasses, ...gPasses];
  const best = passes.length ? ceilingFigures(net, o.batch, bestOfPasses(passes)) : undefined;
  const ours = best ? { iteration: best.iteration, gForward: best.gForward } : undefined;
  const fresh = ceiling.get(threads);
  // Each pass's own ceiling (training passes first, then the G forward's, as in `passes`).
  const passFigures = passes.map((r) => ceilingFigures(net, o.batch, r));
  const medianPass = (pick: (f: CeilingFigures) => number) => median(passFigures.map(pick));
  // Paired: each timed run (or group of 4 G forwards) against the probe pass that followed it.
  const paired = ours ? {
    iteration: pairedFraction(iterMs.map((ms) => iterFlops / ms / 1e6), passFigures.slice(0, trainPasses.length).map((f) => f.iteration)),
    gForward: pairedFraction(gPasses.map((_, j) => fw.G / median(gMs.slice(4 * j, 4 * j + 4)) / 1e6), passFigures.slice(trainPasses.length).map((f) => f.gForward)),
  } : undefined;
  if (ours) {
    const typical = (pick: (f: CeilingFigures) => number) => medianPass(pick).toFixed(1);
    console.log(`interleaved wasm ceiling, ${threads} thread${threads > 1 ? 's' : ''} (each shape's best over the ${passes.length} passes between our runs, ${
      (probe!.bytes / 2 ** 20).toFixed(0)} MiB of probe tensors held meanwhile): G forward ${ours.gForward.toFixed(1)} GFLOP/s, training iteration ${
      ours.iteration.toFixed(1)} GFLOP/s (the median pass, typical rather than best: ${typical((f) => f.gForward)} / ${typical((f) => f.iteration)})`);
  }
  const fmt = (label: string, sec: number, flops: number, ceilingGflops?: number) => {
    const gflops = flops / sec / 1e9;
    console.log(`${label.padEnd(20)} ${sec.toFixed(3).padStart(8)} s   ${(o.batch / sec).toFixed(2).padStart(7)} images/s   ${
      gflops.toFixed(1).padStart(6)} GFLOP/s${ceilingGflops ? `   ${(100 * gflops / ceilingGflops).toFixed(1).padStart(5)}% of the best-case interleaved ${
      threads}-thread wasm ceiling (${ceilingGflops.toFixed(1)} GFLOP/s)` : ''}`);
  };
  console.log(`\nours (${tf.getBackend()}, ${threads} thread${threads > 1 ? 's' : ''}, median of ${o.steps}; iterations: ${iterMs.map((m) => (m / 1000).toFixed(2)).join(' ')} s)`);
  fmt('train_iteration', iterS, iterFlops, ours?.iteration);
  fmt('g_forward', gS, fw.G, ours?.gForward);
  console.log(`(g_forward: median of ${gMs.length}; ${gMs.map((m) => m.toFixed(0)).join(' ')} ms)`);
  const heap = wasmHeapBytes();
  console.log(`peak memory: process RSS ${mib(process.resourceUsage().maxRSS * 1024)}, tf.memory().numBytes ${mib(peakBytes)}${
    heap !== undefined ? `, wasm heap ${mib(heap)}` : ''}`);

  if (o.profile) {
    const rows = [...prof.byKernel.entries()];
    const kernelMs = rows.reduce((a, [, st]) => a + st.ms, 0);
    const executed = rows.reduce((a, [, st]) => a + st.flops, 0);
    console.log(`\nper-kernel profile of one training iteration: ${profMs.toFixed(0)} ms wall (instrumented), ${
      kernelMs.toFixed(0)} ms in kernels, ${(profMs - kernelMs).toFixed(0)} ms outside kernels (tape, tidy, dispose, JS); ${
      (executed / 1e9).toFixed(1)} GFLOP executed in Conv2D/BatchMatMul/ConvFilterGradSimd`);
    console.log(profileTable(rows, profMs, rows.length, 28));
    const slowInput = prof.byKernel.get(tf.Conv2DBackpropInput)?.calls ?? 0;
    const flagged = [...prof.byShape.entries()].filter(([k]) => k.startsWith(tf.BatchMatMul) && /tA=true|tB=true/.test(k))
      .reduce((a, [, st]) => a + st.calls, 0);
    console.log(`slow paths: Conv2DBackpropInput ${slowInput} calls, BatchMatMul with a transpose flag ${flagged} calls`);
    console.log(`\ntop ${o.top} kernel calls by input shapes:`);
    console.log(profileTable([...prof.byShape.entries()], profMs, o.top, 96));
    const gRows = [...gProf.byKernel.entries()].map(([k, st]): [string, KernelStat] => [k, { calls: st.calls / 4, ms: st.ms / 4, flops: st.flops / 4 }]);
    console.log(`\nper-kernel profile of a G forward (mean of 4): ${gProfMs.toFixed(0)} ms wall (instrumented)`);
    console.log(profileTable(gRows, gProfMs, 12, 28));
    // What the products alone allow: the workload's FLOPs over the time of its Conv2D / BatchMatMul kernels only.
    const productsMs = (r: [string, KernelStat][]) => r.filter(([, st]) => st.flops > 0).reduce((a, [, st]) => a + st.ms, 0);
    if (ours) {
      // Counted on the official network's FLOPs (the ceiling's), and on those the kernels execute
      // (fewer: the convs fused with a resampling, dsl/resample-conv.ts): what they reach per FLOP.
      const bound = (label: string, gflop: number, r: [string, KernelStat][], ceilingGflops: number) => {
        const ms = productsMs(r);
        const rate = gflop / ms * 1e3;
        const done = r.reduce((a, [, st]) => a + st.flops, 0) / 1e9;
        const doneRate = done / ms * 1e3;
        console.log(`${label}: its convolutions and products alone run at ${rate.toFixed(1)} GFLOP/s = ${(rate / ceilingGflops).toFixed(2)} of the interleaved ceiling (the bound with every other kernel and all JS at zero); on the ${
          done.toFixed(1)} GFLOP they execute, ${doneRate.toFixed(1)} GFLOP/s = ${(doneRate / ceilingGflops).toFixed(2)} of its rate`);
      };
      bound('training iteration', iterFlops / 1e9, rows, ours.iteration);
      bound('G forward', fw.G / 1e9, gRows, ours.gForward);
    }
  }

  if (o.tsc) console.log(`\ntsc --noEmit on the project: ${timeTsc().toFixed(1)} s`);

  // The same forward exported to ONNX, in onnxruntime-node with the PyTorch reference's threads
  // (examples/lib/ort-bench.ts), timed right before the reference: the ratio compares two timings of
  // the same minute (timed right after our own runs, onnxruntime's first seconds ran at half speed
  // in some runs, as if a core were still taken).
  const ort = await ortGForward(state.ema.generator, net, x.x, s, torchThreads, 4 * o.steps);
  if (typeof ort === 'string') console.log(`\n(onnxruntime G forward skipped: ${ort})`);
  else {
    console.log('');
    fmt(`ort g_forward`, ort.seconds, fw.G);
    console.log(`(ort g_forward: onnxruntime-node, ${ort.threads} threads, median of ${ort.runsMs.length}; ${ort.runsMs.map((m) => m.toFixed(0)).join(' ')} ms; relative difference from ours ${ort.relErr.toExponential(1)})`);
  }

  tf.dispose([x.x, x.y, x.yTrg, x.z1, x.z2, x.xRef, x.xRef2, s]);

  if (o.torch && torchAvailable()) {
    const t = runTorch(o);
    console.log(`pytorch (${t.impl}, ${t.threads} threads, mean of ${o.steps})`);
    fmt('train_iteration', t.train_step_s, iterFlops);
    fmt('g_forward', t.g_forward_s, fw.G);
    console.log(`ratio ours/pytorch train_iteration ${(iterS / t.train_step_s).toFixed(2)}`);
    console.log(`ratio ours/pytorch g_forward ${(gS / t.g_forward_s).toFixed(2)}`);
    if (typeof ort !== 'string') console.log(`ratio ort/pytorch g_forward ${(ort.seconds / t.g_forward_s).toFixed(2)}`);
  } else if (o.torch) {
    console.log('\n(PyTorch reference skipped: /usr/bin/python3 cannot import torch)');
  }
  if (ours && paired) {
    console.log(`fraction of measured wasm ceiling train_iteration ${paired.iteration.toFixed(2)}`);
    console.log(`fraction of measured wasm ceiling g_forward ${paired.gForward.toFixed(2)}`);
    console.log(`(the two lines above: each timed run against the ceiling pass measured right after it in this process, each kernel's best of ${
      passRepeats} runs, the median of the ${trainPasses.length} / ${gPasses.length} ratios: like with like, as this machine's speed moves between minutes)`);
    const yard = (pick: (f: CeilingFigures) => number) => (medianPass(pick) / pick(best!)).toFixed(2);
    console.log(`fraction of best-case wasm ceiling train_iteration ${(iterFlops / iterS / 1e9 / ours.iteration).toFixed(2)} (the ceiling's own median pass: ${yard((f) => f.iteration)})`);
    console.log(`fraction of best-case wasm ceiling g_forward ${(fw.G / gS / 1e9 / ours.gForward).toFixed(2)} (the ceiling's own median pass: ${yard((f) => f.gForward)})`);
    console.log('(the two lines above: our median run against each shape\'s best time over all interleaved passes; the ceiling\'s own kernels, timed as one pass like our runs, reach the figure in brackets)');
  }
  if (fresh) {
    console.log(`fraction of fresh-process wasm ceiling (${threads} thread${threads > 1 ? 's' : ''}, child processes before and after our runs) train_iteration ${
      (iterFlops / iterS / 1e9 / fresh.iteration).toFixed(2)}`);
    console.log(`fraction of fresh-process wasm ceiling (${threads} thread${threads > 1 ? 's' : ''}, child processes before and after our runs) g_forward ${
      (fw.G / gS / 1e9 / fresh.gForward).toFixed(2)}`);
  }
  if (!fs.existsSync(path.join(root, 'package.json'))) throw new Error('project root not found');
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) await main();
