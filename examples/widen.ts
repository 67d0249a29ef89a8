/**
 * Widens a training run to a larger base width without changing what its networks compute (Net2WiderNet,
 * stargan/checkpoints/widen.ts), so a trained run can go on with more capacity instead of starting over.
 * Writes a new run folder that `train-celeba.ts --out DIR --resume` continues, and checks that the widened
 * networks give the old outputs.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { disposeParams, key as makeKey, labels, normal, split } from '../dsl/index.ts';
import { readSafetensors, writeSafetensors } from '../dsl/io/safetensors.ts';
import { loadCheckpoint } from '../stargan/checkpoints/ours.ts';
import { countParts } from '../stargan/checkpoints/names.ts';
import { widenCheckpoint } from '../stargan/checkpoints/widen.ts';
import { generator } from '../stargan/v2/generator.ts';
import { mappingNetwork } from '../stargan/v2/mapping.ts';
import { styleEncoder } from '../stargan/v2/style-encoder.ts';
import { discriminator } from '../stargan/v2/discriminator.ts';
import type { Nets } from '../stargan/v2/nets.ts';
import type { NetConfig } from '../stargan/v2/config.ts';
import { backendFlag, backendFrom, intFlag, parseFlags, runMain, UserError } from './lib/cli.ts';
import { readRunJson } from './lib/run-folder.ts';

const usage = `usage: tsx examples/widen.ts --from DIR --to DIR --base N [--seed N] [--backend wasm|cpu] [--threads N]

Widens the run in --from (its checkpoint.safetensors) to base width N: every new channel copies an old
one and the weights reading it are split between the copies by random fractions (--seed, 0), so the
networks and their EMA copies compute what they did; Adam starts afresh. Writes --to/checkpoint.safetensors
and copies run.json (with the new base), losses.jsonl and metrics.jsonl, then checks the outputs of
G, F, E and D against the old run's on random inputs. Continue with:
  tsx examples/train-celeba.ts --out DIR --resume --iters N [--lr ... --lr-decay-start ...]`;

const flags = { from: { type: 'string' }, to: { type: 'string' }, base: { type: 'string' }, seed: { type: 'string' }, ...backendFlag } as const;

/** The largest |difference| between the outputs of two networks of one config family on shared random inputs. */
function outputGap(a: Nets, b: Nets, net: NetConfig, seed: number): Record<string, number> {
  return tf.tidy(() => {
    const [kx, kz, ks] = split(makeKey(seed), 3);
    const n = 4;
    const x = normal(kx, [n, 3, net.img, net.img], 'image');
    const z = normal(kz, [n, net.latentDim]);
    const s = normal(ks, [n, net.styleDim]);
    const y = labels(Array.from({ length: n }, (_, i) => i % net.domains));
    const gap = (p: tf.Tensor, q: tf.Tensor) => tf.max(tf.abs(tf.sub(p, q))).dataSync()[0];
    return {
      G: gap(generator(a.generator, x, s, net), generator(b.generator, x, s, net)),
      F: gap(mappingNetwork(a.mapping_network, z, y), mappingNetwork(b.mapping_network, z, y)),
      E: gap(styleEncoder(a.style_encoder, x, y), styleEncoder(b.style_encoder, x, y)),
      D: gap(discriminator(a.discriminator, x, y), discriminator(b.discriminator, x, y)),
    };
  });
}

async function main(): Promise<void> {
  const { values } = parseFlags(flags, usage);
  if (!values.from || !values.to) throw new UserError('--from DIR and --to DIR are required (see --help)', 2);
  if (values.base === undefined) throw new UserError('--base N is required: the new base width (see --help)', 2);
  const base = intFlag('base', values.base, 0, 1, 4096);
  const seed = intFlag('seed', values.seed, 0, 0, 2 ** 32 - 1);
  const src = path.join(values.from, 'checkpoint.safetensors');
  const dst = path.join(values.to, 'checkpoint.safetensors');
  if (!fs.existsSync(src)) throw new UserError(`--from ${values.from}: no checkpoint.safetensors there`);
  if (fs.existsSync(dst)) throw new UserError(`--to ${values.to} already holds a run (${dst}): choose another folder`);
  const runJson = path.join(values.from, 'run.json');
  // Read before anything is written, so that a corrupt one leaves no half-made run behind.
  const run = fs.existsSync(runJson) ? readRunJson<{ net?: NetConfig }>(runJson) : undefined;
  let widened;
  try {
    widened = widenCheckpoint(readSafetensors(src), base, makeKey(seed), src);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
  fs.mkdirSync(values.to, { recursive: true });
  writeSafetensors(dst, widened.tensors, widened.metadata);
  for (const log of ['losses.jsonl', 'metrics.jsonl']) {
    const file = path.join(values.from, log);
    if (fs.existsSync(file)) fs.copyFileSync(file, path.join(values.to, log));
  }
  if (run) fs.writeFileSync(path.join(values.to, 'run.json'), JSON.stringify({ ...run, net: { ...run.net, base }, widened_from: src }, null, 2));
  await backendFrom(values.backend, values.threads);
  const old = loadCheckpoint(src);
  const now = loadCheckpoint(dst);
  const counts = [countParts(old.state.nets), countParts(now.state.nets)];
  const gaps = outputGap(old.state.nets, now.state.nets, now.cfg.net, seed);
  console.log(`${src}: base ${old.cfg.net.base} -> ${base}, iteration ${now.state.iteration}; written to ${dst} (${(fs.statSync(dst).size / 2 ** 20).toFixed(1)} MiB)`);
  for (const n of Object.keys(counts[0])) console.log(`  ${n.padEnd(16)} ${String(counts[0][n]).padStart(9)} -> ${String(counts[1][n]).padStart(9)} parameters`);
  console.log(`largest output change on random inputs: ${Object.entries(gaps).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
  [old.state, now.state].forEach(disposeParams);
  if (Object.values(gaps).some((g) => !(g < 1e-3))) throw new Error(`the widened networks do not give the old outputs (${JSON.stringify(gaps)})`);
}

runMain('widen', main);
