/**
 * Gradients that tfjs lacks on wasm, or has only as slow paths (REFERENCE sections 7 and 9),
 * and fast paths for wasm kernels that tfjs-wasm implements slowly (docs/PERFORMANCE.md).
 *
 * Every gradient here is written with forward ops that themselves have gradients, so
 * gradients of gradients (R1, WGAN-GP) follow automatically:
 * - Conv2D: input gradient = forward conv of the padded upstream gradient with the
 *   kernel flipped and its channels swapped (10x faster than Conv2DBackpropInput);
 *   weight gradient = this project's SIMD kernel where the channels allow
 *   (conv-filter-grad-simd.ts), else one forward conv with batch and channels swapped
 *   (wasm has no Conv2DBackpropFilter; see `convFilterGradStride1`).
 * - BatchMatMul: explicit transposes instead of the 10x slower transposeA/B flags.
 * - LeakyRelu: `dy * step(x, alpha)` instead of tfjs's Greater + Select (slow loops on wasm).
 * - AvgPoolGrad, ResizeNearestNeighborGrad: the missing second-order gradients.
 * - GatherV2: one-hot contraction instead of the missing UnsortedSegmentSum.
 * - Mean, Sum: the broadcast of dy without a ones tensor built in JavaScript.
 * - FusedConv2D (a conv with its bias, `conv2dBias`): the Conv2D gradients plus the bias sum.
 * - comparisons (the masks inside ReLU-type gradients): zero, so those differentiate again.
 *
 * Kernel fast paths (wasm only, same results up to float32 summation order): Identity and
 * same-dtype Cast without a copy, Reverse over leading axes and Slice as block copies,
 * LeakyRelu as `x * step(x, alpha)`, Mean and Sum over consecutive axes as two XNNPACK average poolings.
 *
 * Over 400 lines on purpose: each replacement is registered against tfjs's kernel and gradient
 * registries in one place, so the set of what this project overrides on wasm reads as one list.
 */
import * as tf from '@tensorflow/tfjs-core';
import { registerSimdFilterGrad, simdFilterGrad, simdFilterGradApplies } from './conv-filter-grad-simd.ts';
import { registerSimdAdamStep } from './adam-step-simd.ts';
import { registerSimdNormAct } from './norm-act-simd.ts';
import { registerSimdLeakyRelu, simdLeakyReluApplies, simdLeakyReluGrad, simdLeakyReluInfo } from './leaky-relu-simd.ts';
import { registerSimdFlipFilter, simdFlipFilter, simdFlipFilterApplies } from './flip-filter-simd.ts';
import { registerSimdUp2 } from './up2-simd.ts';
import { registerSimdAddScale } from './add-scale-simd.ts';
import { registerSimdResampleConv } from './resample-conv-simd.ts';

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

/**
 * Plain products on wasm (REFERENCE section 9). tfjs-wasm runs `matMul(a, b)` as an XNNPACK
 * fully-connected op whose "weights" are b: b is re-packed on every call and the product
 * streams a's rows past it. So the fast orientation puts the long dimension on a's rows and
 * keeps b narrow; a transpose flag, or a batch dimension, falls back to a naive loop.
 */

/** dL/dW of a stride-1 conv; see `convFilterGradStride1`. Other strides: im2col + one matMul. */
export function convFilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], info: Conv2DInfo): tf.Tensor4D {
  const stride1 = info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1;
  if (stride1) return convFilterGradStride1(x, dy, filterShape, info);
  const [kh, kw, ci, co] = filterShape;
  const cols = tf.reshape(im2col(x, info), [-1, kh * kw * ci]);
  const dyT = tf.transpose(tf.reshape(dy, [-1, co]));
  return tf.reshape(tf.transpose(tf.matMul(dyT, cols)), [kh, kw, ci, co]);
}

/**
 * dL/dW[i, j, c, o] = sum over n, h, w of xp[n, h+i, w+j, c] dy[n, h, w, o], with xp the padded input.
 *
 * With Ci % 4 == 0 and Co % 8 == 0 on wasm: the SIMD kernel (conv-filter-grad-simd.ts, 1.2-2.6x
 * faster per call than the paths below, 1.4-8x for 1x1 kernels), except for a kernel that covers
 * the whole (unpadded) input, like the 4x4-valid conv to 1x1. Otherwise, written without im2col
 * (slices and a channel concat are slow loops on wasm): that kernel and a 1x1 kernel, one matMul
 * with x itself; any other, one forward conv with batch and channels swapped (below).
 */
