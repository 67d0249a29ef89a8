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
import type { NetConfig } from './config.ts';
import { trunkPlan } from './plan.ts';
import { trunk, trunkSpec, type TrunkParams } from './trunk.ts';

export interface DiscriminatorParams {
  /** The trunk's layers plus the final conv1x1 at index R+4. */
  readonly main: TrunkParams;
}

/** The parameters as specs (no data; dsl/spec.ts): the trunk, then conv1x1(width -> K) at index R+4. */
export function discriminatorSpec(key: Key, cfg: NetConfig): Spec<DiscriminatorParams> {
  const [kTrunk, kOut] = split(key, 2);
  const { blocks, width } = trunkPlan(cfg);
  return { main: { ...trunkSpec(kTrunk, cfg), [String(blocks.length + 4)]: convSpec(kOut, width, cfg.domains, 1) } };
}

export function initDiscriminator(key: Key, cfg: NetConfig): DiscriminatorParams {
  return materialize<DiscriminatorParams>(discriminatorSpec(key, cfg));
}

export function discriminator<N extends number, H extends number, W extends number>(
  p: DiscriminatorParams, x: Tensor<[N, 3, H, W]>, y: Labels<NoInfer<N>>,
): Tensor<[N]> {
  const indices = Object.keys(p.main).map(Number).sort((a, b) => a - b);
  const last = indices[indices.length - 1];
  const { [String(last)]: head, ...trunkParams } = p.main;
  const logits = flatten(conv2d(trunk(trunkParams, x), head as ConvParams<number, number, 1>));
  return selectLogit(logits, y);
}
