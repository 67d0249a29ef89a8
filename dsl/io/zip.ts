/**
 * Zip archives: a reader (central directory, zip64, stored and deflated records) and a writer of stored,
 * aligned records (what torch.save writes), with the CRC-32 both need.
 */
import * as zlib from 'node:zlib';
import { decodeUtf8, fail, u64, view } from './bytes.ts';

// ---------------------------------------------------------------------------------------------------------
// Reading

/** One record as the central directory describes it. */
export interface ZipEntry {
  readonly name: string;
  readonly method: number;
  readonly flags: number;
  readonly compressedSize: number;
  readonly size: number;
  readonly localOffset: number;
}

const corruptZip = (why: string): never => fail(`truncated or corrupt zip archive (${why})`);

/** Locates the central directory via the end record (and the zip64 end record when fields overflow). */
function centralDirectory(bytes: Uint8Array): { offset: number; size: number; count: number } {
  const dv = view(bytes);
  let eocd = -1;
  for (let i = bytes.length - 22; i >= Math.max(0, bytes.length - 22 - 0xffff); i--) {
    if (dv.getUint32(i, true) === 0x06054b50) { eocd = i; break; }
  }
  if (eocd < 0) return corruptZip('end of central directory not found');
  let count = dv.getUint16(eocd + 10, true);
  let size = dv.getUint32(eocd + 12, true);
  let offset = dv.getUint32(eocd + 16, true);
  if (count === 0xffff || size === 0xffffffff || offset === 0xffffffff) {
    const locator = eocd - 20;
    if (locator < 0 || dv.getUint32(locator, true) !== 0x07064b50) corruptZip('zip64 end-of-central-directory locator not found');
    const end64 = u64(dv, locator + 8, 'zip64 end record offset');
    if (end64 + 56 > bytes.length || dv.getUint32(end64, true) !== 0x06064b50) corruptZip('zip64 end of central directory not found');
    count = u64(dv, end64 + 32, 'zip entry count');
    size = u64(dv, end64 + 40, 'central directory size');
    offset = u64(dv, end64 + 48, 'central directory offset');
  }
  if (offset + size > bytes.length) corruptZip('central directory lies outside the file');
  return { offset, size, count };
}

/** The zip64 extended-information extra field replaces whichever 32-bit fields are 0xFFFFFFFF, in order. */
function zip64Fields(dv: DataView, extraStart: number, extraEnd: number, fields: number[]): number[] {
  const out = [...fields];
  for (let p = extraStart; p + 4 <= extraEnd;) {
    const id = dv.getUint16(p, true);
    const len = dv.getUint16(p + 2, true);
    if (id === 0x0001) {
      let q = p + 4;
      for (let i = 0; i < out.length; i++) {
        if (out[i] !== 0xffffffff) continue;
        if (q + 8 > p + 4 + len) corruptZip('zip64 extra field too short');
        out[i] = u64(dv, q, 'zip64 field');
        q += 8;
      }
    }
    p += 4 + len;
  }
  return out;
}

/** The records of a zip archive by name (zip64 aware); their bytes are read by `zipRecord`. */
export function readZipDirectory(bytes: Uint8Array): Map<string, ZipEntry> {
  const dv = view(bytes);
  const cd = centralDirectory(bytes);
  const entries = new Map<string, ZipEntry>();
  let p = cd.offset;
  for (let i = 0; i < cd.count; i++) {
    if (p + 46 > cd.offset + cd.size || dv.getUint32(p, true) !== 0x02014b50) corruptZip(`bad central directory entry ${i}`);
    const nameLen = dv.getUint16(p + 28, true);
    const extraLen = dv.getUint16(p + 30, true);
    const commentLen = dv.getUint16(p + 32, true);
    const name = decodeUtf8(bytes.subarray(p + 46, p + 46 + nameLen), `the name of zip entry ${i}`);
    const [size, compressedSize, localOffset] = zip64Fields(dv, p + 46 + nameLen, p + 46 + nameLen + extraLen,
      [dv.getUint32(p + 24, true), dv.getUint32(p + 20, true), dv.getUint32(p + 42, true)]);
    entries.set(name, { name, method: dv.getUint16(p + 10, true), flags: dv.getUint16(p + 8, true), compressedSize, size, localOffset });
    p += 46 + nameLen + extraLen + commentLen;
  }
  return entries;
}

