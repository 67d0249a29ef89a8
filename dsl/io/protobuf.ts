/**
 * Protocol-buffers wire format: the few field kinds an ONNX model needs (varint, fixed32,
 * length-delimited bytes, strings, nested messages, packed int64s). A message is the concatenation of its
 * encoded fields, so encoding is plain functions returning bytes, composed bottom-up; no schema, no
 * reflection. Field numbers live with the messages that use them (onnx.ts).
 * The read side is only a field walker (field headers, to skip or take a payload): enough to read a
 * model's metadata back; reading graphs is left to the runtime that loads the file.
 *
 * Hand-written rather than a dependency: the npm packages that ship generated ONNX classes (onnx-proto)
 * pin protobufjs 6, and writing is ~80 lines.
 */

/** Wire types (protobuf encoding spec). */
const VARINT = 0;
const FIXED64 = 1;
const LEN = 2;
const FIXED32 = 5;

/** A varint; negative int64 values are written as their 10-byte two's complement, as protobuf does. */
export function varint(value: number | bigint): Uint8Array {
  let v = BigInt.asUintN(64, BigInt(value));
  const out: number[] = [];
  do {
    const byte = Number(v & 0x7fn);
    v >>= 7n;
    out.push(v ? byte | 0x80 : byte);
  } while (v);
  return Uint8Array.from(out);
}

function tag(field: number, wire: number): Uint8Array {
  return varint((field << 3) | wire);
}

/** Concatenates byte chunks (a message is its fields, in any order; repeated fields are repeated chunks). */
export function concat(chunks: readonly Uint8Array[]): Uint8Array {
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

/** An integer field (int32, int64, enum, bool). */
export function intField(field: number, value: number | bigint): Uint8Array {
  return concat([tag(field, VARINT), varint(value)]);
}

/** A `float` field (fixed32, little-endian). */
export function floatField(field: number, value: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setFloat32(0, value, true);
  return concat([tag(field, FIXED32), b]);
}

/** A `bytes` field, or a nested message (already encoded). */
export function bytesField(field: number, bytes: Uint8Array): Uint8Array {
  return concat([tag(field, LEN), varint(bytes.length), bytes]);
}

/** A `string` field (UTF-8). */
export function stringField(field: number, s: string): Uint8Array {
  return bytesField(field, new TextEncoder().encode(s));
}

/** A nested message made of the given fields. */
export function messageField(field: number, fields: readonly Uint8Array[]): Uint8Array {
  return bytesField(field, concat(fields));
}

/** A packed `repeated int64` field (proto3's default encoding for repeated scalars). */
export function packedInts(field: number, values: readonly (number | bigint)[]): Uint8Array {
  return bytesField(field, concat(values.map((v) => varint(v))));
}

/** The little-endian bytes of a float32 array (protobuf `bytes` payloads such as ONNX `raw_data`). */
export function float32Bytes(data: Float32Array): Uint8Array {
  const out = new Uint8Array(data.length * 4);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => view.setFloat32(4 * i, v, true));
  return out;
}

/** The little-endian bytes of int64 values. */
export function int64Bytes(values: readonly (number | bigint)[]): Uint8Array {
  const out = new Uint8Array(values.length * 8);
  const view = new DataView(out.buffer);
  values.forEach((v, i) => view.setBigInt64(8 * i, BigInt(v), true));
  return out;
}

/** A varint read at `at` (values up to 2^53: tags, lengths, counts): the value and the offset after it. */
export function readVarint(b: Uint8Array, at: number): [number, number] {
  let v = 0;
  for (let shift = 0, i = at; i < b.length && shift < 64; shift += 7, i++) {
    v += (b[i] & 0x7f) * 2 ** shift;
    if (!(b[i] & 0x80)) return [v, i + 1];
  }
  throw new Error('protobuf: truncated varint');
}

/** A field's header: its number, and where its payload starts and ends (relative to the header's start). */
export interface FieldHeader {
  readonly field: number;
  readonly payloadStart: number;
  readonly payloadEnd: number;
  /** Length-delimited (bytes, string, nested message): the payload is worth reading; other kinds are skipped. */
  readonly delimited: boolean;
}

/** The header of the field that starts at `head[0]` (`head`: at least the first 20 bytes of the field, or all that is left). */
export function fieldHeader(head: Uint8Array): FieldHeader {
  const [tagValue, afterTag] = readVarint(head, 0);
  const field = Math.floor(tagValue / 8);
  const wire = tagValue % 8;
  if (wire === VARINT) return { field, payloadStart: afterTag, payloadEnd: readVarint(head, afterTag)[1], delimited: false };
  if (wire === FIXED64) return { field, payloadStart: afterTag, payloadEnd: afterTag + 8, delimited: false };
  if (wire === FIXED32) return { field, payloadStart: afterTag, payloadEnd: afterTag + 4, delimited: false };
  if (wire === LEN) {
    const [length, start] = readVarint(head, afterTag);
    return { field, payloadStart: start, payloadEnd: start + length, delimited: true };
  }
  throw new Error(`protobuf: unsupported wire type ${wire} (field ${field})`);
}

/** The length-delimited fields of an in-memory message, in order: field number and payload. */
export function delimitedFields(b: Uint8Array): { field: number; payload: Uint8Array }[] {
  const out: { field: number; payload: Uint8Array }[] = [];
  for (let at = 0; at < b.length;) {
    const h = fieldHeader(b.subarray(at, at + 20));
    if (at + h.payloadEnd > b.length) throw new Error('protobuf: truncated field');
    if (h.delimited) out.push({ field: h.field, payload: b.subarray(at + h.payloadStart, at + h.payloadEnd) });
    at += h.payloadEnd;
  }
  return out;
}
