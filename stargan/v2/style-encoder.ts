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
import type { NetConfig } from './config.ts';
import { trunkPlan } from './plan.ts';
import { trunk, trunkSpec, type TrunkParams } from './trunk.ts';

export interface StyleEncoderParams<S extends number = number> {
  readonly shared: TrunkParams;
  readonly unshared: readonly LinearParams<S, number>[];
}

/** The parameters as specs (no data; dsl/spec.ts): the trunk, and per domain a Linear(width -> S) head. */
export function styleEncoderSpec(key: Key, cfg: NetConfig): Spec<StyleEncoderParams> {
  const [kTrunk, ...kHeads] = split(key, cfg.domains + 1);
  const { width } = trunkPlan(cfg);
  return { shared: trunkSpec(kTrunk, cfg), unshared: kHeads.map((k) => linearSpec(k, width, cfg.styleDim)) };
}

export function initStyleEncoder(key: Key, cfg: NetConfig): StyleEncoderParams {
  return materialize<StyleEncoderParams>(styleEncoderSpec(key, cfg));
}

export function styleEncoder<N extends number, H extends number, W extends number, S extends number>(
  p: StyleEncoderParams<S>, x: Tensor<[N, 3, H, W]>, y: Labels<NoInfer<N>>,
): Tensor<[N, S]> {
  const h = flatten(trunk(p.shared, x));
  return domainHeads(p.unshared.map((head) => (t: Tensor<[N, number]>) => linear(t, head)))(h, y);
}
