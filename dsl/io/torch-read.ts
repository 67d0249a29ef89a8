/**
 * A safe reader for PyTorch checkpoints (`torch.save` output), without PyTorch and without running any code.
 *
 * Two container formats:
 * - zip (torch >= 1.6): `<archive>/data.pkl` is the pickled object, each storage is a raw record
 *   `<archive>/data/<key>`, `<archive>/byteorder` (torch >= 2.1; absent means little-endian).
 * - legacy (torch < 1.6, e.g. the official StarGAN v2 `*_nets_ema.ckpt`): a stream of pickles: the magic
 *   number, the protocol version (1001), sys_info, the main pickle, the sorted list of storage keys, then
 *   per key an 8-byte little-endian element count and the raw little-endian elements.
 * In both, the main pickle refers to storages by persistent ids `('storage', XStorage, key, location, numel[,
 * view_metadata])` and builds tensors with `torch._utils._rebuild_tensor_v2(storage, offset, size, stride, ...)`.
 *
 * The unpickler understands only what a (nested) state_dict needs and refuses every global outside a small
 * allow-list, so a malicious pickle can at worst produce an error. Locations ('cuda:0') are ignored.
 *
 * Output (the value `torch.save` was given):
 * - dict / OrderedDict -> `Map` keyed by the Python key (string, number, bigint, boolean or null); a Map, not a
 *   plain object, so keys like `__proto__` are just keys. OrderedDict attributes (a state_dict's `_metadata`)
 *   are dropped.
 * - tensor / Parameter -> `Entry` from safetensors.ts: a contiguous row-major copy honouring the storage offset
 *   and strides; float32/float64/float16/bfloat16 -> 'F32' Float32Array, int64/int32/int16/int8/uint8/bool
 *   -> 'I32' Int32Array (an int64 outside the int32 range is an error, not a silent wrap).
 * - list, tuple -> array; str -> string; bytes -> Uint8Array; float -> number; int -> number, or bigint beyond
 *   2^53; bool -> boolean; None -> null.
 * Errors are `Error`s whose one-line message starts with the source name.
 */
import * as zlib from 'node:zlib';
import { readFileOrFail } from './files.ts';
import { halfToFloat, type Entry } from './safetensors.ts';

/** Reads a checkpoint file; errors name the file. */
export function readTorchCheckpoint(file: string): unknown {
  return parseTorchCheckpoint(readFileOrFail(file), file);
}

/** Parses checkpoint bytes in either format; `source` names the file in error messages. */
export function parseTorchCheckpoint(bytes: Uint8Array, source: string): unknown {
  try {
    if (bytes[0] === 0x50 && bytes[1] === 0x4b) return parseZipCheckpoint(bytes); // "PK"
    if (bytes[0] === 0x80) return parseLegacyCheckpoint(bytes); // pickle PROTO opcode
    if (ascii(bytes.subarray(257, 262)) === 'ustar') fail('tar-based checkpoint (torch <= 0.3) is not supported');
    if (bytes.length === 0) fail('not a PyTorch checkpoint (empty file)');
    return fail(`not a PyTorch checkpoint (neither a zip archive nor a pickle stream; starts with ${hex(bytes.subarray(0, 4))})`);
  } catch (e) {
    if (e instanceof FormatError) throw new Error(`${source}: ${e.message}`);
    // Bounds are checked explicitly; this only catches what slips through (or an allocation failure).
    if (e instanceof RangeError) throw new Error(`${source}: corrupt checkpoint (${e.message})`);
    throw e;
  }
}

/** True for the tensors this reader produces. */
export function isTensorEntry(v: unknown): v is Entry {
  return typeof v === 'object' && v !== null && !(v instanceof Map) && !Array.isArray(v) &&
    'data' in v && (v.data instanceof Float32Array || v.data instanceof Int32Array);
}

/**
 * Every tensor in nested dicts (and lists, by index) under dotted names: `{generator: {from_rgb.weight: T}}`
 * -> `generator.from_rgb.weight`. Non-tensor leaves are dropped; a bare tensor is named ''.
 */
