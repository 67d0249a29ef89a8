/**
 * The ONNX graphs of G, F and E (REFERENCE section 2), built from torch-layout weights under the official names
 * (`generator.*`, `mapping_network.*`, `style_encoder.*`), mirroring stargan/v2/generator.ts, mapping.ts,
 * style-encoder.ts and trunk.ts. The batch dimension is dynamic ('N'); labels are int64 (N,), images NCHW.
 *
 * G with w_hpf > 0 takes the face masks as two more inputs, `mask0` (used at 32 px) and `mask1` (64 and 128 px),
 * each (N, 1, h, w) of any size (the official ones are 256 x 256), resized bilinearly inside the graph as the
 * official generator does; zero masks turn the high-pass path off exactly. Graphs with w_hpf = 0 have no mask input,
 * nor those with hpfMask 'whole', whose high-pass path applies to every pixel.
 */
import type { OnnxGraph, OnnxValueInfo } from '../../dsl/io/onnx.ts';
import type { Entry } from '../../dsl/io/safetensors.ts';
import { needsFaceMasks, type NetConfig } from '../v2/config.ts';
import { generatorPlan, mappingPlan, trunkPlan } from '../v2/plan.ts';
import { graphBuilder, type GraphBuilder } from './builder.ts';
import { adainResBlk, conv, gatheredLinear, highPass, instanceNorm, leakyRelu, linear, resBlk } from './layers.ts';
import { isModConvBlock, modConvResBlk } from './modconv.ts';

type Weights = ReadonlyMap<string, Entry>;

const images = (name: string, img: number | string): OnnxValueInfo => ({ name, elemType: 'float', shape: ['N', 3, img, img] });
const labelsInput: OnnxValueInfo = { name: 'y', elemType: 'int64', shape: ['N'] };
const features = (name: string, dim: number): OnnxValueInfo => ({ name, elemType: 'float', shape: ['N', dim] });

/** The mask inputs of G with w_hpf > 0: mask0 for the 32 px skip, mask1 for 64 and 128 px. */
export const maskInputs = ['mask0', 'mask1'] as const;

/** `h + HighPass(resize(mask) * skip)` (stargan/v2/generator.ts maskedSkip): the mask resized to the skip's size. */
function maskedSkip(b: GraphBuilder, h: string, skip: string, channels: number, mask: string, size: number, wHpf: number): string {
  // Resize's `sizes` must name every axis: the mask's own (N, 1), then the skip's size.
  const sizes = b.op('Concat', [b.op('Shape', [mask], { end: { int: 2 } }), b.ints(`const.hw_${size}`, [size, size])], { axis: { int: 0 } });
  const m = b.op('Resize', [mask, '', '', sizes], { mode: { string: 'linear' }, coordinate_transformation_mode: { string: 'half_pixel' } });
  return b.op('Add', [h, highPass(b, b.op('Mul', [m, skip]), channels, wHpf)]);
}

/** G(x, s[, mask0, mask1]) -> (N, 3, img, img); decoder blocks AdaIN or modulated-conv, as the weights say. */
export function generatorGraph(weights: Weights, net: NetConfig, source: string): OnnxGraph {
  const b = graphBuilder(weights, source);
  const { encode, decode, base } = generatorPlan(net);
  const highPassed = net.wHpf > 0;
  const masked = needsFaceMasks(net);
  const downs = encode.length - 2;
  const skips = new Map<number, { h: string; c: number }>();
  let size = net.img;
  let h = conv(b, 'generator.from_rgb', 'x');
  encode.forEach((blk, i) => {
    if (highPassed && [32, 64, 128].includes(size)) skips.set(size, { h, c: blk.din });
    h = resBlk(b, `generator.encode.${i}`, h, i < downs);
    if (i < downs) size /= 2;
  });
  decode.forEach((_, i) => {
    const up = i >= 2;
    // The block's kind is read from its weights, as the generator reads it from its parameters.
    const prefix = `generator.decode.${i}`;
    h = (isModConvBlock(b, prefix) ? modConvResBlk : adainResBlk)(b, prefix, h, 's', up, net.wHpf === 0);
    if (up) size *= 2;
    const skip = skips.get(size);
    if (!skip) return; // skips are kept only when highPassed
    h = masked ? maskedSkip(b, h, skip.h, skip.c, size === 32 ? maskInputs[0] : maskInputs[1], size, net.wHpf)
      : b.op('Add', [h, highPass(b, skip.h, skip.c, net.wHpf)]);
  });
  const out = conv(b, 'generator.to_rgb.2', leakyRelu(b, instanceNorm(b, h, base, 'generator.to_rgb.0')));
  const masks: OnnxValueInfo[] = masked ? maskInputs.map((name) => ({ name, elemType: 'float', shape: ['N', 1, `${name}_h`, `${name}_w`] })) : [];
  return b.graph('stargan_v2_generator', [images('x', net.img), features('s', net.styleDim), ...masks], [{ ...images('out', net.img), from: out }],
    'StarGAN v2 generator G(x, s)' + (masked ? ' with the high-pass path: face masks mask0 (32 px) and mask1 (64, 128 px)'
      : highPassed ? ' with the high-pass path on every pixel' : ''));
}

/** F(z, y) -> (N, S): the shared MLP, then the head of each sample's domain (a Gather over the stacked heads). */
export function mappingGraph(weights: Weights, net: NetConfig, source: string): OnnxGraph {
  const b = graphBuilder(weights, source);
  const { shared, unshared, heads } = mappingPlan(net);
  let h = 'z';
  for (let j = 0; j < shared.length - 1; j++) h = b.op('Relu', [linear(b, `mapping_network.shared.${2 * j}`, h)]);
  for (let j = 0; j < unshared.length - 1; j++) {
    const prefixes = Array.from({ length: heads }, (_, k) => `mapping_network.unshared.${k}.${2 * j}`);
    const y = gatheredLinear(b, prefixes, `mapping_network.unshared.*.${2 * j}`, h, 'y');
    h = j < unshared.length - 2 ? b.op('Relu', [y]) : y;
  }
  return b.graph('stargan_v2_mapping_network', [features('z', net.latentDim), labelsInput], [{ ...features('s', net.styleDim), from: h }],
    'StarGAN v2 mapping network F(z, y)');
}

/** E(x, y) -> (N, S): the trunk, flattened, then the head of each sample's domain (a Gather over the stacked heads). */
export function styleEncoderGraph(weights: Weights, net: NetConfig, source: string): OnnxGraph {
  const b = graphBuilder(weights, source);
  const { blocks } = trunkPlan(net);
  const r = blocks.length;
  let h = conv(b, 'style_encoder.shared.0', 'x');
  for (let i = 1; i <= r; i++) h = resBlk(b, `style_encoder.shared.${i}`, h, true);
  h = leakyRelu(b, conv(b, `style_encoder.shared.${r + 2}`, leakyRelu(b, h), 'valid'));
  const flat = b.op('Flatten', [h], { axis: { int: 1 } });
  const prefixes = Array.from({ length: net.domains }, (_, k) => `style_encoder.unshared.${k}`);
  const s = gatheredLinear(b, prefixes, 'style_encoder.unshared.*', flat, 'y');
  return b.graph('stargan_v2_style_encoder', [images('x', net.img), labelsInput], [{ ...features('s', net.styleDim), from: s }],
    'StarGAN v2 style encoder E(x, y)');
}