function convFilterGradStride1(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: number[], info: Conv2DInfo): tf.Tensor4D {
  const [kh, kw, ci, co] = filterShape;
  const [n, h, w] = x.shape;
  const { top, bottom, left, right } = info.padInfo;
  const unpadded = top === 0 && bottom === 0 && left === 0 && right === 0;
  const coversInput = unpadded && kh === h && kw === w; // one output pixel per image: a plain product
  if (!coversInput && simdFilterGradApplies(ci, co)) return simdFilterGrad(x, dy, kh, kw, top, left);
  if (unpadded && ((kh === 1 && kw === 1) || coversInput)) {
    // cols = x itself: [N*Ho*Wo, KH*KW*Ci]; dW = cols^T @ dy, computed with the longer side on
    // the left. Channel-major copies come from 4-d transposes (2.5x faster than 2-d ones on wasm).
    const rows = n * dy.shape[1] * dy.shape[2];
    const k = kh * kw * ci;
    const colsT = () => (kh === 1 ? tf.reshape(tf.transpose(x, [3, 0, 1, 2]), [ci, rows]) : tf.transpose(tf.reshape(x, [rows, k])));
    if (k >= co) return tf.reshape(longProduct(colsT(), tf.reshape(dy, [rows, co])), [kh, kw, ci, co]);
    const dyT = tf.reshape(tf.transpose(dy, [3, 0, 1, 2]), [co, rows]);
    return tf.reshape(tf.transpose(longProduct(dyT, tf.reshape(x, [rows, k]))), [kh, kw, ci, co]);
  }
  if (ci * 4 > co) return filterGradByDyFilter(x, dy, kh, kw, info.padInfo);
  const xp = unpadded ? x : tf.pad(x, [[0, 0], [top, bottom], [left, right], [0, 0]]); // the "filter": padded for real (small: few channels)
  return filterGradByInputFilter(xp, dy, kh, kw);
}

/**
 * `aT @ b` for aT `[P, R]`, b `[R, Q]`, R the reduction (N*H*W of a 1x1 conv's weight gradient,
 * 32,768 at 64x64 and batch 8). XNNPACK accumulates each output along R in one float32 sequence
 * (~4e-6 relative at R = 32,768, 3-10x PyTorch's); above `bandAbove` this sums the products of
 * `bandLength`-row blocks instead (~5e-7; the column slices of aT are block copies).
 */
function longProduct(aT: tf.Tensor, b: tf.Tensor): tf.Tensor {
  const rows = b.shape[0];
  if (rows <= bandAbove) return tf.matMul(aT, b);
  const parts: tf.Tensor[] = [];
  for (let r = 0; r < rows; r += bandLength) {
    const len = Math.min(bandLength, rows - r);
    parts.push(tf.matMul(tf.slice(aT, [0, r], [-1, len]), tf.slice(b, [r, 0], [len, -1])));
  }
  return tf.addN(parts);
}

/** Channels sharing one conv image (see `filterGradByDyFilter`): 4, else 2, else 1. */
const interleave = (c: number) => (c % 4 === 0 ? 4 : c % 2 === 0 ? 2 : 1);

/**
 * `[N, H, W, C] -> [C/r, H, W*r, N]`: channels as the batch, r of them interleaved along the
 * width (column w*r + t holds channel t of the group), samples as channels. One 4-d transpose.
 */
function channelsAsBatch(t: tf.Tensor4D, r: number): tf.Tensor4D {
  const [n, h, w, c] = t.shape;
  return tf.reshape(tf.transpose(tf.reshape(t, [n, h * w, c / r, r]), [2, 1, 3, 0]), [c / r, h, w * r, n]) as tf.Tensor4D;
}

/** Reduction length (N*Ho*Wo) above which `filterGradByDyFilter` and `longProduct` split it into bands; a band's target length. */
const bandAbove = 16384;
const bandLength = 4096;

