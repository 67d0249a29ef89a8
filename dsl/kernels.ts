/**
 * Gradients that tfjs lacks on wasm, or has only as slow paths (REFERENCE sections 7 and 9).
 *
 * Every gradient here is written with forward ops that themselves have gradients, so
 * gradients of gradients (R1, WGAN-GP) follow automatically:
 * - Conv2D: input gradient = forward conv of the padded upstream gradient with the
 *   kernel flipped and its channels swapped (10x faster than Conv2DBackpropInput);
 *   weight gradient = im2col + one plain matMul (wasm has no Conv2DBackpropFilter).
 * - BatchMatMul: explicit transposes instead of the 10x slower transposeA/B flags.
 * - AvgPoolGrad, ResizeNearestNeighborGrad: the missing second-order gradients.
 * - GatherV2: one-hot contraction instead of the missing UnsortedSegmentSum.
 * - comparisons (the masks inside ReLU-type gradients): zero, so those differentiate again.
 */
import * as tf from '@tensorflow/tfjs-core';

type Attrs = Record<string, unknown>;
type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;

function convInfo(x: tf.Tensor4D, filter: tf.Tensor4D, attrs: Attrs): Conv2DInfo {
  const { strides, pad, dilations, dimRoundingMode } = attrs as {
    strides: number | [number, number];
    pad: 'valid' | 'same' | number;
    dilations: number | [number, number];
    dimRoundingMode?: 'floor' | 'round' | 'ceil';
  };
  return tf.backend_util.computeConv2DInfo(
    x.shape, filter.shape, strides, dilations ?? 1, pad, dimRoundingMode, false, 'channelsLast',
  );
}

/** Patches of x for each kernel tap, concatenated on channels: `[N, Ho, Wo, KH*KW*Ci]`, HWIO-flattening order. */
export function im2col(x: tf.Tensor4D, info: Conv2DInfo): tf.Tensor4D {
  const { padInfo, filterHeight: kh, filterWidth: kw, strideHeight: sh, strideWidth: sw } = info;
  const { dilationHeight: dh, dilationWidth: dw, outHeight: ho, outWidth: wo } = info;
  const padded = tf.pad(x, [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]]);
  const [n, , , c] = x.shape;
  const taps: tf.Tensor4D[] = [];
  for (let i = 0; i < kh; i++) {
    for (let j = 0; j < kw; j++) {
      const begin = [0, i * dh, j * dw, 0];
      const end = [n, i * dh + sh * (ho - 1) + 1, j * dw + sw * (wo - 1) + 1, c];
      taps.push(sh === 1 && sw === 1
        ? tf.slice(padded, begin, [n, ho, wo, c])
        : tf.stridedSlice(padded, begin, end, [1, sh, sw, 1]) as tf.Tensor4D);
    }
  }
  return taps.length === 1 ? taps[0] : tf.concat(taps, 3);
}

/** dL/dW of a conv: im2col(x)^T @ dy, computed as (dy^T @ im2col(x))^T so no transpose flag is needed. */
function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], info: Conv2DInfo): tf.Tensor4D {
  const [kh, kw, ci, co] = filterShape;
  const cols = tf.reshape(im2col(x, info), [-1, kh * kw * ci]);
  const dyT = tf.transpose(tf.reshape(dy, [-1, co]));
  return tf.reshape(tf.transpose(tf.matMul(dyT, cols)), [kh, kw, ci, co]);
}

/** dL/dx of a stride-1 conv: a forward conv of the re-padded dy with the flipped, channel-swapped kernel. */
function convInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, xShape: number[], info: Conv2DInfo): tf.Tensor4D {
  const { padInfo, filterHeight: kh, filterWidth: kw } = info;
  const stride1 = info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1;
  if (!stride1) {
    return tf.conv2dTranspose(dy, filter, xShape as [number, number, number, number],
      [info.strideHeight, info.strideWidth],
      [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]]);
  }
  const flipped = tf.transpose(tf.reverse(filter, [0, 1]), [0, 1, 3, 2]) as tf.Tensor4D;
  if (kh === 1 && kw === 1 && padInfo.top === 0 && padInfo.left === 0) return tf.conv2d(dy, flipped, 1, 'valid');
  const repadded = tf.pad(dy, [
    [0, 0], [kh - 1 - padInfo.top, kh - 1 - padInfo.bottom], [kw - 1 - padInfo.left, kw - 1 - padInfo.right], [0, 0],
  ]);
  return tf.conv2d(repadded, flipped, 1, 'valid');
}

const conv2dGrad: tf.GradConfig = {
  kernelName: tf.Conv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const info = convInfo(x, filter, attrs as Attrs);
    const g = dy as tf.Tensor4D;
    return {
      x: () => convInputGrad(g, filter, x.shape, info),
      filter: () => convFilterGrad(x, g, filter.shape, info),
    };
  },
};

