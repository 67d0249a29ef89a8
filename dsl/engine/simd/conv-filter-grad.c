/*
 * The weight gradient of a convolution of stride s (1 or 2), written for wasm SIMD128 (docs/PERFORMANCE.md):
 *
 *   dW[i][j][c][o] = sum over output pixels (b, y, x) of X[b][s y+i-top][s x+j-left][c] * DY[b][y][x][o]
 *
 * X is NHWC and zero outside its bounds (the conv's padding), DY is NHWC, dW is HWIO. The
 * work is the list of (tap, block of 4 input channels) items (i, j, c/4), each 4 rows of dW.
 * Threads running this on the same arguments (each with its own scratch) claim runs of `block`
 * items from the shared counter `*next` until none are left: a thread slowed by another
 * process takes fewer. An item's value does not depend on which thread computes it. Needs
 * Ci % 4 == 0 and Co % 8 == 0.
 *
 * Why not XNNPACK: tfjs-wasm can only run this as a forward conv whose "filter" is DY, packed
 * afresh and single-threaded on every call, with 8 input channels per tap. Here both operands
 * are packed per chunk of output pixels into scratch memory (cheap: a packed dy value feeds the
 * inner loops of a run of items, a packed x value Co/8 of them), and the inner loop is a 4x8
 * outer-product accumulation over the chunk, both operands contiguous and in L1. Each chunk's sums are added to dW, so a
 * value is a sum of per-chunk partial sums (closer to exact than one running float32 sum).
 *
 * No libc, no stack, no data: the module imports tfjs-wasm's memory and touches only the
 * tensors and the scratch it is given. Build: dsl/engine/simd/build.sh.
 */
#include <wasm_simd128.h>

/* dy's rows [r0, r0 + nrows) as [Co/8][len][8] */
static inline void pack_dy(float *dyp, const float *dy, int r0, int len, int wo, int co) {
  for (int p = 0; p < len; p++) {
    const float *src = dy + (r0 * wo + p) * co;
    for (int o = 0; o < co; o += 8) {
      float *d = dyp + o * len + p * 8;
      wasm_v128_store(d, wasm_v128_load(src + o));
      wasm_v128_store(d + 4, wasm_v128_load(src + o + 4));
    }
  }
}

/* ceil(a / s) for s in {1, 2}, any sign of a */
static inline int ceil_div(int a, int s) { return s == 1 ? a : (a >= 0 ? (a + 1) / 2 : -((-a) / 2)); }

/* tap (i, j)'s input at stride s, channels [c, c + 4), for output rows [r0, r0 + nrows) as [len][4]: zeros outside X */
static inline void pack_x(float *xs, const float *x, int r0, int nrows, int i, int j, int c,
                          int h, int w, int ci, int ho, int wo, int top, int left, int s) {
  const v128_t zero = wasm_f32x4_splat(0);
  /* output columns q whose input column s q + j - left lies in [0, w) */
  int x0 = ceil_div(left - j, s); if (x0 < 0) x0 = 0;
  int x1 = ceil_div(w + left - j, s); if (x1 > wo) x1 = wo;
  for (int r = 0; r < nrows; r++) {
    const int row = r0 + r, b = row / ho, yy = s * (row % ho) + i - top;
    float *dst = xs + r * wo * 4;
    const int inside = yy >= 0 && yy < h && x1 > x0;
    const int a = inside ? x0 : wo, e = inside ? x1 : wo;
    for (int q = 0; q < a; q++) wasm_v128_store(dst + q * 4, zero);
    const float *src = x + ((b * h + yy) * w + (s * a + j - left)) * ci + c;
    for (int q = a; q < e; q++, src += s * ci) wasm_v128_store(dst + q * 4, wasm_v128_load(src));
    for (int q = e; q < wo; q++) wasm_v128_store(dst + q * 4, zero);
  }
}

