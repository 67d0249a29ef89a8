/**
 * The architecture plan of each StarGAN v2 network (REFERENCE section 2, official core/model.py):
 * channel widths and block counts from one rule. Init (the specs in generator.ts, trunk.ts,
 * mapping.ts, style-encoder.ts, discriminator.ts), the official name/shape table, the FLOP model
 * and checkpoint load templates all read these functions; nothing else computes a width or a depth.
 *
 * The rule:
 * - widths: every downsampling block doubles the channels, up to maxConv (`min(2 * dim_in, max_conv_dim)`);
 * - generator: log2(img) - 4 downsampling ResBlks (one more with the high-pass path, w_hpf > 0), then 2
 *   bottleneck ResBlks; the decoder mirrors the encoder (decode[k] undoes encode[n-1-k]);
 * - trunk of E and D: log2(img) - 2 downsampling ResBlks (img -> 4), then a 4x4 conv (4 -> 1);
 * - mapping network: a shared MLP latent -> hidden (4 layers) and one head hidden -> style per domain (4 layers).
 */
import type { Double, Half, Min, ShapeError } from '../../dsl/index.ts';
import type { NetConfig } from './config.ts';

/** A residual block: input and output widths, and whether it changes the resolution (down in encoders, up in the decoder). */
export interface BlockPlan {
  readonly din: number;
  readonly dout: number;
  readonly resample: boolean;
}

/** The width rule: the width after a downsampling block whose input has `din` channels. */
export const nextWidth = (din: number, maxConv: number): number => Math.min(din * 2, maxConv);

// The same rule, computed by the type checker (dsl/shape.ts arithmetic) for a config whose sizes are literal
// types, so parameter records can carry the widths (`LinearParams<S, TrunkWidth<C>>`). Blocks are counted
// as halvings of the image down to the resolution the plan stops at (the trunk at 4 px: log2(img) - 2 blocks,
// as trunkRepeats below). A `number` size gives `number` (the config is only known at run time); a size
// that cannot be halved down to the stop gives `never`. Tested in properties/typed-config.types.ts.

/** `nextWidth` as a type: `min(2 Din, MaxConv)`. */
export type NextWidth<Din extends number, MaxConv extends number> = Min<Double<Din>, MaxConv>;

/**
 * The width after the downsampling blocks that take an `Img` map down to `Stop`, from `Din` channels.
 * Written as one conditional on the tuple of its arguments, whose `extends` clause is constant: TypeScript
 * then relates `DownWidth<A...>` to `DownWidth<B...>` by their arguments, so E's parameter type (which holds
 * the trunk's width) stays comparable across configs. With plain nested conditionals, `Nets<C>` came out
 * invariant in C, and networks of a config read at run time no longer fitted where a literal config's were declared.
 */
export type DownWidth<Img extends number, Stop extends number, Din extends number, MaxConv extends number> =
  [Img, Stop, Din, MaxConv] extends [infer I extends number, infer S extends number, infer D extends number, infer M extends number]
    ? number extends I | S ? number
      : I extends S ? D
        : [Half<I>] extends [never] ? never
          : DownWidth<Half<I>, S, NextWidth<D, M>, M>
    : never;

/** The trunk's output width (its 4x4 conv, E's heads' input, D's head's input): `trunkPlan(cfg).width`. */
export type TrunkWidth<C extends NetConfig> = DownWidth<C['img'], 4, C['base'], C['maxConv']>;

/** `unknown` when the plan fits a literal image size (halving it reaches 16 px), a readable error otherwise. */
export type PlanFits<C extends NetConfig> = [DownWidth<C['img'], 16, C['base'], C['maxConv']>] extends [never]
  ? ShapeError<`img ${C['img']} cannot be halved down to 16 px: it must be a power of two, at least 16`>
  : unknown;

/** Number of generator downsampling blocks: log2(img) - 4, plus one with the high-pass path. */
export const generatorRepeats = (cfg: Pick<NetConfig, 'img' | 'wHpf'>): number => Math.log2(cfg.img) - 4 + (cfg.wHpf > 0 ? 1 : 0);

/** Number of generator bottleneck blocks (after the downsampling ones, at the lowest resolution). */
export const bottleneckBlocks = 2;

/** Number of trunk downsampling blocks: img -> 4. */
export const trunkRepeats = (cfg: Pick<NetConfig, 'img'>): number => Math.log2(cfg.img) - 2;

/** `n` downsampling blocks from `base` channels, widths following the rule. */
function downBlocks(base: number, maxConv: number, n: number): BlockPlan[] {
  const out: BlockPlan[] = [];
  let din = base;
  for (let i = 0; i < n; i++) {
    const dout = nextWidth(din, maxConv);
    out.push({ din, dout, resample: true });
    din = dout;
  }
  return out;
}

const lastWidth = (blocks: readonly BlockPlan[], base: number): number => (blocks.length ? blocks[blocks.length - 1].dout : base);

export interface GeneratorPlan<C extends NetConfig = NetConfig> {
  /** from_rgb's output and to_rgb's input width. */
  readonly base: C['base'];
  /** Encoder ResBlks (normalised): the downsampling ones, then the bottleneck ones. */
  readonly encode: readonly BlockPlan[];
  /** Decoder AdainResBlks: decode[k] maps encode[n-1-k]'s output width back to its input width. */
  readonly decode: readonly BlockPlan[];
}

export function generatorPlan<C extends NetConfig>(cfg: C): GeneratorPlan<C> {
  const down = downBlocks(cfg.base, cfg.maxConv, generatorRepeats(cfg));
  const w = lastWidth(down, cfg.base);
  const bottleneck: BlockPlan = { din: w, dout: w, resample: false };
  const encode = [...down, ...Array.from({ length: bottleneckBlocks }, () => bottleneck)];
  const decode = encode.map((_, k) => {
    const e = encode[encode.length - 1 - k];
    return { din: e.dout, dout: e.din, resample: e.resample };
  });
  return { base: cfg.base, encode, decode };
}

export interface TrunkPlan<C extends NetConfig = NetConfig> {
  /** The first conv's output width. */
  readonly base: C['base'];
  /** Downsampling ResBlks (not normalised). */
  readonly blocks: readonly BlockPlan[];
  /** The output width (of the 4x4 conv, and of the features the heads read). */
  readonly width: TrunkWidth<C>;
}

export function trunkPlan<C extends NetConfig>(cfg: C): TrunkPlan<C> {
  const blocks = downBlocks(cfg.base, cfg.maxConv, trunkRepeats(cfg));
  // The one place where the rule's value meets its type-level mirror (TrunkWidth, tested in properties/typed-config.types.ts).
  return { base: cfg.base, blocks, width: lastWidth(blocks, cfg.base) as TrunkWidth<C> };
}

export interface MappingPlan {
  /** Widths of the shared MLP, input first: 4 linear layers. */
  readonly shared: readonly number[];
  /** Widths of each domain's head, input first: 4 linear layers. */
  readonly unshared: readonly number[];
  /** Number of heads (domains). */
  readonly heads: number;
}

export function mappingPlan(cfg: NetConfig): MappingPlan {
  const h = cfg.mappingHidden;
  return { shared: [cfg.latentDim, h, h, h, h], unshared: [h, h, h, h, cfg.styleDim], heads: cfg.domains };
}
