/**
 * The bench's native-inference line: the same batched G forward as `g_forward` (same weights, same inputs), exported
 * to ONNX (stargan/onnx/) and run by onnxruntime-node with the PyTorch reference's thread count. Reports the median
 * time and the output's relative difference from ours, or why it was skipped (onnxruntime-node is optional).
 */
import * as tf from '@tensorflow/tfjs-core';
import { logicalShape, toTorch, type Tensor } from '../../dsl/index.ts';
import { recordToEntries } from '../../dsl/record-io.ts';
import { encodeOnnxModel } from '../../dsl/io/onnx.ts';
import { onnxOpset } from '../../stargan/onnx/export.ts';
import { generatorGraph } from '../../stargan/onnx/nets.ts';
import { loadOrt, ortUnavailable } from '../../stargan/onnx/runtime.ts';
import type { NetConfig } from '../../stargan/v2/config.ts';
import { generator, type GeneratorParams } from '../../stargan/v2/generator.ts';

export interface OrtGForward {
  /** Median seconds per forward. */
  readonly seconds: number;
  readonly runsMs: readonly number[];
  readonly threads: number;
  /** ||ort - ours|| / ||ours|| on the timed inputs. */
  readonly relErr: number;
}

const median = (xs: readonly number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const torchOrder = (t: tf.Tensor, role: 'image' | 'plain') => tf.tidy(() => toTorch(t, role).dataSync() as Float32Array);

/** Times `runs` forwards of G(x, s) in onnxruntime (after 2 warm-ups); a string says why it could not run. */
export async function ortGForward(
  g: GeneratorParams, net: NetConfig, x: Tensor<[number, 3, number, number]>, s: Tensor<[number, number]>, threads: number, runs: number,
): Promise<OrtGForward | string> {
  const why = await ortUnavailable();
  if (why) return why;
  const ort = await loadOrt();
  const bytes = encodeOnnxModel({ graph: generatorGraph(new Map(recordToEntries(g, 'generator')), net, 'bench'), opset: onnxOpset, producer: 'stargan-ts bench' });
  const session = await ort.InferenceSession.create(bytes, { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  try {
    const feeds = { x: new ort.Tensor('float32', torchOrder(x, 'image'), logicalShape(x)), s: new ort.Tensor('float32', torchOrder(s, 'plain'), s.shape) };
    const forward = async () => {
      const t0 = performance.now();
      const out = (await session.run(feeds)).out;
      return { ms: performance.now() - t0, out: out.data as Float32Array };
    };
    for (let i = 0; i < 2; i++) await forward();
    const runsMs: number[] = [];
    let last: Float32Array = new Float32Array(0);
    for (let i = 0; i < runs; i++) {
      const r = await forward();
      runsMs.push(r.ms);
      last = r.out;
    }
    const ours = tf.tidy(() => torchOrder(generator(g, x, s, net), 'image'));
    let d = 0;
    let n = 0;
    ours.forEach((v, i) => ((d += (last[i] - v) ** 2), (n += v * v)));
    return { seconds: median(runsMs) / 1000, runsMs, threads, relErr: Math.sqrt(d / n) };
  } finally {
    await session.release();
  }
}