/* out[4][co] += xs[len][4]^T dyp[co/8][len][8]: 4x8 outer products, accumulated in registers over the chunk */
static inline void accumulate(float *out, const float *xs, const float *dyp, int len, int co) {
  const v128_t zero = wasm_f32x4_splat(0);
  for (int o = 0; o < co; o += 8) {
    const float *pd = dyp + o * len;
    const float *px = xs;
    v128_t a0 = zero, a1 = zero, a2 = zero, a3 = zero, a4 = zero, a5 = zero, a6 = zero, a7 = zero;
    for (int p = 0; p < len; p++, px += 4, pd += 8) {
      const v128_t d0 = wasm_v128_load(pd), d1 = wasm_v128_load(pd + 4);
      const v128_t s0 = wasm_v128_load32_splat(px), s1 = wasm_v128_load32_splat(px + 1);
      const v128_t s2 = wasm_v128_load32_splat(px + 2), s3 = wasm_v128_load32_splat(px + 3);
      a0 = wasm_f32x4_add(a0, wasm_f32x4_mul(s0, d0)); a1 = wasm_f32x4_add(a1, wasm_f32x4_mul(s0, d1));
      a2 = wasm_f32x4_add(a2, wasm_f32x4_mul(s1, d0)); a3 = wasm_f32x4_add(a3, wasm_f32x4_mul(s1, d1));
      a4 = wasm_f32x4_add(a4, wasm_f32x4_mul(s2, d0)); a5 = wasm_f32x4_add(a5, wasm_f32x4_mul(s2, d1));
      a6 = wasm_f32x4_add(a6, wasm_f32x4_mul(s3, d0)); a7 = wasm_f32x4_add(a7, wasm_f32x4_mul(s3, d1));
    }
    float *q = out + o;
    wasm_v128_store(q, wasm_f32x4_add(wasm_v128_load(q), a0)); wasm_v128_store(q + 4, wasm_f32x4_add(wasm_v128_load(q + 4), a1)); q += co;
    wasm_v128_store(q, wasm_f32x4_add(wasm_v128_load(q), a2)); wasm_v128_store(q + 4, wasm_f32x4_add(wasm_v128_load(q + 4), a3)); q += co;
    wasm_v128_store(q, wasm_f32x4_add(wasm_v128_load(q), a4)); wasm_v128_store(q + 4, wasm_f32x4_add(wasm_v128_load(q + 4), a5)); q += co;
    wasm_v128_store(q, wasm_f32x4_add(wasm_v128_load(q), a6)); wasm_v128_store(q + 4, wasm_f32x4_add(wasm_v128_load(q + 4), a7));
  }
}

/*
 * Scratch per thread: chunk_rows * wo * (co + 4) floats (the packed dy chunk, then the packed x slice).
 * Output rows go in chunks of chunk_rows (chunk_rows * wo pixels); each chunk's sums are added to dW.
 */
__attribute__((export_name("conv_filter_grad")))
void conv_filter_grad(const float *x, const float *dy, float *dw, float *scratch, int *next,
                      int n, int h, int w, int ci, int ho, int wo, int co,
                      int kh, int kw, int top, int left, int block, int chunk_rows, int stride) {
  const int cblocks = ci / 4, items = kh * kw * cblocks, rows = n * ho;
  const v128_t zero = wasm_f32x4_splat(0);
  float *dyp = scratch;
  float *xs = scratch + chunk_rows * wo * co;
  for (;;) {
    const int begin = __atomic_fetch_add(next, block, __ATOMIC_SEQ_CST);
    if (begin >= items) return;
    const int end = begin + block < items ? begin + block : items;
    for (int k = begin * 4 * co; k < end * 4 * co; k += 4) wasm_v128_store(dw + k, zero);
    for (int r0 = 0; r0 < rows; r0 += chunk_rows) {
      const int nrows = rows - r0 < chunk_rows ? rows - r0 : chunk_rows;
      const int len = nrows * wo;
      pack_dy(dyp, dy, r0, len, wo, co);
      for (int item = begin; item < end; item++) {
        const int tap = item / cblocks, c = (item % cblocks) * 4;
        pack_x(xs, x, r0, nrows, tap / kw, tap % kw, c, h, w, ci, ho, wo, top, left, stride);
        accumulate(dw + item * 4 * co, xs, dyp, len, co);
      }
    }
  }
}
