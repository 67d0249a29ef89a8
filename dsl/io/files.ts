/**
 * File I/O with the project's error discipline: every failure is one line that starts with
 * the file's name, and writes are atomic (a temp file beside the target, fsync, rename), so a
 * crash or a full disk never leaves a half-written checkpoint or image in place of a good one.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Reads a whole file; errors name it ('no such file', 'is a directory', 'cannot read (CODE)'). */
export function readFileOrFail(file: string): Buffer {
  try {
    return fs.readFileSync(file);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new Error(`${file}: no such file`);
    if (code === 'EISDIR') throw new Error(`${file}: is a directory`);
    throw new Error(`${file}: cannot read (${code ?? (e as Error).message})`);
  }
}

/** Writes bytes atomically, creating the parent folder. */
export function writeFileAtomic(file: string, bytes: Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.tmp`);
  try {
    fs.mkdirSync(dir, { recursive: true });
    const fd = fs.openSync(tmp, 'w');
    try {
      fs.writeSync(fd, bytes);
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
    fs.renameSync(tmp, file);
  } catch (e) {
    fs.rmSync(tmp, { force: true });
    throw new Error(`${file}: cannot write (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`);
  }
}
