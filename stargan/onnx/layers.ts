/**
 * ONNX node emitters for the layers of StarGAN v2, each mirroring its apply function (dsl/ops.ts, layers/*.ts)
 * operation for operation, in the same order, so the exported graph computes what our wasm forward computes
 * (the same rewrites too: ResBlk pools before its 1x1 shortcut conv, AdainResBlk convs before upsampling).
 * Every emitter takes the official name prefix of its parameters and the names of its input values, and
 * returns the name of its output. Images are NCHW, as in PyTorch.
 */
import type { GraphBuilder } from './builder.ts';

/** LeakyReLU slope of every StarGAN v2 block (dsl/ops.ts leakyRelu). */
const SLOPE = 0.2;
/** InstanceNorm epsilon (PyTorch's default, dsl/ops.ts instanceNorm). */
export const IN_EPS = 1e-5;

const scalar = (b: GraphBuilder, name: string, v: number) => b.floats(name, [], new Float32Array([v]));

export const leakyRelu = (b: GraphBuilder, x: string): string => b.op('LeakyRelu', [x], { alpha: { float: SLOPE } });

/** Conv2d with stride 1, K from the weight (O, I, K, K): 'same' padding (K // 2 each side) or 'valid'; bias if present. */
export function conv(b: GraphBuilder, prefix: string, x: string, padding: 'same' | 'valid' = 'same'): string {
  const w = b.weight(`${prefix}.weight`);
  const bias = b.has(`${prefix}.bias`) ? [b.weight(`${prefix}.bias`)] : [];
  const k = b.shapeOf(`${prefix}.weight`)[3];
  const p = padding === 'same' ? Math.floor(k / 2) : 0;
  return b.op('Conv', [x, w, ...bias], { kernel_shape: { ints: [k, k] }, pads: { ints: [p, p, p, p] }, strides: { ints: [1, 1] } });
}

/** Linear (PyTorch layout: weight (out, in)): `Gemm(x, W, b, transB)`. */
export function linear(b: GraphBuilder, prefix: string, x: string): string {
  return b.op('Gemm', [x, b.weight(`${prefix}.weight`), b.weight(`${prefix}.bias`)], { transB: { int: 1 } });
}

/** InstanceNormalization over H, W (biased variance, eps 1e-5); without affine parameters, scale 1 and bias 0. */
export function instanceNorm(b: GraphBuilder, x: string, channels: number, affine?: string): string {
  const [scale, bias] = affine
    ? [b.weight(`${affine}.weight`), b.weight(`${affine}.bias`)]
    : [b.floats(`const.ones_${channels}`, [channels], new Float32Array(channels).fill(1)), b.floats(`const.zeros_${channels}`, [channels], new Float32Array(channels))];
  return b.op('InstanceNormalization', [x, scale, bias], { epsilon: { float: IN_EPS } });
}

export const avgPool2 = (b: GraphBuilder, x: string): string =>
  b.op('AveragePool', [x], { kernel_shape: { ints: [2, 2] }, strides: { ints: [2, 2] } });

/** Nearest upsampling by 2: output pixel i reads input pixel floor(i / 2), as PyTorch's `interpolate(scale_factor=2)`. */
export const up2 = (b: GraphBuilder, x: string): string =>
  b.op('Resize', [x, '', b.floats('const.up2_scales', [4], new Float32Array([1, 1, 2, 2]))], {
    mode: { string: 'nearest' }, coordinate_transformation_mode: { string: 'asymmetric' }, nearest_mode: { string: 'floor' },
  });

/** `(a + b) / sqrt(2)`: the residual merge (dsl/combinators.ts residual). */
export const mergeResidual = (b: GraphBuilder, shortcut: string, branch: string): string =>
  b.op('Mul', [b.op('Add', [shortcut, branch]), scalar(b, 'const.sqrt1_2', Math.SQRT1_2)]);

/** AdaIN (layers/adain.ts): `fc(s)` split into gamma, beta (each C); `IN(x) * (1 + gamma) + beta`. */
export function adaIN(b: GraphBuilder, prefix: string, x: string, s: string, channels: number): string {
  const h = linear(b, `${prefix}.fc`, s);
  const half = (from: number) => b.op('Reshape', [
    b.op('Slice', [h, b.ints(`const.i${from}`, [from]), b.ints(`const.i${from + channels}`, [from + channels]), b.ints('const.i1', [1])]),
    b.ints(`const.shape_n_${channels}_1_1`, [-1, channels, 1, 1]),
  ]);
  const normed = instanceNorm(b, x, channels);
  return b.op('Add', [b.op('Mul', [normed, b.op('Add', [half(0), scalar(b, 'const.one', 1)])]), half(channels)]);
}

