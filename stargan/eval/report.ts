/**
 * An evaluation's results as rows (one per task and mode, plus a mean per mode), and those
 * rows as a terminal table, CSV and JSON. Metric names come from feature-net.ts, so every
 * place that prints a number also prints what it is.
 */
import { fidName, lpipsName } from './feature-net.ts';
import { CHANGED_REGION_THRESHOLD, pairedScores, type Baseline, type PairedScores } from './paired.ts';
import type { Mode, TaskResult } from './protocol.ts';
import { ATTRIBUTE_FLIP_METRIC, IDENTITY_METRIC, type AttributeFlipResult, type IdentityResult } from './face-metrics.ts';
import type { TaskFaces } from './face-protocol.ts';

export const outputs = ['model', 'source unchanged', 'domain mean'] as const satisfies readonly ('model' | Baseline)[];
export type Output = (typeof outputs)[number];

/** One line of the report. */
export interface Row {
  readonly mode: Mode;
  /** `<src>2<trg>` as the official script names tasks, or 'mean'. */
  readonly task: string;
  readonly fid: number;
  /** FID of the untranslated sources (baseline), NaN when not computed. */
  readonly fidSourceUnchanged: number;
  readonly lpips: number;
  readonly fakes: number;
  readonly reals: number;
  /** FID's exact method (fid.ts), or 'mixed' on a mean row. */
  readonly fidMethod: string;
  readonly paired?: Record<Output, PairedScores>;
  /** Face metrics of the model's outputs and of the sources left unchanged. */
  readonly faces?: Record<FaceOutput, FaceScores>;
}

export const faceOutputs = ['model', 'source unchanged'] as const;
export type FaceOutput = (typeof faceOutputs)[number];

/** The face metrics of one output kind, as numbers (NaN where nothing was detected or the metric does not apply). */
export interface FaceScores {
  /** Outputs where face-api found a face. */
  readonly detectionRate: number;
  /** Attribute-flip accuracy over all outputs (an undetected face counts as not flipped). */
  readonly attributeFlipAccuracy: number;
  /** Attribute-flip accuracy over the outputs with a detected face. */
  readonly attributeFlipAccuracyDetected: number;
  /** Mean cosine similarity of the source's and the output's face-api descriptors (pairs with both detected). */
  readonly identityCosineSimilarity: number;
  /** Fraction of those pairs face-api calls the same person (Euclidean distance < 0.6). */
  readonly sameIdentityRate: number;
  readonly outputs: number;
}

function faceScores(a: AttributeFlipResult, id: IdentityResult): FaceScores {
  return {
    detectionRate: id.outputsDetected / id.pairs,
    attributeFlipAccuracy: a.applicable ? a.accuracyOverAll : NaN,
    attributeFlipAccuracyDetected: a.applicable ? a.accuracyOverDetected : NaN,
    identityCosineSimilarity: id.meanCosineSimilarity, sameIdentityRate: id.sameIdentityRate, outputs: id.pairs,
  };
}

function faceRow(f: TaskFaces): Record<FaceOutput, FaceScores> {
  return { model: faceScores(f.attributeFlip, f.identity), 'source unchanged': faceScores(f.sourceUnchanged.attributeFlip, f.sourceUnchanged.identity) };
}

function meanFaces(fs_: readonly Record<FaceOutput, FaceScores>[]): Record<FaceOutput, FaceScores> {
  const keys = ['detectionRate', 'attributeFlipAccuracy', 'attributeFlipAccuracyDetected', 'identityCosineSimilarity', 'sameIdentityRate'] as const;
  return Object.fromEntries(faceOutputs.map((o) => [o, {
    ...Object.fromEntries(keys.map((k) => [k, mean(fs_.map((f) => f[o][k]))])),
    outputs: fs_.reduce((a, f) => a + f[o].outputs, 0),
  }])) as unknown as Record<FaceOutput, FaceScores>;
}

function mean(xs: readonly number[]): number {
  return xs.reduce((a, b) => a + b, 0) / xs.length;
}