export function flattenStateDicts(obj: unknown): Map<string, Entry> {
  const out = new Map<string, Entry>();
  const onPath = new Set<object>(); // a pickle can build a list that contains itself
  const visit = (v: unknown, name: string): void => {
    if (isTensorEntry(v)) {
      if (out.has(name)) throw new Error(`flattenStateDicts: two tensors are named '${name}'`);
      out.set(name, v);
      return;
    }
    const children = v instanceof Map ? [...v] : Array.isArray(v) ? v.map((x, i) => [i, x] as const) : [];
    if (children.length === 0) return;
    if (onPath.has(v as object)) throw new Error(`flattenStateDicts: '${name}' contains itself`);
    onPath.add(v as object);
    for (const [k, x] of children) visit(x, name ? `${name}.${String(k)}` : String(k));
    onPath.delete(v as object);
  };
  visit(obj, '');
  return out;
}

// ---------------------------------------------------------------------------------------------------------
// Errors and byte helpers

/** A problem with the file; parseTorchCheckpoint prefixes the source name. */
class FormatError extends Error {}

function fail(why: string): never {
  throw new FormatError(why);
}

const ascii = (b: Uint8Array): string => String.fromCharCode(...b);
const hex = (b: Uint8Array): string => [...b].map((x) => x.toString(16).padStart(2, '0')).join(' ');
const utf8 = new TextDecoder('utf-8', { fatal: true });
function decodeUtf8(b: Uint8Array, what: string): string {
  try {
    return utf8.decode(b);
  } catch {
    return fail(`invalid utf-8 in ${what}`);
  }
}
const view = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

/** A u64 that must be an exact JS number (sizes, offsets, counts). */
function u64(dv: DataView, at: number, what: string): number {
  const v = dv.getBigUint64(at, true);
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) fail(`${what} ${v} is too large`);
  return Number(v);
}

// ---------------------------------------------------------------------------------------------------------
// Storages and tensors

type TorchDType = 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int64' | 'int32' | 'int16' | 'int8' | 'uint8' | 'bool';

const storageDTypes: Record<string, TorchDType> = {
  FloatStorage: 'float32', DoubleStorage: 'float64', HalfStorage: 'float16', BFloat16Storage: 'bfloat16',
  LongStorage: 'int64', IntStorage: 'int32', ShortStorage: 'int16', CharStorage: 'int8', ByteStorage: 'uint8',
  BoolStorage: 'bool',
};

const elementSize: Record<TorchDType, number> = {
  float32: 4, float64: 8, float16: 2, bfloat16: 2, int64: 8, int32: 4, int16: 2, int8: 1, uint8: 1, bool: 1,
};

const isFloat = (d: TorchDType): boolean => d.startsWith('float') || d === 'bfloat16';

/**
 * A storage as the pickle refers to it: `numel` elements of `dtype` starting `offset` elements into the raw
 * record `key` (offset is non-zero only for the views of very old legacy files).
 */
interface StorageRef {
  readonly key: string;
  readonly dtype: TorchDType;
  readonly offset: number;
  readonly numel: number;
}

/**
 * A tensor whose data is filled once the storages are read: in the legacy format they come after the
 * pickle, so every tensor is allocated during unpickling and filled at the end, in both formats.
 */
