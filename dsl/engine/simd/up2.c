/*
 * Nearest-neighbour upsampling by 2 of an NHWC tensor (dsl/ops.ts up2): each input pixel's C
 * values are written to the 2x2 output pixels it covers,
 *
 *   out[b][2y + i][2x + j][c] = x[b][y][x][c]     i, j in {0, 1}
 *
 * row by row: the even output row is built from the input row, the odd one is a copy of it
 * (memory.copy). tfjs-wasm has it as a broadcast product with a [1,1,2,1,2,1] tensor of ones
 * (XNNPACK's 6-d broadcasting multiply, ~0.5 ms for a 32k-value input) or ResizeNearestNeighbor
 * (a generic loop). Any C; x and out must not overlap.
 *
 * No libc, no stack, no data; imports tfjs-wasm's memory. Build: build.sh.
 */
#include <wasm_simd128.h>

static inline void copy_pixel(float *d, const float *s, int c) {
  int k = 0;
  for (; k + 4 <= c; k += 4) wasm_v128_store(d + k, wasm_v128_load(s + k));
  for (; k < c; k++) d[k] = s[k];
}

/* rows = N * H input rows of W pixels */
__attribute__((export_name("up2")))
void up2(const float *x, float *out, int rows, int w, int c) {
  const int in_row = w * c, out_row = 2 * w * c;
  for (int r = 0; r < rows; r++) {
    const float *src = x + r * in_row;
    float *even = out + 2 * r * out_row;
    for (int j = 0; j < w; j++) {
      copy_pixel(even + 2 * j * c, src + j * c, c);
      copy_pixel(even + (2 * j + 1) * c, src + j * c, c);
    }
    __builtin_memcpy(even + out_row, even, (unsigned long)out_row * sizeof(float));
  }
}