/**
 * The general stride-1 weight gradient as forward convs (XNNPACK, threaded) with batch and
 * channels swapped: input x as [Ci, H, W, N] with the forward conv's padding (explicit, so no
 * padded copy of x), "filter" dy as [Ho, Wo, N, Co] -> [Ci, KH, KW, Co]. 15-25 % faster than
 * stacking KH*KW shifted copies of dy for one matMul (pads and a concat are single-threaded
 * loops on wasm). Only forward ops: second order through
 * it is not needed (R1 differentiates the input gradient, never the weight gradient).
 *
 * - XNNPACK tiles each image's output pixels by 4 rows, and a 3x3 output wastes a quarter of
 *   its tiles. So r = 4 input channels share one image, interleaved along the width, and dy is
 *   dilated by r along the width: output column j*r + t is tap j of channel t, 3 x 12 pixels
 *   per image, no waste (10-25 % faster per call).
 * - XNNPACK does not block the reduction (N*Ho*Wo long), so at 64x64 each output tile streams
 *   megabytes from memory. Bands of rows (reductions of ~4,096) summed afterwards are ~20 %
 *   faster there (slices are block copies, the Slice fast path below).
 */
function filterGradByDyFilter(x: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number, pad: Conv2DInfo['padInfo']): tf.Tensor4D {
  const [n, h, , ci] = x.shape;
  const [, ho, wo, co] = dy.shape;
  const r = interleave(ci);
  const xT = channelsAsBatch(x, r); // [Ci/r, H, W*r, N]; zero-padded by the conv (explicit padding, r columns per pixel)
  const dyT = tf.transpose(dy, [1, 2, 0, 3]) as tf.Tensor4D; // [Ho, Wo, N, Co]
  const conv = (xs: tf.Tensor4D, ds: tf.Tensor4D, top: number, bottom: number) =>
    tf.conv2d(xs, ds, 1, [[0, 0], [top, bottom], [pad.left * r, pad.right * r], [0, 0]], 'NHWC', [1, r]); // [Ci/r, KH, KW*r, Co]
  let out: tf.Tensor4D;
  const rows = Math.max(1, Math.floor(bandLength / (wo * n)));
  if (ho * wo * n <= bandAbove || rows >= ho) {
    out = conv(xT, dyT, pad.top, pad.bottom);
  } else {
    const partials: tf.Tensor4D[] = [];
    for (let b = 0; b < ho; b += rows) {
      const len = Math.min(rows, ho - b);
      // the band's rows of the padded input, [b, b + len + KH - 1), are rows [b - top, ...) of x; the part outside x is padding
      const from = b - pad.top;
      const to = from + len + kh - 1;
      const lo = Math.max(0, from);
      const hi = Math.min(h, to);
      const xs = tf.slice(xT, [0, lo, 0, 0], [ci / r, hi - lo, -1, -1]);
      partials.push(conv(xs, tf.slice(dyT, [b, 0, 0, 0], [len, -1, -1, -1]), lo - from, to - hi));
    }
    out = tf.addN(partials);
  }
  return tf.reshape(tf.transpose(tf.reshape(out, [ci / r, kh * kw, r, co]), [1, 0, 2, 3]), [kh, kw, ci, co]);
}

/**
 * The same gradient with the roles swapped, for few input channels (the 3-channel from_rgb
 * conv): dy (zero-padded by the kernel size) is the conv input, Co as the batch, and xp the
 * "filter", so XNNPACK packs the small x instead of dy (~2x faster there). The output comes
 * out spatially flipped, `[Co, KH, KW, Ci]` at tap (KH-1-i, KW-1-j).
 */
function filterGradByInputFilter(xp: tf.Tensor4D, dy: tf.Tensor4D, kh: number, kw: number): tf.Tensor4D {
  const ci = xp.shape[3];
  const co = dy.shape[3];
  const r = interleave(co);
  // dy zero-padded by the kernel size, by the conv's explicit padding (r columns per pixel after the interleave)
  const pads: [[number, number], [number, number], [number, number], [number, number]] = [[0, 0], [kh - 1, kh - 1], [(kw - 1) * r, (kw - 1) * r], [0, 0]];
  const out = tf.conv2d(channelsAsBatch(dy, r), tf.transpose(xp, [1, 2, 0, 3]) as tf.Tensor4D, 1, pads, 'NHWC', [1, r]); // [Co/r, KH, KW*r, Ci]
  const flipped = tf.reshape(tf.transpose(tf.reshape(out, [co / r, kh * kw, r, ci]), [1, 3, 0, 2]), [kh, kw, ci, co]);
  return tf.reverse(flipped, [0, 1]) as tf.Tensor4D;
}