interface PendingTensor {
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
function rebuildTensor(storage: unknown, offset: unknown, size: unknown, stride: unknown, pending: PendingTensor[]): Entry {
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
function fillTensors(pending: PendingTensor[], record: (ref: StorageRef) => Uint8Array, little: boolean): void {
  for (const t of pending) fillTensor(t, record(t.storage), little);
}

// ---------------------------------------------------------------------------------------------------------
// The unpickler

/** A global the allow-list accepted; only REDUCE / NEWOBJ give it meaning. */
class Global {
  constructor(readonly name: string) {}
}

const rebuildFunctions = new Set([
  'torch._utils._rebuild_tensor', 'torch._utils._rebuild_tensor_v2',
  'torch._utils._rebuild_parameter', 'torch._utils._rebuild_parameter_with_state',
]);

/**
 * The allow-list. Storage types are named `torch.XStorage`, or `torch.cuda.XStorage` in files saved from a
 * GPU by older torch (torch's own loader accepts any module for them, since it only needs the dtype).
 */
function resolveGlobal(module: string, name: string): Global {
  const full = `${module}.${name}`;
  const storage = (module === 'torch' || module === 'torch.cuda') && name in storageDTypes;
  if (full === 'collections.OrderedDict' || rebuildFunctions.has(full) || storage) return new Global(full);
  return fail(`refusing to load: pickle references global '${full}' (only tensors and state_dicts are allowed)`);
}

const storageDType = (g: unknown): TorchDType | undefined =>
  g instanceof Global ? storageDTypes[g.name.slice(g.name.lastIndexOf('.') + 1)] : undefined;

/** Every StorageRef this module made; nothing in a pickle can forge one. */
const storageRefs = new WeakSet<object>();

function isStorageRef(v: unknown): v is StorageRef {
  return typeof v === 'object' && v !== null && storageRefs.has(v);
}

function storageRef(ref: StorageRef): StorageRef {
  storageRefs.add(ref);
  return ref;
}

/** What calling an allowed global means; everything else is an error. */
function callGlobal(fn: unknown, args: unknown, pending: PendingTensor[]): unknown {
  if (!(fn instanceof Global)) return fail('pickle calls something that is not a global');
  if (!Array.isArray(args)) return fail(`pickle calls '${fn.name}' without an argument tuple`);
  switch (fn.name) {
    case 'collections.OrderedDict':
      return args.length === 0 ? new Map() : toMap(args[0]);
    case 'torch._utils._rebuild_tensor':
    case 'torch._utils._rebuild_tensor_v2':
      return rebuildTensor(args[0], args[1], args[2], args[3], pending);
    case 'torch._utils._rebuild_parameter':
    case 'torch._utils._rebuild_parameter_with_state':
      if (!isTensorEntry(args[0])) fail(`${fn.name} called on something that is not a tensor`);
      return args[0]; // a Parameter is its data; requires_grad and hooks do not matter here
    default:
      return fail(`pickle calls '${fn.name}', which is not a function`);
  }
}

function toMap(pairs: unknown): Map<unknown, unknown> {
  if (!Array.isArray(pairs) || !pairs.every((p) => Array.isArray(p) && p.length === 2)) fail('OrderedDict argument is not a list of pairs');
  const m = new Map<unknown, unknown>();
  for (const [k, v] of pairs as [unknown, unknown][]) m.set(dictKey(k), v);
  return m;
}

function dictKey(k: unknown): unknown {
  const t = typeof k;
  if (k === null || t === 'string' || t === 'number' || t === 'bigint' || t === 'boolean') return k;
  return fail('dict key is not a string, number, bool or None');
}

/** Every pickle opcode by byte, so unsupported ones are named in errors. */
const opcodes: Record<string, string> = {
  MARK: '(', STOP: '.', POP: '0', POP_MARK: '1', DUP: '2', FLOAT: 'F', INT: 'I', BININT: 'J', BININT1: 'K',
  LONG: 'L', BININT2: 'M', NONE: 'N', PERSID: 'P', BINPERSID: 'Q', REDUCE: 'R', STRING: 'S', BINSTRING: 'T',
  SHORT_BINSTRING: 'U', UNICODE: 'V', BINUNICODE: 'X', APPEND: 'a', BUILD: 'b', GLOBAL: 'c', DICT: 'd',
  EMPTY_DICT: '}', APPENDS: 'e', GET: 'g', BINGET: 'h', INST: 'i', LONG_BINGET: 'j', LIST: 'l', EMPTY_LIST: ']',
  OBJ: 'o', PUT: 'p', BINPUT: 'q', LONG_BINPUT: 'r', SETITEM: 's', TUPLE: 't', EMPTY_TUPLE: ')', SETITEMS: 'u',
  BINFLOAT: 'G', PROTO: '\x80', NEWOBJ: '\x81', EXT1: '\x82', EXT2: '\x83', EXT4: '\x84', TUPLE1: '\x85',
  TUPLE2: '\x86', TUPLE3: '\x87', NEWTRUE: '\x88', NEWFALSE: '\x89', LONG1: '\x8a', LONG4: '\x8b',
  BINBYTES: 'B', SHORT_BINBYTES: 'C', SHORT_BINUNICODE: '\x8c', BINUNICODE8: '\x8d', BINBYTES8: '\x8e',
  EMPTY_SET: '\x8f', ADDITEMS: '\x90', FROZENSET: '\x91', NEWOBJ_EX: '\x92', STACK_GLOBAL: '\x93',
  MEMOIZE: '\x94', FRAME: '\x95', BYTEARRAY8: '\x96', NEXT_BUFFER: '\x97', READONLY_BUFFER: '\x98',
};
const opcodeNames = new Map(Object.entries(opcodes).map(([name, ch]) => [ch.charCodeAt(0), name]));

/**
 * Unpickles one pickle starting at `start` of `bytes` (protocols 2-5, the opcodes torch.save emits for
 * dicts, lists, tuples, scalars, strings and tensors). `persistentLoad` resolves BINPERSID ids; tensors are
 * appended to `pending`. `what` names the pickle in errors.
 */
class Unpickler {
  private pos: number;
  private stack: unknown[] = [];
  private readonly marks: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  private readonly dv: DataView;
  private readonly handlers: Map<number, () => void>;
  private result: { value: unknown } | undefined;

  constructor(
    private readonly bytes: Uint8Array,
    start: number,
    private readonly what: string,
    private readonly persistentLoad: (pid: unknown) => unknown,
    private readonly pending: PendingTensor[],
  ) {
    this.pos = start;
    this.dv = view(bytes);
    this.handlers = new Map(Object.entries(this.table()).map(([name, h]) => [opcodes[name].charCodeAt(0), h]));
  }

  /** Runs to STOP; returns the value and the position just after the pickle. */
  load(): { value: unknown; end: number } {
    while (!this.result) {
      const at = this.pos;
      const code = this.take(1)[0];
      const handler = this.handlers.get(code);
      if (!handler) {
        const name = opcodeNames.has(code) ? `opcode ${opcodeNames.get(code)}` : 'byte (not a pickle opcode)';
        fail(`unsupported pickle ${name} 0x${code.toString(16).padStart(2, '0')} at byte ${at} of ${this.what}`);
      }
      handler();
    }
    return { value: this.result.value, end: this.pos };
  }

  private table(): Record<string, () => void> {
    const push = (v: unknown): void => { this.stack.push(v); };
    return {
      PROTO: () => { const v = this.take(1)[0]; if (v > 5) fail(`unsupported pickle protocol ${v} in ${this.what}`); },
      FRAME: () => { this.take(8); }, // frames only help buffered readers; the opcodes follow inline
      STOP: () => { this.result = { value: this.pop() }; },
      MARK: () => { this.marks.push(this.stack); this.stack = []; },
      POP: () => { if (this.stack.length) this.pop(); else this.popMark(); },
      POP_MARK: () => { this.popMark(); },
      DUP: () => push(this.top()),
      NONE: () => push(null),
      NEWTRUE: () => push(true),
      NEWFALSE: () => push(false),
      BININT: () => push(this.dv.getInt32(this.skip(4), true)),
      BININT1: () => push(this.take(1)[0]),
      BININT2: () => push(this.dv.getUint16(this.skip(2), true)),
      LONG1: () => push(this.long(this.take(1)[0])),
      LONG4: () => push(this.long(this.length(4))),
      BINFLOAT: () => push(this.dv.getFloat64(this.skip(8), false)), // big-endian, unlike everything else
      BINUNICODE: () => push(this.text(this.length(4))),
      SHORT_BINUNICODE: () => push(this.text(this.take(1)[0])),
      BINUNICODE8: () => push(this.text(this.length(8))),
      BINSTRING: () => push(this.text(this.length(4))), // Python 2 str; torch.load decodes it as utf-8
      SHORT_BINSTRING: () => push(this.text(this.take(1)[0])),
      BINBYTES: () => push(new Uint8Array(this.take(this.length(4)))), // a copy, not a view of the file
      SHORT_BINBYTES: () => push(new Uint8Array(this.take(this.take(1)[0]))),
      BINBYTES8: () => push(new Uint8Array(this.take(this.length(8)))),
      EMPTY_DICT: () => push(new Map()),
      EMPTY_LIST: () => push([]),
      EMPTY_TUPLE: () => push([]),
      TUPLE: () => push(this.popMark()),
      TUPLE1: () => push(this.popN(1)),
      TUPLE2: () => push(this.popN(2)),
      TUPLE3: () => push(this.popN(3)),
      LIST: () => push(this.popMark()),
      DICT: () => push(this.setItems(new Map(), this.popMark())),
      APPEND: () => { const v = this.pop(); this.list().push(v); },
      APPENDS: () => { const items = this.popMark(); this.list().push(...items); },
      SETITEM: () => { const kv = this.popN(2); this.setItems(this.dict(), kv); },
      SETITEMS: () => { const kv = this.popMark(); this.setItems(this.dict(), kv); },
      BINPUT: () => { this.memo.set(this.take(1)[0], this.top()); },
      LONG_BINPUT: () => { this.memo.set(this.dv.getUint32(this.skip(4), true), this.top()); },
      MEMOIZE: () => { this.memo.set(this.memo.size, this.top()); },
      BINGET: () => push(this.get(this.take(1)[0])),
      LONG_BINGET: () => push(this.get(this.dv.getUint32(this.skip(4), true))),
      GLOBAL: () => { const module = this.line(); push(resolveGlobal(module, this.line())); },
      STACK_GLOBAL: () => { const [module, name] = this.popN(2); push(resolveGlobal(this.str(module), this.str(name))); },
      REDUCE: () => { const [fn, args] = this.popN(2); push(callGlobal(fn, args, this.pending)); },
      NEWOBJ: () => { const [cls, args] = this.popN(2); push(this.newObj(cls, args)); },
      NEWOBJ_EX: () => { const [cls, args] = this.popN(3); push(this.newObj(cls, args)); },
      BUILD: () => { this.pop(); this.build(this.top()); },
      BINPERSID: () => push(this.persistentLoad(this.pop())),
    };
  }

  // --- reading the byte stream

  /** Advances past n bytes, returning where they start; running out means a truncated file. */
  private skip(n: number): number {
    const at = this.pos;
    if (n > this.bytes.length - at) fail(`truncated or corrupt: ${this.what} ends in the middle of a pickle (at byte ${this.bytes.length})`);
    this.pos += n;
    return at;
  }

  private take(n: number): Uint8Array {
    const at = this.skip(n);
    return this.bytes.subarray(at, at + n);
  }

  private length(width: 4 | 8): number {
    return width === 4 ? this.dv.getUint32(this.skip(4), true) : u64(this.dv, this.skip(8), 'pickle string length');
  }

  private text(n: number): string {
    const at = this.skip(n);
    return decodeUtf8(this.bytes.subarray(at, at + n), `string at byte ${at} of ${this.what}`);
  }

  /** A newline-terminated line (GLOBAL's module and name). */
  private line(): string {
    const end = this.bytes.indexOf(0x0a, this.pos);
    if (end < 0) fail(`truncated or corrupt: ${this.what} ends in the middle of a pickle (at byte ${this.bytes.length})`);
    const s = this.text(end - this.pos);
    this.skip(1);
    return s;
  }

  /** Two's-complement little-endian integer of n bytes; a number when exact, else a bigint. */
  private long(n: number): number | bigint {
    const b = this.take(n);
    let v = 0n;
    for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]);
    if (n > 0 && b[n - 1] & 0x80) v -= 1n << BigInt(8 * n);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  }

