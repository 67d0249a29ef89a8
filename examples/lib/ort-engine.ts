/**
 * `--engine ort` of the sampling programs: the checkpoint's G, F, E exported to ONNX (stargan/onnx/export.ts) and run
 * by onnxruntime-node. The export is taken from `--onnx DIR` when given (written by examples/export-onnx.ts), else
 * written on the fly into a cache folder under the OS temp dir, keyed by the checkpoint's path, size and mtime, and
 * reused by later runs on the same file. Either way the models must carry the hash of the checkpoint's EMA weights
 * (written at export): a `--onnx` folder of another checkpoint is refused, a stale cache is exported again.
 */
import * as crypto from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { LoadedCheckpoint } from '../../stargan/checkpoints/official.ts';
import { domainNamesOf } from '../../stargan/checkpoints/ours.ts';
import { exportMismatch, exportOnnx, weightsHash } from '../../stargan/onnx/export.ts';
import { loadOrt, openOnnx, type OrtNets } from '../../stargan/onnx/runtime.ts';
import { choiceFlag, UserError } from './cli.ts';

export const engines = ['wasm', 'ort'] as const;
export type Engine = (typeof engines)[number];

export const engineFlags = { engine: { type: 'string' }, onnx: { type: 'string' } } as const;

export const engineUsage = `  --engine wasm|ort   wasm (default): our networks on tfjs-wasm; ort: the ONNX export run by onnxruntime-node
                      (an optional dependency), with --threads onnxruntime threads
  --onnx DIR          with --engine ort: the export to run (examples/export-onnx.ts); default: exported on the fly
                      into a cache folder under ${path.join(os.tmpdir(), 'stargan-ts-onnx')}, reused for the same checkpoint`;

export function engineFrom(values: { engine?: string; onnx?: string }): Engine {
  const engine = choiceFlag('engine', values.engine, engines, 'wasm');
  if (values.onnx && engine !== 'ort') throw new UserError('--onnx applies only with --engine ort', 2);
  return engine;
}

/** The cache folder of a checkpoint's export: a new checkpoint file (path, size or mtime changed) gets a new one. */
function cacheDir(checkpoint: string): string {
  const st = fs.statSync(checkpoint);
  const id = crypto.createHash('sha256').update(`${path.resolve(checkpoint)}\0${st.size}\0${st.mtimeMs}`).digest('hex').slice(0, 16);
  return path.join(os.tmpdir(), 'stargan-ts-onnx', id);
}

/** The checkpoint's networks as onnxruntime sessions: from `onnxDir`, or from the cached (or new) export. */
export async function ortNets(checkpoint: string, loaded: LoadedCheckpoint, onnxDir: string | undefined, threads: number): Promise<OrtNets> {
  await loadOrt(); // its absence is reported before any export work
  const hash = weightsHash(loaded.ema);
  if (onnxDir) {
    if (!fs.existsSync(onnxDir)) throw new UserError(`--onnx ${onnxDir}: no such folder`);
    const why = exportMismatch(onnxDir, hash);
    if (why) throw new UserError(`--onnx ${onnxDir} is not an export of ${checkpoint}: ${why}; export it with: tsx examples/export-onnx.ts ${checkpoint} --out DIR`);
    return openOnnx(onnxDir, threads);
  }
  const dir = cacheDir(checkpoint);
  if (!exportMismatch(dir, hash)) {
    console.log(`onnx: the cached export ${dir}`);
  } else {
    exportOnnx(dir, loaded.ema, loaded.net, domainNamesOf(loaded.metadata, loaded.net.domains), checkpoint);
    console.log(`onnx: exported to ${dir}`);
  }
  return openOnnx(dir, threads);
}
