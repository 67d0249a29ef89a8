/**
 * Laws of the PRNG keys: deterministic, children distinct, and keys that differ in one bit
 * of either word give unrelated streams (mean |u - v| of independent uniforms is 1/3).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fold, key, split, uniforms, type Key } from '../dsl/random.ts';

const word = fc.nat({ max: 2 ** 32 - 1 });

test('same key, same stream; split children are distinct', () => {
  fc.assert(fc.property(word, word, (a, b) => {
    const k: Key = [a, b];
    assert.deepEqual(uniforms(k, 8), uniforms(k, 8));
    const kids = split(k, 16).map((c) => c.join());
    assert.equal(new Set(kids).size, 16);
  }), { numRuns: 50, seed: 1 });
});

test('a one-bit change in either key word gives an unrelated stream', () => {
  fc.assert(fc.property(word, word, fc.nat(31), fc.boolean(), (a, b, bit, first) => {
    const k: Key = [a, b];
    const flipped: Key = first ? [(a ^ (1 << bit)) >>> 0, b] : [a, (b ^ (1 << bit)) >>> 0];
    const u = uniforms(k, 400), v = uniforms(flipped, 400);
    const meanDiff = u.reduce((s, x, i) => s + Math.abs(x - v[i]), 0) / u.length;
    assert.ok(Math.abs(meanDiff - 1 / 3) < 0.06, `mean |u - v| = ${meanDiff} for bit ${bit} of word ${first ? 0 : 1}`);
  }), { numRuns: 100, seed: 2 });
});

test('fold and key are pure functions of their inputs', () => {
  assert.deepEqual(fold(key(42), 3), fold(key(42), 3));
  assert.notDeepEqual(fold(key(42), 3), fold(key(42), 4));
  assert.notDeepEqual(key(1), key(2));
});