/**
 * ResBlk (layers/resblk.ts), downsampling with `down`: shortcut [pool] -> [conv1x1]; residual [IN] -> lrelu ->
 * conv1 -> [pool] -> [IN] -> lrelu -> conv2; merged by `(sc + res) / sqrt 2`. The optional parts are read from
 * the weights present, as the apply function reads them from the parameters.
 */
export function resBlk(b: GraphBuilder, prefix: string, x: string, down: boolean): string {
  const din = b.shapeOf(`${prefix}.conv1.weight`)[1];
  const norm = (t: string, which: string) => (b.has(`${prefix}.${which}.weight`) ? instanceNorm(b, t, din, `${prefix}.${which}`) : t);
  const pool = (t: string) => (down ? avgPool2(b, t) : t);
  const pooled = pool(x);
  const sc = b.has(`${prefix}.conv1x1.weight`) ? conv(b, `${prefix}.conv1x1`, pooled) : pooled;
  const h = pool(conv(b, `${prefix}.conv1`, leakyRelu(b, norm(x, 'norm1'))));
  const res = conv(b, `${prefix}.conv2`, leakyRelu(b, norm(h, 'norm2')));
  return mergeResidual(b, sc, res);
}

/**
 * AdainResBlk (layers/adain-resblk.ts), upsampling with `up`: residual AdaIN1 -> lrelu -> [up2] -> conv1 -> AdaIN2
 * -> lrelu -> conv2; with `useShortcut` (w_hpf = 0) merged with [conv1x1] -> [up2] of the input.
 */
export function adainResBlk(b: GraphBuilder, prefix: string, x: string, s: string, up: boolean, useShortcut: boolean): string {
  const [dout, din] = b.shapeOf(`${prefix}.conv1.weight`);
  const upsample = (t: string) => (up ? up2(b, t) : t);
  const h = conv(b, `${prefix}.conv1`, upsample(leakyRelu(b, adaIN(b, `${prefix}.norm1`, x, s, din))));
  const res = conv(b, `${prefix}.conv2`, leakyRelu(b, adaIN(b, `${prefix}.norm2`, h, s, dout)));
  if (!useShortcut) return res;
  const sc = b.has(`${prefix}.conv1x1.weight`) ? conv(b, `${prefix}.conv1x1`, x) : x;
  return mergeResidual(b, upsample(sc), res);
}

/**
 * HighPass (layers/highpass.ts): the fixed 3x3 filter [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] / w_hpf per channel,
 * 'same' padding, as a grouped (depthwise) conv, the official form.
 */
export function highPass(b: GraphBuilder, x: string, channels: number, wHpf: number): string {
  const f = [-1, -1, -1, -1, 8, -1, -1, -1, -1].map((v) => v / wHpf);
  const w = new Float32Array(channels * 9);
  for (let c = 0; c < channels; c++) w.set(f, 9 * c);
  const k = b.floats(`const.hpf_${channels}`, [channels, 1, 3, 3], w);
  return b.op('Conv', [x, k], { group: { int: channels }, kernel_shape: { ints: [3, 3] }, pads: { ints: [1, 1, 1, 1] } });
}

/**
 * Per-domain linear heads as a Gather: the heads' weights stacked (K, out, in) and (K, out), each sample's taken
 * by its label, applied by a batched MatMul: `(N, in), y: (N,) -> (N, out)`. Only the chosen head is computed
 * (our wasm forward computes all K and keeps one, the same values).
 */
export function gatheredLinear(b: GraphBuilder, prefixes: readonly string[], name: string, x: string, y: string): string {
  const w = b.op('Gather', [b.stacked(`${name}.weight`, prefixes.map((p) => `${p}.weight`)), y], { axis: { int: 0 } });
  const bias = b.op('Gather', [b.stacked(`${name}.bias`, prefixes.map((p) => `${p}.bias`)), y], { axis: { int: 0 } });
  const axis2 = b.ints('const.i2', [2]);
  const prod = b.op('MatMul', [w, b.op('Unsqueeze', [x, axis2])]);
  return b.op('Add', [b.op('Squeeze', [prod, axis2]), bias]);
}
