/**
 * The trunk shared in design (not in weights) by the style encoder and the discriminator
 * (REFERENCE section 2): conv3x3(3 -> base), log2(img) - 2 downsampling ResBlks without
 * normalisation (channels doubling up to maxConv), lrelu, conv4x4 valid (4x4 -> 1x1), lrelu.
 * As an nn.Sequential: 0 conv, 1..R ResBlk, R+1 lrelu, R+2 conv4x4, R+3 lrelu.
 *
 *   x: (N, 3, H, W)  ->  (N, C, 1, 1)
 */
import {
  conv2d, conv2dValid, initConv, leakyRelu, split,
  type ConvParams, type Key, type Sequential, type Tensor,
} from '../../dsl/index.ts';
import { initResBlk, resBlkDown, type ResBlkParams } from '../../layers/resblk.ts';
import type { NetConfig } from './config.ts';

export type TrunkLayer = ConvParams<number, number, number> | ResBlkParams;
export type TrunkParams = Sequential<TrunkLayer>;

/** Number of downsampling ResBlks: img -> 4. */
export function trunkRepeats(cfg: NetConfig): number {
  return Math.log2(cfg.img) - 2;
}

/** The trunk's layers and its output width. */
export function initTrunk(key: Key, cfg: NetConfig): { params: Record<string, TrunkLayer>; width: number } {
  const r = trunkRepeats(cfg);
  const ks = split(key, r + 2);
  const params: Record<string, TrunkLayer> = { '0': initConv(ks[0], 3, cfg.base, 3) };
  let din = cfg.base;
  for (let i = 1; i <= r; i++) {
    const dout = Math.min(din * 2, cfg.maxConv);
    params[String(i)] = initResBlk(ks[i], { din, dout, normalize: false });
    din = dout;
  }
  params[String(r + 2)] = initConv(ks[r + 1], din, din, 4);
  return { params, width: din };
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
