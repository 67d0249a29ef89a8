/**
 * Discriminator D(x, y) (REFERENCE section 2): the shared trunk, then conv1x1(C -> K)
 * (index R+4 of `main`); the output is the logit of domain y.
 *
 *   x: (N, 3, H, W), y: (N,)  ->  (N,)
 */
import {
  conv2d, convSpec, flatten, materialize, selectLogit, split,
  type ConvParams, type Key, type Labels, type Spec, type Tensor,
} from '../../dsl/index.ts';
import type { BuiltFor, NetConfig } from './config.ts';
import { trunkPlan } from './plan.ts';
import { trunk, trunkSpec, type TrunkParams } from './trunk.ts';

/** D's parameters for config C (its image size and domain count are read from C, the `BuiltFor` brand). */
export interface DiscriminatorParams<C extends NetConfig = NetConfig> extends BuiltFor<C> {
  /** The trunk's layers plus the final conv1x1 at index R+4. */
  readonly main: TrunkParams;
}

/** The parameters as specs (no data; dsl/spec.ts): the trunk, then conv1x1(width -> K) at index R+4. */
export function discriminatorSpec<C extends NetConfig>(key: Key, cfg: C): Spec<DiscriminatorParams<C>> {
  const [kTrunk, kOut] = split(key, 2);
  const { blocks, width } = trunkPlan(cfg);
  return { main: { ...trunkSpec(kTrunk, cfg), [String(blocks.length + 4)]: convSpec(kOut, width, cfg.domains, 1) } };
}

export function initDiscriminator<const C extends NetConfig>(key: Key, cfg: C): DiscriminatorParams<C> {
  return materialize<DiscriminatorParams<C>>(discriminatorSpec(key, cfg));
}

/** D(x, y): `x: (N, 3, img, img), y: (N,) of K domains -> (N,)`, with img and K from the config of the parameters. */
export function discriminator<N extends number, C extends NetConfig>(
  p: DiscriminatorParams<C>, x: Tensor<[N, 3, C['img'], C['img']]>, y: Labels<NoInfer<N>, C['domains']>,
): Tensor<[N]> {
  const indices = Object.keys(p.main).map(Number).sort((a, b) => a - b);
  const last = indices[indices.length - 1];
  const { [String(last)]: head, ...trunkParams } = p.main;
  const logits = flatten(conv2d(trunk(trunkParams, x), head as ConvParams<number, number, 1>));
  return selectLogit(logits, y);
}