  // --- the stack

  private pop(): unknown {
    if (this.stack.length === 0) fail(`corrupt pickle: stack underflow at byte ${this.pos - 1} of ${this.what}`);
    return this.stack.pop();
  }

  private popN(n: number): unknown[] {
    if (this.stack.length < n) fail(`corrupt pickle: stack underflow at byte ${this.pos - 1} of ${this.what}`);
    return this.stack.splice(this.stack.length - n, n);
  }

  private top(): unknown {
    if (this.stack.length === 0) fail(`corrupt pickle: stack underflow at byte ${this.pos - 1} of ${this.what}`);
    return this.stack[this.stack.length - 1];
  }

  private popMark(): unknown[] {
    const items = this.stack;
    const below = this.marks.pop();
    if (!below) fail(`corrupt pickle: no MARK before byte ${this.pos - 1} of ${this.what}`);
    this.stack = below;
    return items;
  }

  private get(i: number): unknown {
    if (!this.memo.has(i)) fail(`corrupt pickle: memo entry ${i} read before it was written in ${this.what}`);
    return this.memo.get(i);
  }

  private list(): unknown[] {
    const l = this.top();
    if (!Array.isArray(l)) fail(`corrupt pickle: APPEND to something that is not a list in ${this.what}`);
    return l;
  }

