/**
 * ONNX node emitters for the modulated-conv decoder block (layers/modconv-resblk.ts, layers/stylegan/modulated-conv.ts),
 * in its non-fused form, as our forward runs it: `y = conv(x * st, w) * d + bias`, with per-sample styles
 * `st = A(s) / sqrt(Ci K K)` (A an equalized linear map) and demodulation `d = rsqrt(st^2 @ sum_k w^2 + 1e-8)`.
 * Ordinary ops only (no per-sample kernels, which ONNX's Conv cannot take with a dynamic batch).
 */
import type { GraphBuilder } from './builder.ts';
import { conv, mergeResidual, up2 } from './layers.ts';

/** `sum_k w[o, i, k]^2` as an (Ci, Co) matrix, from the torch-layout weight (Co, Ci, K, K). */
function squaredNorms(w: Float32Array, [co, ci, kh, kw]: readonly number[]): Float32Array {
  const out = new Float32Array(ci * co);
  const k = kh * kw;
  for (let o = 0; o < co; o++) {
    for (let i = 0; i < ci; i++) {
      let sum = 0;
      for (let j = 0; j < k; j++) sum += w[(o * ci + i) * k + j] ** 2;
      out[i * co + o] = sum;
    }
  }
  return out;
}

const scalar = (b: GraphBuilder, name: string, v: number) => b.floats(name, [], new Float32Array([v]));
const perChannel = (b: GraphBuilder, t: string, c: number) => b.op('Reshape', [t, b.ints(`const.shape_n_${c}_1_1`, [-1, c, 1, 1])]);

/** StyleGAN2's activation: `lrelu_0.2(h) * sqrt(2)`. */
const act = (b: GraphBuilder, h: string) => b.op('Mul', [b.op('LeakyRelu', [h], { alpha: { float: 0.2 } }), scalar(b, 'const.sqrt2', Math.SQRT2)]);

/** One modulated, demodulated 3x3 conv with bias; nearest x2 upsampling of the modulated input with `up`. */
function modConv(b: GraphBuilder, prefix: string, x: string, s: string, up: boolean): string {
  const shape = b.shapeOf(`${prefix}.weight`);
  const [co, ci, kh, kw] = shape;
  const styleDim = b.shapeOf(`${prefix}.affine.weight`)[1];
  // layerStyles: equalizedLinear (weight gain 1/sqrt(S), lr multiplier 1), then the conv's gain 1/sqrt(Ci K K).
  const affine = b.op('Gemm', [s, b.weight(`${prefix}.affine.weight`), b.weight(`${prefix}.affine.bias`)], {
    transB: { int: 1 }, alpha: { float: 1 / Math.sqrt(styleDim) },
  });
  const st = b.op('Mul', [affine, scalar(b, `const.gain_${ci * kh * kw}`, 1 / Math.sqrt(ci * kh * kw))]);
  const modulated = b.op('Mul', [x, perChannel(b, st, ci)]);
  const w = b.weight(`${prefix}.weight`);
  const k = kh;
  const y = b.op('Conv', [up ? up2(b, modulated) : modulated, w], {
    kernel_shape: { ints: [k, k] }, pads: { ints: [k >> 1, k >> 1, k >> 1, k >> 1] }, strides: { ints: [1, 1] },
  });
  const w2 = b.floats(`${prefix}.weight.squared_norms`, [ci, co], squaredNorms(b.data(`${prefix}.weight`), shape));
  const d = b.op('Reciprocal', [b.op('Sqrt', [b.op('Add', [b.op('MatMul', [b.op('Mul', [st, st]), w2]), scalar(b, 'const.demod_eps', 1e-8)])])]);
  const bias = b.floats(`${prefix}.bias.chw`, [co, 1, 1], b.data(`${prefix}.bias`));
  return b.op('Add', [b.op('Mul', [y, perChannel(b, d, co)]), bias]);
}

/**
 * ModConvResBlk, upsampling with `up`: residual act(modconv1) -> act(modconv2); with `useShortcut` merged with
 * [conv1x1] -> [up2] of the input (as AdainResBlk).
 */
export function modConvResBlk(b: GraphBuilder, prefix: string, x: string, s: string, up: boolean, useShortcut: boolean): string {
  const h = act(b, modConv(b, `${prefix}.conv1`, x, s, up));
  const res = act(b, modConv(b, `${prefix}.conv2`, h, s, false));
  if (!useShortcut) return res;
  const sc = b.has(`${prefix}.conv1x1.weight`) ? conv(b, `${prefix}.conv1x1`, x) : x;
  return mergeResidual(b, up ? up2(b, sc) : sc, res);
}

/** Whether the decoder block at `prefix` is a ModConvResBlk (its convs carry an affine map). */
export const isModConvBlock = (b: GraphBuilder, prefix: string): boolean => b.has(`${prefix}.conv1.affine.weight`);
