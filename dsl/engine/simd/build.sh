#!/usr/bin/env bash
# Builds the SIMD kernels next to this script (the .wasm files are committed, so users need no
# compiler): clang and lld with the wasm32 target (Debian: apt-get install clang lld).
# Two builds of each: one importing an unshared memory (tfjs-wasm's single-threaded build) and
# one importing a shared memory (its threaded build, dsl/engine/wasm-threads.ts).
set -euo pipefail
cd "$(dirname "$0")"
CC="${CC:-clang}"
flags=(--target=wasm32 -O3 -msimd128 -mbulk-memory -nostdlib -Wl,--no-entry -Wl,--import-memory -Wl,--strip-all)
for src in *.c; do
  name="${src%.c}"
  "$CC" "${flags[@]}" -o "$name.wasm" "$src"
  "$CC" "${flags[@]}" -matomics -Wl,--shared-memory -Wl,--max-memory=4294967296 -o "$name.shared.wasm" "$src"
done
