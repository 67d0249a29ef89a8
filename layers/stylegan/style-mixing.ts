/**
 * Style mixing regularisation (StyleGAN): with probability p (0.9), the synthesis layers
 * before a random crossover layer take w1 and the layers from it on take w2, so that
 * neighbouring styles are not assumed correlated. As the official training loop, one
 * crossover is drawn per batch, uniform in [1, numWs); without mixing it is numWs (all w1).
 */
import * as tf from '@tensorflow/tfjs-core';
import { typed, uniformAt, type Key, type Tensor } from '../../dsl/index.ts';

/** The crossover layer for a batch: uniform in [1, numWs) with probability `prob`, else numWs (no mixing). */
export function crossoverLayer(key: Key, numWs: number, prob = 0.9): number {
  if (!(Number.isInteger(numWs) && numWs >= 1)) throw new Error(`crossoverLayer: numWs must be a positive integer, got ${numWs}`);
  if (numWs === 1 || uniformAt(key, 0) >= prob) return numWs;
  return 1 + Math.min(Math.floor(uniformAt(key, 1) * (numWs - 1)), numWs - 2);
}

/** One w per synthesis layer: `(N, D) -> (N, numWs, D)` (the official broadcast). */
export function broadcastW<N extends number, D extends number>(w: Tensor<[N, D]>, numWs: number): Tensor<[N, number, D]> {
  return typed(tf.tile(tf.expandDims(w, 1), [1, numWs, 1]));
}

/** Per-layer styles `(N, numWs, D)`: layer i < crossover gets w1, the rest w2 (exact copies, no arithmetic). */
export function mixStyles<N extends number, D extends number>(
  w1: Tensor<[N, D]>, w2: Tensor<[NoInfer<N>, NoInfer<D>]>, numWs: number, crossover: number,
): Tensor<[N, number, D]> {
  if (!(Number.isInteger(crossover) && crossover >= 0 && crossover <= numWs)) {
    throw new Error(`mixStyles: crossover must be an integer in 0..${numWs}, got ${crossover}`);
  }
  return tf.tidy(() => {
    const parts = [crossover > 0 ? broadcastW(w1, crossover) : null, crossover < numWs ? broadcastW(w2, numWs - crossover) : null];
    return typed(tf.concat(parts.filter((t): t is Tensor<[N, number, D]> => t !== null), 1));
  });
}
