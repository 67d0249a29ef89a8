/*
 * Instance normalisation, a per-sample scale and shift, and a leaky ReLU in one kernel, forward
 * and backward (dsl/engine/norm-act-simd.ts, docs/PERFORMANCE.md). For x NHWC [N, HW, C] and
 * each sample b and channel c, over the HW pixels:
 *
 *   mean = sum(x) / HW      var = sum((x - mean)^2) / HW      inv = 1 / sqrt(var + eps)
 *   z = (x - mean) * (inv * scale[b][c]) + shift[b][c]        y = z > 0 ? z : slope * z
 *
 * and, from dy and the saved y, mean and inv (dz = dy where y > 0, slope * dy elsewhere;
 * xhat = (x - mean) * inv):
 *
 *   dshift = sum(dz)     dscale = sum(dz * xhat)
 *   dx = inv * scale * (dz - dshift / HW - xhat * dscale / HW)
 *
 * scale and shift are [N, C] (ss = C) or one [C] for all samples (ss = 0: an affine IN's weights);
 * dscale and dshift are always per sample, [N, C].
 *
 * As tfjs ops the forward is 5 full-size passes and 2 reductions, the backward about twice
 * that; here the forward reads x three times and writes y once, the backward reads x, y, dy
 * twice and writes dx once. Sums over pixels are taken in chunks of 64 pixels added to the
 * total (closer to exact than one running float32 sum). Needs C % 4 == 0.
 *
 * No libc, no stack, no data; imports tfjs-wasm's memory. The first C floats of y (2C of dx,
 * so HW >= 2 there) hold the chunk partial sums until the output is written. Build: build.sh.
 */
#include <wasm_simd128.h>

#define CHUNK 64

/* tot[ch] = sum over pixels of f(x, ch), for a C-vector function f; part: C floats of scratch */
#define SUM_PIXELS(tot, part, hw, c, EXPR)                                            \
  for (int ch = 0; ch < c; ch += 4) wasm_v128_store(tot + ch, wasm_f32x4_splat(0));     \
  for (int p0 = 0; p0 < hw; p0 += CHUNK) {                                              \
    int p1 = p0 + CHUNK < hw ? p0 + CHUNK : hw;                                         \
    for (int ch = 0; ch < c; ch += 4) wasm_v128_store(part + ch, wasm_f32x4_splat(0));  \
    for (int p = p0; p < p1; p++)                                                       \
      for (int ch = 0; ch < c; ch += 4) {                                               \
        int at = p * c + ch;                                                            \
        wasm_v128_store(part + ch, wasm_f32x4_add(wasm_v128_load(part + ch), (EXPR)));  \
      }                                                                                 \
    for (int ch = 0; ch < c; ch += 4)                                                   \
      wasm_v128_store(tot + ch, wasm_f32x4_add(wasm_v128_load(tot + ch), wasm_v128_load(part + ch))); \
  }

static inline v128_t leaky(v128_t z, v128_t slope) {
  return wasm_v128_bitselect(z, wasm_f32x4_mul(z, slope), wasm_f32x4_gt(z, wasm_f32x4_splat(0)));
}

__attribute__((export_name("norm_act")))
void norm_act(const float *x, const float *scale, const float *shift, float *y, float *mean, float *inv,
              int n, int hw, int c, int ss, float eps, float slope) {
  const v128_t vhw = wasm_f32x4_splat((float)hw), veps = wasm_f32x4_splat(eps), vslope = wasm_f32x4_splat(slope);
  for (int b = 0; b < n; b++) {
    const float *xb = x + b * hw * c;
    float *yb = y + b * hw * c, *mb = mean + b * c, *ib = inv + b * c;
    const float *sb = scale + b * ss, *tb = shift + b * ss;
    SUM_PIXELS(mb, yb, hw, c, wasm_v128_load(xb + at))
    for (int ch = 0; ch < c; ch += 4) wasm_v128_store(mb + ch, wasm_f32x4_div(wasm_v128_load(mb + ch), vhw));
    SUM_PIXELS(ib, yb, hw, c, ({ v128_t d = wasm_f32x4_sub(wasm_v128_load(xb + at), wasm_v128_load(mb + ch)); wasm_f32x4_mul(d, d); }))
    for (int ch = 0; ch < c; ch += 4) {
      v128_t var = wasm_f32x4_div(wasm_v128_load(ib + ch), vhw);
      wasm_v128_store(ib + ch, wasm_f32x4_div(wasm_f32x4_splat(1), wasm_f32x4_sqrt(wasm_f32x4_add(var, veps))));
    }
    for (int p = 0; p < hw; p++)
      for (int ch = 0; ch < c; ch += 4) {
        int at = p * c + ch;
        v128_t a = wasm_f32x4_mul(wasm_v128_load(ib + ch), wasm_v128_load(sb + ch));
        v128_t z = wasm_f32x4_add(wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(xb + at), wasm_v128_load(mb + ch)), a), wasm_v128_load(tb + ch));
        wasm_v128_store(yb + at, leaky(z, vslope));
      }
  }
}