  private dict(): Map<unknown, unknown> {
    const d = this.top();
    if (!(d instanceof Map)) fail(`corrupt pickle: SETITEM on something that is not a dict in ${this.what}`);
    return d;
  }

  private setItems(d: Map<unknown, unknown>, kv: unknown[]): Map<unknown, unknown> {
    if (kv.length % 2) fail(`corrupt pickle: odd number of dict items in ${this.what}`);
    for (let i = 0; i < kv.length; i += 2) d.set(dictKey(kv[i]), kv[i + 1]);
    return d;
  }

  private str(v: unknown): string {
    if (typeof v !== 'string') fail(`corrupt pickle: STACK_GLOBAL names are not strings in ${this.what}`);
    return v;
  }

  /** `cls.__new__(cls, *args)`: only an (empty) OrderedDict. */
  private newObj(cls: unknown, args: unknown): unknown {
    if (cls instanceof Global && cls.name === 'collections.OrderedDict') return new Map();
    return fail(`pickle instantiates '${cls instanceof Global ? cls.name : '?'}', which is not a class`);
  }

  /** `obj.__setstate__(state)`: a state_dict's `_metadata` attribute (dropped); nothing else has state. */
  private build(obj: unknown): void {
    if (!(obj instanceof Map) && !isTensorEntry(obj)) fail(`corrupt pickle: BUILD on an object without state in ${this.what}`);
  }
}

