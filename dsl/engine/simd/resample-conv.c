/*
 * Convolutions fused with 2x resampling (dsl/resample-conv.ts): the filter rewrites and the
 * pixel shuffle that let a 3x3 conv after nearest 2x upsampling, or before 2x2 average pooling,
 * run as one smaller conv at the low resolution (2.25x fewer multiply-adds either way).
 *
 * Up (sub-pixel): conv3x3(up2(x)) = shuffle(conv2x2(pad1(x), W2)), W2 `[2, 2, Ci, 4Co]`: output
 * pixel (2i + a, 2j + b) sees input rows i - 1 + a .. i + a, whose 3 upsampled taps collapse to
 * 2: phase a = 0 takes (w0, w1 + w2), a = 1 takes (w0 + w1, w2), i.e. tap p of phase a sums
 * w[lo .. hi] with lo = p (1 + a), hi = p ? 2 : a. Channel group g = 2a + b of the 2x2 conv's
 * output holds phase (a, b), read at (i + a, j + b) of its (H+1) x (W+1) map.
 *
 * Down: avgpool2(conv3x3(x)) = conv4x4(x; stride 2, pad 1, W4) with W4[t] = (w[lo .. hi]) / 2 per
 * axis, lo = max(0, t - 1), hi = min(2, t): the 4 taps (w0, w0 + w1, w1 + w2, w2) / 2.
 *
 * Every map is linear; each has its adjoint here (the gradients: dsl/engine/resample-conv-simd.ts).
 * Filters are HWIO, maps NHWC. No libc, no stack, no data; imports tfjs-wasm's memory. Build: build.sh.
 */
#include <wasm_simd128.h>

static inline void copy_pixel(float *d, const float *s, int c) {
  int k = 0;
  for (; k + 4 <= c; k += 4) wasm_v128_store(d + k, wasm_v128_load(s + k));
  for (; k < c; k++) d[k] = s[k];
}

/* d += s over n floats */
static inline void add_into(float *d, const float *s, int n) {
  int k = 0;
  for (; k + 4 <= n; k += 4) wasm_v128_store(d + k, wasm_f32x4_add(wasm_v128_load(d + k), wasm_v128_load(s + k)));
  for (; k < n; k++) d[k] += s[k];
}

/* d = s * f over n floats */
static inline void scale_to(float *d, const float *s, float f, int n) {
  const v128_t fv = wasm_f32x4_splat(f);
  int k = 0;
  for (; k + 4 <= n; k += 4) wasm_v128_store(d + k, wasm_f32x4_mul(wasm_v128_load(s + k), fv));
  for (; k < n; k++) d[k] = s[k] * f;
}

/* The 3x3 taps [lo .. hi] along one axis that output tap t of phase a (sub-pixel) or of the pooled filter sums. */
static inline int tap_lo(int up, int a, int t) { return up ? t * (1 + a) : (t > 0 ? t - 1 : 0); }
static inline int tap_hi(int up, int a, int t) { return up ? (t ? 2 : a) : (t < 2 ? t : 2); }

/* Output tap e in 0..15 of a rewritten filter: its place (t, u), channel group g, and the 3x3 taps it sums. */
struct tap { int t, u, g, klo, khi, llo, lhi; };
static inline struct tap tap_of(int up, int e) {
  const int kt = up ? 2 : 4, g = up ? e >> 2 : 0, t = (e / kt) % kt, u = e % kt, a = g >> 1, b = g & 1;
  return (struct tap){ t, u, g, tap_lo(up, a, t), tap_hi(up, a, t), tap_lo(up, b, u), tap_hi(up, b, u) };
}

/*
 * A rewritten filter `out[t][u][ci][g * co + o]` = scale * sum over k in [klo .. khi], l in
 * [llo .. lhi] (k outer, l inner) of `w[k][l][ci][o]`, w 3x3. `up` selects the rule: the
 * sub-pixel filter (t, u in {0, 1}, g = 2a + b in 0..3) or the pooled one (t, u in 0..3, g = 0);
 * either has 16 output taps.
 */
static void rewrite(const float *w, float *out, int ci, int co, int up, float scale) {
  const int kt = up ? 2 : 4, row = (up ? 4 : 1) * co;
  for (int e = 0; e < 16; e++) {
    const struct tap p = tap_of(up, e);
    for (int c = 0; c < ci; c++) {
      float *d = out + ((p.t * kt + p.u) * ci + c) * row + p.g * co;
      copy_pixel(d, w + ((p.klo * 3 + p.llo) * ci + c) * co, co);
      for (int k = p.klo; k <= p.khi; k++)
        for (int l = (k == p.klo ? p.llo + 1 : p.llo); l <= p.lhi; l++) add_into(d, w + ((k * 3 + l) * ci + c) * co, co);
      if (scale != 1.0f) scale_to(d, d, scale, co);
    }
  }
}

/* The adjoint of `rewrite`: dw[k][l][ci][o] = scale * sum of dout over the output taps that read w[k][l]. */
static void rewrite_adjoint(const float *dout, float *dw, int ci, int co, int up, float scale) {
  const int kt = up ? 2 : 4, row = (up ? 4 : 1) * co;
  __builtin_memset(dw, 0, (unsigned long)9 * ci * co * sizeof(float));
  for (int e = 0; e < 16; e++) {
    const struct tap p = tap_of(up, e);
    for (int k = p.klo; k <= p.khi; k++)
      for (int l = p.llo; l <= p.lhi; l++)
        for (int c = 0; c < ci; c++) add_into(dw + ((k * 3 + l) * ci + c) * co, dout + ((p.t * kt + p.u) * ci + c) * row + p.g * co, co);
  }
  if (scale != 1.0f) scale_to(dw, dw, scale, 9 * ci * co);
}

