/** Assertions about the project's error discipline. */
import assert from 'node:assert/strict';

/** The error thrown by `fn`, checked to be a one-line Error starting with `source: `. */
export function errorOf(fn: () => unknown, source: string): string {
  let caught: unknown;
  try {
    fn();
  } catch (e) {
    caught = e;
  }
  assert.ok(caught instanceof Error, 'expected an Error');
  assert.ok(caught.message.startsWith(`${source}: `), `message should start with the file name: ${caught.message}`);
  assert.doesNotMatch(caught.message, /\n/, 'one line');
  return caught.message;
}
