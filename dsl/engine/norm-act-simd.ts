/**
 * Instance norm + per-sample scale and shift + leaky ReLU as this project's wasm SIMD kernels
 * (`simd/norm-act.c`), forward and backward: the generator's every normalisation (IN with
 * affine, AdaIN) is followed by a leaky ReLU, and as tfjs ops the pair costs ~7 full-size
 * passes forward and ~12 backward; the kernels make it 4 and ~7 (docs/PERFORMANCE.md).
 *
 * First-order only: the backward is a kernel without a gradient of its own. The generator's
 * training never differentiates twice (R1 differentiates the discriminator); code that needs
 * second-order gradients through a norm uses dsl/ops.ts's instanceNorm and leakyRelu.
 * Single-threaded, like tfjs-wasm's own elementwise kernels.
 */
import * as tf from '@tensorflow/tfjs-core';
import { offsetOf, simdInstance, simdKernelActive, type WasmBackendLike } from './simd-module.ts';

/** The kernels' names in tfjs's registry (wasm backend only). */
export const NormActSimd = 'NormActSimd';
export const NormActGradSimd = 'NormActGradSimd';

type Run = (...args: number[]) => void;

/** Floats between two samples' scale (and shift): C for `[N, C]`, 0 for one `[C]` shared by all. */
const perSampleStride = (scale: tf.TensorInfo, c: number) => (scale.shape.length === 1 ? 0 : c);

function forward({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const { x, scale, shift } = inputs as Record<'x' | 'scale' | 'shift', tf.TensorInfo>;
  const { eps, slope } = attrs as unknown as { eps: number; slope: number };
  const b = backend as unknown as WasmBackendLike;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const outs = [b.makeOutput(x.shape, 'float32'), b.makeOutput([n, c], 'float32'), b.makeOutput([n, c], 'float32')];
  const run = simdInstance(b.wasm, 'norm-act').exports.norm_act as Run;
  run(offsetOf(b, x), offsetOf(b, scale), offsetOf(b, shift), ...outs.map((o) => offsetOf(b, o)), n, h * w, c, perSampleStride(scale, c), eps, slope);
  return outs;
}

function backward({ inputs, backend, attrs }: Parameters<tf.KernelFunc>[0]): tf.TensorInfo[] {
  const { x, y, dy, mean, inv, scale } = inputs as Record<'x' | 'y' | 'dy' | 'mean' | 'inv' | 'scale', tf.TensorInfo>;
  const { slope } = attrs as unknown as { slope: number };
  const b = backend as unknown as WasmBackendLike;
  const [n, h, w, c] = x.shape as [number, number, number, number];
  const outs = [b.makeOutput(x.shape, 'float32'), b.makeOutput([n, c], 'float32'), b.makeOutput([n, c], 'float32')];
  const run = simdInstance(b.wasm, 'norm-act').exports.norm_act_grad as Run;
  run(...[x, y, dy, mean, inv, scale, ...outs].map((t) => offsetOf(b, t)), n, h * w, c, perSampleStride(scale, c), slope);
  return outs;
}

/** Whether the kernels handle x `[N, H, W, C]`: wasm, float32, C % 4 == 0, at least 2 pixels. */
export function simdNormActApplies(x: tf.Tensor): boolean {
  const [, h, w, c] = x.shape as number[];
  return x.rank === 4 && x.dtype === 'float32' && c! % 4 === 0 && h! * w! >= 2 && simdKernelActive(NormActSimd);
}

/**
 * `leakyRelu(instanceNorm(x) * scale + shift)` for x `[N, H, W, C]`, scale and shift both `[N, C]`
 * (per sample: AdaIN) or both `[C]` (for all samples: an affine IN, no broadcast copy), with its
 * first-order gradient for x, scale and shift.
 */
export function simdNormAct(x: tf.Tensor4D, scale: tf.Tensor2D | tf.Tensor1D, shift: tf.Tensor2D | tf.Tensor1D, eps: number, slope: number): tf.Tensor4D {
  const op = tf.customGrad(((xi: tf.Tensor, si: tf.Tensor, ti: tf.Tensor, save: tf.GradSaveFunc) => {
    const [y, mean, inv] = tf.engine().runKernel(NormActSimd, { x: xi, scale: si, shift: ti }, { eps, slope } as never) as unknown as tf.Tensor[];
    save([xi, y!, mean!, inv!, si]);
    return {
      value: y!,
      gradFunc: (dy: tf.Tensor, [xs, ys, ms, is, ss]: tf.Tensor[]) => {
        const [dx, dscale, dshift] = tf.engine().runKernel(NormActGradSimd, { x: xs!, y: ys!, dy, mean: ms!, inv: is!, scale: ss! }, { slope } as never) as unknown as tf.Tensor[];
        // per-sample gradients [N, C]; a [C] scale and shift were used by every sample
        return ss!.rank === 1 ? [dx!, tf.sum(dscale!, 0), tf.sum(dshift!, 0)] : [dx!, dscale!, dshift!];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0]);
  return op(x, scale, shift) as tf.Tensor4D;
}

/** Registers the kernels for the wasm backend (idempotent). */
export function registerSimdNormAct(): void {
  if (tf.getKernel(NormActSimd, 'wasm')) return;
  tf.registerKernel({ kernelName: NormActSimd, backendName: 'wasm', kernelFunc: forward as unknown as tf.KernelFunc });
  tf.registerKernel({ kernelName: NormActGradSimd, backendName: 'wasm', kernelFunc: backward as unknown as tf.KernelFunc });
  tf.registerGradient({
    kernelName: NormActGradSimd,
    gradFunc: () => {
      throw new Error('the fused norm + leaky ReLU kernel is first-order only: for second-order gradients use instanceNorm and leakyRelu (dsl/ops.ts)');
    },
  });
}
