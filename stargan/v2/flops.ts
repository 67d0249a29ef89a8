/**
 * Analytic FLOPs of StarGAN v2, from the architecture plan (plan.ts). Counting rule: a conv costs
 * 2*K*K*Ci*Co*Ho*Wo*N per forward, a linear 2*I*O*N; elementwise ops, norms, pooling and the
 * high-pass path are not counted. The count is the official network's: a ResBlk's shortcut conv1x1
 * is counted at its input size and an AdainResBlk's at its output size (ours runs them on a quarter
 * of the pixels), and the 3x3 convs next to a resampling at full resolution (ours run them as a 4x4
 * stride-2 conv or a sub-pixel 2x2 conv, 2.25x fewer FLOPs: dsl/resample-conv.ts).
 *
 * A network evaluation costs F (forward only), or 3F when gradients flow through it (forward F,
 * input gradient F, weight gradient F). R1 costs 3F on top of the real-logit forward and backward
 * of D (input gradient F, then its backward: weight gradient F and input gradient F). The work
 * counted is what PyTorch's `iteration` does, so with the sub-steps
 *   D step  = 9 F_D + F_G + F_style           (real 3, R1 3, fake 3; G and F/E under no_grad)
 *   G step  = 7 F_G + 3 F_D + 6 F_E + style    (latent: 4 F_F; reference: 4 F_E)
 * one iteration is 24 F_D + 16 F_G + 17 F_E + 5 F_F (about 336 GFLOP at the bench config, where
 * the rough figure is ~310).
 *
 * The convolutions are listed one by one (`forwardConvs`): the bench measures what the wasm
 * backend reaches at exactly these shapes (dsl/engine/ceiling.ts), and the FLOPs are their sum.
 */
import { shapeFlops as convFlops, type ConvShape } from '../../dsl/engine/ceiling.ts';
import type { NetConfig } from './config.ts';
import { generatorPlan, mappingPlan, trunkPlan, type BlockPlan } from './plan.ts';

/** A stride-1 conv of a KxK kernel on an `hw` x `hw` map ('same' padding unless said). */
const conv = (k: number, ci: number, co: number, hw: number, n: number, pad: ConvShape['pad'] = 'same'): ConvShape =>
  ({ n, h: hw, w: hw, k, ci, co, pad });
const lin = (i: number, o: number, n: number) => 2 * i * o * n;


/** A ResBlk at input size `size` (its second conv runs after the pooling). */
function resBlkConvs(b: BlockPlan, size: number, n: number): ConvShape[] {
  const out = b.resample ? size / 2 : size;
  return [conv(3, b.din, b.din, size, n), conv(3, b.din, b.dout, out, n), ...(b.din !== b.dout ? [conv(1, b.din, b.dout, size, n)] : [])];
}

/** An AdainResBlk at output size `out` (its convs run after the upsampling). */
function adainResBlkConvs(b: BlockPlan, out: number, n: number): ConvShape[] {
  return [conv(3, b.din, b.dout, out, n), conv(3, b.dout, b.dout, out, n), ...(b.din !== b.dout ? [conv(1, b.din, b.dout, out, n)] : [])];
}

/** The convolutions of one forward of G, of the trunk E and D share, and D's 1x1 head, for a batch of n, in order. */
export function forwardConvs(cfg: NetConfig, n: number): { G: ConvShape[]; trunk: ConvShape[]; dHead: ConvShape } {
  const { img } = cfg;
  const gp = generatorPlan(cfg);
  const g: ConvShape[] = [conv(3, 3, gp.base, img, n)];
  let size = img;
  for (const b of gp.encode) {
    g.push(...resBlkConvs(b, size, n));
    if (b.resample) size /= 2;
  }
  for (const b of gp.decode) {
    if (b.resample) size *= 2;
    g.push(...adainResBlkConvs(b, size, n));
  }
  g.push(conv(1, gp.base, 3, img, n));
  const tp = trunkPlan(cfg);
  const t: ConvShape[] = [conv(3, 3, tp.base, img, n)];
  size = img;
  for (const b of tp.blocks) {
    t.push(...resBlkConvs(b, size, n));
    size /= 2;
  }
  t.push(conv(4, tp.width, tp.width, 4, n, 'valid')); // 4 -> 1
  return { G: g, trunk: t, dHead: conv(1, tp.width, cfg.domains, 1, n) };
}

/** Forward FLOPs of G, F, E, D for a batch of n (convs and linears only). */
export function forwardFlops(cfg: NetConfig, n: number): { G: number; F: number; E: number; D: number } {
  const { styleDim: S, domains: K } = cfg;
  const convs = forwardConvs(cfg, n);
  const sum = (cs: readonly ConvShape[]) => cs.reduce((a, c) => a + convFlops(c), 0);
  // AdaIN's two style projections per decoder block.
  const g = sum(convs.G) + generatorPlan(cfg).decode.reduce((a, b) => a + lin(S, 2 * b.din, n) + lin(S, 2 * b.dout, n), 0);
  const t = sum(convs.trunk);
  const tp = trunkPlan(cfg);
  const mp = mappingPlan(cfg);
  const mlp = (widths: readonly number[]) => widths.slice(1).reduce((a, o, i) => a + lin(widths[i], o, n), 0);
  const f = mlp(mp.shared) + mp.heads * mlp(mp.unshared);
  return { G: g, F: f, E: t + K * lin(tp.width, S, n), D: t + convFlops(convs.dHead) };
}

/** How many forwards of each network one training iteration counts (the module doc). */
export const iterationForwards = { D: 24, G: 16, E: 17, F: 5 } as const;

/** FLOPs of one training iteration under the counting rule of the module doc. */
export function iterationFlops(cfg: NetConfig, n: number): number {
  const { G, F, E, D } = forwardFlops(cfg, n);
  const m = iterationForwards;
  return m.D * D + m.G * G + m.E * E + m.F * F;
}