function unpickle(bytes: Uint8Array, start: number, what: string, persistentLoad: (pid: unknown) => unknown, pending: PendingTensor[]) {
  return new Unpickler(bytes, start, what, persistentLoad, pending).load();
}

const noPersistentIds = (): never => fail('unexpected persistent id outside the main pickle');

// ---------------------------------------------------------------------------------------------------------
// Persistent ids -> storages

/** The first field of a persistent id; old files may have it as bytes. */
function pidTypename(pid: unknown): string {
  if (!Array.isArray(pid) || pid.length === 0) return fail('persistent id is not a tuple');
  const t = pid[0];
  return t instanceof Uint8Array ? ascii(t) : String(t);
}

/**
 * Keeps one StorageRef per key, so tensors sharing a storage share it, and rejects a key seen with two
 * dtypes or sizes (torch.save refuses to write that).
 */
function storageRegistry() {
  const byKey = new Map<string, StorageRef>();
  return {
    byKey,
    root(type: unknown, key: unknown, numel: unknown): StorageRef {
      const dtype = storageDType(type);
      if (!dtype) fail('persistent id does not name a storage type');
      if (typeof key !== 'string') fail('storage key is not a string');
      if (!Number.isSafeInteger(numel) || (numel as number) < 0) fail(`storage '${key}' has invalid size ${String(numel)}`);
      const seen = byKey.get(key);
      if (seen && (seen.dtype !== dtype || seen.numel !== numel)) fail(`storage '${key}' is referenced with two different types or sizes`);
      const ref = seen ?? storageRef({ key, dtype, offset: 0, numel: numel as number });
      byKey.set(key, ref);
      return ref;
    },
  };
}

// ---------------------------------------------------------------------------------------------------------
// Zip format

