/**
 * The four StarGAN v2 networks as one record, keyed by the official checkpoint names, so
 * flattening it gives `generator.from_rgb.weight`, `mapping_network.unshared.1.6.bias`, ...
 */
import { split, type Key } from '../../dsl/index.ts';
import type { NetConfig } from './config.ts';
import { initDiscriminator, type DiscriminatorParams } from './discriminator.ts';
import { initGenerator, type GeneratorParams } from './generator.ts';
import { initMapping, type MappingParams } from './mapping.ts';
import { initStyleEncoder, type StyleEncoderParams } from './style-encoder.ts';

export interface Nets {
  readonly generator: GeneratorParams;
  readonly mapping_network: MappingParams;
  readonly style_encoder: StyleEncoderParams;
  readonly discriminator: DiscriminatorParams;
}

/** The networks that get an EMA copy (used for sampling and evaluation). */
export type EmaNets = Pick<Nets, 'generator' | 'mapping_network' | 'style_encoder'>;

export const netNames = ['generator', 'mapping_network', 'style_encoder', 'discriminator'] as const;

/** He-initialised networks (official init) from one key. */
export function initNets(key: Key, cfg: NetConfig): Nets {
  const [kg, kf, ke, kd] = split(key, 4);
  return {
    generator: initGenerator(kg, cfg),
    mapping_network: initMapping(kf, cfg),
    style_encoder: initStyleEncoder(ke, cfg),
    discriminator: initDiscriminator(kd, cfg),
  };
}
