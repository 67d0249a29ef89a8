/**
 * Translates images to a target domain with a trained StarGAN v2 (its EMA networks):
 * latent-guided (random styles of the domain, truncated toward the domain's mean style by
 * --psi) or reference-guided (--ref: the style of a reference image). Works on one image
 * or a folder; writes one PNG per output, plus a grid of everything.
 * With a w_hpf > 0 checkpoint (CelebA-HQ) the generator gets the sources' face masks, made
 * from face-api's landmarks (stargan/v2/face-masks.ts) as the official code makes them from
 * its FAN's heatmaps.
 * With --engine ort the same computation (the same latents) runs on the ONNX export of the networks in
 * onnxruntime-node (examples/lib/ort-engine.ts).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { image, key as makeKey, labels, normal, split, typed, type Tensor } from '../dsl/index.ts';
import { domainNamesOf } from '../stargan/checkpoints/ours.ts';
import { loadAnyCheckpoint } from '../stargan/checkpoints/official.ts';
import { loadImages } from '../stargan/data/sampler.ts';
import { needsFaceMasks, type NetConfig } from '../stargan/v2/config.ts';
import type { EmaNets } from '../stargan/v2/nets.ts';
import { latentStyles, meanStyle, toChw, translate, writeGrid } from '../stargan/samples.ts';
import { styleEncoder } from '../stargan/v2/style-encoder.ts';
import { faceMasks } from '../stargan/v2/face-masks.ts';
import type { Masks } from '../stargan/v2/generator.ts';
import { faceLandmarks, loadFaceNets } from '../stargan/eval/faces.ts';
import { runGenerator, runMapping, runStyleEncoder, closeOnnx, type Batch, type OrtNets } from '../stargan/onnx/runtime.ts';
import { maskBatches } from '../stargan/onnx/eval-nets.ts';
import { backendFlag, backendFrom, inputFiles, intFlag, numFlag, parseFlags, runMain, UserError } from './lib/cli.ts';
import { engineFlags, engineFrom, engineUsage, ortNets } from './lib/ort-engine.ts';

const usage = `usage: tsx examples/translate.ts CHECKPOINT --input IMAGE|DIR --target DOMAIN [options]

Translates images with the EMA networks of CHECKPOINT (a checkpoint written by
train-celeba.ts, or an official StarGAN v2 checkpoint, see import-pytorch.ts).
  --input IMAGE|DIR   a .png/.jpg image or a folder of them
  --target DOMAIN     target domain, by name (e.g. twitter, Male) or index
  --ref IMAGE         reference-guided: take the style of IMAGE (a --target-domain image)
  --samples N         latent-guided: N random styles per image (default 4)
  --psi X             truncation toward the domain's mean style, 0..1 (default 1: none)
  --seed N            latent seed (default 0)
  --out DIR           where PNGs go (default translations/)
  --backend wasm|cpu --threads N (wasm threads, default 1)
${engineUsage}`;

const flags = {
  input: { type: 'string' }, target: { type: 'string' }, ref: { type: 'string' }, samples: { type: 'string' },
  psi: { type: 'string' }, seed: { type: 'string' }, out: { type: 'string' }, ...backendFlag, ...engineFlags,
} as const;

function targetIndex(target: string | undefined, names: readonly string[]): number {
  if (target === undefined) throw new UserError(`--target is required (one of ${names.join(', ')})`, 2);
  const byName = names.indexOf(target);
  if (byName >= 0) return byName;
  const i = Number(target);
  if (Number.isInteger(i) && i >= 0 && i < names.length) return i;
  throw new UserError(`--target: unknown domain '${target}' (choose from ${names.join(', ')} or 0..${names.length - 1})`, 2);
}

type Images = Tensor<[number, 3, number, number]>;

/** The styles to apply: one per output column. */
function styles(ema: EmaNets, net: NetConfig, y: number, ref: string | undefined, count: number, psi: number, seed: number): Tensor<[number, number]>[] {
  if (ref) {
    const xRef = image(loadImages([ref], net.img), [1, 3, net.img, net.img]);
    return [styleEncoder(ema.style_encoder, xRef, labels([y]))];
  }
  const [kz, kMean] = split(makeKey(seed), 2);
  const mean = psi !== 1 ? meanStyle(ema, y, net.latentDim, kMean) : undefined;
  const all = latentStyles(ema, normal(kz, [count, net.latentDim] as const), y, psi, mean);
  return Array.from({ length: count }, (_, j) => typed(tf.slice(all, [j, 0], [1, -1])));
}

/** The sources' face masks for the high-pass path (w_hpf > 0), from face-api's landmarks as the official code makes them from its FAN's. */
async function sourceMasks(x: Images, img: number): Promise<Masks<number>> {
  const landmarks = await faceLandmarks(await loadFaceNets(), x);
  const found = landmarks.filter((l) => l).length;
  console.log(`face masks: face-api found a face in ${found}/${landmarks.length} image(s)${found < landmarks.length ? '; the others get zero masks (no high-pass detail)' : ''}`);
  return faceMasks(landmarks, img);
}

