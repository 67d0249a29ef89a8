/**
 * The demo: the committed demo checkpoint (trained by train-celeba.ts on the embedded skin-tone emoji,
 * docs/demo/) translates the held-out emoji (never trained on) from the default yellow into every skin
 * tone, writes a grid, and prints the paired error against the real emoji in each tone next to the
 * "source unchanged" baseline. Seconds on a laptop CPU.
 */
import * as path from 'node:path';
import * as fs from 'node:fs';
import { key as makeKey } from '../dsl/index.ts';
import { loadCheckpoint } from '../stargan/checkpoints/ours.ts';
import { skinToneDataset } from '../stargan/data/skin-tones.ts';
import { baselines, evaluateHeldOut, loadHeldOut, pairedGrid } from '../stargan/eval/held-out.ts';
import { writeGrid } from '../stargan/samples.ts';
import { backendFlag, backendFrom, intFlag, parseFlags, runMain, UserError } from './lib/cli.ts';

const DEFAULT_CHECKPOINT = path.join(import.meta.dirname, '..', 'docs', 'demo', 'checkpoint.safetensors');

const usage = `usage: tsx examples/demo.ts [--checkpoint FILE] [--out DIR] [--rows N] [--seed N] [--backend wasm|cpu] [--threads N]

Translates the held-out skin-tone emoji (never trained on) into every tone with the EMA networks of a
checkpoint trained on the embedded default (default: docs/demo/checkpoint.safetensors), writes
DIR/demo.png (per emoji: the source and its translation to every tone; under it the real emoji in
every tone) and prints the mean L1 (in [0, 1] pixel units) against the real emoji, inside and outside
the region a tone change must alter, beside leaving the source unchanged. --out defaults to runs/demo.`;

const flags = {
  checkpoint: { type: 'string' }, out: { type: 'string' }, rows: { type: 'string' }, seed: { type: 'string' }, ...backendFlag,
} as const;

async function main(): Promise<void> {
  const { values } = parseFlags(flags, usage);
  const file = values.checkpoint ?? DEFAULT_CHECKPOINT;
  if (!fs.existsSync(file)) throw new UserError(`--checkpoint ${file}: no such file`);
  const rows = intFlag('rows', values.rows, 12, 1, 60);
  const seed = intFlag('seed', values.seed, 0, 0, 2 ** 32 - 1);
  const out = values.out ?? path.join('runs', 'demo');
  await backendFrom(values.backend, values.threads);
  const t0 = performance.now();
  const { cfg, state } = loadCheckpoint(file);
  const train = skinToneDataset();
  const val = skinToneDataset({ split: 'val' });
  if (cfg.net.domains !== val.domains.length) {
    throw new UserError(`${file}: a checkpoint of ${cfg.net.domains} domains, not one trained on the ${val.domains.length} skin tones`);
  }
  const set = loadHeldOut(val, train, cfg.net.img);
  const key = makeKey(seed + 0xe7a1);
  fs.mkdirSync(out, { recursive: true });
  const grid = path.join(out, 'demo.png');
  writeGrid(grid, pairedGrid(state.ema, set, cfg.net.latentDim, cfg.net, key, rows), cfg.net.img);
  const m = evaluateHeldOut(state.ema, set, cfg.net.latentDim, cfg.net, key);
  const base = baselines(set).identity;
  const f = (v: number) => v.toFixed(3);
  console.log(`${file}: iteration ${state.iteration}, img ${cfg.net.img}; ${set.n} held-out emoji x ${set.targets.length} target tones`);
  console.log('mean L1 to the real emoji      all    inside  outside the changed region');
  console.log(`  latent-guided              ${f(m.latent.all)}  ${f(m.latent.inside)}   ${f(m.latent.outside)}`);
  console.log(`  reference-guided           ${f(m.ref.all)}  ${f(m.ref.inside)}   ${f(m.ref.outside)}`);
  console.log(`  source unchanged           ${f(base.all)}  ${f(base.inside)}   ${f(base.outside)}`);
  console.log(`outside the changed region, latent-guided: ${f(m.latentOutside.background)} on the white background, ${f(m.latentOutside.drawing)} on the rest of the drawing`);
  console.log(`translated into its own tone (the truth is the source): ${f(m.toSource.all)} (background ${f(m.toSource.background)}, drawing ${f(m.toSource.drawing)})`);
  console.log(`grid: ${path.resolve(grid)} (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
}

runMain('demo', main);
