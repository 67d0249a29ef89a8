/**
 * The linear maps behind dsl/resample-conv.ts, as this project's wasm SIMD kernels
 * (`simd/resample-conv.c`): the sub-pixel filter `[3, 3, Ci, Co] -> [2, 2, Ci, 4Co]`, the pooled
 * filter `[3, 3, Ci, Co] -> [4, 4, Ci, Co]`, and the sub-pixel shuffle
 * `[N, H+1, W+1, 4C] -> [N, 2H, 2W, C]`, and the filter of a 4x4 stride-2 conv's input gradient
 * `[4, 4, Ci, Co] -> [2, 2, Co, 4Ci]` (strided.ts). Each comes with its adjoint as a second kernel,
 * and each kernel's gradient is the other one, so gradients of any order run through them.
 */
import * as tf from '@tensorflow/tfjs-core';
import { offsetOf, simdInstance, simdKernelActive, type WasmBackendLike } from './simd-module.ts';
import { runSplit } from './simd-threads.ts';

type Shape4 = [number, number, number, number];
type KernelArgs = Parameters<tf.KernelFunc>[0];

/** One kernel: its output shape from the input's, and how it runs on the backend. */
export interface LinearKernel {
  readonly name: string;
  readonly outShape: (s: Shape4) => Shape4;
  readonly run: (b: WasmBackendLike, x: number, out: number, s: Shape4) => void;
}

const call = (b: WasmBackendLike, entry: string, ...args: number[]) =>
  (simdInstance(b.wasm, 'resample-conv').exports[entry] as (...a: number[]) => void)(...args);

/** A filter map `[3, 3, Ci, Co] <-> [k, k, Ci, g Co]` and its adjoint. */
function filterPair(name: string, entry: string, k: number, groups: number): [LinearKernel, LinearKernel] {
  return [
    { name, outShape: ([, , ci, co]) => [k, k, ci, groups * co], run: (b, x, o, [, , ci, co]) => call(b, entry, x, o, ci, co) },
    { name: `${name}Adjoint`, outShape: ([, , ci, gco]) => [3, 3, ci, gco / groups], run: (b, x, o, [, , ci, gco]) => call(b, `${entry}_adjoint`, x, o, ci, gco / groups) },
  ];
}

/** Rows per share: at least ~64k floats written (a smaller share is not worth waking a worker). */
const minRows = (w: number, c: number) => Math.ceil(65536 / (4 * w * c));

export const [subpixelFilterKernel, subpixelFilterAdjointKernel] = filterPair('SubpixelFilterSimd', 'subpixel_filter', 2, 4);
export const [poolFilterKernel, poolFilterAdjointKernel] = filterPair('PoolFilterSimd', 'pool_filter', 4, 1);
export const stride2InputFilterKernel: LinearKernel = {
  name: 'Stride2InputFilterSimd',
  outShape: ([, , ci, co]) => [2, 2, co, 4 * ci],
  run: (b, w, o, [, , ci, co]) => call(b, 'stride2_input_filter', w, o, ci, co),
};
export const stride2InputFilterAdjointKernel: LinearKernel = {
  name: 'Stride2InputFilterSimdAdjoint',
  outShape: ([, , co, ci4]) => [4, 4, ci4 / 4, co],
  run: (b, d, o, [, , co, ci4]) => call(b, 'stride2_input_filter_adjoint', d, o, ci4 / 4, co),
};
export const shuffleKernel: LinearKernel = {
  name: 'SubpixelShuffleSimd',
  outShape: ([n, h1, w1, c4]) => [n, 2 * (h1 - 1), 2 * (w1 - 1), c4 / 4],
  run: (b, y, o, [n, h1, w1, c4]) => runSplit(b, 'subpixel_shuffle', n * (h1 - 1), (r, k) => [y, o, r, k, h1 - 1, w1 - 1, c4 / 4], 1, minRows(w1 - 1, c4 / 4)),
};
export const unshuffleKernel: LinearKernel = {
  name: 'SubpixelUnshuffleSimd',
  outShape: ([n, h2, w2, c]) => [n, h2 / 2 + 1, w2 / 2 + 1, 4 * c],
  run: (b, d, o, [n, h2, w2, c]) => runSplit(b, 'subpixel_unshuffle', n * (h2 / 2 + 1), (q, k) => [d, o, q, k, h2 / 2, w2 / 2, c], 1, minRows(w2 / 2, c)),
};

/** Runs a kernel on a float32 rank-4 tensor. */
export function runLinear(k: LinearKernel, x: tf.Tensor4D): tf.Tensor4D {
  return tf.engine().runKernel(k.name, { x }) as tf.Tensor4D;
}

/** Whether the kernels run here: the wasm backend with them registered, a float32 rank-4 input. */
export function resampleConvSimdApplies(x: tf.Tensor): boolean {
  return x.rank === 4 && x.dtype === 'float32' && simdKernelActive(shuffleKernel.name);
}

function register(k: LinearKernel, adjoint: LinearKernel): void {
  const kernelFunc = ({ inputs, backend }: KernelArgs): tf.TensorInfo => {
    const { x } = inputs as { x: tf.TensorInfo };
    const b = backend as unknown as WasmBackendLike;
    const s = x.shape as Shape4;
    const out = b.makeOutput(k.outShape(s), 'float32');
    k.run(b, offsetOf(b, x), offsetOf(b, out), s);
    return out;
  };
  tf.registerKernel({ kernelName: k.name, backendName: 'wasm', kernelFunc: kernelFunc as unknown as tf.KernelFunc });
  tf.registerGradient({ kernelName: k.name, gradFunc: (dy) => ({ x: () => runLinear(adjoint, dy as tf.Tensor4D) }) });
}

/** Registers the eight kernels and their gradients for the wasm backend (idempotent). */
export function registerSimdResampleConv(): void {
  if (tf.getKernel(shuffleKernel.name, 'wasm')) return;
  const pairs = [[subpixelFilterKernel, subpixelFilterAdjointKernel], [poolFilterKernel, poolFilterAdjointKernel],
    [stride2InputFilterKernel, stride2InputFilterAdjointKernel], [shuffleKernel, unshuffleKernel]] as const;
  for (const [k, a] of pairs) {
    register(k, a);
    register(a, k);
  }
}
