/*
 * One Adam step over a parameter tensor in a single pass (dsl/optim.ts, docs/PERFORMANCE.md):
 *
 *   g' = g + wd * p            (only when wd != 0: torch's coupled L2 decay)
 *   m' = b1 * m + c1 * g'      v' = b2 * v + c2 * g'^2
 *   p' = p - (m' / (sqrt(v') / bc2 + eps)) * lr
 *
 * with each product, sum and quotient rounded to float32 in the same order as the ops of
 * `adamStep`, so the result equals that chain bit for bit (wasm has no fused multiply-add to
 * change a rounding). As ~15 tfjs ops the step reads and writes every tensor ~15 times; here
 * it reads p, g, m, v once and writes p', m', v' once.
 *
 * No libc, no stack, no data; imports tfjs-wasm's memory. Build: dsl/engine/simd/build.sh.
 */
#include <wasm_simd128.h>

__attribute__((export_name("adam_step")))
void adam_step(const float *p, const float *g, const float *m, const float *v, float *p_out, float *m_out, float *v_out,
               int n, float wd, float b1, float c1, float b2, float c2, float bc2, float eps, float lr) {
  const v128_t vwd = wasm_f32x4_splat(wd), vb1 = wasm_f32x4_splat(b1), vc1 = wasm_f32x4_splat(c1);
  const v128_t vb2 = wasm_f32x4_splat(b2), vc2 = wasm_f32x4_splat(c2), vbc2 = wasm_f32x4_splat(bc2);
  const v128_t veps = wasm_f32x4_splat(eps), vlr = wasm_f32x4_splat(lr);
  int i = 0;
  for (; i + 4 <= n; i += 4) {
    v128_t pi = wasm_v128_load(p + i), gi = wasm_v128_load(g + i);
    if (wd != 0) gi = wasm_f32x4_add(gi, wasm_f32x4_mul(pi, vwd));
    v128_t mi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(m + i), vb1), wasm_f32x4_mul(gi, vc1));
    v128_t vi = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(v + i), vb2), wasm_f32x4_mul(wasm_f32x4_mul(gi, gi), vc2));
    v128_t denom = wasm_f32x4_add(wasm_f32x4_div(wasm_f32x4_sqrt(vi), vbc2), veps);
    wasm_v128_store(m_out + i, mi);
    wasm_v128_store(v_out + i, vi);
    wasm_v128_store(p_out + i, wasm_f32x4_sub(pi, wasm_f32x4_mul(wasm_f32x4_div(mi, denom), vlr)));
  }
  for (; i < n; i++) { /* the same arithmetic on the last n % 4 values */
    float gi = g[i];
    if (wd != 0) gi = gi + p[i] * wd;
    float mi = m[i] * b1 + gi * c1, vi = v[i] * b2 + (gi * gi) * c2;
    m_out[i] = mi;
    v_out[i] = vi;
    p_out[i] = p[i] - (mi / (__builtin_sqrtf(vi) / bc2 + eps)) * lr;
  }
}