/**
 * The kernel for the input gradient: flipped spatially, in/out channels swapped,
 * `[KH, KW, Ci, Co] -> [KH, KW, Co, Ci]`. The flip reverses the taps, a block copy on wasm
 * (the Reverse fast path below).
 */
function flipFilter(filter: tf.Tensor4D): tf.Tensor4D {
  if (simdFlipFilterApplies(filter)) return simdFlipFilter(filter); // one SIMD pass on wasm
  const [kh, kw] = filter.shape;
  const swapped = tf.transpose(filter, [0, 1, 3, 2]) as tf.Tensor4D;
  return kh * kw === 1 ? swapped : tf.reverse(swapped, [0, 1]);
}

/** What the per-buffer caches read of the engine's state (tfjs-core 4.22 `EngineState`). */
interface EngineState {
  activeTape: object | null;
  gradientDepth: number;
  kernelDepth: number;
  tensorInfo: WeakMap<tf.DataId, unknown>;
}
const engineState = () => (tf.engine() as unknown as { state: EngineState }).state;

/** Derived tensors by their source's buffer, with the tape they were recorded on (null: none). */
type BufferCache = Map<tf.DataId, { tape: object | null; value: tf.Tensor }>;

/**
 * `make(t)`, computed once per buffer of t and gradient tape. A weight is back-propagated
 * through 2-4 times per training sub-step (real and fake images, R1, the cycle); reusing one
 * derived kernel (flipped, transposed) also lets tfjs-wasm reuse the XNNPACK operator it
 * packed for it (its operator caches are keyed by the weights' buffer), most of the saving.
 *
 * A value made while a tape records is reused only on that same tape (a second-order gradient
 * then still flows through it to the source); one made with no tape recording only where none
 * records. Entries whose source buffer was freed are disposed on the next miss.
 */
function cachedPerBuffer<T extends tf.Tensor>(make: (t: T) => T): (t: T) => T {
  const cache: BufferCache = new Map();
  return (t: T) => {
    const st = engineState();
    const tape = st.gradientDepth > 0 && st.kernelDepth === 0 ? st.activeTape : null;
    const hit = cache.get(t.dataId);
    if (hit && hit.tape === tape && !hit.value.isDisposed) return hit.value as T;
    for (const [id, e] of cache) {
      if (id === t.dataId || !st.tensorInfo.has(id)) {
        e.value.dispose();
        cache.delete(id);
      }
    }
    const value = tf.keep(make(t));
    cache.set(t.dataId, { tape, value });
    return value;
  };
}

/** The conv input gradient's kernel (`flipFilter`), once per kernel buffer and tape. */
const flippedFilter = cachedPerBuffer(flipFilter);

/** A matrix's transpose (the right operand of `dA = dy @ B^T`: a linear layer's weight), once per buffer and tape. */
const transposedMatrix = cachedPerBuffer((b: tf.Tensor) => swapLast(b));

/** dL/dx of a stride-1 conv: a forward conv of the re-padded dy with the flipped, channel-swapped kernel. */
export function convInputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, xShape: number[], info: Conv2DInfo): tf.Tensor4D {
  const { padInfo, filterHeight: kh, filterWidth: kw } = info;
  const stride1 = info.strideHeight === 1 && info.strideWidth === 1 && info.dilationHeight === 1 && info.dilationWidth === 1;
  if (!stride1) {
    return tf.conv2dTranspose(dy, filter, xShape as [number, number, number, number],
      [info.strideHeight, info.strideWidth],
      [[0, 0], [padInfo.top, padInfo.bottom], [padInfo.left, padInfo.right], [0, 0]]);
  }
  const unpadded = padInfo.top === 0 && padInfo.bottom === 0 && padInfo.left === 0 && padInfo.right === 0;
  const [n, h, w, ci] = xShape;
  if (unpadded && kh === h && kw === w && kh * kw > 1) {
    // The kernel covers the input (output 1x1): dx = dy @ W^T, computed as (W @ dy^T)^T with
    // W's long side on the left; a padded conv would do KH*KW times the work on zeros.
    const co = filter.shape[3];
    const dxT = tf.matMul(tf.reshape(filter, [kh * kw * ci, co]), tf.transpose(tf.reshape(dy, [n, co])));
    return tf.reshape(tf.transpose(dxT), [n, h, w, ci]);
  }
  const flipped = flippedFilter(filter);
  if (kh === 1 && kw === 1 && unpadded) return tf.conv2d(dy, flipped, 1, 'valid');
  // dy "re-padded" by the conv itself (explicit padding: XNNPACK reads zeros for the border, no PadV2 copy of dy)
  return tf.conv2d(dy, flipped, 1, [
    [0, 0], [kh - 1 - padInfo.top, kh - 1 - padInfo.bottom], [kw - 1 - padInfo.left, kw - 1 - padInfo.right], [0, 0],
  ]);
}

