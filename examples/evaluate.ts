/**
 * Evaluates a StarGAN v2 checkpoint offline with StarGAN v2's protocol: for every (source,
 * target) domain pair, each validation image translated --samples times latent-guided and
 * reference-guided; FID (InceptionV3, nsfwjs weights), an uncalibrated LPIPS-style diversity,
 * on data with ground truth, paired errors beside two baselines, and on face domains (CelebA-HQ's
 * female/male) attribute-flip accuracy and identity similarity from face-api's nets. See docs/evaluation.md.
 * With --engine ort the translations come from the ONNX export of G, F, E in onnxruntime-node, given the same
 * latents, references and masks (the feature net stays on tfjs), so the two engines' reports compare.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import cliProgress from 'cli-progress';
import { key as makeKey } from '../dsl/index.ts';
import { domainNamesOf } from '../stargan/checkpoints/ours.ts';
import { domainFolders, type Dataset } from '../stargan/data/datasets.ts';
import { emojiDataset, type EmojiVendor } from '../stargan/data/emoji.ts';
import { loadImages } from '../stargan/data/sampler.ts';
import { disposeFeatureNet, fidName, FEATURE_PACKAGE, loadFeatureNet, lpipsName, MIN_SIZE, NATIVE_SIZE } from '../stargan/eval/feature-net.ts';
import { CHANGED_REGION_THRESHOLD, meanImage } from '../stargan/eval/paired.ts';
import { domainImages, imageAt, modes, realMoments, runTask, tasks, type DomainImages, type EvalContext, type Mode, type TaskResult } from '../stargan/eval/protocol.ts';
import { analyseSources, areFaceDomains, faceTask, landmarksOf } from '../stargan/eval/face-protocol.ts';
import { ATTRIBUTE_FLIP_METRIC, IDENTITY_METRIC } from '../stargan/eval/face-metrics.ts';
import { loadFaceNets } from '../stargan/eval/faces.ts';
import { formatCsv, formatTables, jsonSafe, reportRows } from '../stargan/eval/report.ts';
import { disposeLoaded, loadAnyCheckpoint } from '../stargan/checkpoints/official.ts';
import { closeOnnx, type OrtNets } from '../stargan/onnx/runtime.ts';
import { ortEvalNets } from '../stargan/onnx/eval-nets.ts';
import { needsFaceMasks } from '../stargan/v2/config.ts';
import { backendFlag, backendFrom, choiceFlag, intFlag, parseFlags, runMain, UserError } from './lib/cli.ts';
import { engineFlags, engineFrom, engineUsage, ortNets } from './lib/ort-engine.ts';

const usage = `usage: tsx examples/evaluate.ts --checkpoint FILE [options]

Evaluates the EMA networks of a checkpoint (ours, or an official one: see import-pytorch.ts).
For every task (source domain != target domain) and each mode (latent-guided, reference-guided),
every validation image is translated --samples times. Reports, per task and their mean:
  ${fidName()}   fakes vs the target domain's real (train) images
  ${lpipsName()}   mean pairwise distance of each source's outputs
  paired L1 / PSNR inside and outside the changed region, beside "source unchanged" and
  "domain mean" baselines, when the validation items are the same items in every domain (changed region:
  max over RGB |source - truth| > ${CHANGED_REGION_THRESHOLD} in [0, 1] units, stargan/eval/paired.ts, as in training)
  on face domains (--faces):
  ${ATTRIBUTE_FLIP_METRIC}   outputs whose gender (face-api) is the target domain's
  ${IDENTITY_METRIC}   cosine similarity, source vs output
Data (--data):
  none                  the embedded emoji dataset, domains = the checkpoint's vendors (no held-out
                        split exists: validation images are an evenly spaced subset, seen in training)
  DIR/val/<domain>/     validation images; DIR/train/<domain>/ are the real images for FID (else val/)
Options:
  --out DIR             report.json and report.csv go here (default: eval/ beside the checkpoint)
  --seed N (0)  --samples N (10, >= 2)  --max-val N (val images per domain, evenly spaced; all)
  --max-real N (real images per domain for FID and the domain mean, evenly spaced; all)
  --modes latent,reference (both)  --feature-size N (${NATIVE_SIZE}; >= ${MIN_SIZE} is faster but a different metric, named so)
  --faces auto|on|off   face metrics (auto: on when every domain is female or male, any case, as CelebA-HQ's;
                        on: also for other domains, identity only where no attribute maps; off: none). With
                        w_hpf > 0 the generator gets the sources' face masks from face-api's landmarks unless off
  --backend wasm|cpu (wasm)  --threads N (1: wasm threads, and onnxruntime's with --engine ort)
${engineUsage}
                      The feature net and face-api stay on tfjs; only the translations change engine.`;

const flags = {
  checkpoint: { type: 'string' }, data: { type: 'string' }, out: { type: 'string' }, seed: { type: 'string' },
  samples: { type: 'string' }, 'max-val': { type: 'string' }, 'max-real': { type: 'string' }, modes: { type: 'string' }, faces: { type: 'string' },
  'feature-size': { type: 'string' }, ...backendFlag, ...engineFlags,
} as const;

const EMOJI_VENDORS_KNOWN: readonly EmojiVendor[] = ['google', 'twitter', 'apple', 'facebook'];

/** Evenly spaced indices: all of 0..n-1 when max >= n. Deterministic and spread over sorted file lists. */
function evenlySpaced(n: number, max: number): number[] {
  const m = Math.min(n, max);
  return Array.from({ length: m }, (_, k) => Math.floor((k * n) / m));
}

