/**
 * StEP's triplets: for every anchor, its `nearest` closest and `farthest` farthest images in
 * style distance (pretrain_style.py: positives among the 5 nearest, negatives among the 13
 * farthest). The anchor itself is excluded explicitly (StEP skips rank 0, which is the anchor
 * only when no other image is at distance 0: duplicate images, frequent in emoji sets, are
 * handled here). Ties are broken by index, so the sets are a pure function of the distances.
 */
import { uniformAt, type Key } from '../../dsl/index.ts';

export interface NeighbourSets {
  /** positives[i]: the `nearest` indices closest to i, nearest first. */
  readonly positives: readonly (readonly number[])[];
  /** negatives[i]: the `farthest` indices farthest from i, farthest first. */
  readonly negatives: readonly (readonly number[])[];
}

/** Neighbour sets from a P x P row-major distance matrix. */
export function neighbourSets(dist: Float64Array, p: number, nearest: number, farthest: number): NeighbourSets {
  if (dist.length !== p * p) throw new Error(`neighbourSets: ${dist.length} distances for ${p} items`);
  if (p < nearest + farthest + 1) throw new Error(`neighbourSets: ${p} items cannot give ${nearest} positives and ${farthest} negatives`);
  const positives: number[][] = [];
  const negatives: number[][] = [];
  for (let i = 0; i < p; i++) {
    const others = Array.from({ length: p }, (_, j) => j).filter((j) => j !== i);
    others.sort((a, b) => dist[i * p + a] - dist[i * p + b] || a - b);
    positives.push(others.slice(0, nearest));
    negatives.push(others.slice(others.length - farthest).reverse());
  }
  return { positives, negatives };
}

export interface TripletIndices {
  readonly domain: number;
  readonly anchor: number;
  readonly positive: number;
  readonly negative: number;
}

/**
 * n triplets, a pure function of the key: domain uniform, anchor uniform in its pool, positive
 * uniform among its nearest, negative uniform among its farthest. `sets[d]` are domain d's.
 */
export function sampleTriplets(key: Key, sets: readonly NeighbourSets[], n: number): TripletIndices[] {
  const pick = (u: number, m: number) => Math.min(Math.floor(u * m), m - 1);
  return Array.from({ length: n }, (_, i) => {
    const u = (j: number) => uniformAt(key, 4 * i + j);
    const domain = pick(u(0), sets.length);
    const s = sets[domain];
    const anchor = pick(u(1), s.positives.length);
    return { domain, anchor, positive: s.positives[anchor][pick(u(2), s.positives[anchor].length)], negative: s.negatives[anchor][pick(u(3), s.negatives[anchor].length)] };
  });
}
