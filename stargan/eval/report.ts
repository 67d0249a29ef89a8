/**
 * An evaluation's results as rows (one per task and mode, plus a mean per mode), and those
 * rows as a terminal table, CSV and JSON. Metric names come from feature-net.ts, so every
 * place that prints a number also prints what it is.
 */
import { fidName, lpipsName } from './feature-net.ts';
import { CHANGED_REGION_THRESHOLD, pairedScores, type Baseline, type PairedScores } from './paired.ts';
import type { Mode, TaskResult } from './protocol.ts';

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
    }));
    const methods = [...new Set(taskRows.map((r) => r.fidMethod))];
    const meanRow: Row = {
      mode, task: 'mean', fid: mean(taskRows.map((r) => r.fid)), fidSourceUnchanged: mean(taskRows.map((r) => r.fidSourceUnchanged)), lpips: mean(taskRows.map((r) => r.lpips)),
      fakes: taskRows.reduce((a, r) => a + r.fakes, 0), reals: taskRows.reduce((a, r) => a + r.reals, 0),
      fidMethod: methods.length === 1 ? methods[0] : 'mixed',
      ...(taskRows.every((r) => r.paired) ? { paired: meanPaired(taskRows.map((r) => r.paired!)) } : {}),
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
  return parts.join('\n');
}

/** CSV: one line per row; paired columns per output (empty without ground truth). inf and NaN spelt out. */
export function formatCsv(rows: readonly Row[], featureSize: number): string {
  const pairedCols = outputs.flatMap((o) => ['l1_changed', 'psnr_changed_db', 'l1_unchanged', 'psnr_unchanged_db'].map((c) => `${o.replace(/ /g, '_')}_${c}`));
  const header = ['mode', 'task', `"${fidName(featureSize)}"`, `"${fidName(featureSize)}, source unchanged"`, `"${lpipsName(featureSize)}"`, 'fakes', 'reals', 'fid_method', 'changed_fraction', ...pairedCols];
  const num = (x: number) => (Number.isNaN(x) ? 'nan' : x === Infinity ? 'inf' : String(x));
  const lines = rows.map((r) => {
    const p = r.paired;
    const pairedCells = p ? outputs.flatMap((o) => [p[o].l1Changed, p[o].psnrChanged, p[o].l1Unchanged, p[o].psnrUnchanged].map(num)) : pairedCols.map(() => '');
    return [r.mode, r.task, num(r.fid), num(r.fidSourceUnchanged), num(r.lpips), String(r.fakes), String(r.reals), r.fidMethod, p ? num(p.model.changedFraction) : '', ...pairedCells].join(',');
  });
  return [header.join(','), ...lines].join('\n') + '\n';
}

/** JSON has no inf or NaN: they become null (the CSV spells them out). */
export function jsonSafe(value: unknown): unknown {
  return JSON.parse(JSON.stringify(value, (_, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)));
}
