/**
 * Protocol-buffers wire format, write side only: the few field kinds an ONNX model needs (varint, fixed32,
 * length-delimited bytes, strings, nested messages, packed int64s). A message is the concatenation of its
 * encoded fields, so encoding is plain functions returning bytes, composed bottom-up; no schema, no
 * reflection. Field numbers live with the messages that use them (onnx.ts).
 *
 * Hand-written rather than a dependency: the npm packages that ship generated ONNX classes (onnx-proto)
 * pin protobufjs 6, and writing is ~80 lines; reading is left to the runtime that loads the file.
 */

/** Wire types (protobuf encoding spec). */
const VARINT = 0;
const FIXED32 = 5;
const LEN = 2;

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