/**
 * A conv plus its per-channel bias, when it has one, in one kernel (FusedConv2D: XNNPACK starts
 * each output's accumulator at the bias, so the separate full-size Add pass, and the tape's copy of
 * its input, go away); without a bias, a plain Conv2D. FusedConv2D's gradient (`fusedConv2dGrad`) is
 * the Conv2D one plus the bias sum; stride 2 takes the phase decomposition's (strided.ts). A number
 * `pad` pads every side by that many zeros.
 */
export function conv2dBias(x: tf.Tensor4D, filter: tf.Tensor4D, bias: tf.Tensor | undefined, pad: 'same' | 'valid' | number, strides: 1 | 2 = 1): tf.Tensor4D {
  if (!bias) return tf.conv2d(x, filter, strides, pad);
  const attrs = { strides, pad, dataFormat: 'NHWC', dilations: 1, activation: 'linear' };
  return tf.engine().runKernel(tf.FusedConv2D, { x, filter, bias }, attrs as unknown as tf.NamedAttrMap) as tf.Tensor4D;
}

/** Gradients of `conv2dBias` (linear activation, no prelu weights: what it runs). */
const fusedConv2dGrad: tf.GradConfig = {
  kernelName: tf.FusedConv2D,
  inputsToSave: ['x', 'filter'],
  gradFunc: (dy, saved, attrs) => {
    const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
    const { activation } = attrs as { activation: string };
    if (activation !== 'linear') throw new Error(`FusedConv2D gradient: only the linear activation is supported, got ${activation}`);
    const info = convInfo(x, filter, attrs as Attrs);
    const g = dy as tf.Tensor4D;
    return {
      x: () => convInputGrad(g, filter, x.shape, info),
      filter: () => convFilterGrad(x, g, filter.shape, info),
      bias: () => tf.sum(g, [0, 1, 2]),
    };
  },
};

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
    const dA = () => tf.matMul(g, B.rank === 2 && !transposeB ? transposedMatrix(B) : swapLast(B)); // dL/dA
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

/**
 * Mean and Sum: dy broadcast back over the reduced axes. tfjs's rules build a ones tensor of
 * x's shape in JavaScript (a fill of 1M floats in JS, then a copy into the wasm heap) and, for
 * Mean, multiply and divide at x's size; here the division happens at dy's size and the ones
 * are a Fill kernel (3x faster per 1M-float gradient). The same values: (dy / B) * 1 = (dy * 1) / B.
 * Fill is a constant and Mul differentiates, so this differentiates again.
 */
function reductionGrad(kernelName: string, isMean: boolean): tf.GradConfig {
  return {
    kernelName,
    inputsToSave: ['x'],
    gradFunc: (dy, saved, attrs) => {
      const [x] = saved;
      const axes = tf.util.parseAxisParam((attrs as { axis: number | number[] }).axis, x.shape);
      const expanded = x.shape.map((d, i) => (axes.includes(i) ? 1 : d));
      const reduceSize = axes.reduce((p, a) => p * x.shape[a], 1);
      return {
        x: () => {
          const g = tf.reshape(dy as tf.Tensor, expanded);
          const scaled = isMean ? tf.div(g, reduceSize) : g;
          return expanded.every((d, i) => d === x.shape[i]) ? scaled : tf.mul(scaled, tf.fill(x.shape, 1));
        },
      };
    },
  };
}

/** Comparisons are piecewise constant: zero gradient. Needed when a gradient's mask is itself differentiated. */
const comparisonKernels = [tf.Greater, tf.GreaterEqual, tf.Less, tf.LessEqual, tf.Equal, tf.NotEqual];
const zeroGradients: tf.GradConfig[] = comparisonKernels.map((kernelName) => ({
  kernelName,
  inputsToSave: ['a', 'b'],
  gradFunc: (_dy, saved) => ({ a: () => tf.zerosLike(saved[0]), b: () => tf.zerosLike(saved[1]) }),
}));