/** Rows per task and mode, each mode followed by its mean over tasks (as the paper averages FID and LPIPS). */
export function reportRows(results: readonly TaskResult[], domainNames: readonly string[]): Row[] {
  const rows: Row[] = [];
  for (const mode of ['latent', 'reference'] as const) {
    const mine = results.filter((r) => r.mode === mode);
    if (mine.length === 0) continue;
    const taskRows: Row[] = mine.map((r) => ({
      mode, task: `${domainNames[r.task.src]}2${domainNames[r.task.trg]}`, fid: r.fid.value, fidSourceUnchanged: r.fidSourceUnchanged ?? NaN, lpips: r.lpips,
      fakes: r.fakes, reals: r.reals, fidMethod: r.fid.method,
      ...(r.paired ? { paired: Object.fromEntries(outputs.map((o) => [o, pairedScores(r.paired![o])])) as Record<Output, PairedScores> } : {}),
      ...(r.faces ? { faces: faceRow(r.faces) } : {}),
    }));
    const methods = [...new Set(taskRows.map((r) => r.fidMethod))];
    const meanRow: Row = {
      mode, task: 'mean', fid: mean(taskRows.map((r) => r.fid)), fidSourceUnchanged: mean(taskRows.map((r) => r.fidSourceUnchanged)), lpips: mean(taskRows.map((r) => r.lpips)),
      fakes: taskRows.reduce((a, r) => a + r.fakes, 0), reals: taskRows.reduce((a, r) => a + r.reals, 0),
      fidMethod: methods.length === 1 ? methods[0] : 'mixed',
      ...(taskRows.every((r) => r.paired) ? { paired: meanPaired(taskRows.map((r) => r.paired!)) } : {}),
      ...(taskRows.every((r) => r.faces) ? { faces: meanFaces(taskRows.map((r) => r.faces!)) } : {}),
    };
    rows.push(...taskRows, meanRow);
  }
  return rows;
}

function meanPaired(ps: readonly Record<Output, PairedScores>[]): Record<Output, PairedScores> {
  const keys = ['l1Changed', 'psnrChanged', 'l1Unchanged', 'psnrUnchanged', 'changedFraction'] as const;
  return Object.fromEntries(outputs.map((o) => [o, Object.fromEntries(keys.map((k) => [k, mean(ps.map((p) => p[o][k]))])) as unknown as PairedScores])) as Record<Output, PairedScores>;
}

function fmt(x: number, digits: number): string {
  if (Number.isNaN(x)) return '-';
  if (x === Infinity) return 'inf';
  return x.toFixed(digits);
}

