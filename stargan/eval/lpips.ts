/**
 * An LPIPS-style diversity score, uncalibrated: the distance between two images is
 *
 *   d(x, y) = Σ_l mean_{h,w} Σ_c (x̂_l - ŷ_l)²,   x̂_l = f_l(x) / √(Σ_c f_l(x)² + 1e-10)
 *
 * over feature maps f_l of one network, each unit-normalised along channels per position as
 * LPIPS does. This is LPIPS's `lpips=False` "baseline" form: no learned per-channel weights
 * (LPIPS proper, which StarGAN v2 reports, uses AlexNet and weights fitted to human judgements).
 * The diversity of a group of outputs (the 10 translations of one source) is the mean of d
 * over its pairs i < j, as StarGAN v2's `calculate_lpips_given_images`.
 */
import * as tf from '@tensorflow/tfjs-core';

/** LPIPS's eps inside the square root. */
const EPS = 1e-10;

/** f: (N, h, w, c) -> f / √(Σ_c f² + eps), per position. */
export function unitNormalise(f: tf.Tensor4D): tf.Tensor4D {
  return tf.tidy(() => tf.mul(f, tf.rsqrt(tf.add(tf.sum(tf.square(f), 3, true), EPS))) as tf.Tensor4D);
}

/**
 * Mean pairwise distance within consecutive groups of `groupSize` images.
 * maps: per layer (G * groupSize, h, w, c), images of group g at rows g*groupSize..; -> G values.
 * A pair's difference is taken directly (not through |x|² + |y|² - 2x·y), so identical
 * images are at distance exactly 0.
 */
export function groupDiversity(maps: readonly tf.Tensor4D[], groupSize: number): Float64Array {
  if (maps.length === 0) throw new Error('groupDiversity: no feature maps');
  const n = maps[0].shape[0];
  if (groupSize < 2 || n % groupSize !== 0) throw new Error(`groupDiversity: ${n} images are not groups of ${groupSize} >= 2`);
  const groups = n / groupSize;
  const pairs = (groupSize * (groupSize - 1)) / 2;
  const total = tf.tidy(() => {
    let sum: tf.Tensor = tf.zeros([groups]);
    for (const m of maps) {
      const [, h, w, c] = m.shape;
      const x = tf.reshape(unitNormalise(m), [groups, groupSize, h * w * c]);
      for (let i = 0; i < groupSize - 1; i++) {
        const xi = tf.slice(x, [0, i, 0], [-1, 1, -1]);
        const rest = tf.slice(x, [0, i + 1, 0], [-1, -1, -1]);
        // Σ over pairs (i, j > i) of mean_{h,w} Σ_c diff² = Σ_{j, hwc} diff² / (h w)
        sum = tf.add(sum, tf.div(tf.sum(tf.squaredDifference(rest, xi), [1, 2]), h * w));
      }
    }
    return tf.div(sum, pairs);
  });
  const out = Float64Array.from(total.dataSync());
  total.dispose();
  return out;
}
