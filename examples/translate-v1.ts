/**
 * Translates images with a StarGAN v1 generator, from our training checkpoint or from the
 * official yunjey/stargan files (`{iter}-G.ckpt`, optionally `{iter}-D.ckpt`), and writes one
 * grid: each row an input, then one column per target label vector (the official test mode's
 * `create_labels`: a label of an exclusive group set and the rest of the group cleared, any
 * other label flipped; with two datasets also every class of the second, under its mask).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { disposeParams, image, type Tensor } from '../dsl/index.ts';
import { loadOfficialV1 } from '../stargan/checkpoints/official-v1.ts';
import { loadCheckpointV1 } from '../stargan/checkpoints/v1.ts';
import { CELEBA_DEFAULT_ATTRS, HAIR_COLORS } from '../stargan/data/datasets.ts';
import { EMOJI_VENDORS } from '../stargan/data/emoji.ts';
import { loadImages } from '../stargan/data/sampler.ts';
import { writeGrid } from '../stargan/samples.ts';
import { labelOffset, type LabelSet, type V1NetConfig } from '../stargan/v1/config.ts';
import { discriminatorV1, type DiscriminatorV1Params } from '../stargan/v1/discriminator.ts';
import type { GeneratorV1Params } from '../stargan/v1/generator.ts';
import { crossDatasetGrid, type GridLabels } from '../stargan/v1/samples.ts';
import { backendFlag, backendFrom, inputFiles, intFlag, parseFlags, runMain, UserError } from './lib/cli.ts';

/** RaFD's expressions in ImageFolder (sorted) order, the official c2 labels. */
const RAFD_CLASSES = ['angry', 'contemptuous', 'disgusted', 'fearful', 'happy', 'neutral', 'sad', 'surprised'];

const usage = `usage: tsx examples/translate-v1.ts --checkpoint FILE --input IMAGE|DIR [options]

Translates images with a StarGAN v1 generator and writes one grid (rows: the inputs; columns:
the input, then one per target label).
  --checkpoint FILE  checkpoint.safetensors of a train-stargan-v1.ts run, or an official
                     yunjey/stargan {iter}-G.ckpt (torch.save of G.state_dict(), zip or legacy)
  --d FILE           official {iter}-D.ckpt (optional): checked against G, gives the image size,
                     and D_cls guesses each input's labels (the base the columns set or flip)
  --input IMAGE|DIR  a .png/.jpg image or a folder of them
  --out FILE         the grid (default translations-v1.png)
Official files only (ours store their labels):
  --labels A,B,...   names of G's labels (dataset 1); default by G's label width: 5 CelebA
                     (${CELEBA_DEFAULT_ATTRS.join(',')}), 8 RaFD (${RAFD_CLASSES.join(',')}),
                     15 Both (CelebA 5 + RaFD 8 + mask 2)
  --single           dataset 1 is single-label (RaFD-like: one class per image); default for a
                     G of width 8, else multi-label (CelebA-like)
  --labels2 A,B,...  --dataset Both: the second dataset's classes (default RaFD's 8); each label
                     list must match G's width (one line says which does not)
  --img N            image size without --d (default 128, the official)
Targets:
  --source A,B       labels the inputs have (e.g. Black_Hair,Young); default D's guess with --d,
                     else none (all 0)
  --backend wasm|cpu --threads N (wasm threads, default 1)`;

const flags = {
  checkpoint: { type: 'string' }, d: { type: 'string' }, input: { type: 'string' }, out: { type: 'string' },
  labels: { type: 'string' }, labels2: { type: 'string' }, single: { type: 'boolean' }, img: { type: 'string' }, source: { type: 'string' }, ...backendFlag,
} as const;

const list = (v: string | undefined) => v?.split(',').map((s) => s.trim()).filter(Boolean);

/** A generator with its config, every label's name, and the exclusive groups (indices into the names). */
interface Loaded {
  readonly net: V1NetConfig;
  readonly G: GeneratorV1Params;
  readonly D?: DiscriminatorV1Params;
  readonly names: string[];
  readonly groups?: number[][];
}

/** The exclusive groups when a file does not store them: a single-label dataset's classes; hair colours, skin tones, vendors (official create_labels groups hair colours). */
function groupsByRule(net: V1NetConfig, names: readonly string[]): number[][] {
  return net.datasets.flatMap((d, k) => {
    const at = labelOffset(net, k);
    const own = names.slice(at, at + d.size);
    if (d.kind === 'single') return [own.map((_, i) => at + i)];
    const rules: readonly (readonly string[])[] = [HAIR_COLORS, ['Light_Skin', 'Medium_Skin', 'Dark_Skin'], EMOJI_VENDORS];
    return rules.map((r) => own.flatMap((n, i) => (r.includes(n) ? [at + i] : []))).filter((g) => g.length >= 2);
  });
}