function table(header: string[], body: string[][], indent = ''): string {
  const widths = header.map((h, i) => Math.max(h.length, ...body.map((r) => r[i].length)));
  const line = (cells: string[]) => indent + cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]) : c.padStart(widths[i]))).join('  ');
  return [line(header), indent + widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

const modeTitle: Record<Mode, string> = { latent: 'Latent-guided', reference: 'Reference-guided' };

/** The terminal table(s): FID and diversity per mode; then paired errors when there are any. */
export function formatTables(rows: readonly Row[], featureSize: number, samples: number): string {
  const parts: string[] = [];
  for (const mode of ['latent', 'reference'] as const) {
    const mine = rows.filter((r) => r.mode === mode);
    if (mine.length === 0) continue;
    parts.push(`${modeTitle[mode]} synthesis, ${samples} outputs per source image`);
    parts.push(`  ${fidName(featureSize)}: the translations, and the untranslated sources as a baseline, against the target domain's real images`);
    parts.push(table(['task', 'model', 'source unchanged', 'fakes', 'reals'],
      mine.map((r) => [r.task, fmt(r.fid, 2), fmt(r.fidSourceUnchanged, 2), String(r.fakes), String(r.reals)]), '    '));
    parts.push(`  ${lpipsName(featureSize)}: mean over sources of the mean pairwise distance of its ${samples} outputs`);
    parts.push(table(['task', 'model'], mine.map((r) => [r.task, fmt(r.lpips, 4)]), '    '));
    parts.push('');
  }
  const paired = rows.filter((r) => r.paired);
  if (paired.length > 0) {
    parts.push(`Paired errors against the ground truth, in [0, 1] pixel units; changed region: pixels where max over RGB |source - truth| > ${CHANGED_REGION_THRESHOLD}`);
    const body: string[][] = [];
    for (const r of paired) {
      for (const o of outputs) {
        const p = r.paired![o];
        body.push([o === 'model' ? `${r.task} (${r.mode})` : '', o === 'model' ? `model, ${r.mode}` : o, fmt(p.changedFraction * 100, 1),
          fmt(p.l1Changed, 4), fmt(p.psnrChanged, 2), fmt(p.l1Unchanged, 4), fmt(p.psnrUnchanged, 2)]);
      }
    }
    parts.push(table(['task', 'output', 'changed %', 'L1 changed', 'PSNR changed dB', 'L1 unchanged', 'PSNR unchanged dB'], body));
    parts.push('');
  }
  const faced = rows.filter((r) => r.faces);
  if (faced.length > 0) {
    parts.push(`Face metrics (@vladmandic/face-api): ${ATTRIBUTE_FLIP_METRIC}: outputs whose predicted gender is the target domain's, over all outputs`);
    parts.push(`(an undetected face counts as not flipped) and over detected faces; ${IDENTITY_METRIC}: mean cosine similarity of source and output`);
    parts.push('descriptors where both faces were found, and the fraction face-api calls the same person (distance < 0.6); "-": nothing detected');
    const body = faced.flatMap((r) => faceOutputs.map((o) => {
      const f = r.faces![o];
      return [o === 'model' ? `${r.task} (${r.mode})` : '', o, fmt(f.detectionRate * 100, 1), fmt(f.attributeFlipAccuracy, 3), fmt(f.attributeFlipAccuracyDetected, 3),
        fmt(f.identityCosineSimilarity, 3), fmt(f.sameIdentityRate * 100, 1)];
    }));
    parts.push(table(['task', 'output', 'face detected %', 'attribute-flip acc (all)', 'attribute-flip acc (detected)', 'identity cosine', 'same person %'], body));
    parts.push('');
  }
  return parts.join('\n');
}

/** CSV: one line per row; paired columns per output (empty without ground truth). inf and NaN spelt out. */
export function formatCsv(rows: readonly Row[], featureSize: number): string {
  const pairedCols = outputs.flatMap((o) => ['l1_changed', 'psnr_changed_db', 'l1_unchanged', 'psnr_unchanged_db'].map((c) => `${o.replace(/ /g, '_')}_${c}`));
  const faceCols = faceOutputs.flatMap((o) => ['face_detected_rate', 'attribute_flip_accuracy', 'attribute_flip_accuracy_detected', 'identity_cosine_similarity', 'same_identity_rate'].map((c) => `${o.replace(/ /g, '_')}_${c}`));
  const header = ['mode', 'task', `"${fidName(featureSize)}"`, `"${fidName(featureSize)}, source unchanged"`, `"${lpipsName(featureSize)}"`, 'fakes', 'reals', 'fid_method', 'changed_fraction', ...pairedCols, ...faceCols];
  const num = (x: number) => (Number.isNaN(x) ? 'nan' : x === Infinity ? 'inf' : String(x));
  const lines = rows.map((r) => {
    const p = r.paired;
    const pairedCells = p ? outputs.flatMap((o) => [p[o].l1Changed, p[o].psnrChanged, p[o].l1Unchanged, p[o].psnrUnchanged].map(num)) : pairedCols.map(() => '');
    const f = r.faces;
    const faceCells = f ? faceOutputs.flatMap((o) => [f[o].detectionRate, f[o].attributeFlipAccuracy, f[o].attributeFlipAccuracyDetected, f[o].identityCosineSimilarity, f[o].sameIdentityRate].map(num)) : faceCols.map(() => '');
    return [r.mode, r.task, num(r.fid), num(r.fidSourceUnchanged), num(r.lpips), String(r.fakes), String(r.reals), r.fidMethod, p ? num(p.model.changedFraction) : '', ...pairedCells, ...faceCells].join(',');
  });
  return [header.join(','), ...lines].join('\n') + '\n';
}

/** JSON has no inf or NaN: they become null (the CSV spells them out). */
export function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}
