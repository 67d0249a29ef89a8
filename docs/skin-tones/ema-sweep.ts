/**
 * The measurement behind docs/skin-tones.md: one training run on the skin-tone emoji (the batches
 * of examples/train-celeba.ts with the same seed), read out through several EMAs of the same raw
 * networks (the EMA never feeds back into training), scored on the held-out emoji.
 *   nice node --import tsx docs/skin-tones/ema-sweep.ts --lr 5e-4 --cyc 10 --iters 1000 --out sweep.jsonl
 * Each line: iteration, training CPU seconds, and per read-out [latent, reference, latent inside, latent outside].
 */
import * as fs from 'node:fs';
import * as tf from '@tensorflow/tfjs-core';
import { advance, disposeParams, emaStep, key as makeKey, mapParams, tidyTree, useBackend } from '../../dsl/index.ts';
import { defaultTrain, emaBetaAt, type TrainConfig } from '../../stargan/v2/config.ts';
import { skinToneDataset } from '../../stargan/data/skin-tones.ts';
import { createImageCache } from '../../stargan/data/sampler.ts';
import { datasetBatch } from '../../stargan/data/batch.ts';
import { baselines, evaluateHeldOut, loadHeldOut } from '../../stargan/eval/held-out.ts';
import type { EmaNets } from '../../stargan/v2/nets.ts';
import { initTrainState, step, type Batch, type StarGANConfig, type TrainState } from '../../stargan/v2/step.ts';

const arg = (k: string, d: string) => { const i = process.argv.indexOf(`--${k}`); return i >= 0 ? process.argv[i + 1] : d; };
const lr = Number(arg('lr', '5e-4')), cyc = Number(arg('cyc', '10')), iters = Number(arg('iters', '1000')), seed = Number(arg('seed', '0'));
const evals = new Set(arg('evals', '0,150,300,450,600,750,900,1000').split(',').map(Number));
const out = arg('out', 'sweep.jsonl');

await useBackend('wasm');
const train = skinToneDataset(), val = skinToneDataset({ split: 'val' });
const net = { img: 32, base: 8, maxConv: 64, domains: 6, styleDim: 64, latentDim: 16, mappingHidden: 128, wHpf: 0 };
const tcfg: TrainConfig = { ...defaultTrain, lr, lambdaCyc: cyc };
const cfg: StarGANConfig = { net, train: tcfg };
let state: TrainState = initTrainState(makeKey(seed), cfg);
const cache = createImageCache();
const held = loadHeldOut(val, train, 32);
for (const f of train.files.flat()) cache.get(f, 32); // all decoded up front: immune to node_modules changing under a long run
const variants: Record<string, TrainConfig> = {
  c999: { ...tcfg, emaBeta: 0.999 }, c99: { ...tcfg, emaBeta: 0.99 },
  r05: { ...tcfg, emaRampup: 0.05 }, r10: { ...tcfg, emaRampup: 0.1 }, r20: { ...tcfg, emaRampup: 0.2 },
};
const copy = (p: EmaNets) => mapParams((t: tf.Tensor) => t.clone(), p);
const emas: Record<string, EmaNets> = Object.fromEntries(Object.keys(variants).map((k) => [k, copy(state.ema)]));
fs.writeFileSync(out, JSON.stringify({ lr, cyc, iters, seed, identity: baselines(held).identity }) + '\n');
const t0 = performance.now();
let trainCpu = 0;
for (let it = 0; ; it++) {
  if (evals.has(it)) {
    const rec: Record<string, unknown> = { it, train_cpu_s: Math.round(trainCpu * 10) / 10, wall_s: Math.round((performance.now() - t0) / 100) / 10 };
    const k = makeKey(seed + 0xe7a1);
    const raw = { generator: state.nets.generator, mapping_network: state.nets.mapping_network, style_encoder: state.nets.style_encoder };
    for (const [name, e] of [['raw', raw] as const, ...Object.entries(emas)]) {
      const r = evaluateHeldOut(e, held, 16, { wHpf: 0 }, k);
      rec[name] = [r.latent.all, r.ref.all, r.latent.inside, r.latent.outside].map((v) => Math.round(v * 1e4) / 1e4);
    }
    fs.appendFileSync(out, JSON.stringify(rec) + '\n');
    console.log(JSON.stringify(rec));
  }
  if (it === iters) break;
  const c = process.cpuUsage();
  const batch = datasetBatch(train, cache, state.key, cfg.net, 8, true);
  const prevIt = state.iteration;
  state = advance((st: TrainState, b: Batch) => step(cfg, st, b), state, batch);
  tf.dispose(Object.values(batch));
  for (const [name, v] of Object.entries(variants)) {
    const beta = emaBetaAt(v, prevIt);
    const old = emas[name];
    emas[name] = tidyTree(() => ({
      generator: emaStep(beta, state.nets.generator, old.generator),
      mapping_network: emaStep(beta, state.nets.mapping_network, old.mapping_network),
      style_encoder: emaStep(beta, state.nets.style_encoder, old.style_encoder),
    }));
    disposeParams(old);
  }
  const d = process.cpuUsage(c);
  trainCpu += (d.user + d.system) / 1e6;
  if (it % 50 === 0) console.log(`it ${it} tensors ${tf.memory().numTensors} cpu/it ${(trainCpu / (it + 1)).toFixed(3)}`);
}
