/*
 * The conv input gradient's kernel in one pass (dsl/engine/kernels.ts flipFilter):
 *
 *   out[KH-1-i][KW-1-j][o][c] = f[i][j][c][o]     f: [KH, KW, Ci, Co], out: [KH, KW, Co, Ci]
 *
 * tfjs-wasm's Transpose of the channel axes is a generic per-element loop (2.3 ms for
 * 3x3x256x256); here each tap's Ci x Co matrix is transposed in 4x4 blocks of SIMD shuffles.
 * The map is its own inverse (and so its own gradient). Needs Ci % 4 == 0 and Co % 4 == 0.
 *
 * No libc, no stack, no data; imports tfjs-wasm's memory. Build: build.sh.
 */
#include <wasm_simd128.h>

__attribute__((export_name("flip_filter")))
void flip_filter(const float *f, float *out, int kh, int kw, int ci, int co) {
  const int taps = kh * kw, tap = ci * co;
  for (int t = 0; t < taps; t++) {
    const float *src = f + t * tap;
    float *dst = out + (taps - 1 - t) * tap;  /* (KH-1-i, KW-1-j) is tap taps-1-t */
    for (int c = 0; c < ci; c += 4)
      for (int o = 0; o < co; o += 4) {
        v128_t r0 = wasm_v128_load(src + (c + 0) * co + o), r1 = wasm_v128_load(src + (c + 1) * co + o);
        v128_t r2 = wasm_v128_load(src + (c + 2) * co + o), r3 = wasm_v128_load(src + (c + 3) * co + o);
        v128_t t0 = wasm_i32x4_shuffle(r0, r1, 0, 4, 1, 5), t1 = wasm_i32x4_shuffle(r0, r1, 2, 6, 3, 7);
        v128_t t2 = wasm_i32x4_shuffle(r2, r3, 0, 4, 1, 5), t3 = wasm_i32x4_shuffle(r2, r3, 2, 6, 3, 7);
        wasm_v128_store(dst + (o + 0) * ci + c, wasm_i32x4_shuffle(t0, t2, 0, 1, 4, 5));
        wasm_v128_store(dst + (o + 1) * ci + c, wasm_i32x4_shuffle(t0, t2, 2, 3, 6, 7));
        wasm_v128_store(dst + (o + 2) * ci + c, wasm_i32x4_shuffle(t1, t3, 0, 1, 4, 5));
        wasm_v128_store(dst + (o + 3) * ci + c, wasm_i32x4_shuffle(t1, t3, 2, 3, 6, 7));
      }
  }
}