/** An entry's bytes: stored entries are views into the file, deflated ones are inflated. */
export function zipRecord(bytes: Uint8Array, e: ZipEntry): Uint8Array {
  const dv = view(bytes);
  if (e.flags & 1) fail(`zip record '${e.name}' is encrypted`);
  if (e.localOffset + 30 > bytes.length || dv.getUint32(e.localOffset, true) !== 0x04034b50) corruptZip(`bad local header for '${e.name}'`);
  // The local extra field differs from the central one (torch pads it to align the data), so use its own length.
  const start = e.localOffset + 30 + dv.getUint16(e.localOffset + 26, true) + dv.getUint16(e.localOffset + 28, true);
  if (start + e.compressedSize > bytes.length) corruptZip(`record '${e.name}' runs past the end of the file`);
  const raw = bytes.subarray(start, start + e.compressedSize);
  if (e.method === 0) {
    if (e.size !== e.compressedSize) corruptZip(`stored record '${e.name}' has two different sizes`);
    return raw;
  }
  if (e.method !== 8) fail(`zip record '${e.name}' uses unsupported compression method ${e.method}`);
  let out: Buffer;
  try {
    out = zlib.inflateRawSync(raw);
  } catch (err) {
    return corruptZip(`cannot inflate '${e.name}': ${(err as Error).message}`);
  }
  if (out.length !== e.size) corruptZip(`record '${e.name}' inflates to ${out.length} bytes, expected ${e.size}`);
  return out;
}


// ---------------------------------------------------------------------------------------------------------
// Writing

let crcTable: Uint32Array | undefined;

/** CRC-32 as zip records it: node's native one when it has it (node >= 20.15), else a table-driven loop. */
export function crc32(b: Uint8Array): number {
  const native = (zlib as { crc32?: (d: Uint8Array) => number }).crc32;
  if (typeof native === 'function') return native(b) >>> 0;
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/**
 * A zip archive of stored (uncompressed) records, each record's data `align`-byte aligned via padding in the
 * local header's extra field (id 'FB', as torch's own writer does). No zip64: the whole file must stay below
 * 4 GiB. Errors start with `who` (the caller's name).
 */
export function zipStored(records: [string, Buffer][], align: number, who: string): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of records) {
    const nameBytes = Buffer.from(name, 'utf8');
    const start = offset + 30 + nameBytes.length + 4;
    const pad = (align - (start % align)) % align;
    const extra = Buffer.alloc(4 + pad, 'Z');
    extra.writeUInt16LE(0x4246, 0); // 'FB'
    extra.writeUInt16LE(pad, 2);
    const crc = crc32(data);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4); // version needed
    local.writeUInt16LE(0, 6); // flags
    local.writeUInt16LE(0, 8); // stored
    local.writeUInt16LE(0, 10); // time 00:00
    local.writeUInt16LE(0x21, 12); // date 1980-01-01
    local.writeUInt32LE(crc, 14);
    local.writeUInt32LE(data.length, 18);
    local.writeUInt32LE(data.length, 22);
    local.writeUInt16LE(nameBytes.length, 26);
    local.writeUInt16LE(extra.length, 28);
    const cd = Buffer.alloc(46);
    cd.writeUInt32LE(0x02014b50, 0);
    cd.writeUInt16LE(20, 4); // made by
    cd.writeUInt16LE(20, 6); // needed
    cd.writeUInt16LE(0, 8);
    cd.writeUInt16LE(0, 10);
    cd.writeUInt16LE(0, 12);
    cd.writeUInt16LE(0x21, 14);
    cd.writeUInt32LE(crc, 16);
    cd.writeUInt32LE(data.length, 20);
    cd.writeUInt32LE(data.length, 24);
    cd.writeUInt16LE(nameBytes.length, 28);
    // extra length, comment length, disk, internal and external attributes: 0
    cd.writeUInt32LE(offset, 42);
    central.push(cd, nameBytes);
    chunks.push(local, nameBytes, extra, data);
    offset += 30 + nameBytes.length + extra.length + data.length;
    if (offset >= 0xffffffff) throw new Error(`${who}: the checkpoint exceeds 4 GiB (zip64 is not supported)`);
  }
  const cdSize = central.reduce((n, b) => n + b.length, 0);
  if (records.length >= 0xffff || offset + cdSize >= 0xffffffff) throw new Error(`${who}: too many tensors or too large for a zip without zip64`);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, ...central, end]);
}
