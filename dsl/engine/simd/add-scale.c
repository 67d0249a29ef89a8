/*
 * A residual merge, (a + b) * s, in one pass (dsl/ops.ts `scaledSum`, the ResBlks' (shortcut +
 * residual) / sqrt(2)): the values of tfjs's `mul(add(a, b), s)`, the same two float32 roundings
 * in the same order, without the intermediate sum tensor and its pass.
 *
 * No libc, no stack, no data; imports tfjs-wasm's memory. Build: build.sh.
 */
#include <wasm_simd128.h>

__attribute__((export_name("add_scale")))
void add_scale(const float *a, const float *b, float *out, int n, float s) {
  const v128_t vs = wasm_f32x4_splat(s);
  int i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(out + i, wasm_f32x4_mul(wasm_f32x4_add(wasm_v128_load(a + i), wasm_v128_load(b + i)), vs));
  for (; i < n; i++) out[i] = (a[i] + b[i]) * s;
}
