/**
 * A per-kernel profiler for tfjs: every registered kernel of the backend is wrapped with a wall clock
 * (wasm and cpu kernels run synchronously, so wall time per kernel is its cost), and the FLOPs of
 * convolutions and matrix products are counted from their shapes, so a table shows GFLOP/s per kernel.
 */
import * as tf from '@tensorflow/tfjs-core';
import { ConvFilterGradSimd } from './conv-filter-grad-simd.ts';

/** Totals of one row of a profile: calls, wall milliseconds, FLOPs (convolution, weight-gradient and matrix-product kernels only). */
export interface KernelStat { calls: number; ms: number; flops: number }

/** FLOPs of one kernel call: 2 * K * (output elements) for convolutions, conv weight gradients and matrix products, else 0. */
function kernelFlops(name: string, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap | undefined, out: tf.TensorInfo | tf.TensorInfo[]): number {
  const o = Array.isArray(out) ? out[0] : out;
  if (name === tf.Conv2D || name === tf.FusedConv2D) {
    const f = inputs.filter!.shape; // [kh, kw, ci, co]
    return 2 * f[0] * f[1] * f[2] * o.shape.reduce((a, b) => a * b, 1);
  }
  if (name === ConvFilterGradSimd) {
    const dy = inputs.dy!.shape; // [n, ho, wo, co]; out [kh, kw, ci, co]
    return 2 * dy[0] * dy[1] * dy[2] * o.shape.reduce((a, b) => a * b, 1);
  }
  if (name === tf.BatchMatMul || name === tf._FusedMatMul) {
    const a = inputs.a!.shape;
    const k = attrs?.transposeA ? a[a.length - 2] : a[a.length - 1];
    return 2 * k * o.shape.reduce((x, y) => x * y, 1);
  }
  return 0;
}

/**
 * Wraps every registered kernel of a backend with a wall clock, counting per kernel name (and, with `detail`,
 * per kernel and input shapes) while `run` is active, and the peak of tf's allocated bytes.
 */
export class KernelProfiler {
  readonly byKernel = new Map<string, KernelStat>();
  readonly byShape = new Map<string, KernelStat>();
  peakBytes = 0;
  private active = false;
  private readonly originals: tf.KernelConfig[] = [];

  constructor(private readonly backendName: string, private readonly detail: boolean) {}

  /** Replaces the backend's kernels by timed wrappers (inactive until `run`). */
  install(): void {
    for (const cfg of tf.getKernelsForBackend(this.backendName)) {
      this.originals.push(cfg);
      const inner = cfg.kernelFunc;
      const name = cfg.kernelName;
      const kernelFunc: tf.KernelFunc = (args) => {
        if (!this.active) return inner(args);
        const t0 = performance.now();
        const out = inner(args);
        const ms = performance.now() - t0;
        const flops = kernelFlops(name, args.inputs, args.attrs, out);
        add(this.byKernel, name, ms, flops);
        if (this.detail) {
          const shapes = Object.entries(args.inputs).map(([k, v]) => `${k}[${v?.shape.join(',')}]`).join(' ');
          const a = args.attrs ?? {};
          const attrs = name === tf.BatchMatMul ? ` tA=${String(a.transposeA)} tB=${String(a.transposeB)}`
            : 'perm' in a ? ` perm=${String(a.perm)}` : 'axis' in a ? ` axis=${String(a.axis)}` : '';
          add(this.byShape, `${name} ${shapes}${attrs}`, ms, flops);
        }
        const bytes = tf.engine().state.numBytes;
        if (bytes > this.peakBytes) this.peakBytes = bytes;
        return out;
      };
      tf.unregisterKernel(name, this.backendName);
      tf.registerKernel({ ...cfg, kernelFunc });
    }
  }

  /** Restores the original kernels. */
  uninstall(): void {
    for (const cfg of this.originals) {
      tf.unregisterKernel(cfg.kernelName, this.backendName);
      tf.registerKernel(cfg);
    }
    this.originals.length = 0;
  }

  /** Runs `f` with the wrappers counting. */
  run<T>(f: () => T): T {
    this.active = true;
    try {
      return f();
    } finally {
      this.active = false;
    }
  }
}

function add(m: Map<string, KernelStat>, k: string, ms: number, flops: number) {
  const s = m.get(k) ?? { calls: 0, ms: 0, flops: 0 };
  s.calls++;
  s.ms += ms;
  s.flops += flops;
  m.set(k, s);
}

/** A text table of the `top` slowest rows: kernel (cut to `width`), calls, total ms, % of `totalMs`, GFLOP/s. */
export function profileTable(rows: [string, KernelStat][], totalMs: number, top: number, width: number): string {
  const sorted = [...rows].sort((a, b) => b[1].ms - a[1].ms).slice(0, top);
  const head = `${'kernel'.padEnd(width)} ${'calls'.padStart(6)} ${'total ms'.padStart(10)} ${'% iter'.padStart(7)} ${'GFLOP/s'.padStart(8)}`;
  const lines = sorted.map(([k, s]) =>
    `${k.slice(0, width).padEnd(width)} ${String(s.calls).padStart(6)} ${s.ms.toFixed(1).padStart(10)} ${(100 * s.ms / totalMs).toFixed(1).padStart(7)} ${
      s.flops ? (s.flops / s.ms / 1e6).toFixed(1).padStart(8) : ''.padStart(8)}`);
  return [head, '-'.repeat(head.length), ...lines].join('\n');
}
