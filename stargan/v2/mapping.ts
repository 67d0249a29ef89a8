/**
 * Mapping network F(z, y) (REFERENCE section 2): a shared MLP (L -> hidden, then 3 x
 * hidden -> hidden, ReLU after each) and K unshared heads (3 x hidden -> hidden with ReLU,
 * then hidden -> S); the output is the head of domain y.
 *
 *   z: (N, L), y: (N,)  ->  (N, S)
 */
import {
  domainHeads, linear, linearSpec, materialize, relu, sequentialEntries, split,
  type Key, type Labels, type LinearParams, type Sequential, type Spec, type Tensor,
} from '../../dsl/index.ts';
import type { BuiltFor, NetConfig } from './config.ts';
import { mappingPlan } from './plan.ts';

/** F's parameters for config C; its latent, style and domain sizes are read from C (the `BuiltFor` brand). */
export interface MappingParams<C extends NetConfig = NetConfig> extends BuiltFor<C> {
  /** Linear layers at indices 0, 2, 4, 6 (ReLUs at the odd indices). */
  readonly shared: Sequential<LinearParams<number, number>>;
  /** Per domain: linear layers at 0, 2, 4 (ReLU after) and 6 (the S-dim output). */
  readonly unshared: readonly Sequential<LinearParams<number, number>>[];
}

/** Linear layers between consecutive widths, at the even indices of an nn.Sequential. */
function mlpSpec(key: Key, widths: readonly number[]): Spec<Sequential<LinearParams<number, number>>> {
  const ks = split(key, widths.length - 1);
  return Object.fromEntries(ks.map((k, i) => [String(2 * i), linearSpec(k, widths[i], widths[i + 1])]));
}

/** The parameters as specs (no data; dsl/spec.ts), widths from the plan (plan.ts). */
export function mappingSpec<C extends NetConfig>(key: Key, cfg: C): Spec<MappingParams<C>> {
  const { shared, unshared, heads } = mappingPlan(cfg);
  const [kShared, ...kHeads] = split(key, heads + 1);
  return { shared: mlpSpec(kShared, shared), unshared: kHeads.map((k) => mlpSpec(k, unshared)) };
}

export function initMapping<const C extends NetConfig>(key: Key, cfg: C): MappingParams<C> {
  return materialize<MappingParams<C>>(mappingSpec(key, cfg));
}

/** Linear layers in index order with ReLU between them, and after the last if `reluLast`. */
function mlp<N extends number>(p: Sequential<LinearParams<number, number>>, x: Tensor<[N, number]>, reluLast: boolean): Tensor<[N, number]> {
  const layers = sequentialEntries(p);
  return layers.reduce((h, [, lin], i) => {
    const y = linear(h, lin);
    return i < layers.length - 1 || reluLast ? relu(y) : y;
  }, x);
}

/** F(z, y): `z: (N, L), y: (N,) of K domains -> (N, S)`, with L, K, S from the config of the parameters. */
export function mappingNetwork<N extends number, C extends NetConfig>(
  p: MappingParams<C>, z: Tensor<[N, C['latentDim']]>, y: Labels<NoInfer<N>, C['domains']>,
): Tensor<[N, C['styleDim']]> {
  const h = mlp(p.shared, z, true);
  const heads = p.unshared.map((head) => (t: Tensor<[N, number]>) => mlp(head, t, false) as Tensor as Tensor<[N, C['styleDim']]>);
  return domainHeads(heads)(h, y);
}
