/**
 * Analytic FLOPs of StarGAN v2, from the architecture plan (plan.ts). Counting rule: a conv costs
 * 2*K*K*Ci*Co*Ho*Wo*N per forward, a linear 2*I*O*N; elementwise ops, norms, pooling and the
 * high-pass path are not counted. A ResBlk's shortcut conv1x1 is counted at its input size and an
 * AdainResBlk's at its output size (the official order; ours runs them on a quarter of the pixels).
 *
 * A network evaluation costs F (forward only), or 3F when gradients flow through it (forward F,
 * input gradient F, weight gradient F). R1 costs 3F on top of the real-logit forward and backward
 * of D (input gradient F, then its backward: weight gradient F and input gradient F). The work
 * counted is what PyTorch's `iteration` does, so with the sub-steps
 *   D step  = 9 F_D + F_G + F_style           (real 3, R1 3, fake 3; G and F/E under no_grad)
 *   G step  = 7 F_G + 3 F_D + 6 F_E + style    (latent: 4 F_F; reference: 4 F_E)
 * one iteration is 24 F_D + 16 F_G + 17 F_E + 5 F_F (about 336 GFLOP at the bench config, where
 * the rough figure is ~310).
 */
import type { NetConfig } from './config.ts';
import { generatorPlan, mappingPlan, trunkPlan, type BlockPlan } from './plan.ts';

const conv = (k: number, ci: number, co: number, hw: number, n: number) => 2 * k * k * ci * co * hw * hw * n;
const lin = (i: number, o: number, n: number) => 2 * i * o * n;

/** A ResBlk at input size `size` (its second conv runs after the pooling). */
function resBlkFlops(b: BlockPlan, size: number, n: number): number {
  const out = b.resample ? size / 2 : size;
  return conv(3, b.din, b.din, size, n) + conv(3, b.din, b.dout, out, n) + (b.din !== b.dout ? conv(1, b.din, b.dout, size, n) : 0);
}

/** An AdainResBlk at output size `out` (its convs run after the upsampling), with its two style projections. */
function adainResBlkFlops(b: BlockPlan, out: number, styleDim: number, n: number): number {
  return conv(3, b.din, b.dout, out, n) + conv(3, b.dout, b.dout, out, n) + (b.din !== b.dout ? conv(1, b.din, b.dout, out, n) : 0) +
    lin(styleDim, 2 * b.din, n) + lin(styleDim, 2 * b.dout, n);
}

/** Forward FLOPs of G, F, E, D for a batch of n (convs and linears only). */
export function forwardFlops(cfg: NetConfig, n: number): { G: number; F: number; E: number; D: number } {
  const { img, styleDim: S, domains: K } = cfg;
  const gp = generatorPlan(cfg);
  let g = conv(3, 3, gp.base, img, n) + conv(1, gp.base, 3, img, n);
  let size = img;
  for (const b of gp.encode) {
    g += resBlkFlops(b, size, n);
    if (b.resample) size /= 2;
  }
  for (const b of gp.decode) {
    if (b.resample) size *= 2;
    g += adainResBlkFlops(b, size, S, n);
  }
  const tp = trunkPlan(cfg);
  let t = conv(3, 3, tp.base, img, n);
  size = img;
  for (const b of tp.blocks) {
    t += resBlkFlops(b, size, n);
    size /= 2;
  }
  t += conv(4, tp.width, tp.width, 1, n);
  const mp = mappingPlan(cfg);
  const mlp = (widths: readonly number[]) => widths.slice(1).reduce((a, o, i) => a + lin(widths[i], o, n), 0);
  const f = mlp(mp.shared) + mp.heads * mlp(mp.unshared);
  return { G: g, F: f, E: t + K * lin(tp.width, S, n), D: t + conv(1, tp.width, K, 1, n) };
}

/** FLOPs of one training iteration under the counting rule of the module doc. */
export function iterationFlops(cfg: NetConfig, n: number): number {
  const { G, F, E, D } = forwardFlops(cfg, n);
  return 24 * D + 16 * G + 17 * E + 5 * F;
}
