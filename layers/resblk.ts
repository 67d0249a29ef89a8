/**
 * ResBlk: StarGAN v2's pre-activation residual block (REFERENCE section 1).
 *
 *   shortcut = [conv1x1, no bias, if din != dout] -> [avgpool2]
 *   residual = [IN affine] -> lrelu -> conv3x3 din->din -> [avgpool2] -> [IN affine] -> lrelu -> conv3x3 din->dout
 *   out      = (shortcut + residual) / sqrt(2)          (unit variance)
 *
 * The shortcut pools before its 1x1 conv: the two commute (both linear, the conv acts per
 * pixel), and the conv then runs on a quarter of the pixels, forward and backward
 * (docs/PERFORMANCE.md). The residual's conv3x3 and pooling run as one stride-2 4x4 conv
 * (`conv3x3Pool2`, 2.25x fewer multiply-adds). The official order gives the same values up to
 * float rounding.
 *
 * Whether it normalises or has a learned shortcut is read from its parameters (norm1 /
 * conv1x1 present), so a loaded checkpoint fully determines the block.
 */
import {
  affineSpec, avgPool2, conv2d, conv3x3Pool2, convSpec, instanceNormLeakyRelu, keysFor, leakyRelu, materialize, residual,
  type AffineParams, type ConvParams, type Half, type Key, type Poolable, type Spec, type Tensor,
} from '../dsl/index.ts';

export interface ResBlkConfig<Ci extends number = number, Co extends number = number> {
  readonly din: Ci;
  readonly dout: Co;
  readonly normalize: boolean;
}

/** Keys are the official state_dict names. */
export interface ResBlkParams<Ci extends number = number, Co extends number = number> {
  readonly conv1: ConvParams<Ci, Ci, 3>;
  readonly conv2: ConvParams<Co, Ci, 3>;
  readonly norm1?: AffineParams<Ci>;
  readonly norm2?: AffineParams<Ci>;
  readonly conv1x1?: ConvParams<Co, Ci, 1>;
}

/** The block's parameters as specs (shapes and He init, no data; dsl/spec.ts). */
export function resBlkSpec(key: Key, cfg: ResBlkConfig): Spec<ResBlkParams> {
  const k = keysFor(key, ['conv1', 'conv2', 'conv1x1'] as const);
  return {
    conv1: convSpec(k.conv1, cfg.din, cfg.din, 3),
    conv2: convSpec(k.conv2, cfg.din, cfg.dout, 3),
    ...(cfg.normalize ? { norm1: affineSpec(cfg.din), norm2: affineSpec(cfg.din) } : {}),
    ...(cfg.din !== cfg.dout ? { conv1x1: convSpec(k.conv1x1, cfg.din, cfg.dout, 1, false) } : {}),
  };
}

export function initResBlk<Ci extends number, Co extends number>(key: Key, cfg: ResBlkConfig<Ci, Co>): ResBlkParams<Ci, Co> {
  return materialize<ResBlkParams>(resBlkSpec(key, cfg)) as ResBlkParams<Ci, Co>;
}

type Map4<N extends number, C extends number, H extends number, W extends number> = Tensor<[N, C, H, W]>;

/** `leakyRelu(norm(x))`, or `leakyRelu(x)` without a norm (fused on wasm when normalising: first-order only). */
function normAct<N extends number, C extends number, H extends number, W extends number>(
  x: Map4<N, C, H, W>, p: AffineParams<C> | undefined,
): Map4<N, C, H, W> {
  return p ? instanceNormLeakyRelu(x, p) : leakyRelu(x);
}

/** The learned (or identity, when din == dout) shortcut. */
function shortcut<N extends number, Ci extends number, Co extends number, H extends number, W extends number>(
  p: ResBlkParams<Ci, Co>, x: Map4<N, Ci, H, W>,
): Map4<N, Co, H, W> {
  return p.conv1x1 ? conv2d(x, p.conv1x1) : (x as Tensor as Map4<N, Co, H, W>);
}

/** Pooling inside generic code: the caller's signature already demands a poolable size. */
function pool<N extends number, C extends number, H extends number, W extends number>(x: Map4<N, C, H, W>) {
  return avgPool2(x as Map4<N, C, H, W> & Poolable<H, W>);
}

/** ResBlk without downsampling: `(N, Ci, H, W) -> (N, Co, H, W)`. */
export function resBlk<N extends number, Ci extends number, Co extends number, H extends number, W extends number>(
  p: ResBlkParams<Ci, Co>, x: Map4<N, NoInfer<Ci>, H, W>,
): Map4<N, Co, H, W> {
  return residual<Map4<N, Ci, H, W>, [N, Co, H, W]>(
    (t) => shortcut(p, t),
    (t) => conv2d(normAct(conv2d(normAct(t, p.norm1), p.conv1), p.norm2), p.conv2),
  )(x);
}

/** ResBlk with 2x2 average pooling: `(N, Ci, H, W) -> (N, Co, H/2, W/2)`. */
export function resBlkDown<N extends number, Ci extends number, Co extends number, H extends number, W extends number>(
  p: ResBlkParams<Ci, Co>, x: Map4<N, NoInfer<Ci>, H, W> & Poolable<H, W>,
): Map4<N, Co, Half<H>, Half<W>> {
  return residual<Map4<N, Ci, H, W>, [N, Co, Half<H>, Half<W>]>(
    (t) => shortcut(p, pool(t)),
    (t) => conv2d(normAct(conv3x3Pool2(normAct(t, p.norm1) as Map4<N, Ci, H, W> & Poolable<H, W>, p.conv1), p.norm2), p.conv2),
  )(x);
}
