/**
 * The trunk shared in design (not in weights) by the style encoder and the discriminator
 * (REFERENCE section 2): conv3x3(3 -> base), log2(img) - 2 downsampling ResBlks without
 * normalisation (channels doubling up to maxConv), lrelu, conv4x4 valid (4x4 -> 1x1), lrelu.
 * As an nn.Sequential: 0 conv, 1..R ResBlk, R+1 lrelu, R+2 conv4x4, R+3 lrelu.
 *
 *   x: (N, 3, H, W)  ->  (N, C, 1, 1)
 */
import {
  conv2d, conv2dValid, convSpec, leakyRelu, split,
  type ConvParams, type Key, type Sequential, type Spec, type Tensor,
} from '../../dsl/index.ts';
import { resBlkDown, resBlkSpec, type ResBlkParams } from '../../layers/resblk.ts';
import type { NetConfig } from './config.ts';
import { trunkPlan } from './plan.ts';

export type TrunkLayer = ConvParams<number, number, number> | ResBlkParams;
export type TrunkParams = Sequential<TrunkLayer>;

/** The trunk's layers as specs (no data; dsl/spec.ts), from its plan; the output width is `trunkPlan(cfg).width`. */
export function trunkSpec(key: Key, cfg: NetConfig): Spec<Record<string, TrunkLayer>> {
  const { base, blocks, width } = trunkPlan(cfg);
  const r = blocks.length;
  const ks = split(key, r + 2);
  const params: Record<string, Spec<TrunkLayer>> = { '0': convSpec(ks[0], 3, base, 3) };
  blocks.forEach((b, i) => (params[String(i + 1)] = resBlkSpec(ks[i + 1], { din: b.din, dout: b.dout, normalize: false })));
  params[String(r + 2)] = convSpec(ks[r + 1], width, width, 4);
  return params;
}

function isResBlk(l: TrunkLayer): l is ResBlkParams {
  return 'conv1' in l;
}

/** Runs the trunk; R is read from the parameters (the ResBlk entries). */
export function trunk<N extends number>(p: TrunkParams, x: Tensor<[N, 3, number, number]>): Tensor<[N, number, 1, 1]> {
  const blocks = Object.keys(p).map(Number).sort((a, b) => a - b);
  const r = blocks.filter((i) => isResBlk(p[i])).length;
  let h: Tensor<[N, number, number, number]> = conv2d(x, p['0'] as ConvParams<number, 3, 3>);
  for (let i = 1; i <= r; i++) h = resBlkDown(p[i] as ResBlkParams, h);
  const act: Tensor<[N, number, number, number]> = leakyRelu(h);
  const last = conv2dValid(act, p[r + 2] as ConvParams<number, number, 4>);
  return leakyRelu(last) as Tensor as Tensor<[N, number, 1, 1]>;
}