/** The rows of a torch-order (N, ...) batch as separate arrays. */
function rows(b: Batch): Float32Array[] {
  const size = b.data.length / b.shape[0];
  return Array.from({ length: b.shape[0] }, (_, i) => b.data.slice(i * size, (i + 1) * size));
}

/** A torch-order batch of `n` copies of one row. */
function tile(row: Float32Array, n: number): Batch {
  const data = new Float32Array(n * row.length);
  for (let i = 0; i < n; i++) data.set(row, i * row.length);
  return { data, shape: [n, row.length] };
}

/** `styles` on the ONNX export: the same latents (same keys) through F, or the reference through E. */
async function ortStyles(o: OrtNets, net: NetConfig, y: number, ref: string | undefined, count: number, psi: number, seed: number): Promise<Float32Array[]> {
  if (ref) return rows(await runStyleEncoder(o, { data: loadImages([ref], net.img), shape: [1, 3, net.img, net.img] }, [y]));
  const [kz, kMean] = split(makeKey(seed), 2);
  const mapped = async (k: typeof kz, n: number) => {
    const z = normal(k, [n, net.latentDim] as const);
    const zb = { data: z.dataSync() as Float32Array, shape: [n, net.latentDim] };
    z.dispose();
    return rows(await runMapping(o, zb, new Array<number>(n).fill(y)));
  };
  const styles = await mapped(kz, count);
  if (psi === 1) return styles;
  const all = await mapped(kMean, 1000); // meanStyle's 1000 latents
  const mean = all[0].map((_, j) => all.reduce((a, r) => a + r[j], 0) / all.length);
  return styles.map((s) => s.map((v, j) => mean[j] + (v - mean[j]) * psi));
}

/** The output columns (one per style, each one CHW array per source) with onnxruntime. */
async function ortColumns(o: OrtNets, x: Batch, styleRows: Float32Array[], masks: Masks<number> | undefined): Promise<Float32Array[][]> {
  const n = x.shape[0];
  const m = maskBatches(o, masks, n);
  const columns: Float32Array[][] = [];
  for (const s of styleRows) columns.push(rows(await runGenerator(o, x, tile(s, n), m)));
  return columns;
}

async function main(): Promise<void> {
  const { values, positionals } = parseFlags(flags, usage, true);
  if (positionals.length !== 1) throw new UserError('expected one CHECKPOINT argument (see --help)', 2);
  const count = intFlag('samples', values.samples, 4, 1, 64);
  const psi = numFlag('psi', values.psi, 1);
  if (psi > 1) throw new UserError(`--psi must be in 0..1, got '${values.psi}'`, 2);
  const seed = intFlag('seed', values.seed, 0, 0);
  const files = inputFiles(values.input);
  if (values.ref && !fs.existsSync(values.ref)) throw new UserError(`--ref ${values.ref}: no such file`);
  const outDir = values.out ?? 'translations';
  const engine = engineFrom(values);
  await backendFrom(values.backend, engine === 'ort' ? undefined : values.threads);
  const loaded = loadAnyCheckpoint(positionals[0]);
  const { net, ema } = loaded;
  const domainNames = domainNamesOf(loaded.metadata, net.domains);
  loaded.notes.forEach((n) => console.log(`note: ${n}`));
  const y = targetIndex(values.target, domainNames);
  try {
    fs.mkdirSync(outDir, { recursive: true });
  } catch (e) {
    throw new UserError(`--out ${outDir}: cannot create (${(e as NodeJS.ErrnoException).code})`);
  }
  const xData = loadImages(files, net.img);
  const x = image(xData, [files.length, 3, net.img, net.img]) as Images;
  const masks = needsFaceMasks(net) ? await sourceMasks(x, net.img) : undefined;
  let columns: Float32Array[][];
  if (engine === 'ort') {
    const o = await ortNets(positionals[0], loaded, values.onnx, intFlag('threads', values.threads, 1, 1, 64));
    const xb = { data: xData, shape: [files.length, 3, net.img, net.img] };
    columns = await ortColumns(o, xb, await ortStyles(o, net, y, values.ref, count, psi, seed), masks);
    await closeOnnx(o);
  } else {
    columns = tf.tidy(() =>
      styles(ema, net, y, values.ref, count, psi, seed).map((s) => toChw(translate(ema, x, typed(tf.tile(s, [files.length, 1])), net, masks))));
  }
  tf.dispose([...(masks ?? [])]);
  const written: string[] = [];
  files.forEach((f, i) => columns.forEach((col, j) => {
    const name = path.join(outDir, `${path.parse(f).name}_to_${domainNames[y]}${values.ref ? '_ref' : `_${j}`}.png`);
    writeGrid(name, { images: [col[i]], rows: 1, cols: 1 }, net.img);
    written.push(name);
  }));
  const sources = toChw(x);
  x.dispose();
  const grid = path.join(outDir, `grid_to_${domainNames[y]}.png`);
  writeGrid(grid, { images: sources.flatMap((s, i) => [s, ...columns.map((c) => c[i])]), rows: files.length, cols: columns.length + 1 }, net.img);
  console.log(`${files.length} image(s) -> ${domainNames[y]} (${values.ref ? `style of ${values.ref}` : `${count} latent style(s), psi ${psi}`}): ${written.length} PNGs and ${grid}`);
}

runMain('translate', main);
