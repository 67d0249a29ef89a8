/**
 * What the wasm backend's fastest kernels reach on this machine, at given convolution shapes:
 * the "ceiling" a whole training iteration or forward is compared with (examples/bench.ts).
 *
 * Each conv is timed twice, as an XNNPACK forward conv (`tf.conv2d`, the filter reused, so the
 * packed operator is cached as for a network's weights) and as the plain product of the same
 * work (`[N*Ho*Wo, K*K*Ci] x [K*K*Ci, Co]`, the GEMM of im2col without the im2col). The faster of
 * the two is that shape's ceiling: nothing built from these kernels does the same FLOPs faster.
 * A kernel's time ends when `runKernel` returns: wasm (and cpu) kernels run synchronously, threads
 * included, and reading the output back (a copy out of the wasm heap, up to 10 % of a kernel at
 * these shapes) is no part of a network's iteration, so it is not timed.
 * Times are the best of several runs after a warm-up (a ceiling is a best case, and the minimum
 * is what other jobs on a shared machine disturb least).
 *
 * A mix of convolutions (one network's forward) reaches `sum(flops) / sum(flops_i / rate_i)`:
 * the time the mix takes if every conv ran at its shape's ceiling.
 */
import * as tf from '@tensorflow/tfjs-core';

/** A stride-1 convolution: input `[n, h, w, ci]`, a `k` x `k` kernel to `co` channels, 'same' or 'valid' padding. */
export interface ConvShape {
  readonly n: number;
  readonly h: number;
  readonly w: number;
  readonly k: number;
  readonly ci: number;
  readonly co: number;
  readonly pad: 'same' | 'valid';
}

/** One shape's measurement: its FLOPs and the best milliseconds of each kernel. */
export interface ShapeRate {
  readonly shape: ConvShape;
  readonly flops: number;
  readonly convMs: number;
  readonly matMulMs: number;
}

const outSize = (c: ConvShape): [number, number] => (c.pad === 'same' ? [c.h, c.w] : [c.h - c.k + 1, c.w - c.k + 1]);

/** 2 K^2 Ci Co Ho Wo N. */
export function shapeFlops(c: ConvShape): number {
  const [ho, wo] = outSize(c);
  return 2 * c.k * c.k * c.ci * c.co * ho * wo * c.n;
}

/** The best wall time of `run` over at least `minRuns` runs and `minMs` in total, after one untimed run if `warmUp`. */
function bestMs(run: () => tf.Tensor, minRuns: number, minMs: number, warmUp = true): number {
  if (warmUp) run().dispose();
  let best = Infinity;
  let total = 0;
  for (let i = 0; i < minRuns || total < minMs; i++) {
    const t0 = performance.now();
    const y = run();
    const ms = performance.now() - t0;
    y.dispose();
    best = Math.min(best, ms);
    total += ms;
  }
  return best;
}

/** Times one shape as a forward conv and as its GEMM on the current backend (no tensors left behind). */
export function measureShape(c: ConvShape, minRuns = 3, minMs = 100): ShapeRate {
  const [ho, wo] = outSize(c);
  const x = tf.randomUniform([c.n, c.h, c.w, c.ci], -1, 1, 'float32', 1) as tf.Tensor4D;
  const f = tf.randomUniform([c.k, c.k, c.ci, c.co], -0.1, 0.1, 'float32', 2) as tf.Tensor4D;
  const convMs = bestMs(() => tf.conv2d(x, f, 1, c.pad), minRuns, minMs);
  tf.dispose([x]);
  const a = tf.randomUniform([c.n * ho * wo, c.k * c.k * c.ci], -1, 1, 'float32', 3) as tf.Tensor2D;
  const b = tf.reshape(f, [c.k * c.k * c.ci, c.co]) as tf.Tensor2D;
  const matMulMs = bestMs(() => tf.matMul(a, b), minRuns, minMs);
  tf.dispose([a, b, f]);
  return { shape: c, flops: shapeFlops(c), convMs, matMulMs };
}

const key = (c: ConvShape) => `${c.n},${c.h},${c.w},${c.k},${c.ci},${c.co},${c.pad}`;

const distinct = (shapes: readonly ConvShape[]): ConvShape[] => [...new Map(shapes.map((c) => [key(c), c])).values()];