/** Our checkpoint (safetensors, format stargan-ts-v1) or official G/D files, told by content. */
function load(file: string, dFile: string | undefined, v: { labels?: string; labels2?: string; single?: boolean; img?: string }): Loaded {
  if (!fs.existsSync(file)) throw new UserError(`--checkpoint ${file}: no such file`);
  if (dFile && !fs.existsSync(dFile)) throw new UserError(`--d ${dFile}: no such file`);
  const head = fs.readFileSync(file).subarray(0, 9);
  const safetensors = head.length === 9 && head[8] === 0x7b;
  try {
    if (safetensors) {
      if (dFile || v.labels || v.labels2 || v.single) throw new UserError(`--checkpoint ${file}: our checkpoints hold G, D and their labels; --d, --labels, --labels2 and --single are for official .ckpt files`, 2);
      const c = loadCheckpointV1(file);
      const { G, D } = c.state.nets;
      disposeParams(c.state.opt);
      const n = c.cfg.net.datasets.reduce((s, d) => s + d.size, 0);
      return { net: c.cfg.net, G, D, names: c.labelNames ?? Array.from({ length: n }, (_, i) => `label${i}`), groups: c.labelGroups };
    }
    const names1 = list(v.labels);
    const names2 = list(v.labels2);
    const datasets: LabelSet[] | undefined = names1 || names2 || v.single ? officialSets(names1, names2, v.single ?? false) : undefined;
    const img = v.img ? intFlag('img', v.img, 128, 8, 1024) : undefined;
    const o = loadOfficialV1(file, dFile, { datasets, img });
    o.notes.forEach((n) => console.log(`note: ${n}`));
    const names = datasets ? [...(names1 ?? (v.single ? RAFD_CLASSES : CELEBA_DEFAULT_ATTRS)), ...(datasets.length > 1 ? names2 ?? RAFD_CLASSES : [])]
      : o.net.datasets.flatMap((d) => (d.name === 'CelebA' ? CELEBA_DEFAULT_ATTRS : RAFD_CLASSES));
    return { net: o.net, G: o.G, D: o.D, names };
  } catch (e) {
    if (e instanceof UserError) throw e;
    throw new UserError((e as Error).message);
  }
}

/** The label layout from the names given: dataset 1 (CelebA-like, BCE; RaFD-like with --single) and, with --labels2, dataset 2 (RaFD-like, CE). */
function officialSets(names1: string[] | undefined, names2: string[] | undefined, single: boolean): LabelSet[] {
  const first = names1 ?? (single ? RAFD_CLASSES : CELEBA_DEFAULT_ATTRS);
  const one: LabelSet = { name: single ? 'RaFD' : 'CelebA', size: first.length, kind: single ? 'single' : 'multi' };
  return names2 ? [one, { name: 'RaFD', size: names2.length, kind: 'single' }] : [one];
}

/** The inputs' labels in dataset 0: from --source, else D_cls's guess (sigmoid > 0.5; argmax for a single-label dataset), else zeros. */
function sourceLabels(x: Tensor<[number, 3, number, number]>, l: Loaded, source: string | undefined): number[][] {
  const d0 = l.net.datasets[0];
  const own = l.names.slice(0, d0.size);
  const n = x.shape[0];
  if (source !== undefined) {
    const picked = list(source) ?? [];
    const bad = picked.find((p) => !own.includes(p));
    if (bad) throw new UserError(`--source: unknown label '${bad}' (choose from ${own.join(', ')})`, 2);
    return Array.from({ length: n }, () => own.map((a) => (picked.includes(a) ? 1 : 0)));
  }
  if (!l.D) return Array.from({ length: n }, () => new Array<number>(d0.size).fill(0));
  if (l.net.img !== x.shape[2]) throw new UserError(`--img ${x.shape[2]}: D was trained at ${l.net.img}`, 2);
  const logits = tf.tidy(() => tf.slice(discriminatorV1(l.D!, x).cls, [0, 0], [n, d0.size]).arraySync() as number[][]);
  return logits.map((row) => (d0.kind === 'single'
    ? row.map((_, i) => (i === row.indexOf(Math.max(...row)) ? 1 : 0))
    : row.map((z) => (z > 0 ? 1 : 0))));
}

async function main(): Promise<void> {
  const { values } = parseFlags(flags, usage);
  if (!values.checkpoint) throw new UserError('--checkpoint is required (see --help)', 2);
  const files = inputFiles(values.input);
  const out = values.out ?? 'translations-v1.png';
  await backendFrom(values.backend, values.threads);
  const l = load(values.checkpoint, values.d, values);
  const { net } = l;
  const groups = l.groups ?? groupsByRule(net, l.names);
  const sets: GridLabels[] = net.datasets.map((d, k) => {
    const at = labelOffset(net, k);
    return { size: d.size, groups: groups.filter((g) => g[0] >= at && g[0] < at + d.size).map((g) => g.map((i) => i - at)) };
  });
  const x = image(loadImages(files, net.img), [files.length, 3, net.img, net.img] as const);
  const labels = sourceLabels(x, l, values.source);
  const grid = crossDatasetGrid(l.G, net, 0, x, labels, sets);
  try {
    fs.mkdirSync(path.dirname(path.resolve(out)), { recursive: true });
    writeGrid(out, grid, net.img);
  } catch (e) {
    throw new UserError(`--out ${out}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  x.dispose();
  disposeParams({ G: l.G, D: l.D });
  const prefix = (k: number) => (net.datasets.length > 1 ? `${net.datasets[k].name}:` : '');
  const cols = net.datasets.flatMap((d, k) => l.names.slice(labelOffset(net, k), labelOffset(net, k) + d.size).map((a) => prefix(k) + a));
  const own = l.names.slice(0, net.datasets[0].size);
  console.log(`G: img ${net.img}, ${net.gConvDim} channels, ${net.gRepeat} blocks; labels ${net.datasets.map((d) => `${d.name} ${d.size} (${d.kind === 'multi' ? 'attributes' : 'classes'})`).join(' + ')}${net.datasets.length > 1 ? ` + mask ${net.datasets.length}` : ''}`);
  labels.forEach((row, i) => console.log(`  ${path.basename(files[i])}: ${values.source !== undefined ? 'given' : l.D ? 'D guesses' : 'assumed'} [${own.filter((_, a) => row[a]).join(', ') || 'none'}]`));
  console.log(`${files.length} image(s) x ${cols.length} targets -> ${out} (columns: source, ${cols.join(', ')})`);
}

runMain('translate-v1', main);
