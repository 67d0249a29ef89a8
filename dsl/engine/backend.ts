/**
 * Backend selection. wasm (XNNPACK, SIMD) is the default; the pure-JS cpu backend is an option.
 * Importing this module registers tfjs's gradients (the union package does that) and ours.
 */
import '@tensorflow/tfjs';
import '@tensorflow/tfjs-backend-wasm';
import * as tf from '@tensorflow/tfjs-core';
import { registerGradients } from './kernels.ts';
import { registerStridedGradients } from './strided.ts';

export type BackendName = 'wasm' | 'cpu';
export const backendNames: readonly BackendName[] = ['wasm', 'cpu'];

registerGradients();
registerStridedGradients();

/** Selects and initialises a backend; resolves to its name. */
export async function useBackend(name: BackendName = 'wasm'): Promise<BackendName> {
  if (!(await tf.setBackend(name))) throw new Error(`backend '${name}' could not be initialised`);
  await tf.ready();
  return name;
}

/** Live tensor count, for leak checks. */
export function liveTensors(): number {
  return tf.memory().numTensors;
}
