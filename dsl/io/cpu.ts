/**
 * The CPU as the operating system reports it: the model name and the SIMD extensions it
 * advertises (Linux /proc/cpuinfo: x86 `flags`, ARM `Features`). Speed figures name these,
 * since what wasm SIMD128 reaches, and what a native engine reaches, depends on them.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';

export interface CpuInfo {
  /** e.g. "Intel(R) Xeon(R) Processor"; os.cpus()'s model where /proc/cpuinfo is absent. */
  readonly model: string;
  /** Logical CPUs (os.cpus().length). */
  readonly logical: number;
  /** SIMD-related flags, in the order the OS lists them (sse*, ssse3, avx*, fma, f16c, amx*, asimd, neon, sve*). */
  readonly simd: readonly string[];
}

const simdFlag = /^(sse\S*|ssse3|avx\S*|fma\S*|f16c|amx\S*|asimd\S*|neon|sve\S*)$/;

/** Parses the text of /proc/cpuinfo (the first processor's entries). */
export function parseCpuInfo(text: string, fallbackModel: string, logical: number): CpuInfo {
  const field = (name: string) => text.match(new RegExp(`^${name}\\s*:\\s*(.*)$`, 'm'))?.[1].trim();
  const flags = (field('flags') ?? field('Features') ?? '').split(/\s+/).filter((f) => simdFlag.test(f));
  return { model: field('model name') ?? field('Processor') ?? fallbackModel, logical, simd: flags };
}

/** This machine's CPU (reads /proc/cpuinfo when it exists). */
export function cpuInfo(): CpuInfo {
  const cpus = os.cpus();
  let text = '';
  try {
    text = fs.readFileSync('/proc/cpuinfo', 'utf8');
  } catch {
    // not Linux: os.cpus() only
  }
  return parseCpuInfo(text, cpus[0]?.model ?? 'unknown', cpus.length);
}