/** The data's validation and real splits, with domains named. */
interface Splits {
  readonly name: string;
  readonly val: Dataset;
  readonly real: Dataset;
  readonly notes: string[];
}

function openSplits(data: string | undefined, ckptDomains: readonly string[], named: boolean): Splits {
  if (!data) {
    const vendors = ckptDomains as EmojiVendor[];
    if (!named || !vendors.every((v) => EMOJI_VENDORS_KNOWN.includes(v))) {
      throw new UserError(`the checkpoint's domains (${ckptDomains.join(', ')}) are not emoji vendors: pass --data DIR with those domains`, 2);
    }
    const ds = emojiDataset({ vendors });
    return { name: ds.name, val: ds, real: ds, notes: ['emoji: no held-out split exists; validation and real images are subsets of what training saw'] };
  }
  if (!fs.existsSync(data)) throw new UserError(`--data ${data}: no such folder`);
  const val = domainFolders(data, 'val');
  if (fs.existsSync(path.join(data, 'train'))) return { name: val.name, val, real: domainFolders(data, 'train'), notes: [] };
  return { name: val.name, val, real: val, notes: [`${data}/train missing: the real images for FID are the validation images`] };
}

/** Maps each checkpoint domain to the data's domain of the same name (or the same index when the checkpoint has no names). */
function domainMap(ds: Dataset, ckptDomains: readonly string[], named: boolean, where: string): number[] {
  if (!named) {
    if (ds.domains.length !== ckptDomains.length) throw new UserError(`${where}: ${ds.domains.length} domains, the checkpoint has ${ckptDomains.length} (and stores no domain names)`);
    return ckptDomains.map((_, d) => d);
  }
  const missing = ckptDomains.filter((d) => !ds.domains.includes(d));
  if (missing.length) throw new UserError(`${where}: lacks the checkpoint's domain(s) ${missing.join(', ')} (has ${ds.domains.join(', ')})`);
  return ckptDomains.map((d) => ds.domains.indexOf(d));
}

/** True when every domain lists the same relative file names: item i is the same item in every domain. */
function isAligned(files: readonly (readonly string[])[]): boolean {
  const rel = files.map((fs_) => fs_.map((f) => path.basename(f)));
  return rel.every((r) => r.length === rel[0].length && r.every((f, i) => f === rel[0][i]));
}

function loadDomain(files: readonly string[], img: number): DomainImages {
  try {
    return domainImages(loadImages(files, img), img);
  } catch (e) {
    throw new UserError((e as Error).message.split('\n')[0]);
  }
}

function modesFrom(v: string | undefined): Mode[] {
  if (v === undefined) return [...modes];
  const picked = v.split(',').map((s) => s.trim()).filter(Boolean);
  for (const m of picked) choiceFlag('modes', m, modes, 'latent');
  if (picked.length === 0) throw new UserError('--modes needs latent, reference or both', 2);
  return modes.filter((m) => picked.includes(m));
}

