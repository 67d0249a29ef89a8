/**
 * A torch.save writer for state dicts, without PyTorch: `serializeTorchZip` returns the bytes of a zip-format
 * checkpoint (torch >= 1.6) holding `{top: OrderedDict([(name, tensor), ...]), ...}`.
 *
 * The pickle (protocol 2) uses only `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2` and
 * `torch.FloatStorage` / `torch.LongStorage`, so `torch.load(weights_only=True)` accepts it too. Records are
 * stored (not deflated) and their data 64-byte aligned, as torch's own writer does.
 */
import * as os from 'node:os';
import { OP, Pickler } from './pickle.ts';
import type { Entry } from './safetensors.ts';
import { zipStored } from './zip.ts';

/** Data alignment of the stored records (torch's writer aligns to 64 bytes, so storages can be mapped). */
const ALIGN = 64;

/** `collections.OrderedDict()`. */
const emptyOrderedDict = (p: Pickler): Pickler => p.global('collections', 'OrderedDict').op(OP.EMPTY_TUPLE, OP.REDUCE);

/** Row-major strides. */
const strides = (shape: readonly number[]): number[] => {
  const out = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    out[i] = s;
    s *= shape[i];
  }
  return out;
};

/** Little-endian bytes of a storage: float32 as is; int32 widened to int64 (torch's default integer type). */
function storageBytes(e: Entry): Buffer {
  if (os.endianness() !== 'LE') throw new Error('serializeTorchZip: big-endian hosts are not supported');
  if (e.data instanceof Float32Array) return Buffer.from(e.data.buffer, e.data.byteOffset, e.data.byteLength);
  const wide = BigInt64Array.from(e.data, (v) => BigInt(v));
  return Buffer.from(wide.buffer);
}

/** The pickle of `{top: OrderedDict([(name, tensor), ...]), ...}` and the storages it refers to (keys '0', '1', ...). */
function pickleStateDicts(groups: [string, [string, Entry][]][]): { pkl: Buffer; storages: Buffer[] } {
  const p = new Pickler().op(OP.PROTO, 2, OP.EMPTY_DICT);
  const storages: Buffer[] = [];
  if (groups.length) p.op(OP.MARK);
  for (const [top, tensors] of groups) {
    emptyOrderedDict(p.str(top));
    if (tensors.length) p.op(OP.MARK);
    for (const [name, e] of tensors) {
      const numel = e.shape.reduce((a, b) => a * b, 1);
      const key = String(storages.length);
      storages.push(storageBytes(e));
      p.str(name).global('torch._utils', '_rebuild_tensor_v2').op(OP.MARK);
      // persistent id ('storage', storage_type, key, location, numel)
      p.op(OP.MARK).str('storage').global('torch', e.dtype === 'F32' ? 'FloatStorage' : 'LongStorage')
        .str(key).str('cpu').int(numel).op(OP.TUPLE, OP.BINPERSID);
      // storage_offset, size, stride, requires_grad, backward_hooks
      emptyOrderedDict(p.int(0).intTuple(e.shape).intTuple(strides(e.shape)).op(OP.NEWFALSE));
      p.op(OP.TUPLE, OP.REDUCE);
    }
    if (tensors.length) p.op(OP.SETITEMS);
  }
  if (groups.length) p.op(OP.SETITEMS);
  return { pkl: p.op(OP.STOP).done(), storages };
}

/** The bytes of a torch.save zip checkpoint holding `{top: OrderedDict(tensors)}`. */
export function serializeTorchZip(groups: [string, [string, Entry][]][], archive = 'archive'): Buffer {
  const { pkl, storages } = pickleStateDicts(groups);
  return zipStored([
    [`${archive}/data.pkl`, pkl], // first: torch takes the archive name from the first record
    [`${archive}/byteorder`, Buffer.from('little')],
    ...storages.map((s, i): [string, Buffer] => [`${archive}/data/${i}`, s]),
    [`${archive}/version`, Buffer.from('3\n')],
  ], ALIGN, 'serializeTorchZip');
}
