/**
 * Labels at the edge: `labels(values, n, domains)` is where a `Labels<N, K>` type is first
 * claimed, so it checks the claim at run time: the count is n, and every value is a domain
 * in [0, domains). Without them, any values pass (the types are then `number`).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import './lib/setup.ts';
import { labels, liveTensors } from '../dsl/index.ts';

test('labels with a count and a domain count: accepted when they hold, one readable error otherwise', () => {
  const before = liveTensors();
  const y = labels([0, 1, 2, 1], 4, 3);
  assert.deepEqual([...y.dataSync()], [0, 1, 2, 1]);
  y.dispose();
  labels([5, -1, 0.5]).dispose(); // unchecked without counts
  assert.throws(() => labels([0, 1, 2], 4), /labels: expected 4 values, got 3/);
  assert.throws(() => labels([0, 1, 3, 1], 4, 3), /labels: 3 is not a domain in \[0, 3\)/);
  assert.throws(() => labels([0, -1], 2, 3), /labels: -1 is not a domain in \[0, 3\)/);
  assert.throws(() => labels([0, 1.5], 2, 3), /labels: 1.5 is not a domain in \[0, 3\)/);
  assert.equal(liveTensors(), before);
});
