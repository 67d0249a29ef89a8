/**
 * NumPy's legacy `np.random.RandomState(seed).permutation(n)`, bit for bit, so a split made
 * here is the split the PyTorch anchor's scripts make (shared/anchors/emoji_learning/data.py
 * holds out `sort(RandomState(123).permutation(N)[:60])`), and results can be compared
 * emoji by emoji.
 *
 * RandomState(int) seeds MT19937 with `init_genrand(seed)`; `permutation(n)` shuffles
 * `arange(n)` from the end (Fisher-Yates), drawing j in [0, i] as `random_interval(i)`: the
 * next 32-bit output masked to i's bit length, rejected while > i.
 */

/** MT19937 seeded by `init_genrand(seed)`: a function returning the next 32-bit output. */
function mt19937(seed: number): () => number {
  const mt = new Uint32Array(624);
  mt[0] = seed >>> 0;
  for (let i = 1; i < 624; i++) {
    const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
    mt[i] = (Math.imul(1812433253, prev) + i) >>> 0;
  }
  let next = 624;
  return () => {
    if (next >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      next = 0;
    }
    let y = mt[next++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  };
}

/** `np.random.RandomState(seed).permutation(n)` for a seed in 0..2^32-1 and n < 2^32. */
export function numpyPermutation(n: number, seed: number): number[] {
  if (!Number.isInteger(seed) || seed < 0 || seed >= 2 ** 32) throw new Error(`numpyPermutation: seed must be an integer in 0..2^32-1, got ${seed}`);
  if (!Number.isInteger(n) || n < 0 || n >= 2 ** 32) throw new Error(`numpyPermutation: n must be an integer in 0..2^32-1, got ${n}`);
  const next = mt19937(seed);
  const x = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    let mask = i;
    mask |= mask >>> 1;
    mask |= mask >>> 2;
    mask |= mask >>> 4;
    mask |= mask >>> 8;
    mask |= mask >>> 16;
    let j = (next() & mask) >>> 0;
    while (j > i) j = (next() & mask) >>> 0;
    const t = x[i];
    x[i] = x[j];
    x[j] = t;
  }
  return x;
}
