/**
 * The four StarGAN v2 networks as one record, keyed by the official checkpoint names, so
 * flattening it gives `generator.from_rgb.weight`, `mapping_network.unshared.1.6.bias`, ...
 */
import { materialize, split, type Key, type Spec } from '../../dsl/index.ts';
import type { NetConfig } from './config.ts';
import type { PlanFits } from './plan.ts';
import { discriminatorSpec, type DiscriminatorParams } from './discriminator.ts';
import { generatorSpec, type GeneratorParams } from './generator.ts';
import { mappingSpec, type MappingParams } from './mapping.ts';
import { styleEncoderSpec, type StyleEncoderParams } from './style-encoder.ts';

/**
 * The networks built for config C. With a literal config (`initNets(key, { img: 64, ... } as const)`) their
 * types carry its sizes, and G, E, D take only `(N, 3, 64, 64)` images; `Nets` alone is `Nets<NetConfig>`,
 * a config read at run time, whose sizes (`number`) match anything.
 */
export interface Nets<C extends NetConfig = NetConfig> {
  readonly generator: GeneratorParams<C>;
  readonly mapping_network: MappingParams<C>;
  readonly style_encoder: StyleEncoderParams<C>;
  readonly discriminator: DiscriminatorParams<C>;
}

/** The networks that get an EMA copy (used for sampling and evaluation). */
export type EmaNets<C extends NetConfig = NetConfig> = Pick<Nets<C>, 'generator' | 'mapping_network' | 'style_encoder'>;

export const netNames = ['generator', 'mapping_network', 'style_encoder', 'discriminator'] as const;

/**
 * The four networks as specs (names, shapes and init, no data; dsl/spec.ts): what initNets materialises, and,
 * with any key, the template a checkpoint is loaded into.
 */
export function netsSpec<C extends NetConfig>(key: Key, cfg: C): Spec<Nets<C>> {
  const [kg, kf, ke, kd] = split(key, 4);
  return {
    generator: generatorSpec(kg, cfg),
    mapping_network: mappingSpec(kf, cfg),
    style_encoder: styleEncoderSpec(ke, cfg),
    discriminator: discriminatorSpec(kd, cfg),
  };
}

/**
 * He-initialised networks (official init) from one key. A literal config (`as const`, or written in the call)
 * is kept as a type (the `const` type parameter), so the networks' types carry its sizes.
 */
export function initNets<const C extends NetConfig>(key: Key, cfg: C & PlanFits<C>): Nets<C> {
  return materialize<Nets<C>>(netsSpec<C>(key, cfg));
}