/**
 * Leaky ReLU: `dx = dy * step(x, alpha)` (1 where x > 0, alpha elsewhere, as tfjs's own rule).
 * tfjs's version, `where(x > 0, dy, alpha dy)`, runs Greater and Select, branchy loops on
 * wasm (~8 ms per 1M elements, 15x a multiply). Step's gradient is zero, so this differentiates again.
 * On wasm the same values in one SIMD pass (leaky-relu-simd.ts), whose kernel has its own gradient.
 */
const leakyReluGrad: tf.GradConfig = {
  kernelName: tf.LeakyRelu,
  inputsToSave: ['x'],
  gradFunc: (dy, saved, attrs) => {
    const [x] = saved;
    const { alpha } = attrs as { alpha: number };
    return { x: () => (simdLeakyReluApplies(dy as tf.Tensor, x!) ? simdLeakyReluGrad(dy as tf.Tensor, x!, alpha) : tf.mul(dy as tf.Tensor, tf.step(x, alpha))) };
  },
};

// ---------------------------------------------------------------------------------------
// Fast paths for wasm kernels that tfjs-wasm implements slowly. Each keeps the kernel's
// contract (same outputs up to float32 summation order) and falls back to the original
// kernel outside the cases it handles. Kernels are plain functions of tensor infos, so the
// autodiff is unchanged: these change how fast an op runs, not what it computes.

type KernelArgs = Parameters<tf.KernelFunc>[0];

/** The parts of tfjs-wasm's backend these kernels use (as tfjs-wasm's own kernels do). */
interface WasmBackend {
  incRef(dataId: tf.DataId): void;
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
  typedArrayFromHeap(t: tf.TensorInfo): Float32Array | Int32Array | Uint8Array;
  disposeData(dataId: tf.DataId): boolean;
}

function wasmKernel(name: string): tf.KernelFunc {
  const k = tf.getKernel(name, 'wasm');
  if (!k) throw new Error(`wasm kernel ${name} is not registered`);
  return k.kernelFunc;
}

/**
 * Identity (what the engine runs to save a tensor for the backward pass, ~5,000 times per
 * training iteration): tfjs-wasm copies the data; tensors are immutable, so sharing the buffer
 * with a reference count (as Reshape does) is equivalent.
 */
function identityKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const x = args.inputs.x!;
    if (x.dtype === 'string') return original(args);
    (args.backend as WasmBackend).incRef(x.dataId);
    return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
  };
}

/**
 * Cast to the dtype a tensor already has (tfjs's gradients of Multiply, RealDiv, Square and
 * Sqrt cast their saved operands to float32, ~800 activation-sized copies per iteration):
 * shares the buffer like Identity.
 */
function castKernel(original: tf.KernelFunc): tf.KernelFunc {
  const identity = identityKernel(original);
  return (args: KernelArgs) => {
    const x = args.inputs.x!;
    return x.dtype === (args.attrs as { dtype: tf.DataType }).dtype ? identity(args) : original(args);
  };
}

/** Leaky ReLU in one SIMD pass (leaky-relu-simd.ts), the values of `x * step(x, alpha)`: tfjs-wasm's own is a branchy loop. */
function leakyReluKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const x = args.inputs.x!;
    if (!simdLeakyReluApplies(x)) return original(args);
    return simdLeakyReluInfo(args.backend as tf.KernelBackend, x, (args.attrs as { alpha: number }).alpha);
  };
}

/**
 * A reduction of length B as B1 x B2, B = B1 * B2: B1 the largest divisor of B up to sqrt(B),
 * or B itself (one stage) when that is below 4 (e.g. a prime B).
 */
/** The widest row (B2 * C values) the two-stage reduction pools in its first stage. */
const maxPoolRow = 4096;

function reductionStages(b: number): [number, number] {
  let b1 = Math.floor(Math.sqrt(b));
  while (b % b1 !== 0) b1--;
  return b1 < 4 ? [b, 1] : [b1, b / b1];
}

