/*
 * The weight gradient of a stride-1 convolution, written for wasm SIMD128 (docs/PERFORMANCE.md):
 *
 *   dW[i][j][c][o] = sum over output pixels (b, y, x) of X[b][y+i-top][x+j-left][c] * DY[b][y][x][o]
 *
 * X is NHWC and zero outside its bounds (the conv's padding), DY is NHWC, dW is HWIO. The
 * work is the list of (tap, block of 4 input channels) items (i, j, c/4); one call computes the
 * items [item_begin, item_end), so threads take disjoint parts of dW. Needs Ci % 4 == 0 and
 * Co % 8 == 0.
 *
 * Why not XNNPACK: tfjs-wasm can only run this as a forward conv whose "filter" is DY, packed
 * afresh and single-threaded on every call, with 8 input channels per tap. Here both operands
 * are packed per chunk of output pixels into scratch memory (cheap: each packed value feeds
 * Ci/4 * taps or Co/8 inner loops), and the inner loop is a 4x8 outer-product accumulation
 * over the chunk, both operands contiguous and in L1. Each chunk's sums are added to dW, so a
 * value is a sum of per-chunk partial sums (closer to exact than one running float32 sum).
 *
 * No libc, no stack, no data: the module imports tfjs-wasm's memory and touches only the
 * tensors and the scratch it is given. Build: dsl/engine/simd/build.sh.
 */
#include <wasm_simd128.h>

__attribute__((export_name("conv_filter_grad")))
void conv_filter_grad(const float *x, const float *dy, float *dw, float *scratch,
                      int n, int h, int w, int ci, int ho, int wo, int co,
                      int kw, int top, int left,
                      int item_begin, int item_end, int chunk_rows) {
  const int cblocks = ci / 4;
  const int rows = n * ho;
  const v128_t zero = wasm_f32x4_splat(0);
  if (item_begin >= item_end) return;
  float *dyp = scratch;                          /* [Co/8][chunk][8] */
  float *xs = scratch + chunk_rows * wo * co;    /* [chunk][4] */

  for (int item = item_begin; item < item_end; item++) {
    float *out = dw + item * 4 * co;              /* items are consecutive 4-row blocks of dW */
    for (int k = 0; k < 4 * co; k += 4) wasm_v128_store(out + k, zero);
  }

  for (int r0 = 0; r0 < rows; r0 += chunk_rows) {
    const int nrows = rows - r0 < chunk_rows ? rows - r0 : chunk_rows;
    const int len = nrows * wo;

    /* dy's chunk, 8 output channels at a time */
    for (int p = 0; p < len; p++) {
      const float *src = dy + (r0 * wo + p) * co;
      for (int o = 0; o < co; o += 8) {
        float *d = dyp + o * len + p * 8;
        wasm_v128_store(d, wasm_v128_load(src + o));
        wasm_v128_store(d + 4, wasm_v128_load(src + o + 4));
      }
    }

    for (int item = item_begin; item < item_end; item++) {
      const int tap = item / cblocks, c = (item % cblocks) * 4;
      const int i = tap / kw, j = tap % kw;

      /* the tap's shifted input, 4 channels, for the chunk's rows: zeros outside X */
      int x0 = left - j; if (x0 < 0) x0 = 0;
      int x1 = w + left - j; if (x1 > wo) x1 = wo;
      for (int r = 0; r < nrows; r++) {
        const int row = r0 + r, b = row / ho, yy = row % ho + i - top;
        float *dst = xs + r * wo * 4;
        const int inside = yy >= 0 && yy < h && x1 > x0;
        const int a = inside ? x0 : wo, e = inside ? x1 : wo;
        for (int q = 0; q < a; q++) wasm_v128_store(dst + q * 4, zero);
        const float *src = x + ((b * h + yy) * w + (a + j - left)) * ci + c;
        for (int q = a; q < e; q++, src += ci) wasm_v128_store(dst + q * 4, wasm_v128_load(src));
        for (int q = e; q < wo; q++) wasm_v128_store(dst + q * 4, zero);
      }

      float *out = dw + item * 4 * co;
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
  }
}
