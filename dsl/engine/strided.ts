/**
 * Stride-2 convolutions on wasm, built from stride-1 ones (docs: REFERENCE sections 7 and 9).
 *
 * tfjs-wasm runs a stride-2 forward conv fast (XNNPACK), but its gradients are the slow or
 * missing paths: the input gradient is `Conv2DBackpropInput` (a naive loop, ~10x slower than a
 * forward conv), the weight gradient `Conv2DBackpropFilter` does not exist, and neither has a
 * second-order gradient on wasm. A transposed conv (`conv2dTranspose`) is that same slow kernel.
 *
 * The phase (space-to-depth) decomposition turns every even-kernel stride-2 conv into a
 * stride-1 one: with xp = pad(x), splitting each tap index i = 2a + r,
 *
 *   y[o] = sum_i xp[2o + i] w[i] = sum_a s2d(xp)[o + a, r] w'[a, r],
 *
 * so `conv(x, w; K, stride 2, pad p) = conv_valid(s2d(pad(x)), w')`, a stride-1 valid conv with a
 * (K/2)x(K/2) kernel over 4x the channels. Its gradients are then the stride-1 gradients of
 * dsl/engine/kernels.ts (forward convs and GEMMs), rearranged back by reshapes and transposes.
 * Every op on the way has a gradient, so gradients of these gradients (WGAN-GP through a
 * strided discriminator) follow, and the transposed conv is the input gradient itself.
 *
 * On wasm two cases skip the decomposition's transposes (space-to-depth of x, depth-to-space of
 * dx: per-element loops in tfjs-wasm): the weight gradient is our SIMD kernel reading x at stride 2
 * (conv-filter-grad-simd.ts), and a 4x4 kernel with padding 1 (dsl/resample-conv.ts, StarGAN v1)
 * has its input gradient as a 2x2 conv and a pixel shuffle (resample-conv-simd.ts).
 */
import * as tf from '@tensorflow/tfjs-core';
import { simdFilterGrad, simdFilterGradApplies } from './conv-filter-grad-simd.ts';
import { convFilterGrad, convInputGrad } from './kernels.ts';
import { resampleConvSimdApplies, runLinear, shuffleKernel, stride2InputFilterKernel } from './resample-conv-simd.ts';

type Attrs = Record<string, unknown>;
type Conv2DInfo = ReturnType<typeof tf.backend_util.computeConv2DInfo>;
type Pads = { readonly top: number; readonly bottom: number; readonly left: number; readonly right: number };

/**
 * Space to depth by 2: `[N, H, W, C] -> [N, H/2, W/2, 4C]`, channel index `(rh * 2 + rw) * C + c`
 * for the pixel `(2i + rh, 2j + rw)`. H and W even. One rank-4 transpose.
 */
export function spaceToDepth2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c] = x.shape;
  const rows = tf.reshape(x, [n * (h / 2), 2, w / 2, 2 * c]); // [(n, i), rh, j, (rw, c)]
  return tf.reshape(tf.transpose(rows, [0, 2, 1, 3]), [n, h / 2, w / 2, 4 * c]);
}

/** The inverse of {@link spaceToDepth2}: `[N, H, W, 4C] -> [N, 2H, 2W, C]`. */
export function depthToSpace2(x: tf.Tensor4D): tf.Tensor4D {
  const [n, h, w, c4] = x.shape;
  const c = c4 / 4;
  const cells = tf.reshape(x, [n * h, w, 2, 2 * c]); // [(n, i), j, rh, (rw, c)]
  return tf.reshape(tf.transpose(cells, [0, 2, 1, 3]), [n, 2 * h, 2 * w, c]);
}

/** A KxK kernel (K even) as the (K/2)x(K/2) kernel of the phase conv: `[K, K, C, O] -> [K/2, K/2, 4C, O]`. */
export function phaseFilter(w: tf.Tensor4D): tf.Tensor4D {
  const [k, , c, o] = w.shape;
  const taps = tf.reshape(w, [k / 2, 2, k / 2, 2 * c * o]); // [a, rh, b, (rw, c, o)]
  return tf.reshape(tf.transpose(taps, [0, 2, 1, 3]), [k / 2, k / 2, 4 * c, o]);
}

