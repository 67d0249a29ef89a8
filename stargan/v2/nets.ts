/**
 * The four StarGAN v2 networks as one record, keyed by the official checkpoint names, so
 * flattening it gives `generator.from_rgb.weight`, `mapping_network.unshared.1.6.bias`, ...
 */
import { materialize, split, type Key, type Spec } from '../../dsl/index.ts';
import type { NetConfig } from './config.ts';
import { discriminatorSpec, type DiscriminatorParams } from './discriminator.ts';
import { generatorSpec, type GeneratorParams } from './generator.ts';
import { mappingSpec, type MappingParams } from './mapping.ts';
import { styleEncoderSpec, type StyleEncoderParams } from './style-encoder.ts';

export interface Nets {
  readonly generator: GeneratorParams;
  readonly mapping_network: MappingParams;
  readonly style_encoder: StyleEncoderParams;
  readonly discriminator: DiscriminatorParams;
}

/** The networks that get an EMA copy (used for sampling and evaluation). */
export type EmaNets = Pick<Nets, 'generator' | 'mapping_network' | 'style_encoder'>;

export const netNames = ['generator', 'mapping_network', 'style_encoder', 'discriminator'] as const;

/**
 * The four networks as specs (names, shapes and init, no data; dsl/spec.ts): what initNets materialises, and,
 * with any key, the template a checkpoint is loaded into.
 */
export function netsSpec(key: Key, cfg: NetConfig): Spec<Nets> {
  const [kg, kf, ke, kd] = split(key, 4);
  return {
    generator: generatorSpec(kg, cfg),
    mapping_network: mappingSpec(kf, cfg),
    style_encoder: styleEncoderSpec(ke, cfg),
    discriminator: discriminatorSpec(kd, cfg),
  };
}

/** He-initialised networks (official init) from one key. */
export function initNets(key: Key, cfg: NetConfig): Nets {
  return materialize<Nets>(netsSpec(key, cfg));
}
