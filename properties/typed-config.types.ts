/**
 * Compile-time tests of config-typed networks, checked by `tsc --noEmit` in `npm test`: StarGAN v2 built
 * from a literal config carries its image size, widths, style and latent sizes and domain count in its
 * types, so G, E, D and F reject inputs of other sizes, each on the exact line of the mistake
 * (`// @ts-expect-error`: tsc reports the directive as unused if the line compiles). The same networks
 * built from a config read at run time (`NetConfig`) accept any size, as before.
 *
 * Nothing here runs: `initNets` is only called inside functions that are never called.
 */
import {
  convSpec, initConv, initLinear, key, labels, type ConvParams, type Key, type Labels, type LinearParams, type Min, type Spec,
  type Tensor,
} from '../dsl/index.ts';
import { small, type NetConfig } from '../stargan/v2/config.ts';
import { discriminator } from '../stargan/v2/discriminator.ts';
import { generator, initGenerator, type GeneratorParams } from '../stargan/v2/generator.ts';
import { mappingNetwork } from '../stargan/v2/mapping.ts';
import { initNets, type Nets } from '../stargan/v2/nets.ts';
import type { NextWidth, TrunkWidth } from '../stargan/v2/plan.ts';
import { styleEncoder, type StyleEncoderParams } from '../stargan/v2/style-encoder.ts';

/** Exact type equality (`number` is not `8`, `never` is not `0`). */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2) ? true : false;
type Expect<T extends true> = T;

// ---------------------------------------------------------------------------------------------
// The width rule at type level (plan.ts: NextWidth, TrunkWidth) gives what the run-time rule gives.

export type MinCases = [
  Expect<Equal<Min<64, 256>, 64>>, Expect<Equal<Min<512, 256>, 256>>, Expect<Equal<Min<256, 256>, 256>>,
  Expect<Equal<Min<1000, 999>, 999>>, Expect<Equal<Min<number, 8>, number>>, Expect<Equal<Min<never, 8>, never>>,
];
export type NextWidthCases = [
  Expect<Equal<NextWidth<32, 256>, 64>>, Expect<Equal<NextWidth<256, 256>, 256>>, Expect<Equal<NextWidth<48, 64>, 64>>,
  Expect<Equal<NextWidth<number, 256>, number>>,
];
// trunkPlan(cfg).width for these configs (run-time rule, properties/plan.test.ts's configs and the published ones).
type Cfg<Img extends number, Base extends number, MaxConv extends number> = NetConfig & { img: Img; base: Base; maxConv: MaxConv };
export type TrunkWidthCases = [
  Expect<Equal<TrunkWidth<Cfg<64, 32, 256>>, 256>>, // small: 32 -> 64 -> 128 -> 256 -> 256
  Expect<Equal<TrunkWidth<Cfg<256, 64, 512>>, 512>>, // CelebA-HQ, AFHQ
  Expect<Equal<TrunkWidth<Cfg<32, 8, 32>>, 32>>, // plan.test's tiny: 8 -> 16 -> 32
  Expect<Equal<TrunkWidth<Cfg<32, 4, 8>>, 8>>, // plan.test's tinyHpf
  Expect<Equal<TrunkWidth<Cfg<16, 8, 512>>, 32>>, // below the cap: 8 -> 16 -> 32, not maxConv
  Expect<Equal<TrunkWidth<Cfg<1024, 16, 512>>, 512>>,
  Expect<Equal<TrunkWidth<Cfg<number, 32, 256>>, number>>, // image size known at run time
  Expect<Equal<TrunkWidth<Cfg<48, 32, 256>>, never>>, // 48 -> 24 -> 12 -> 6 -> 3: never reaches 4
];
// @ts-expect-error img 16, base 8: the trunk's width is 32 (two blocks), not the cap 512
export type TrunkWidthWrong = Expect<Equal<TrunkWidth<Cfg<16, 8, 512>>, 512>>;

// ---------------------------------------------------------------------------------------------
// A config-typed StarGAN: the bench's small config as a literal type.

const small64 = { img: 64, base: 32, maxConv: 256, domains: 2, styleDim: 64, latentDim: 16, mappingHidden: 512, wHpf: 0 } as const;
type Small64 = typeof small64;
declare const nets: Nets<Small64>;
declare const x: Tensor<[8, 3, 64, 64]>;
declare const x128: Tensor<[8, 3, 128, 128]>;
declare const xWide: Tensor<[8, 3, 64, 128]>;
declare const s: Tensor<[8, 64]>;
declare const s16: Tensor<[8, 16]>;
declare const z: Tensor<[8, 16]>;
declare const z64: Tensor<[8, 64]>;
declare const y: Labels<8, 2>;
declare const y3: Labels<8, 3>;
declare const y4: Labels<4, 2>;

