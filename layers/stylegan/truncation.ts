/**
 * The truncation trick (StyleGAN): `w' = w_avg + psi (w - w_avg)`, pulling styles towards
 * the average to trade diversity for typicality. psi 1 is the identity, psi 0 gives w_avg.
 *
 * Computed as torch.lerp does (from whichever end is nearer), so both ends are exact in
 * floating point: psi 1 returns w bit for bit, psi 0 returns w_avg bit for bit.
 */
import * as tf from '@tensorflow/tfjs-core';
import { typed, type Shape, type Tensor } from '../../dsl/index.ts';

/** `w: (N, D)` or `(N, L, D)`, `wAvg: (D,)` -> same shape as w. */
export function truncate<S extends Shape>(w: Tensor<S>, wAvg: Tensor<[number]>, psi: number): Tensor<S> {
  return tf.tidy(() => {
    const diff = tf.sub(w, wAvg);
    return typed(psi < 0.5 ? tf.add(wAvg, tf.mul(diff, psi)) : tf.sub(w, tf.mul(diff, 1 - psi)));
  });
}
