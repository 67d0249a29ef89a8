/** What the ONNX tests share: the onnxruntime-node gate and the relative error they judge by. */
import assert from 'node:assert/strict';
import type { TestContext } from 'node:test';
import { ortUnavailable } from '../../stargan/onnx/runtime.ts';
import { norm } from './parity.ts';

/** Skips (printing why) when onnxruntime-node is absent; fails under CI=true, where .ci/run installs it. */
export async function needsOrt(t: TestContext): Promise<boolean> {
  const reason = await ortUnavailable();
  if (!reason) return true;
  if (process.env.CI === 'true') assert.fail(`${reason}; CI=true requires it (.ci/run installs it with npm ci)`);
  console.log(`skipping "${t.name}": ${reason}`);
  t.skip(reason);
  return false;
}

/** ||ours - ref|| / ||ref||, the judging rule of the parity tests. */
export function relErr(ours: ArrayLike<number>, ref: ArrayLike<number>): number {
  assert.equal(ours.length, ref.length, 'sizes');
  return norm(Array.from(ours, (v, i) => v - ref[i])) / Math.max(norm(ref), Number.MIN_VALUE);
}
