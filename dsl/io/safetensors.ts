/**
 * safetensors: an 8-byte little-endian header length, a JSON header
 * `{name: {dtype, shape, data_offsets: [begin, end]}, __metadata__: {string: string}}`,
 * then raw little-endian data. Data is copied into fresh, aligned typed arrays (Node
 * Buffers are views into pooled memory). Writes are atomic: temp file, fsync, rename.
 */
import { readFileOrFail, writeFileAtomic } from './files.ts';

export { writeFileAtomic };

export type DType = 'F32' | 'F64' | 'F16' | 'BF16' | 'I32' | 'I64' | 'U8' | 'I8' | 'BOOL';

/** A named array in row-major order. Floats load as Float32Array, integers as Int32Array. */
export interface Entry {
  readonly dtype: 'F32' | 'I32';
  readonly shape: readonly number[];
  readonly data: Float32Array | Int32Array;
}

export interface SafetensorsFile {
  readonly tensors: Map<string, Entry>;
  readonly metadata: Record<string, string>;
}

const bytesPer: Record<DType, number> = { F32: 4, F64: 8, F16: 2, BF16: 2, I32: 4, I64: 8, U8: 1, I8: 1, BOOL: 1 };

/** IEEE half-precision bits to a number (also used by the torch.save reader). */
export function halfToFloat(h: number): number {
  const s = h & 0x8000 ? -1 : 1;
  const e = (h >> 10) & 0x1f;
  const f = h & 0x3ff;
  if (e === 0) return s * 2 ** -14 * (f / 1024);
  if (e === 31) return f ? NaN : s * Infinity;
  return s * 2 ** (e - 15) * (1 + f / 1024);
}

function decode(dtype: DType, bytes: Uint8Array, count: number): Float32Array | Int32Array {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  switch (dtype) {
    case 'F32': { const out = new Float32Array(count); for (let i = 0; i < count; i++) out[i] = dv.getFloat32(4 * i, true); return out; }
    case 'F64': { const out = new Float32Array(count); for (let i = 0; i < count; i++) out[i] = dv.getFloat64(8 * i, true); return out; }
    case 'F16': { const out = new Float32Array(count); for (let i = 0; i < count; i++) out[i] = halfToFloat(dv.getUint16(2 * i, true)); return out; }
    case 'BF16': { const out = new Float32Array(count); const u = new Uint32Array(out.buffer); for (let i = 0; i < count; i++) u[i] = dv.getUint16(2 * i, true) << 16; return out; }
    case 'I32': { const out = new Int32Array(count); for (let i = 0; i < count; i++) out[i] = dv.getInt32(4 * i, true); return out; }
    case 'I64': {
      const out = new Int32Array(count);
      for (let i = 0; i < count; i++) {
        const v = dv.getBigInt64(8 * i, true);
        if (v > 2147483647n || v < -2147483648n) throw new RangeError(`int64 value ${v} does not fit int32`);
        out[i] = Number(v);
      }
      return out;
    }
    case 'U8': case 'BOOL': { const out = new Int32Array(count); for (let i = 0; i < count; i++) out[i] = dv.getUint8(i); return out; }
    case 'I8': { const out = new Int32Array(count); for (let i = 0; i < count; i++) out[i] = dv.getInt8(i); return out; }
  }
}

/** Parses safetensors bytes; `source` names the file in error messages. */
export function parseSafetensors(buf: Uint8Array, source: string): SafetensorsFile {
  const fail = (why: string): never => { throw new Error(`${source}: not a valid safetensors file (${why})`); };
  if (buf.byteLength < 8) fail('shorter than its 8-byte header length');
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const headerLen = Number(dv.getBigUint64(0, true));
  if (headerLen > buf.byteLength - 8) fail(`header length ${headerLen} exceeds the file size ${buf.byteLength}`);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(new TextDecoder().decode(buf.subarray(8, 8 + headerLen)));
  } catch {
    return fail('header is not JSON');
  }
  const dataStart = 8 + headerLen;
  const tensors = new Map<string, Entry>();
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  for (const [name, info] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const { dtype, shape, data_offsets: offsets } = info as { dtype: DType; shape: number[]; data_offsets: [number, number] };
    if (!(dtype in bytesPer)) fail(`tensor '${name}' has unsupported dtype ${dtype}`);
    const count = shape.reduce((a, b) => a * b, 1);
    const [begin, end] = offsets;
    if (end - begin !== count * bytesPer[dtype]) fail(`tensor '${name}' has ${end - begin} bytes for shape [${shape}] of ${dtype}`);
    if (dataStart + end > buf.byteLength) fail(`tensor '${name}' ends past the end of the file (truncated?)`);
    let data: Float32Array | Int32Array;
    try {
      data = decode(dtype, buf.subarray(dataStart + begin, dataStart + end), count);
    } catch (e) {
      return fail(`tensor '${name}': ${(e as Error).message}`);
    }
    tensors.set(name, { dtype: data instanceof Float32Array ? 'F32' : 'I32', shape, data });
  }
  return { tensors, metadata };
}

/** Reads a safetensors file; errors name the file. */
export function readSafetensors(file: string): SafetensorsFile {
  return parseSafetensors(readFileOrFail(file), file);
}

/** Serialises named arrays and string metadata. */
export function serializeSafetensors(tensors: Iterable<[string, Entry]>, metadata: Record<string, string> = {}): Buffer {
  const header: Record<string, unknown> = { __metadata__: metadata };
  const blobs: Buffer[] = [];
  let offset = 0;
  for (const [name, e] of tensors) {
    const blob = Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength); // x86/ARM are little-endian
    header[name] = { dtype: e.dtype, shape: e.shape, data_offsets: [offset, offset + blob.byteLength] };
    blobs.push(blob);
    offset += blob.byteLength;
  }
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - (json.length % 8)) % 8);
  const jsonBytes = Buffer.from(json, 'utf8');
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(jsonBytes.byteLength));
  return Buffer.concat([len, jsonBytes, ...blobs]);
}

/** Writes a safetensors file atomically. */
export function writeSafetensors(file: string, tensors: Iterable<[string, Entry]>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata));
}