// The right sizes, and the outputs typed: G -> (N, 3, 64, 64), F and E -> (N, 64), D -> (N,).
export const fake: Tensor<[8, 3, 64, 64]> = generator(nets.generator, x, s, small64);
export const latentStyle: Tensor<[8, 64]> = mappingNetwork(nets.mapping_network, z, y);
export const refStyle: Tensor<[8, 64]> = styleEncoder(nets.style_encoder, x, y);
export const logits: Tensor<[8]> = discriminator(nets.discriminator, x, y);
// Labels whose domain count is only known at run time are accepted (checked by labels() at the edge).
export const runtimeLabels: Tensor<[8, 64]> = mappingNetwork(nets.mapping_network, z, labels([0, 1, 0, 1, 0, 1, 0, 1], 8));

// A wrong image size into G, E and D.
// @ts-expect-error Argument of type 'Tensor<[8, 3, 128, 128]>' is not assignable to parameter of type 'Tensor<[8, 3, 64, 64]>'
generator(nets.generator, x128, s, small64);
// @ts-expect-error Argument of type 'Tensor<[8, 3, 128, 128]>' is not assignable to parameter of type 'Tensor<[8, 3, 64, 64]>'
styleEncoder(nets.style_encoder, x128, y);
// @ts-expect-error Argument of type 'Tensor<[8, 3, 128, 128]>' is not assignable to parameter of type 'Tensor<[8, 3, 64, 64]>'
discriminator(nets.discriminator, x128, y);
// @ts-expect-error Argument of type 'Tensor<[8, 3, 64, 128]>' is not assignable to parameter of type 'Tensor<[8, 3, 64, 64]>'
generator(nets.generator, xWide, s, small64);

// Labels of the wrong domain count into F, E, D (K = 2).
// @ts-expect-error Argument of type 'Labels<8, 3>' is not assignable to parameter of type 'Labels<8, 2>'
mappingNetwork(nets.mapping_network, z, y3);
// @ts-expect-error Argument of type 'Labels<8, 3>' is not assignable to parameter of type 'Labels<8, 2>'
styleEncoder(nets.style_encoder, x, y3);
// @ts-expect-error Argument of type 'Labels<8, 3>' is not assignable to parameter of type 'Labels<8, 2>'
discriminator(nets.discriminator, x, y3);
// The batch still comes from the first argument: 4 labels for 8 images.
// @ts-expect-error Argument of type 'Labels<4, 2>' is not assignable to parameter of type 'Labels<8, 2>'
discriminator(nets.discriminator, x, y4);

// A wrong latent size into F (L = 16), a wrong style size into G (S = 64).
// @ts-expect-error Argument of type 'Tensor<[8, 64]>' is not assignable to parameter of type 'Tensor<[8, 16]>'
mappingNetwork(nets.mapping_network, z64, y);
// @ts-expect-error Argument of type 'Tensor<[8, 16]>' is not assignable to parameter of type 'Tensor<[8, 64]>'
generator(nets.generator, x, s16, small64);

// Outputs of the wrong size.
// @ts-expect-error Type 'Tensor<[8, 3, 64, 64]>' is not assignable to type 'Tensor<[8, 3, 128, 128]>'
export const fake128: Tensor<[8, 3, 128, 128]> = generator(nets.generator, x, s, small64);
// @ts-expect-error Type 'Tensor<[8, 64]>' is not assignable to type 'Tensor<[8, 16]>'
export const style16: Tensor<[8, 16]> = styleEncoder(nets.style_encoder, x, y);

// `number` is a wildcard in both directions: networks of a runtime config (loaded from a checkpoint, say) fit
// where the literal config's are declared, and the other way round; networks of another literal config do not.
declare const runtimeNets: Nets;
declare const nets128: Nets<Omit<Small64, 'img'> & { readonly img: 128 }>;
export const loadedAsTyped: Nets<Small64> = runtimeNets;
export const typedAsRuntime: Nets = nets;
// @ts-expect-error Type 'Nets<Omit<...> & { readonly img: 128; }>' is not assignable to type 'Nets<{ readonly img: 64; ... }>'
export const otherSize: Nets<Small64> = nets128;

// Nested calls without annotations: a cycle x -> G(x, F(z, y)) -> G(., E(x, y)) -> D, all inferred.
export const cycle = discriminator(nets.discriminator, generator(nets.generator, generator(nets.generator, x, mappingNetwork(nets.mapping_network, z, y), small64), styleEncoder(nets.style_encoder, x, y), small64), y);
export const cycleTyped: Tensor<[8]> = cycle;
// @ts-expect-error Argument of type 'Tensor<[8, 3, 128, 128]>' is not assignable to parameter of type 'Tensor<[8, 3, 64, 64]>'
discriminator(nets.discriminator, generator(nets.generator, x, styleEncoder(nets.style_encoder, x128, y), small64), y);

