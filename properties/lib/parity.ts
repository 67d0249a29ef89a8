/**
 * The judging rules of examples/pytorch-parity.ts, for tests that compare with a PyTorch oracle:
 * - every value is judged by its relative error ||a - b|| / ||b||;
 * - a gradient tensor by ||a - b|| / max(||b||, 1e-2 ||gradient of its whole network||) (a conv
 *   bias feeding an instance norm has an exactly-zero gradient in theory, float noise in practice);
 * - post-step weights by their relative error, plus: at most 0.1% of all updated elements may have
 *   an update differing from PyTorch's by more than 10% of lr (after Adam's first step an update is
 *   ~lr * sign(g), whose sign is legitimately arbitrary where g is at float noise level).
 */
import type { Entry } from '../../dsl/io/safetensors.ts';

export interface Verdict { readonly name: string; readonly err: number; readonly ok: boolean }

export function norm(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i] * a[i];
  return Math.sqrt(s);
}

/** Collects verdicts; `failures()` lists the failed ones, one line each. */
export function judge(tol: number) {
  const verdicts: Verdict[] = [];
  const value = (name: string, ours: ArrayLike<number>, ref: ArrayLike<number> | undefined, floor = 0): void => {
    if (!ref) throw new Error(`oracle lacks '${name}'`);
    if (ours.length !== ref.length) throw new Error(`${name}: ${ours.length} values vs ${ref.length} in the oracle`);
    const diff = norm(Array.from(ours, (v, i) => v - ref[i]));
    const err = diff / Math.max(norm(ref), floor, Number.MIN_VALUE);
    verdicts.push({ name, err, ok: err <= tol });
  };
  /** Named entries (ours) against the oracle's; `gradient` adds the 1e-2 whole-record floor. */
  const record = (ours: [string, Entry][], ref: Map<string, Entry>, gradient = false): void => {
    const refNorm = norm(ours.flatMap(([name]) => Array.from(ref.get(name)?.data ?? [])));
    for (const [name, e] of ours) value(name, e.data, ref.get(name)?.data, gradient ? 1e-2 * refNorm : 0);
  };
  /** The update criterion: ours and theirs after a step, from the same start, learning rate lr. */
  const updates = (ours: [string, Entry][], ref: Map<string, Entry>, start: Map<string, Entry>, lr: number, prefix: string): void => {
    let updated = 0;
    let differing = 0;
    for (const [name, e] of ours) {
      const s = start.get(name.slice(prefix.length))!.data;
      const theirs = ref.get(name)!.data;
      for (let i = 0; i < e.data.length; i++) {
        updated++;
        if (Math.abs((e.data[i] - s[i]) - (theirs[i] - s[i])) > 0.1 * lr) differing++;
      }
    }
    const frac = differing / updated;
    verdicts.push({ name: `updates differing by > 0.1 lr: ${differing} of ${updated}`, err: frac, ok: frac <= 1e-3 });
  };
  const failures = () => verdicts.filter((v) => !v.ok).map((v) => `${v.name}: rel ${v.err.toExponential(2)}`);
  return { value, record, updates, failures, verdicts };
}