__attribute__((export_name("subpixel_filter")))
void subpixel_filter(const float *w, float *out, int ci, int co) { rewrite(w, out, ci, co, 1, 1.0f); }

__attribute__((export_name("subpixel_filter_adjoint")))
void subpixel_filter_adjoint(const float *dout, float *dw, int ci, int co) { rewrite_adjoint(dout, dw, ci, co, 1, 1.0f); }

__attribute__((export_name("pool_filter")))
void pool_filter(const float *w, float *out, int ci, int co) { rewrite(w, out, ci, co, 0, 0.25f); }

__attribute__((export_name("pool_filter_adjoint")))
void pool_filter_adjoint(const float *dout, float *dw, int ci, int co) { rewrite_adjoint(dout, dw, ci, co, 0, 0.25f); }

/*
 * The sub-pixel shuffle: out[n][2i + a][2j + b][o] = y[n][i + a][j + b][(2a + b) c + o], y
 * `[N, H+1, W+1, 4C]`, out `[N, 2H, 2W, C]`, for the input rows r = n H + i in [r0, r0 + rows).
 */
__attribute__((export_name("subpixel_shuffle")))
void subpixel_shuffle(const float *y, float *out, int r0, int rows, int h, int w, int c) {
  const int yrow = (w + 1) * 4 * c;
  for (int r = r0; r < r0 + rows; r++) {
    const int n = r / h, i = r % h;
    for (int a = 0; a < 2; a++) {
      const float *src = y + (n * (h + 1) + i + a) * yrow;
      float *dst = out + ((n * 2 * h) + 2 * i + a) * 2 * w * c;
      for (int j = 0; j < w; j++)
        for (int b = 0; b < 2; b++) copy_pixel(dst + (2 * j + b) * c, src + (j + b) * 4 * c + (2 * a + b) * c, c);
    }
  }
}

/*
 * Its adjoint: dy[n][r][s][(2a + b) c + o] = dout[n][2(r - a) + a][2(s - b) + b][o] where
 * 0 <= r - a < H and 0 <= s - b < W, else 0; for the rows q = n (H+1) + r in [q0, q0 + rows).
 */
__attribute__((export_name("subpixel_unshuffle")))
void subpixel_unshuffle(const float *dout, float *dy, int q0, int rows, int h, int w, int c) {
  const int yrow = (w + 1) * 4 * c;
  __builtin_memset(dy + q0 * yrow, 0, (unsigned long)rows * yrow * sizeof(float));
  for (int q = q0; q < q0 + rows; q++) {
    const int n = q / (h + 1), r = q % (h + 1);
    float *dst = dy + q * yrow;
    for (int a = 0; a < 2; a++) {
      const int i = r - a;
      if (i < 0 || i >= h) continue;
      const float *src = dout + ((n * 2 * h) + 2 * i + a) * 2 * w * c;
      for (int j = 0; j < w; j++)
        for (int b = 0; b < 2; b++) copy_pixel(dst + (j + b) * 4 * c + (2 * a + b) * c, src + (2 * j + b) * c, c);
    }
  }
}

/*
 * The input gradient of a 4x4 conv of stride 2 and padding 1 (conv3x3Pool2's form, and StarGAN
 * v1's downsampling) has the same sub-pixel structure: dx[2i + a] = w[3 - a] dy[i - 1 + a] +
 * w[1 - a] dy[i + a] per axis, a 2x2 conv over dy padded by 1 whose channel group 2a + b is read at
 * (i + a, j + b) by `subpixel_shuffle`. Its filter `out[p][q][o][(2a + b) ci + c]` =
 * `w[3 - a - 2p][3 - b - 2q][c][o]` (w `[4, 4, ci, co]`, out `[2, 2, co, 4 ci]`) is a permutation.
 */
__attribute__((export_name("stride2_input_filter")))
void stride2_input_filter(const float *w, float *out, int ci, int co) {
  for (int t = 0; t < 4; t++)
    for (int u = 0; u < 4; u++) {
      const int a = (3 - t) & 1, p = (3 - t) >> 1, b = (3 - u) & 1, q = (3 - u) >> 1;
      const float *src = w + (t * 4 + u) * ci * co;
      float *dst = out + (p * 2 + q) * co * 4 * ci + (2 * a + b) * ci;
      for (int o = 0; o < co; o++)
        for (int c = 0; c < ci; c++) dst[o * 4 * ci + c] = src[c * co + o];
    }
}

/* Its adjoint (the inverse permutation). */
__attribute__((export_name("stride2_input_filter_adjoint")))
void stride2_input_filter_adjoint(const float *dout, float *dw, int ci, int co) {
  for (int t = 0; t < 4; t++)
    for (int u = 0; u < 4; u++) {
      const int a = (3 - t) & 1, p = (3 - t) >> 1, b = (3 - u) & 1, q = (3 - u) >> 1;
      float *dst = dw + (t * 4 + u) * ci * co;
      const float *src = dout + (p * 2 + q) * co * 4 * ci + (2 * a + b) * ci;
      for (int c = 0; c < ci; c++)
        for (int o = 0; o < co; o++) dst[c * co + o] = src[o * 4 * ci + c];
    }
}