/** Swaps the last two axes explicitly (a cheap copy) so matMul runs without transpose flags. */
function swapLast(t: tf.Tensor): tf.Tensor {
  const perm = t.shape.map((_, i) => i);
  [perm[t.rank - 2], perm[t.rank - 1]] = [perm[t.rank - 1], perm[t.rank - 2]];
  return tf.transpose(t, perm);
}

/** Sums a batched gradient back down to an operand that was broadcast over batch axes. */
function unbroadcast(g: tf.Tensor, shape: number[]): tf.Tensor {
  if (g.rank === shape.length && g.shape.every((d, i) => d === shape[i])) return g;
  const lead = g.rank - shape.length;
  const axes: number[] = [];
  for (let i = 0; i < g.rank - 2; i++) if (i < lead || shape[i - lead] === 1) axes.push(i);
  return tf.reshape(tf.sum(g, axes), shape);
}

const batchMatMulGrad: tf.GradConfig = {
  kernelName: tf.BatchMatMul,
  inputsToSave: ['a', 'b'],
  gradFunc: (dy, saved, attrs) => {
    const [a, b] = saved;
    const { transposeA, transposeB } = attrs as { transposeA: boolean; transposeB: boolean };
    const A = transposeA ? swapLast(a) : a; // as used in the product: y = A @ B
    const B = transposeB ? swapLast(b) : b;
    const g = dy as tf.Tensor;
    const dA = () => tf.matMul(g, swapLast(B)); // dL/dA
    const dB = () => tf.matMul(swapLast(A), g); // dL/dB
    return {
      a: () => unbroadcast(transposeA ? swapLast(dA()) : dA(), a.shape),
      b: () => unbroadcast(transposeB ? swapLast(dB()) : dB(), b.shape),
    };
  },
};

/** AvgPoolGrad(dy) is linear in dy, and its adjoint is the pooling itself. */
const avgPoolGradGrad: tf.GradConfig = {
  kernelName: tf.AvgPoolGrad,
  inputsToSave: ['input'],
  gradFunc: (ddx, saved, attrs) => {
    const [input] = saved;
    const { filterSize, strides, pad } = attrs as { filterSize: [number, number]; strides: [number, number]; pad: 'valid' | 'same' };
    return {
      dy: () => tf.avgPool(ddx as tf.Tensor4D, filterSize, strides, pad),
      input: () => tf.zerosLike(input),
    };
  },
};

/** ResizeNearestNeighborGrad(dy) is linear in dy; its adjoint is the nearest resize. */
const resizeNearestGradGrad: tf.GradConfig = {
  kernelName: tf.ResizeNearestNeighborGrad,
  inputsToSave: ['images', 'dy'],
  gradFunc: (ddx, saved, attrs) => {
    const [images, dy] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { alignCorners, halfPixelCenters } = attrs as { alignCorners: boolean; halfPixelCenters: boolean };
    return {
      images: () => tf.zerosLike(images),
      dy: () => tf.image.resizeNearestNeighbor(ddx as tf.Tensor4D, [dy.shape[1], dy.shape[2]], alignCorners, halfPixelCenters),
    };
  },
};

/** Gather along axis 0 without UnsortedSegmentSum: dParams = onehot(indices)^T @ dy. */
const gatherGrad: tf.GradConfig = {
  kernelName: tf.GatherV2,
  inputsToSave: ['x', 'indices'],
  gradFunc: (dy, saved, attrs) => {
    const [x, indices] = saved;
    const { axis, batchDims } = attrs as { axis: number; batchDims: number };
    if (axis !== 0 || batchDims !== 0) throw new Error('gather gradient: only axis 0 without batchDims is supported');
    const rows = x.shape[0];
    const flatIdx = tf.reshape(indices, [-1]);
    const oneHotT = tf.transpose(tf.oneHot(tf.cast(flatIdx, 'int32'), rows)); // [rows, M]
    const flatDy = tf.reshape(dy as tf.Tensor, [flatIdx.shape[0], -1]);
    return {
      x: () => tf.reshape(tf.matMul(oneHotT, flatDy), x.shape),
      indices: () => tf.zerosLike(indices),
    };
  },
};

/** Comparisons are piecewise constant: zero gradient. Needed when a gradient's mask is itself differentiated. */
const comparisonKernels = [tf.Greater, tf.GreaterEqual, tf.Less, tf.LessEqual, tf.Equal, tf.NotEqual];
const zeroGradients: tf.GradConfig[] = comparisonKernels.map((kernelName) => ({
  kernelName,
  inputsToSave: ['a', 'b'],
  gradFunc: (_dy, saved) => ({ a: () => tf.zerosLike(saved[0]), b: () => tf.zerosLike(saved[1]) }),
}));

let registered = false;

/** Registers the gradients above (idempotent). Must run after `@tensorflow/tfjs` registered its own. */
export function registerGradients(): void {
  if (registered) return;
  for (const g of [conv2dGrad, batchMatMulGrad, avgPoolGradGrad, resizeNearestGradGrad, gatherGrad]) tf.registerGradient(g);
  for (const g of zeroGradients) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
  registered = true;
}