/** The inverse of {@link phaseFilter}: `[K/2, K/2, 4C, O] -> [K, K, C, O]`. */
export function unphaseFilter(w: tf.Tensor4D): tf.Tensor4D {
  const [k2, , c4, o] = w.shape;
  const taps = tf.reshape(w, [k2, k2, 2, (c4 / 2) * o]); // [a, b, rh, (rw, c, o)]
  return tf.reshape(tf.transpose(taps, [0, 2, 1, 3]), [2 * k2, 2 * k2, c4 / 4, o]);
}

/** Whether a conv is a stride-2 one the phase decomposition covers: even kernel, no dilation, even padded sizes. */
export function isPhaseConv(info: Conv2DInfo): boolean {
  const { strideHeight: sh, strideWidth: sw, dilationHeight: dh, dilationWidth: dw, filterHeight: kh, filterWidth: kw } = info;
  const { top, bottom, left, right } = info.padInfo;
  return sh === 2 && sw === 2 && dh === 1 && dw === 1 && kh % 2 === 0 && kw % 2 === 0
    && (info.inHeight + top + bottom) % 2 === 0 && (info.inWidth + left + right) % 2 === 0
    && top >= 0 && bottom >= 0 && left >= 0 && right >= 0;
}

/** The stride-1 valid conv of the phase problem: input `[N, Hp/2, Wp/2, 4C]`, kernel `[K/2, K/2, 4C, O]`. */
function phaseInfo(phaseShape: number[], phaseFilterShape: number[]): Conv2DInfo {
  return tf.backend_util.computeConv2DInfo(
    phaseShape as [number, number, number, number], phaseFilterShape as [number, number, number, number],
    1, 1, 'valid', undefined, false, 'channelsLast',
  );
}

/** The phase input's shape for an input `[N, H, W, C]` padded by `pads`. */
function phaseShapeOf(xShape: readonly number[], pads: Pads): number[] {
  const [n, h, w, c] = xShape;
  return [n, (h + pads.top + pads.bottom) / 2, (w + pads.left + pads.right) / 2, 4 * c];
}

/** Whether the input gradient takes the sub-pixel form: a 4x4 kernel, padding 1 on every side, even sides, wasm. */
function subpixelInputGradApplies(dy: tf.Tensor4D, filter: tf.Tensor4D, xShape: readonly number[], pads: Pads): boolean {
  const [, h, w] = xShape;
  const [kh, kw] = filter.shape;
  return kh === 4 && kw === 4 && pads.top === 1 && pads.bottom === 1 && pads.left === 1 && pads.right === 1
    && h === 2 * dy.shape[1] && w === 2 * dy.shape[2] && resampleConvSimdApplies(dy);
}

/**
 * The input gradient of a phase-decomposable stride-2 conv (its adjoint, i.e. a transposed
 * conv): dy `[N, Ho, Wo, O]`, filter `[K, K, C, O]` -> dx `[N, H, W, C]`.
 */
export function stride2InputGrad(dy: tf.Tensor4D, filter: tf.Tensor4D, xShape: readonly number[], pads: Pads): tf.Tensor4D {
  const [n, h, w, c] = xShape;
  if (subpixelInputGradApplies(dy, filter, xShape, pads)) {
    // 4x4, padding 1: a 2x2 conv over dy padded by 1 and a pixel shuffle (simd/resample-conv.c), no transposes
    return runLinear(shuffleKernel, tf.conv2d(dy, runLinear(stride2InputFilterKernel, filter), 1, 1));
  }
  const ws = phaseFilter(filter);
  const phaseShape = phaseShapeOf(xShape, pads);
  const dxs = convInputGrad(dy, ws, phaseShape, phaseInfo(phaseShape, ws.shape));
  return tf.slice(depthToSpace2(dxs), [0, pads.top, pads.left, 0], [n, h, w, c]);
}