// Widths: the convs at G's ends have the config's base width (32), E's heads read the trunk's width (256).
export const fromRgb: ConvParams<32, 3, 3> = nets.generator.from_rgb;
export const toRgb: ConvParams<3, 32, 1> = nets.generator.to_rgb['2'];
export const eHead: LinearParams<64, 256> = nets.style_encoder.unshared[0];
// @ts-expect-error from_rgb is Conv(3 -> 32), not Conv(3 -> 256): 'ConvParams<32, 3, 3>' is not assignable to 'ConvParams<256, 3, 3>'
export const fromRgb256: ConvParams<256, 3, 3> = nets.generator.from_rgb;

// ---------------------------------------------------------------------------------------------
// Records and specs (what init builds) carry their widths: with a literal config, a layer built from the wrong
// width does not fit. Below the cap the trunk's width (128 here) is not maxConv (512): E's heads read the former.

const wide32 = { img: 32, base: 16, maxConv: 512, domains: 3, styleDim: 8, latentDim: 4, mappingHidden: 32, wHpf: 0 } as const;
type Wide32 = typeof wide32;
declare const k0: Key;
export const trunkWidth32: TrunkWidth<Wide32> = 128;
export const fromRgbOk: GeneratorParams<Wide32>['from_rgb'] = initConv(k0, 3, wide32.base, 3);
// @ts-expect-error a conv built from maxConv where base was meant: 'ConvParams<512, 3, 3>' is not assignable to 'ConvParams<16, 3, 3>'
export const fromRgbMax: GeneratorParams<Wide32>['from_rgb'] = initConv(k0, 3, wide32.maxConv, 3);
export const toRgbOk: Spec<GeneratorParams<Wide32>['to_rgb']['2']> = convSpec(k0, wide32.base, 3, 1);
// @ts-expect-error to_rgb's spec from maxConv inputs: "The types of 'weight.tensorType' are incompatible": 'Tensor<[3, 512, 1, 1]>' is not 'Tensor<[3, 16, 1, 1]>'
export const toRgbMax: Spec<GeneratorParams<Wide32>['to_rgb']['2']> = convSpec(k0, wide32.maxConv, 3, 1);
export const headOk: StyleEncoderParams<Wide32>['unshared'][number] = initLinear(k0, 128, wide32.styleDim);
// @ts-expect-error E's head built from maxConv where the trunk's width was meant: 'LinearParams<8, 512>' is not 'LinearParams<8, 128>'
export const headMax: StyleEncoderParams<Wide32>['unshared'][number] = initLinear(k0, wide32.maxConv, wide32.styleDim);
// A record put together by hand for this config: the wrong conv is reported at its property.
export const handBuilt: GeneratorParams<Wide32> = {
  ...initGenerator(k0, wide32),
  // @ts-expect-error Type 'ConvParams<512, 3, 3>' is not assignable to type 'ConvParams<16, 3, 3>'
  from_rgb: initConv(k0, 3, wide32.maxConv, 3),
};

// ---------------------------------------------------------------------------------------------
// initNets keeps a literal config as a type, written inline or `as const`; a NetConfig gives today's types.

declare const x32: Tensor<[4, 3, 32, 32]>;
export function built() {
  const typedNets = initNets(key(0), small64);
  const inline = initNets(key(0), { img: 32, base: 16, maxConv: 64, domains: 3, styleDim: 8, latentDim: 4, mappingHidden: 32, wHpf: 0 });
  const runtime = initNets(key(0), small);
  const fromJson = initNets(key(0), JSON.parse('{}') as NetConfig);
  const y32: Labels<4, 3> = labels([0, 1, 2, 2], 4, 3);
  return [
    discriminator(typedNets.discriminator, x, y),
    discriminator(inline.discriminator, x32, y32),
    // @ts-expect-error the inline config has img 32: 'Tensor<[8, 3, 64, 64]>' is not assignable to 'Tensor<[8, 3, 32, 32]>'
    discriminator(inline.discriminator, x, y),
    // A runtime config takes any size, both 64 and 128: its checks are the run-time ones (data and checkpoint loading).
    discriminator(runtime.discriminator, x128, y3),
    generator(fromJson.generator, x, s, small),
    generator(fromJson.generator, x128, s16, small),
    // @ts-expect-error ShapeError<"img 48 cannot be halved down to 16 px: it must be a power of two, at least 16">
    initNets(key(0), { img: 48, base: 32, maxConv: 256, domains: 2, styleDim: 64, latentDim: 16, mappingHidden: 512, wHpf: 0 }),
  ];
}
