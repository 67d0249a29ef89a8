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
 * The unpickler (pickle.ts) understands only what a (nested) state_dict needs, and this file's hooks refuse every
 * global outside a small allow-list, so a malicious pickle can at worst produce an error. Locations ('cuda:0')
 * are ignored. zip.ts reads the archive; torch-storage.ts copies tensors out of their storages.
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
import { ascii, fail, FormatError, hex, u64, view } from './bytes.ts';
import { readFileOrFail } from './files.ts';
import { dictKey, unpickle, type PickleHooks } from './pickle.ts';
import type { Entry } from './safetensors.ts';
import {
  elementSize, fillTensors, rebuildTensor, storageDTypes, storageRef,
  type PendingTensor, type StorageRef, type TorchDType,
} from './torch-storage.ts';
import { readZipDirectory, zipRecord, type ZipEntry } from './zip.ts';

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
// The allow-list, as unpickler hooks

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

/**
 * The allow-list as unpickler hooks: globals resolve to Global markers, calls rebuild tensors and OrderedDicts,
 * only an OrderedDict can be instantiated, and only dicts and tensors take state (a state_dict's `_metadata`
 * attribute, dropped).
 */
function torchHooks(persistentLoad: (pid: unknown) => unknown, pending: PendingTensor[]): PickleHooks {
  return {
    global: resolveGlobal,
    call: (fn, args) => callGlobal(fn, args, pending),
    newObj: (cls) => {
      if (cls instanceof Global && cls.name === 'collections.OrderedDict') return new Map();
      return fail(`pickle instantiates '${cls instanceof Global ? cls.name : '?'}', which is not a class`);
    },
    build: (obj) => obj instanceof Map || isTensorEntry(obj),
    persistentLoad,
  };
}

function unpickleTorch(bytes: Uint8Array, start: number, what: string, persistentLoad: (pid: unknown) => unknown, pending: PendingTensor[]) {
  return unpickle(bytes, start, what, torchHooks(persistentLoad, pending));
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
  const value = unpickleTorch(record('data.pkl')!, 0, `${prefix}data.pkl`, persistentLoad, pending).value;

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
  const header = (start: number, what: string) => unpickleTorch(bytes, start, what, noPersistentIds, pending);

  const magic = header(0, 'the magic number pickle');
  if (magic.value !== MAGIC_NUMBER) fail('not a PyTorch checkpoint (a pickle, but without the torch.save magic number)');
  const version = header(magic.end, 'the protocol version pickle');
  if (version.value !== LEGACY_PROTOCOL_VERSION) fail(`unsupported legacy protocol version ${String(version.value)}`);
  const sysInfo = header(version.end, 'the sys_info pickle'); // type sizes and endianness; data is always little-endian

  const storages = storageRegistry();
  const persistentLoad = (pid: unknown) => legacyStorage(pid, storages);
  const main = unpickleTorch(bytes, sysInfo.end, 'the main pickle', persistentLoad, pending);
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