/**
 * Mean and Sum over a block of consecutive axes (NHWC: over H, W per sample and channel, as
 * instance norm does; over N, H, W per channel, as a bias gradient does; over everything, as
 * a loss does). tfjs-wasm transposes the reduced axes innermost and loops (~4 ms per 1M
 * elements); the same reduction is XNNPACK's average pooling over `[A, B, 1, C] -> [A, 1, 1, C]`
 * (~0.4 ms). A sum is the average times B (exact when B is a power of two).
 *
 * Both add each window into one float32 accumulator in sequence, so the error grows with B
 * (~1e-6 relative at B = 4,096, 10x PyTorch's; 2e-4 for a loss over 256x256 RGB images at
 * batch 8), and instance norm's mean and variance, AdaIN's and the bias gradients are such
 * sums. So B is split as B1 x B2 (`reductionStages`): the mean over B1 rows of B2 * C values
 * (a wide pooling), then over B2 groups of C: two short sequences (64 + 64 at 64x64).
 */
function reduceKernel(original: tf.KernelFunc, kind: 'mean' | 'sum'): tf.KernelFunc {
  const avgPool = wasmKernel(tf.AvgPool);
  const mul = wasmKernel(tf.Multiply);
  return (args: KernelArgs) => {
    const x = args.inputs.x!;
    const { axis, keepDims } = args.attrs as { axis: number | number[]; keepDims: boolean };
    if (x.dtype !== 'float32' || x.shape.length < 1) return original(args);
    const axes = tf.util.parseAxisParam(axis, x.shape).sort((a, b) => a - b);
    const first = axes[0];
    const last = axes[axes.length - 1];
    if (!axes.every((a, i) => a === first + i)) return original(args);
    const size = (from: number, to: number) => x.shape.slice(from, to).reduce((p, d) => p * d, 1);
    const outer = size(0, first);
    const reduced = size(first, last + 1);
    const inner = size(last + 1, x.shape.length);
    // The first stage pools B2 * C channels at once; tfjs-wasm's AvgPool reads out of bounds on very wide rows
    // (InceptionV3's global pooling, 8x8 over 2048 channels, crashed as 8 x 16,384), so wide maps take one stage.
    const stages = reductionStages(reduced);
    const [b1, b2] = stages[1] * inner > maxPoolRow ? [reduced, 1] : stages;
    // Pooling fewer than 16 channels at a time is no faster than tfjs's loop (short rows, e.g. [512, 64] over 64).
    if (reduced < 2 || outer * reduced * inner < 4096 || inner * b2 < 16) return original(args);
    const backend = args.backend as WasmBackend;
    const pool = (dataId: tf.DataId, a: number, b: number, c: number) => avgPool({
      inputs: { x: { dataId, shape: [a, b, 1, c], dtype: 'float32' } }, backend, attrs: { filterSize: [b, 1], strides: [1, 1], pad: 'valid' },
    }) as tf.TensorInfo;
    let out = pool(x.dataId, outer, b1, b2 * inner); // [outer, 1, 1, B2 * inner]: means over B1
    if (b2 > 1) {
      const partial = out;
      out = pool(partial.dataId, outer, b2, inner);
      backend.disposeData(partial.dataId);
    }
    if (kind === 'sum') {
      const k = backend.makeOutput([], 'float32');
      backend.typedArrayFromHeap(k)[0] = reduced;
      const scaled = mul({ inputs: { a: out, b: k }, backend }) as tf.TensorInfo;
      backend.disposeData(k.dataId);
      backend.disposeData(out.dataId);
      out = scaled;
    }
    out.shape = keepDims ? x.shape.map((d, i) => (axes.includes(i) ? 1 : d)) : x.shape.filter((_, i) => !axes.includes(i));
    return out;
  };
}

/**
 * Reverse over leading axes (the kernel flip of the conv input gradient, and its own
 * gradient): tfjs-wasm's Reverse is a generic per-element loop (~40 ms for 3x3x256x256);
 * reversing the first k axes of a row-major tensor reverses the order of contiguous blocks,
 * so it is prod(shape[:k]) block copies.
 */
function reverseKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const x = args.inputs.x!;
    const dims = tf.util.parseAxisParam((args.attrs as { dims: number | number[] }).dims, x.shape)
      .filter((a) => x.shape[a] > 1).sort((a, b) => a - b);
    const last = dims[dims.length - 1];
    // Handled: every axis up to the last reversed one is reversed or of size 1.
    if (x.dtype !== 'float32' || dims.length === 0 || !x.shape.slice(0, last + 1).every((d, a) => d === 1 || dims.includes(a))) {
      return original(args);
    }
    const blocks = x.shape.slice(0, last + 1).reduce((p, d) => p * d, 1);
    const inner = x.shape.slice(last + 1).reduce((p, d) => p * d, 1);
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput([...x.shape], x.dtype);
    const src = backend.typedArrayFromHeap(x); // after makeOutput: a growing heap detaches old views
    const dst = backend.typedArrayFromHeap(out);
    for (let b = 0; b < blocks; b++) dst.set(src.subarray((blocks - 1 - b) * inner, (blocks - b) * inner), b * inner);
    return out;
  };
}

/**
 * Slice: tfjs-wasm first copies the whole input out of the wasm heap (`readSync`), then the
 * slice from JS. This copies only the slice, in runs as long as the slice allows (the row bands
 * of the conv weight gradient are a few long runs).
 */
function sliceKernel(original: tf.KernelFunc): tf.KernelFunc {
  return (args: KernelArgs) => {
    const x = args.inputs.x!;
    if (x.dtype !== 'float32') return original(args);
    const { begin: b0, size: s0 } = args.attrs as { begin: number | number[]; size: number | number[] };
    const [begin, size] = tf.slice_util.parseSliceParams(x as tf.TensorInfo as tf.Tensor, b0, s0);
    const rank = x.shape.length;
    const strides = [...tf.util.computeStrides(x.shape), 1];
    // Axes after k are whole: one run is size[k] * strides[k] contiguous values.
    let k = rank - 1;
    while (k > 0 && begin[k] === 0 && size[k] === x.shape[k]) k--;
    const run = size[k] * strides[k];
    const outer = size.slice(0, k).reduce((p, d) => p * d, 1);
    const backend = args.backend as WasmBackend;
    const out = backend.makeOutput([...size], 'float32');
    if (run === 0 || outer === 0) return out;
    const src = backend.typedArrayFromHeap(x); // after makeOutput: a growing heap detaches old views
    const dst = backend.typedArrayFromHeap(out);
    const idx = new Array<number>(k).fill(0);
    for (let o = 0; o < outer; o++) {
      let from = begin[k] * strides[k];
      for (let a = 0; a < k; a++) from += (begin[a] + idx[a]) * strides[a];
      dst.set(src.subarray(from, from + run), o * run);
      for (let a = k - 1; a >= 0 && ++idx[a] === size[a]; a--) idx[a] = 0;
    }
    return out;
  };
}

const wasmFastPaths: [string, (original: tf.KernelFunc) => tf.KernelFunc][] = [
  [tf.Identity, identityKernel],
  [tf.Cast, castKernel],
  [tf.LeakyRelu, leakyReluKernel],
  [tf.Mean, (k) => reduceKernel(k, 'mean')],
  [tf.Sum, (k) => reduceKernel(k, 'sum')],
  [tf.Reverse, reverseKernel],
  [tf.Slice, sliceKernel],
];

/** Replaces the wasm kernels above by their fast paths (no-op if the wasm backend is not loaded). */
function registerWasmFastPaths(): void {
  for (const [name, make] of wasmFastPaths) {
    const k = tf.getKernel(name, 'wasm');
    if (!k) continue;
    tf.unregisterKernel(name, 'wasm');
    tf.registerKernel({ ...k, kernelFunc: make(k.kernelFunc) });
  }
}

let registered = false;

/**
 * Registers the gradients above and the wasm fast paths (idempotent). Must run after
 * `@tensorflow/tfjs` registered its own gradients and `@tensorflow/tfjs-backend-wasm` its kernels.
 */
export function registerGradients(): void {
  if (registered) return;
  const reductionGrads = [reductionGrad(tf.Mean, true), reductionGrad(tf.Sum, false)];
  for (const g of [conv2dGrad, fusedConv2dGrad, batchMatMulGrad, avgPoolGradGrad, resizeNearestGradGrad, gatherGrad, leakyReluGrad, ...reductionGrads]) tf.registerGradient(g);
  for (const g of zeroGradients) if (!tf.getGradient(g.kernelName)) tf.registerGradient(g);
  registerWasmFastPaths();
  registerSimdFilterGrad();
  registerSimdAdamStep();
  registerSimdNormAct();
  registerSimdLeakyRelu();
  registerSimdAddScale();
  registerSimdFlipFilter();
  registerSimdUp2();
  registerSimdResampleConv();
  registered = true;
}