async function main(): Promise<void> {
  const { values } = parseFlags(flags, usage);
  const ckpt = values.checkpoint;
  if (!ckpt) throw new UserError('--checkpoint FILE is required (see --help)', 2);
  if (!fs.existsSync(ckpt) || !fs.statSync(ckpt).isFile()) throw new UserError(`--checkpoint ${ckpt}: no such file`);
  const seed = intFlag('seed', values.seed, 0, 0, 2 ** 32 - 1);
  const samples = intFlag('samples', values.samples, 10, 2, 100);
  const maxVal = intFlag('max-val', values['max-val'], Number.MAX_SAFE_INTEGER, 1);
  const maxReal = intFlag('max-real', values['max-real'], Number.MAX_SAFE_INTEGER, 2);
  const featureSize = intFlag('feature-size', values['feature-size'], NATIVE_SIZE, MIN_SIZE, 1024);
  const pickedModes = modesFrom(values.modes);
  const facesFlag = choiceFlag('faces', values.faces, ['auto', 'on', 'off'] as const, 'auto');
  const outDir = values.out ?? path.join(path.dirname(ckpt), 'eval');
  const engine = engineFrom(values);
  const backend = await backendFrom(values.backend, values.threads);
  const t0 = performance.now();

  const loaded = (() => {
    try {
      return loadAnyCheckpoint(ckpt);
    } catch (e) {
      throw new UserError((e as Error).message.split('\n')[0]);
    }
  })();
  const { net, ema } = loaded;
  const named = Boolean(loaded.metadata.domain_names);
  const names = domainNamesOf(loaded.metadata, net.domains);
  const splits = (() => {
    try {
      return openSplits(values.data, names, named);
    } catch (e) {
      throw e instanceof UserError ? e : new UserError((e as Error).message.split('\n')[0]);
    }
  })();
  const valMap = domainMap(splits.val, names, named, values.data ? path.join(values.data, 'val') : splits.name);
  const realMap = domainMap(splits.real, names, named, values.data ? path.join(values.data, 'train') : splits.name);
  const valFiles = valMap.map((d) => splits.val.files[d]);
  const paired = isAligned(valFiles);
  // Aligned data keeps the same item indices in every domain, so the subset stays aligned.
  const valPick = valFiles.map((f) => evenlySpaced(f.length, maxVal));
  const realFiles = realMap.map((d) => evenlySpaced(splits.real.files[d].length, maxReal).map((i) => splits.real.files[d][i]));
  const notes = [...loaded.notes, ...splits.notes];
  const faces = facesFlag === 'on' || (facesFlag === 'auto' && areFaceDomains(names));
  const needFaceApi = faces || (needsFaceMasks(net) && facesFlag !== 'off');
  if (needsFaceMasks(net) && !needFaceApi) notes.push(`w_hpf ${net.wHpf}: --faces off, so no face masks: the generator's high-pass path is skipped`);
  if (facesFlag === 'auto' && !faces) notes.push(`domains ${names.join(', ')} are not face domains (female/male): no face metrics (--faces on to force)`);
  if (!paired) notes.push('validation files differ across domains: no ground truth, so no paired errors');

  // Before any image work: a missing onnxruntime or a --onnx folder of another checkpoint fails fast.
  const ort: OrtNets | undefined = engine === 'ort' ? await ortNets(ckpt, loaded, values.onnx, intFlag('threads', values.threads, 1, 1, 64)) : undefined;
  const engineName = ort ? `onnxruntime-node (${values.onnx ?? 'export cached for this checkpoint'})` : 'ours';
  console.log(`evaluating ${ckpt} (img ${net.img}, ${net.domains} domains: ${names.join(', ')}) on ${splits.name}; ${backend}; translations: ${engineName}`);
  notes.forEach((n) => console.log(`note: ${n}`));

  const val = valFiles.map((f, d) => loadDomain(valPick[d].map((i) => f[i]), net.img));
  const reals = realFiles.map((f) => loadDomain(f, net.img));
  const features = await loadFeatureNet(featureSize);
  const taskList = tasks(net.domains);
  const translationsTotal = pickedModes.length * taskList.reduce((a, t) => a + val[t.src].n, 0) * samples;
  const realTotal = reals.reduce((a, r) => a + r.n, 0) + val.reduce((a, v) => a + v.n, 0);
  console.log(`${taskList.length} tasks x ${pickedModes.length} mode(s): ${translationsTotal} translations and ${realTotal} real images through the feature net at ${featureSize} px`);
  const work = reals.reduce((a, r) => a + r.n, 0) + val.reduce((a, v) => a + v.n, 0) * (needFaceApi ? 2 : 1) + pickedModes.length * taskList.reduce((a, t) => a + val[t.src].n, 0);
  const bar = new cliProgress.SingleBar({
    format: '{bar} {value}/{total} images | {stage} | {duration_formatted}, ETA {eta_formatted}',
    etaBuffer: 50, hideCursor: true, noTTYOutput: !process.stdout.isTTY, notTTYSchedule: 30_000,
  }, cliProgress.Presets.shades_classic);
  bar.start(work, 0, { stage: 'real images' });
  let done = 0;
  const tick = (n: number, stage: string) => {
    done += n;
    bar.update(done, { stage });
  };
  const real = reals.map((r, d) => realMoments(features, r, net.img, 10, (n) => tick(n, `real images of ${names[d]}`)));
  const source = val.map((v, d) => realMoments(features, v, net.img, 10, (n) => tick(n, `validation images of ${names[d]}`)));
  const meanImages = reals.map((r) => meanImage(Array.from({ length: r.n }, (_, i) => imageAt(r, i))));
  const faceNets = needFaceApi ? await loadFaceNets() : undefined;
  const analysed = faceNets ? await analyseSources(faceNets, val, net.img, () => tick(1, 'face-api on the validation images')) : undefined;
  const landmarks = analysed && needsFaceMasks(net) ? landmarksOf(analysed) : undefined;
  if (landmarks) {
    const found = landmarks.flat().filter((l) => l).length;
    notes.push(`w_hpf ${net.wHpf}: the generator gets the sources' face masks from face-api's landmarks (faces found in ${found}/${landmarks.flat().length} validation images; the others get zero masks)`);
  }
  const ctx: EvalContext = { ema, net, features, val, paired, real, source, meanImage: meanImages, samples, key: makeKey(seed), ...(landmarks ? { landmarks } : {}), ...(ort ? { nets: ortEvalNets(ort) } : {}) };
  const results: TaskResult[] = [];
  for (const mode of pickedModes) {
    for (const task of taskList) {
      const stage = `${mode} ${names[task.src]}2${names[task.trg]}`;
      const ft = faces && faceNets && analysed ? faceTask(faceNets, analysed, names, task.src, task.trg) : undefined;
      const r = await runTask(ctx, task, mode, () => tick(1, stage), ft && ((i, fakes) => ft.add(i, fakes)));
      results.push(ft ? { ...r, faces: ft.result() } : r);
    }
  }
  bar.stop();
  if (ort) await closeOnnx(ort);
  disposeFeatureNet(features);
  disposeLoaded(loaded);
  const seconds = (performance.now() - t0) / 1000;

  const rows = reportRows(results, names);
  if (landmarks) console.log(`note: ${notes[notes.length - 1]}`);
  console.log('');
  console.log(formatTables(rows, featureSize, samples));
  try {
    fs.mkdirSync(outDir, { recursive: true });
    const report = {
      checkpoint: path.resolve(ckpt), checkpoint_source: loaded.source, net,
      data: splits.name, data_source: splits.real.source, domains: names,
      validation_images: val.map((v) => v.n), real_images: reals.map((r) => r.n), paired,
      seed, samples, modes: pickedModes, faces: { flag: facesFlag, metrics: faces }, changed_region_threshold: CHANGED_REGION_THRESHOLD,
      metrics: {
        fid: fidName(featureSize), lpips: lpipsName(featureSize),
        feature_net: { package: FEATURE_PACKAGE, model: 'InceptionV3 (tfjs layers model, uint8-quantised weights)', input_size: featureSize, preprocessing: 'x in [-1, 1] rounded to 8 bits -> (x + 1) / 2 -> bilinear resize (align_corners) to input_size' },
        ...(faces ? {
          attribute_flip: `${ATTRIBUTE_FLIP_METRIC}: fraction of outputs whose gender, by @vladmandic/face-api's age/gender net, is the target domain's; over all outputs (undetected = not flipped) and over outputs with a detected face`,
          identity: `${IDENTITY_METRIC}: mean cosine similarity of face-api's 128-d recognition descriptors of source and output, over pairs with both faces detected; same_identity_rate: Euclidean distance < 0.6`,
        } : {}),
        paired: 'L1 and PSNR in [0, 1] pixel units, pooled over all outputs of a task; changed region: max over RGB |source - truth| > changed_region_threshold (stargan/eval/paired.ts: the definition training uses)',
      },
      notes, backend, engine: { name: engine, ...(values.onnx ? { onnx: path.resolve(values.onnx) } : {}) }, seconds: Math.round(seconds * 10) / 10, rows,
    };
    fs.writeFileSync(path.join(outDir, 'report.json'), JSON.stringify(jsonSafe(report), null, 2) + '\n');
    fs.writeFileSync(path.join(outDir, 'report.csv'), formatCsv(rows, featureSize));
  } catch (e) {
    throw new UserError(`--out ${outDir}: cannot write the report (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
  console.log(`${results.length} task runs, ${results.reduce((a, r) => a + r.fakes, 0)} translations in ${seconds.toFixed(1)} s; report: ${path.join(outDir, 'report.json')}, ${path.join(outDir, 'report.csv')}`);
}

runMain('evaluate', main);