__attribute__((export_name("norm_act_grad")))
void norm_act_grad(const float *x, const float *y, const float *dy, const float *mean, const float *inv, const float *scale,
                   float *dx, float *dscale, float *dshift, int n, int hw, int c, int ss, float slope) {
  const v128_t vslope = wasm_f32x4_splat(slope), zero = wasm_f32x4_splat(0), one = wasm_f32x4_splat(1);
  const v128_t rhw = wasm_f32x4_splat(1.0f / (float)hw);
#define DZ wasm_f32x4_mul(wasm_v128_load(dy + o + at), wasm_v128_bitselect(one, vslope, wasm_f32x4_gt(wasm_v128_load(y + o + at), zero)))
#define XHAT wasm_f32x4_mul(wasm_f32x4_sub(wasm_v128_load(x + o + at), wasm_v128_load(mb + ch)), wasm_v128_load(ib + ch))
  for (int b = 0; b < n; b++) {
    const int o = b * hw * c;
    const float *mb = mean + b * c, *ib = inv + b * c, *sb = scale + b * ss;
    float *gs = dscale + b * c, *gt = dshift + b * c, *dxb = dx + o;
    /* one pass for both sums: their chunk partials in dx's first 2C floats */
    float *pt = dxb, *ps = dxb + c;
    for (int ch = 0; ch < c; ch += 4) { wasm_v128_store(gt + ch, zero); wasm_v128_store(gs + ch, zero); }
    for (int p0 = 0; p0 < hw; p0 += CHUNK) {
      int p1 = p0 + CHUNK < hw ? p0 + CHUNK : hw;
      for (int ch = 0; ch < c; ch += 4) { wasm_v128_store(pt + ch, zero); wasm_v128_store(ps + ch, zero); }
      for (int p = p0; p < p1; p++)
        for (int ch = 0; ch < c; ch += 4) {
          int at = p * c + ch;
          v128_t dz = DZ;
          wasm_v128_store(pt + ch, wasm_f32x4_add(wasm_v128_load(pt + ch), dz));
          wasm_v128_store(ps + ch, wasm_f32x4_add(wasm_v128_load(ps + ch), wasm_f32x4_mul(dz, XHAT)));
        }
      for (int ch = 0; ch < c; ch += 4) {
        wasm_v128_store(gt + ch, wasm_f32x4_add(wasm_v128_load(gt + ch), wasm_v128_load(pt + ch)));
        wasm_v128_store(gs + ch, wasm_f32x4_add(wasm_v128_load(gs + ch), wasm_v128_load(ps + ch)));
      }
    }
    for (int p = 0; p < hw; p++)
      for (int ch = 0; ch < c; ch += 4) {
        int at = p * c + ch;
        v128_t k = wasm_f32x4_mul(wasm_v128_load(ib + ch), wasm_v128_load(sb + ch));
        v128_t t = wasm_f32x4_sub(wasm_f32x4_sub(DZ, wasm_f32x4_mul(wasm_v128_load(gt + ch), rhw)),
                                  wasm_f32x4_mul(XHAT, wasm_f32x4_mul(wasm_v128_load(gs + ch), rhw)));
        wasm_v128_store(dxb + at, wasm_f32x4_mul(k, t));
      }
  }
#undef DZ
#undef XHAT
}