interface ZipEntry {
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

function readZipDirectory(bytes: Uint8Array): Map<string, ZipEntry> {
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
function zipRecord(bytes: Uint8Array, e: ZipEntry): Uint8Array {
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

/** The `<archive>/` prefix: the directory holding data.pkl (torch names it after the file, or 'archive'). */
function archivePrefix(entries: Map<string, ZipEntry>): string {
  const pkl = [...entries.keys()].filter((n) => /^([^/]+\/)?data\.pkl$/.test(n));
  if (pkl.length === 0) fail('missing data.pkl in the zip archive (not a torch.save checkpoint?)');
  if (pkl.length > 1) fail(`several data.pkl records in the zip archive (${pkl.join(', ')})`);
  return pkl[0].slice(0, -'data.pkl'.length);
}

function parseZipCheckpoint(bytes: Uint8Array): unknown {
  const entries = readZipDirectory(bytes);
  const prefix = archivePrefix(entries);
  const record = (name: string): Uint8Array | undefined => {
    const e = entries.get(prefix + name);
    return e && zipRecord(bytes, e);
  };
  const order = record('byteorder');
  const byteorder = order ? ascii(order).trim() : 'little';
  if (byteorder !== 'little' && byteorder !== 'big') fail(`unknown byteorder '${byteorder}'`);

  const storages = storageRegistry();
  const persistentLoad = (pid: unknown): StorageRef => {
    if (pidTypename(pid) !== 'storage') fail(`unsupported persistent id type '${pidTypename(pid)}'`);
    const [, type, key, , numel] = pid as unknown[];
    return storages.root(type, key, numel);
  };
  const pending: PendingTensor[] = [];
  const value = unpickle(record('data.pkl')!, 0, `${prefix}data.pkl`, persistentLoad, pending).value;

  const raw = new Map<string, Uint8Array>();
  const storageBytes = (ref: StorageRef): Uint8Array => {
    const name = `${prefix}data/${ref.key}`;
    const data = raw.get(ref.key) ?? record(`data/${ref.key}`) ?? fail(`missing storage record '${name}'`);
    raw.set(ref.key, data);
    const need = (ref.offset + ref.numel) * elementSize[ref.dtype];
    if (data.length < need) fail(`storage record '${name}' has ${data.length} bytes, expected ${need}`);
    return data;
  };
  fillTensors(pending, storageBytes, byteorder === 'little');
  return value;
}

// ---------------------------------------------------------------------------------------------------------
// Legacy format

const MAGIC_NUMBER = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL_VERSION = 1001;

function parseLegacyCheckpoint(bytes: Uint8Array): unknown {
  const pending: PendingTensor[] = [];
  const header = (start: number, what: string) => unpickle(bytes, start, what, noPersistentIds, pending);

  const magic = header(0, 'the magic number pickle');
  if (magic.value !== MAGIC_NUMBER) fail('not a PyTorch checkpoint (a pickle, but without the torch.save magic number)');
  const version = header(magic.end, 'the protocol version pickle');
  if (version.value !== LEGACY_PROTOCOL_VERSION) fail(`unsupported legacy protocol version ${String(version.value)}`);
  const sysInfo = header(version.end, 'the sys_info pickle'); // type sizes and endianness; data is always little-endian

  const storages = storageRegistry();
  const persistentLoad = (pid: unknown) => legacyStorage(pid, storages);
  const main = unpickle(bytes, sysInfo.end, 'the main pickle', persistentLoad, pending);
  const keys = header(main.end, 'the storage key list');
  if (!Array.isArray(keys.value) || !keys.value.every((k) => typeof k === 'string')) fail('storage key list is not a list of strings');

  const records = readLegacyStorages(bytes, keys.end, keys.value as string[], storages.byKey);
  fillTensors(pending, (ref) => records.get(ref.key) ?? fail(`missing storage record '${ref.key}'`), true);
  return main.value;
}

/** `('storage', XStorage, root_key, location, root_numel, view_metadata)`; views are (key, offset, numel). */
function legacyStorage(pid: unknown, storages: ReturnType<typeof storageRegistry>): StorageRef {
  const typename = pidTypename(pid);
  if (typename === 'module') fail('checkpoint pickles a whole nn.Module, not a state_dict (refusing to load classes)');
  if (typename !== 'storage') fail(`unsupported persistent id type '${typename}'`);
  const [, type, key, , numel, viewMetadata] = pid as unknown[];
  const root = storages.root(type, key, numel);
  if (viewMetadata === null || viewMetadata === undefined) return root;
  const [, offset, size] = Array.isArray(viewMetadata) ? viewMetadata : [];
  if (!Number.isSafeInteger(offset) || !Number.isSafeInteger(size) || offset < 0 || size < 0 || offset + size > root.numel) {
    fail(`storage view of '${root.key}' is out of bounds`);
  }
  return storageRef({ key: root.key, dtype: root.dtype, offset: root.offset + offset, numel: size });
}

/** After the key list: per key, an 8-byte little-endian element count, then the elements. */
function readLegacyStorages(bytes: Uint8Array, start: number, keys: string[], byKey: Map<string, StorageRef>): Map<string, Uint8Array> {
  const dv = view(bytes);
  const records = new Map<string, Uint8Array>();
  let p = start;
  for (const key of keys) {
    const ref = byKey.get(key) ?? fail(`storage '${key}' is listed but no tensor uses it`);
    if (p + 8 > bytes.length) fail(`truncated: storage '${key}' is missing (file ends at byte ${bytes.length})`);
    const count = u64(dv, p, `element count of storage '${key}'`);
    if (count !== ref.numel) fail(`storage '${key}' has ${count} elements in the file but ${ref.numel} in the pickle`);
    const n = count * elementSize[ref.dtype];
    if (p + 8 + n > bytes.length) fail(`truncated: storage '${key}' needs ${n} bytes at byte ${p + 8}, the file ends at ${bytes.length}`);
    records.set(key, bytes.subarray(p + 8, p + 8 + n));
    p += 8 + n;
  }
  return records;
}