/** Measures each distinct shape once. */
export function measureShapes(shapes: readonly ConvShape[], minRuns?: number, minMs?: number): ShapeRate[] {
  return distinct(shapes).map((c) => measureShape(c, minRuns, minMs));
}

/** Sampling the ceiling between other work: `pass()` times each shape once (conv and matMul). */
export interface CeilingProbe {
  /** Each shape's best of `repeats` back-to-back runs per kernel (default 1): a ceiling local to this moment. */
  pass(repeats?: number): ShapeRate[];
  /** Bytes the probe holds between passes (inputs and filters). */
  readonly bytes: number;
  dispose(): void;
}

/**
 * A probe that keeps each shape's input and filter between passes (the conv's packed operator
 * stays cached, as in `measureShape`), so a pass costs only the kernels: about the time of one
 * forward of every network. Interleaved with a benchmark's runs, its passes see the same load
 * as they do, which a measurement before or after cannot on a shared machine.
 */
export function ceilingProbe(shapes: readonly ConvShape[]): CeilingProbe {
  const held = distinct(shapes).map((c) => ({
    c,
    x: tf.randomUniform([c.n, c.h, c.w, c.ci], -1, 1, 'float32', 1) as tf.Tensor4D,
    f: tf.randomUniform([c.k, c.k, c.ci, c.co], -0.1, 0.1, 'float32', 2) as tf.Tensor4D,
  }));
  const best = (run: () => tf.Tensor, repeats: number): number => bestMs(run, repeats, 0, false);
  const matMul = (c: ConvShape, f: tf.Tensor4D, repeats: number): number => {
    const [ho, wo] = outSize(c);
    const a = tf.fill([c.n * ho * wo, c.k * c.k * c.ci], 0.5) as tf.Tensor2D;
    const b = tf.reshape(f, [c.k * c.k * c.ci, c.co]) as tf.Tensor2D;
    const ms = best(() => tf.matMul(a, b), repeats);
    tf.dispose([a, b]);
    return ms;
  };
  // Both kernels once before the first pass, so no pass pays for packing a filter.
  for (const { c, x, f } of held) {
    best(() => tf.conv2d(x, f, 1, c.pad), 1);
    matMul(c, f, 1);
  }
  return {
    bytes: held.reduce((a, h) => a + 4 * (h.x.size + h.f.size), 0),
    pass: (repeats = 1) => held.map(({ c, x, f }) => ({
      shape: c, flops: shapeFlops(c), convMs: best(() => tf.conv2d(x, f, 1, c.pad), repeats), matMulMs: matMul(c, f, repeats),
    })),
    dispose: () => tf.dispose(held.flatMap((h) => [h.x, h.f])),
  };
}

/**
 * Each shape's best time of each kernel over several passes: the probe's ceiling. One pass
 * times every kernel once, and single runs on this machine spread by 20 % and more, so a
 * pass's mix is the typical speed, not the best; the best over the passes is the statistic
 * `measureShape` takes (best of several runs), so the two ceilings are comparable.
 */
export function bestOfPasses(passes: readonly (readonly ShapeRate[])[]): ShapeRate[] {
  if (passes.length === 0) throw new Error('bestOfPasses: no passes');
  return passes[0].map((r, i) => ({
    ...r,
    convMs: Math.min(...passes.map((p) => p[i].convMs)),
    matMulMs: Math.min(...passes.map((p) => p[i].matMulMs)),
  }));
}

/** The faster kernel's milliseconds for a shape. */
export const bestOf = (r: ShapeRate): number => Math.min(r.convMs, r.matMulMs);

/**
 * GFLOP/s of a mix of convolutions (repeats allowed) if each ran at its shape's ceiling;
 * `ms` picks the kernel (default: the faster one). Every shape must have been measured.
 */
export function mixGflops(shapes: readonly ConvShape[], rates: readonly ShapeRate[], ms: (r: ShapeRate) => number = bestOf): number {
  const byKey = new Map(rates.map((r) => [key(r.shape), r]));
  let flops = 0;
  let time = 0;
  for (const c of shapes) {
    const r = byKey.get(key(c));
    if (!r) throw new Error(`mixGflops: shape ${key(c)} was not measured`);
    flops += r.flops;
    time += ms(r) / 1000;
  }
  return flops / time / 1e9;
}
