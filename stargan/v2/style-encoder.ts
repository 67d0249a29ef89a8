/**
 * Style encoder E(x, y) (REFERENCE section 2): the shared trunk, flattened, then K
 * unshared Linear(C -> S) heads; the output is the head of domain y.
 *
 *   x: (N, 3, H, W), y: (N,)  ->  (N, S)
 */
import {
  domainHeads, flatten, linear, linearSpec, materialize, split,
  type Key, type Labels, type LinearParams, type Spec, type Tensor,
} from '../../dsl/index.ts';
import type { BuiltFor, NetConfig } from './config.ts';
import { trunkPlan, type TrunkWidth } from './plan.ts';
import { trunk, trunkSpec, type TrunkParams } from './trunk.ts';

/** E's parameters for config C: its heads map the trunk's width (the plan's, at type level) to the style size. */
export interface StyleEncoderParams<C extends NetConfig = NetConfig> extends BuiltFor<C> {
  readonly shared: TrunkParams;
  readonly unshared: readonly LinearParams<C['styleDim'], TrunkWidth<C>>[];
}

/** The parameters as specs (no data; dsl/spec.ts): the trunk, and per domain a Linear(width -> S) head. */
export function styleEncoderSpec<C extends NetConfig>(key: Key, cfg: C): Spec<StyleEncoderParams<C>> {
  const [kTrunk, ...kHeads] = split(key, cfg.domains + 1);
  const { width } = trunkPlan(cfg);
  return { shared: trunkSpec(kTrunk, cfg), unshared: kHeads.map((k) => linearSpec(k, width, cfg.styleDim)) };
}

export function initStyleEncoder<const C extends NetConfig>(key: Key, cfg: C): StyleEncoderParams<C> {
  return materialize<StyleEncoderParams<C>>(styleEncoderSpec(key, cfg));
}

/** E(x, y): `x: (N, 3, img, img), y: (N,) of K domains -> (N, S)`, with img, K, S from the config of the parameters. */
export function styleEncoder<N extends number, C extends NetConfig>(
  p: StyleEncoderParams<C>, x: Tensor<[N, 3, C['img'], C['img']]>, y: Labels<NoInfer<N>, C['domains']>,
): Tensor<[N, C['styleDim']]> {
  const h = flatten(trunk(p.shared, x));
  return domainHeads(p.unshared.map((head) => (t: Tensor<[N, number]>) => linear(t, head)))(h, y);
}
