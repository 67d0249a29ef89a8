/**
 * Byte-level helpers shared by the binary readers (pickle, zip, torch.save): a format error that callers
 * prefix with the file name, and little-endian / text decoding with bounds and range checks.
 */

/** A problem with the bytes being read; the reader's entry point prefixes the source name. */
export class FormatError extends Error {}

export function fail(why: string): never {
  throw new FormatError(why);
}

export const ascii = (b: Uint8Array): string => String.fromCharCode(...b);
export const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');

const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict UTF-8; invalid bytes are a FormatError naming `what`. */
export function decodeUtf8(b: Uint8Array, what: string): string {
  try {
    return utf8.decode(b);
  } catch {
    return fail(`invalid utf-8 in ${what}`);
  }
}

export const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A u64 that must be an exact JS number (sizes, offsets, counts). */
export function u64(dv: DataView, at: number, what: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${v} is too large`);
  return Number(v);
}
