/*
 * Leaky ReLU and its gradient, one pass each (dsl/engine/leaky-relu-simd.ts):
 *
 *   y = x > 0 ? x : slope * x          dx = x > 0 ? dy : slope * dy
 *
 * the values of tfjs's `x * step(x, slope)` and `dy * step(x, slope)` (a product by 1 is
 * exact), which take two passes and an intermediate tensor each. The discriminator and the
 * style encoder run these between all their convolutions, forward, backward and in R1.
 *
 * No libc, no stack, no data; imports tfjs-wasm's memory. Build: build.sh.
 */
#include <wasm_simd128.h>

static inline v128_t select_positive(v128_t x, v128_t v, v128_t slope) {
  return wasm_v128_bitselect(v, wasm_f32x4_mul(v, slope), wasm_f32x4_gt(x, wasm_f32x4_splat(0)));
}

/* out = x > 0 ? v : slope * v, over n values */
static inline void leaky(const float *x, const float *v, float *out, int n, float slope) {
  const v128_t s = wasm_f32x4_splat(slope);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(out + i, select_positive(wasm_v128_load(x + i), wasm_v128_load(v + i), s));
  for (; i < n; i++) out[i] = x[i] > 0 ? v[i] : v[i] * slope;
}

__attribute__((export_name("leaky_relu")))
void leaky_relu(const float *x, float *y, int n, float slope) { leaky(x, x, y, n, slope); }

__attribute__((export_name("leaky_relu_grad")))
void leaky_relu_grad(const float *dy, const float *x, float *dx, int n, float slope) { leaky(x, dy, dx, n, slope); }
