/**
 * What a person looks at during StEP's stage 1 (the generator stages use stargan/samples.ts):
 * - triplets: per anchor, its positives (Gram-distance nearest) and some of its negatives (farthest),
 *   so one can judge what the fixed feature network calls "similar style";
 * - retrieval: per anchor, its nearest pool images by the encoder's style codes, so one can watch E
 *   learn that notion of similarity.
 */
import * as tf from '@tensorflow/tfjs-core';
import { fold, labels, randInts, type Key } from '../../dsl/index.ts';
import { toChw, type Grid } from '../samples.ts';
import { styleEncoder, type StyleEncoderParams } from '../v2/style-encoder.ts';
import { poolImages, type TripletPool } from './triplets.ts';

/** Anchors for the grids: `perDomain` pool indices of every domain, a pure function of the key. */
export function gridAnchors(pool: TripletPool, key: Key, perDomain = 3): { domain: number; index: number }[] {
  return pool.sets.flatMap((s, d) => randInts(fold(key, d), perDomain, s.positives.length).map((index) => ({ domain: d, index })));
}

/** Rows: anchor | its positives | its `negatives` farthest. */
export function tripletGrid(pool: TripletPool, anchors: readonly { domain: number; index: number }[], negatives = 3): Grid {
  const rows = anchors.map(({ domain, index }) => {
    const s = pool.sets[domain];
    const ids = [index, ...s.positives[index], ...s.negatives[index].slice(0, negatives)];
    return tf.tidy(() => toChw(poolImages(pool, domain, ids)));
  });
  return { images: rows.flat(), rows: rows.length, cols: rows[0].length };
}

/** Style codes of a domain's whole pool, in chunks: P rows of S values. */
function poolCodes(e: StyleEncoderParams, pool: TripletPool, domain: number, chunk = 64): Float32Array[] {
  const p = pool.sets[domain].positives.length;
  const out: Float32Array[] = [];
  for (let i = 0; i < p; i += chunk) {
    const ids = Array.from({ length: Math.min(chunk, p - i) }, (_, j) => i + j);
    const codes = tf.tidy(() => styleEncoder(e, poolImages(pool, domain, ids), labels(new Array<number>(ids.length).fill(domain))).arraySync() as number[][]);
    codes.forEach((c) => out.push(Float32Array.from(c)));
  }
  return out;
}

/** Rows: anchor | its `k` nearest pool images (same domain) by squared distance of E's codes. */
export function retrievalGrid(e: StyleEncoderParams, pool: TripletPool, anchors: readonly { domain: number; index: number }[], k = 5): Grid {
  const codes = new Map<number, Float32Array[]>();
  const rows = anchors.map(({ domain, index }) => {
    if (!codes.has(domain)) codes.set(domain, poolCodes(e, pool, domain));
    const c = codes.get(domain)!;
    const dist = (j: number) => c[j].reduce((s, v, q) => s + (v - c[index][q]) ** 2, 0);
    const nearest = c.map((_, j) => j).filter((j) => j !== index).sort((a, b) => dist(a) - dist(b) || a - b).slice(0, k);
    return tf.tidy(() => toChw(poolImages(pool, domain, [index, ...nearest])));
  });
  return { images: rows.flat(), rows: rows.length, cols: k + 1 };
}