/** The weight gradient of a phase-decomposable stride-2 conv: x `[N, H, W, C]`, dy `[N, Ho, Wo, O]` -> `[K, K, C, O]`. */
export function stride2FilterGrad(x: tf.Tensor4D, dy: tf.Tensor4D, filterShape: readonly number[], pads: Pads): tf.Tensor4D {
  const [kh, kw, c, o] = filterShape;
  if (simdFilterGradApplies(c, o)) return simdFilterGrad(x, dy, kh, kw, pads.top, pads.left, 0, 2); // reads x at stride 2 in place
  const xp = tf.pad(x, [[0, 0], [pads.top, pads.bottom], [pads.left, pads.right], [0, 0]]);
  const xs = spaceToDepth2(xp);
  const wsShape = [kh / 2, kw / 2, 4 * c, o];
  return unphaseFilter(convFilterGrad(xs, dy, wsShape, phaseInfo(xs.shape, wsShape)));
}

/**
 * Transposed convolution, stride 2 (PyTorch's `ConvTranspose2d(Ci, Co, K, 2, p)` for even K):
 * x `[N, H, W, Ci]`, filter `[K, K, Co, Ci]` (torch's `[Ci, Co, K, K]` in the conv memory layout)
 * -> `[N, 2H - 2 + K - 2p, ..., Co]`. It is the adjoint of the stride-2 conv with that filter, so
 * it is computed as that conv's input gradient: forward stride-1 convs, differentiable at every order.
 */
export function convTranspose2dStride2(x: tf.Tensor4D, filter: tf.Tensor4D, pad: number): tf.Tensor4D {
  const [n, h, w] = x.shape;
  const [kh, kw, co] = filter.shape;
  if (kh % 2 !== 0 || kw % 2 !== 0) throw new Error(`convTranspose2dStride2: kernel ${kh}x${kw} must be even`);
  const ho = 2 * (h - 1) - 2 * pad + kh;
  const wo = 2 * (w - 1) - 2 * pad + kw;
  return stride2InputGrad(x, filter, [n, ho, wo, co], { top: pad, bottom: pad, left: pad, right: pad });
}

/**
 * Wraps a registered Conv2D or FusedConv2D gradient (dsl/engine/kernels.ts): phase-decomposable
 * stride-2 convs get the gradients above (and the bias sum), everything else goes to the wrapped one.
 */
function stridedConvGrad(base: tf.GradConfig): tf.GradConfig {
  return {
    kernelName: base.kernelName,
    inputsToSave: ['x', 'filter'],
    gradFunc: (dy, saved, attrs) => {
      const [x, filter] = saved as [tf.Tensor4D, tf.Tensor4D];
      const { strides, pad, dilations, dimRoundingMode } = attrs as Attrs as {
        strides: number | [number, number]; pad: 'valid' | 'same' | number; dilations: number | [number, number];
        dimRoundingMode?: 'floor' | 'round' | 'ceil';
      };
      const info = tf.backend_util.computeConv2DInfo(x.shape, filter.shape, strides, dilations ?? 1, pad, dimRoundingMode, false, 'channelsLast');
      if (!isPhaseConv(info)) return base.gradFunc(dy, saved, attrs);
      const g = dy as tf.Tensor4D;
      return {
        x: () => stride2InputGrad(g, filter, x.shape, info.padInfo),
        filter: () => stride2FilterGrad(x, g, filter.shape, info.padInfo),
        ...(base.kernelName === tf.FusedConv2D ? { bias: () => tf.sum(g, [0, 1, 2]) } : {}),
      };
    },
  };
}

let registered = false;

/** Registers the stride-2 gradients (idempotent). Must run after `registerGradients` (kernels.ts). */
export function registerStridedGradients(): void {
  if (registered) return;
  for (const kernel of [tf.Conv2D, tf.FusedConv2D]) {
    const base = tf.getGradient(kernel);
    if (!base) throw new Error(`registerStridedGradients: no ${kernel} gradient registered yet (call registerGradients first)`);
    tf.registerGradient(stridedConvGrad(base));
  }
  registered = true;
}
