/**
 * torch.save storages and the tensors viewing them: the storage dtypes, reading one element of each, and the
 * strided copy that turns a tensor (storage, offset, size, stride) into a contiguous row-major array.
 * Tensors are allocated while unpickling and filled once their storages are read (see torch-read.ts).
 */
import { fail, view } from './bytes.ts';
import { halfToFloat, type Entry } from './safetensors.ts';

export type TorchDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

export const storageDTypes: Record<string, TorchDType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

export const elementSize: Record<TorchDType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

const isFloat = (d: TorchDType): boolean => d.startsWith('float') || d === 'bfloat16';

/**
 * A storage as the pickle refers to it: `numel` elements of `dtype` starting `offset` elements into the raw
 * record `key` (offset is non-zero only for the views of very old legacy files).
 */
export interface StorageRef {
  readonly key: string;
  readonly dtype: TorchDType;
  readonly offset: number;
  readonly numel: number;
}

/**
 * A tensor whose data is filled once the storages are read: in the legacy format they come after the
 * pickle, so every tensor is allocated during unpickling and filled at the end, in both formats.
 */
export interface PendingTensor {
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: number[];
  readonly strides: number[];
  readonly out: Float32Array | Int32Array;
}

/** Reads one element (index in elements from the start of the record) as a JS number. */
function elementReader(dtype: TorchDType, bytes: Uint8Array, little: boolean, key: string): (i: number) => number {
  const dv = view(bytes);
  switch (dtype) {
    case 'float32': return (i) => dv.getFloat32(4 * i, little);
    case 'float64': return (i) => dv.getFloat64(8 * i, little);
    case 'float16': return (i) => halfToFloat(dv.getUint16(2 * i, little));
    case 'bfloat16': return (i) => bfloat16ToFloat(dv.getUint16(2 * i, little));
    case 'int64': return (i) => int64ToInt32(dv.getBigInt64(8 * i, little), key);
    case 'int32': return (i) => dv.getInt32(4 * i, little);
    case 'int16': return (i) => dv.getInt16(2 * i, little);
    case 'int8': return (i) => dv.getInt8(i);
    case 'uint8': case 'bool': return (i) => dv.getUint8(i);
  }
}

const bf16Scratch = new DataView(new ArrayBuffer(4));
function bfloat16ToFloat(b: number): number {
  bf16Scratch.setUint32(0, b << 16); // bfloat16 is the top half of a float32
  return bf16Scratch.getFloat32(0);
}

function int64ToInt32(v: bigint, key: string): number {
  if (v < -2147483648n || v > 2147483647n) fail(`int64 value ${v} in storage '${key}' does not fit in int32`);
  return Number(v);
}

/** Checks the layout against the storage and allocates the output; the data is copied by fillTensor. */
export function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown, pending: PendingTensor[]): Entry {
  if (!isStorageRef(storage)) fail('_rebuild_tensor called on something that is not a storage');
  const ints = (v: unknown, what: string): number[] => {
    if (!Array.isArray(v) || !v.every((x) => Number.isSafeInteger(x) && x >= 0)) fail(`tensor ${what} is not a tuple of non-negative ints`);
    return v as number[];
  };
  const shape = ints(size, 'size');
  const strides = ints(stride, 'stride');
  const [start] = ints([offset], 'storage offset');
  if (shape.length !== strides.length) fail(`tensor has ${shape.length} sizes but ${strides.length} strides`);
  const numel = shape.reduce((a, b) => a * b, 1);
  const last = start + shape.reduce((a, d, i) => a + (d - 1) * strides[i], 0);
  if (numel > 0 && last >= storage.numel) {
    fail(`tensor of shape [${shape}] (strides [${strides}], offset ${start}) reads past the end of storage '${storage.key}' (${storage.numel} elements)`);
  }
  const out = isFloat(storage.dtype) ? new Float32Array(numel) : new Int32Array(numel);
  pending.push({ storage, offset: start, shape, strides, out });
  return { dtype: out instanceof Float32Array ? 'F32' : 'I32', shape, data: out };
}

/** Copies a tensor out of its storage record in row-major order, following the strides. */
function fillTensor(t: PendingTensor, record: Uint8Array, little: boolean): void {
  const { storage, shape, strides, out } = t;
  const base = storage.offset + t.offset;
  const size = elementSize[storage.dtype];
  if (isContiguous(shape, strides) && storage.dtype === 'float32' && little) {
    const bytes = record.subarray(base * size, (base + out.length) * size);
    // Float32Array needs 4-byte alignment; zip records are 64-byte aligned, legacy ones usually not.
    // (new Uint8Array(x) copies; Buffer#slice would not.)
    out.set(bytes.byteOffset % 4 === 0 ? new Float32Array(bytes.buffer, bytes.byteOffset, out.length) : new Float32Array(new Uint8Array(bytes).buffer));
    return;
  }
  const read = elementReader(storage.dtype, record, little, storage.key);
  const index = new Array<number>(shape.length).fill(0);
  let src = base;
  for (let i = 0; i < out.length; i++) {
    out[i] = read(src);
    for (let d = shape.length - 1; d >= 0; d--) { // odometer over the multi-index, last dim fastest
      if (++index[d] < shape[d]) { src += strides[d]; break; }
      index[d] = 0;
      src -= (shape[d] - 1) * strides[d];
    }
  }
}

function isContiguous(shape: number[], strides: number[]): boolean {
  let expected = 1;
  for (let d = shape.length - 1; d >= 0; d--) {
    if (shape[d] !== 1 && strides[d] !== expected) return false;
    expected *= shape[d];
  }
  return true;
}

/** Fills every pending tensor; `record(key)` returns the raw bytes of a storage, checked to be long enough. */
export function fillTensors(pending: PendingTensor[], record: (ref: StorageRef) => Uint8Array, little: boolean): void {
  for (const t of pending) fillTensor(t, record(t.storage), little);
}

/** Every StorageRef this module made; nothing in a pickle can forge one. */
const storageRefs = new WeakSet<object>();

function isStorageRef(v: unknown): v is StorageRef {
  return typeof v === 'object' && v !== null && storageRefs.has(v);
}

/** Registers a StorageRef made by the reader, the only kind rebuildTensor accepts. */
export function storageRef(ref: StorageRef): StorageRef {
  storageRefs.add(ref);
  return ref;
}
