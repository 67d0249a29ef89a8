/**
 * Running exported G, F, E (export.ts) with onnxruntime-node, the native CPU engine. It is an optional
 * dependency: imported here only when asked (a dynamic `import()` of a computed name, so neither the program
 * nor `tsc` needs it installed), with one clear error when it is absent. Inputs and outputs are plain
 * torch-order Float32Arrays (images NCHW); no tfjs tensor crosses this boundary.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { onnxFiles, type OnnxNet } from './export.ts';
import { maskInputs } from './nets.ts';

/** The part of onnxruntime-node's API used here (declared, not imported: the package may be absent). */
interface OrtTensor {
  readonly data: unknown;
  readonly dims: readonly number[];
}
interface OrtSession {
  readonly inputNames: readonly string[];
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>;
  release(): Promise<void>;
}
interface OrtModule {
  InferenceSession: { create(model: string | Uint8Array, options: Record<string, unknown>): Promise<OrtSession> };
  Tensor: new (type: string, data: Float32Array | BigInt64Array, dims: readonly number[]) => OrtTensor;
}

export const ortPackage = 'onnxruntime-node';

/** onnxruntime-node, or an error saying how to get it. */
export async function loadOrt(): Promise<OrtModule> {
  const name: string = ortPackage;
  try {
    const m = (await import(name)) as OrtModule & { default?: OrtModule };
    return m.InferenceSession ? m : m.default!;
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new Error(`${ortPackage} is not installed (an optional dependency; run \`npm install\` on linux/macOS/windows x64 or arm64, the project's .npmrc keeps it CPU-only): ${why}`);
  }
}

/** Whether onnxruntime-node can be loaded, and if not, why (for tests that skip without it). */
export async function ortUnavailable(): Promise<string> {
  try {
    await loadOrt();
    return '';
  } catch (e) {
    return (e as Error).message;
  }
}

export interface OrtNets {
  readonly ort: OrtModule;
  readonly sessions: Record<OnnxNet, OrtSession>;
  /** Whether G takes face masks (exported with w_hpf > 0). */
  readonly masked: boolean;
}

/** Opens the three models of an export folder; `threads` is onnxruntime's intra-op thread count. */
export async function openOnnx(dir: string, threads: number): Promise<OrtNets> {
  const ort = await loadOrt();
  const options = { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' };
  const sessions = {} as Record<OnnxNet, OrtSession>;
  for (const which of Object.keys(onnxFiles) as OnnxNet[]) {
    const file = path.join(dir, onnxFiles[which]);
    if (!fs.existsSync(file)) throw new Error(`${file}: no such file (write the folder with examples/export-onnx.ts)`);
    sessions[which] = await ort.InferenceSession.create(file, options);
  }
  return { ort, sessions, masked: sessions.generator.inputNames.includes(maskInputs[0]) };
}

export async function closeOnnx(n: OrtNets): Promise<void> {
  await Promise.all(Object.values(n.sessions).map((s) => s.release()));
}

/** A batch in torch order: data and its shape. */
export interface Batch {
  readonly data: Float32Array;
  readonly shape: readonly number[];
}

const floats = (n: OrtNets, b: Batch) => new n.ort.Tensor('float32', b.data, b.shape);
const int64s = (n: OrtNets, y: readonly number[]) => new n.ort.Tensor('int64', BigInt64Array.from(y.map(BigInt)), [y.length]);

async function runOne(s: OrtSession, feeds: Record<string, OrtTensor>, output: string): Promise<Batch> {
  const r = (await s.run(feeds))[output];
  return { data: r.data as Float32Array, shape: r.dims };
}

/** G(x, s): x (N, 3, H, W), s (N, S) -> (N, 3, H, W); with a w_hpf > 0 export, `masks` (each (N, 1, h, w)) are required. */
export function runGenerator(n: OrtNets, x: Batch, s: Batch, masks?: readonly [Batch, Batch]): Promise<Batch> {
  if (n.masked && !masks) throw new Error('this generator was exported with w_hpf > 0: it needs face masks (mask0, mask1)');
  const feeds: Record<string, OrtTensor> = { x: floats(n, x), s: floats(n, s) };
  if (n.masked) maskInputs.forEach((name, i) => (feeds[name] = floats(n, masks![i])));
  return runOne(n.sessions.generator, feeds, 'out');
}

/** F(z, y): z (N, L), y N labels -> (N, S). */
export function runMapping(n: OrtNets, z: Batch, y: readonly number[]): Promise<Batch> {
  return runOne(n.sessions.mapping_network, { z: floats(n, z), y: int64s(n, y) }, 's');
}

/** E(x, y): x (N, 3, H, W), y N labels -> (N, S). */
export function runStyleEncoder(n: OrtNets, x: Batch, y: readonly number[]): Promise<Batch> {
  return runOne(n.sessions.style_encoder, { x: floats(n, x), y: int64s(n, y) }, 's');
}
