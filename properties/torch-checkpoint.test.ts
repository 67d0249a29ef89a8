/**
 * Law: the safe PyTorch checkpoint reader returns exactly what torch.save was given — every tensor equal to
 * the float32 / int32 reference written by PyTorch itself, in both the zip (torch >= 1.6) and the legacy
 * (torch < 1.6) format, with storage offsets, strides, shared storages and dtypes honoured — and refuses,
 * with a one-line error naming the file, anything that is not a tensor / state_dict checkpoint.
 * Fixtures come from properties/fixtures/torch/make_fixtures.py; only the last test needs PyTorch
 * (Debian's /usr/bin/python3: skipped with a reason without it, failed under CI=true).
 */
import { errorOf } from './lib/errors.ts';
import { needsTorch, python, runChild } from './lib/child.ts';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { flattenStateDicts, isTensorEntry, parseTorchCheckpoint, readTorchCheckpoint } from '../dsl/io/torch-read.ts';
import { readSafetensors, type Entry } from '../dsl/io/safetensors.ts';

const FIX = path.join(import.meta.dirname, 'fixtures', 'torch');
const fixture = (name: string): string => path.join(FIX, name);
const PWNED = '/tmp/torch-checkpoint-fixture-pwned'; // what the malicious fixtures would create if run

function tmpDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'torch-ckpt-test-'));
}

/** Same names, and per name the same dtype, shape and bit-identical data. */
function assertSameEntries(got: Map<string, Entry>, want: Map<string, Entry>, label: string): void {
  assert.deepEqual([...got.keys()].sort(), [...want.keys()].sort(), `${label}: tensor names`);
  for (const [name, w] of want) {
    const g = got.get(name)!;
    assert.equal(g.dtype, w.dtype, `${label}: ${name} dtype`);
    assert.deepEqual([...g.shape], [...w.shape], `${label}: ${name} shape`);
    assert.equal(g.data.constructor, w.data.constructor, `${label}: ${name} array type`);
    assert.deepEqual(Buffer.from(g.data.buffer, g.data.byteOffset, g.data.byteLength),
      Buffer.from(w.data.buffer, w.data.byteOffset, w.data.byteLength), `${label}: ${name} values`);
  }
}


// ---------------------------------------------------------------------------------------------------------
// Hand-built pickles and zips, for cases torch.save cannot produce

const u32 = (n: number): number[] => [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24];
const P = {
  proto: (v: number) => [0x80, v],
  str: (s: string) => { const b = [...Buffer.from(s, 'utf8')]; return [0x58, ...u32(b.length), ...b]; }, // BINUNICODE
  global: (m: string, n: string) => [0x63, ...Buffer.from(`${m}\n${n}\n`)],
  int: (n: number) => [0x4b, n], // BININT1
  mark: [0x28], tuple: [0x74], tuple1: [0x85], emptyDict: [0x7d], emptyTuple: [0x29], none: [0x4e],
  reduce: [0x52], setitem: [0x73], persid: [0x51], newfalse: [0x89], stop: [0x2e],
};

/** `{name: tensor}` where the tensor is `_rebuild_tensor_v2(storage(pid...), offset, size, stride, ...)`. */
function tensorDictPickle(name: string, pid: number[][], offset: number, size: number[], stride: number[]): number[] {
  const tuple = (xs: number[]) => [...P.mark, ...xs.flatMap(P.int), ...P.tuple];
  return [
    ...P.proto(2), ...P.emptyDict, ...P.str(name), ...P.global('torch._utils', '_rebuild_tensor_v2'),
    ...P.mark, ...P.mark, ...pid.flat(), ...P.tuple, ...P.persid,
    ...P.int(offset), ...tuple(size), ...tuple(stride), ...P.newfalse,
    ...P.global('collections', 'OrderedDict'), ...P.emptyTuple, ...P.reduce, ...P.tuple, ...P.reduce,
    ...P.setitem, ...P.stop,
  ];
}

const zipPid = (numel: number): number[][] => [P.str('storage'), P.global('torch', 'FloatStorage'), P.str('0'), P.str('cpu'), P.int(numel)];

/** A minimal zip writer (stored or deflated; CRCs left 0, which the reader does not check). */
function makeZip(records: [string, Uint8Array | number[]][], deflate = false): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const [name, content] of records) {
    const raw = Buffer.from(content instanceof Uint8Array ? content : Uint8Array.from(content));
    const data = deflate ? zlib.deflateRawSync(raw) : raw;
    const n = Buffer.from(name);
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0); local.writeUInt16LE(deflate ? 8 : 0, 8);
    local.writeUInt32LE(data.length, 18); local.writeUInt32LE(raw.length, 22); local.writeUInt16LE(n.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0); central.writeUInt16LE(deflate ? 8 : 0, 10);
    central.writeUInt32LE(data.length, 20); central.writeUInt32LE(raw.length, 24); central.writeUInt16LE(n.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, n, data);
    centrals.push(central, n);
    offset += 30 + n.length + data.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0); end.writeUInt16LE(records.length, 8); end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(cd.length, 12); end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

const floats = (xs: number[]): Uint8Array => new Uint8Array(Float32Array.from(xs).buffer);

/** A legacy stream: magic, protocol version, sys_info, main pickle, key list, then (count, data) per key. */
function makeLegacy(main: number[], storages: [string, Uint8Array, number][]): Buffer {
  const magic = [...P.proto(2), 0x8a, 10, 0x6c, 0xfc, 0x9c, 0x46, 0xf9, 0x20, 0x6a, 0xa8, 0x50, 0x19, ...P.stop];
  const version = [...P.proto(2), 0x4d, 1001 & 0xff, 1001 >> 8, ...P.stop]; // BININT2
  const sysInfo = [...P.proto(2), ...P.emptyDict, ...P.stop];
  const keys = [...P.proto(2), 0x5d, ...P.mark, ...storages.flatMap(([k]) => P.str(k)), 0x65, ...P.stop]; // EMPTY_LIST MARK .. APPENDS
  const parts = storages.flatMap(([, data, count]) => {
    const n = Buffer.alloc(8);
    n.writeBigUInt64LE(BigInt(count));
    return [n, Buffer.from(data)];
  });
  return Buffer.concat([Buffer.from([...magic, ...version, ...sysInfo, ...main, ...keys]), ...parts]);
}

// ---------------------------------------------------------------------------------------------------------

describe('StarGAN v2 nets_ema checkpoints', () => {
  const reference = readSafetensors(fixture('reference.safetensors')).tensors;

  for (const file of ['nets_ema_zip.ckpt', 'nets_ema_legacy.ckpt']) {
    test(`${file}: every tensor equals PyTorch's`, () => {
      const ckpt = readTorchCheckpoint(fixture(file));
      assert.ok(ckpt instanceof Map);
      assert.deepEqual([...ckpt.keys()], ['generator', 'mapping_network', 'style_encoder']);
      assertSameEntries(flattenStateDicts(ckpt), reference, file);
    });
  }

  test('flattened names are the official state_dict names', () => {
    const names = flattenStateDicts(readTorchCheckpoint(fixture('nets_ema_legacy.ckpt')));
    const shapes: Record<string, number[]> = {
      'generator.from_rgb.weight': [8, 3, 3, 3],
      'generator.encode.0.norm1.weight': [8],
      'generator.decode.1.norm2.fc.weight': [16, 64],
      'generator.to_rgb.0.weight': [8],
      'generator.to_rgb.2.bias': [3],
      'mapping_network.shared.0.weight': [32, 16],
      'mapping_network.unshared.1.6.bias': [64],
      'style_encoder.shared.0.weight': [8, 3, 3, 3],
      'style_encoder.shared.1.conv1x1.weight': [16, 8, 1, 1],
      'style_encoder.shared.4.weight': [16, 16, 4, 4],
      'style_encoder.unshared.1.weight': [64, 16],
    };
    for (const [name, shape] of Object.entries(shapes)) assert.deepEqual(names.get(name)?.shape, shape, name);
    for (const name of names.keys()) assert.match(name, /^(generator|mapping_network|style_encoder)\.[a-z_0-9.]+\.(weight|bias)$/);
  });

  test('zip and legacy files load to identical structures', () => {
    assert.deepEqual(readTorchCheckpoint(fixture('nets_ema_zip.ckpt')), readTorchCheckpoint(fixture('nets_ema_legacy.ckpt')));
  });
});

describe('dtypes, offsets, strides, shared storages', () => {
  const reference = readSafetensors(fixture('dtypes_reference.safetensors')).tensors;
  const variants = ['dtypes_zip.ckpt', 'dtypes_legacy.ckpt', 'dtypes_legacy_cuda.ckpt', 'dtypes_zip_p4.ckpt',
    'dtypes_zip_deflate.ckpt', 'dtypes_zip64.ckpt'];

  for (const file of variants) {
    test(`${file}: equals PyTorch's values`, () => {
      const ckpt = readTorchCheckpoint(fixture(file));
      assertSameEntries(flattenStateDicts(ckpt), reference, file);
      assert.deepEqual(ckpt, readTorchCheckpoint(fixture('dtypes_zip.ckpt')), `${file}: same non-tensor leaves too`);
    });
  }

  test('layouts and conversions, checked against hand-written values', () => {
    const t = flattenStateDicts(readTorchCheckpoint(fixture('dtypes_legacy.ckpt')));
    const check = (name: string, dtype: 'F32' | 'I32', shape: number[], values: number[]) => {
      const e = t.get(name)!;
      assert.equal(e.dtype, dtype, name);
      assert.deepEqual([...e.shape], shape, name);
      assert.deepEqual([...e.data], values, name);
    };
    check('t', 'F32', [4, 3], [0, 4, 8, 1, 5, 9, 2, 6, 10, 3, 7, 11]); // arange(12).reshape(3, 4).t()
    check('view', 'F32', [2, 3], [-0.5, 0, 0.5, 1, 1.5, 2]); // (arange(20) * 0.5 - 3)[5:11]
    check('slice', 'F32', [6], [-2.5, -1, 0.5, 2, 3.5, 5]); // same storage [1:19:3]
    check('expanded', 'F32', [2, 3], [0, 1, 2, 0, 1, 2]); // stride 0
    check('i64', 'I32', [4], [-3, 0, 2 ** 31 - 1, -(2 ** 31)]);
    check('i16', 'I32', [2], [-300, 300]);
    check('i8', 'I32', [2], [-128, 127]);
    check('u8', 'I32', [3], [0, 7, 255]);
    check('b', 'I32', [3], [1, 0, 1]);
    check('scalar', 'I32', [], [7]);
    check('empty', 'F32', [0, 3], []);
    check('list.1', 'F32', [1], [-1.5]);
    assert.equal(t.get('h')!.data.length, 5);
  });

  test('non-tensor leaves keep their Python values and are dropped by flattenStateDicts', () => {
    const ckpt = readTorchCheckpoint(fixture('dtypes_legacy.ckpt')) as Map<string, unknown>;
    assert.deepEqual(ckpt.get('meta'), new Map<string, unknown>([
      ['step', 100000], ['name', 'tiny'], ['lr', 1e-4], ['betas', [0, 0.99]], ['flag', true], ['none', null],
      ['big', 2n ** 70n], ['neg', -(2 ** 40)],
    ]));
    assert.ok(![...flattenStateDicts(ckpt).keys()].some((k) => k.startsWith('meta')));
    assert.ok(isTensorEntry((ckpt.get('list') as unknown[])[0]));
  });

  test('legacy storage views (torch < 1.0) and shared storages', () => {
    // x views elements 2..4 of the 6-element root storage; y is the whole root.
    const pid = (view: boolean) => [P.str('storage'), P.global('torch', 'FloatStorage'), P.str('root'), P.str('cpu'), P.int(6),
      view ? [...P.mark, ...P.str('view'), ...P.int(2), ...P.int(3), ...P.tuple] : P.none];
    const x = tensorDictPickle('x', pid(true), 1, [2], [1]);
    const y = tensorDictPickle('y', pid(false), 0, [2, 3], [3, 1]);
    // two dicts in one pickle: {'x': ..} and {'y': ..} inside a tuple
    const main = [...P.proto(2), ...P.mark, ...x.slice(2, -1), ...y.slice(2, -1), ...P.tuple, ...P.stop];
    const file = 'views.ckpt';
    const out = parseTorchCheckpoint(makeLegacy(main, [['root', floats([10, 11, 12, 13, 14, 15]), 6]]), file) as Map<string, Entry>[];
    assert.deepEqual([...out[0].get('x')!.data], [13, 14]);
    assert.deepEqual([...out[1].get('y')!.data], [10, 11, 12, 13, 14, 15]);
    const short = makeLegacy(main, [['root', floats([10, 11, 12, 13, 14]), 5]]);
    assert.match(errorOf(() => parseTorchCheckpoint(short, file), file), /storage 'root' has 5 elements in the file but 6 in the pickle/);
  });

  test('an int64 that does not fit in int32 is an error, not a wrapped value', () => {
    const file = fixture('int64_overflow.ckpt');
    assert.match(errorOf(() => readTorchCheckpoint(file), file), /int64 value 1099511627776 .* does not fit in int32/);
  });
});

describe('refusals', () => {
  for (const [file, global] of [['malicious.pkl.ckpt', 'posix.system'], ['malicious_legacy_p4.ckpt', 'builtins.eval']]) {
    test(`${file}: refused, naming ${global}, and nothing runs`, () => {
      fs.rmSync(PWNED, { force: true });
      const msg = errorOf(() => readTorchCheckpoint(fixture(file)), fixture(file));
      assert.equal(msg, `${fixture(file)}: refusing to load: pickle references global '${global}' (only tensors and state_dicts are allowed)`);
      assert.ok(!fs.existsSync(PWNED), 'the payload must not have run');
    });
  }

  test('any global outside the allow-list is refused, by GLOBAL or STACK_GLOBAL', () => {
    const refused = [['os', 'system'], ['subprocess', 'Popen'], ['builtins', 'getattr'], ['__builtin__', 'eval'],
      ['torch', 'load'], ['torch.storage', '_load_from_bytes'], ['torch.nn.modules.conv', 'Conv2d'],
      ['torch.cuda', '_lazy_init'], ['torch._utils', '_rebuild_tensor_v2x'], ['collections', 'OrderedDictX'],
      ['numpy.core.multiarray', '_reconstruct'], ['torch.fake', 'FloatStorage']];
    for (const [m, n] of refused) {
      const viaGlobal = [...P.proto(2), ...P.global(m, n), ...P.stop];
      const short = (s: string) => { const b = [...Buffer.from(s)]; return [0x8c, b.length, ...b]; };
      const viaStack = [...P.proto(4), ...short(m), ...short(n), 0x93, ...P.stop];
      for (const pkl of [viaGlobal, viaStack]) {
        const msg = errorOf(() => parseTorchCheckpoint(makeZip([['archive/data.pkl', pkl]]), 'evil.pt'), 'evil.pt');
        assert.match(msg, new RegExp(`refusing to load: pickle references global '${m}\\.${n}'`));
      }
    }
  });

  test('a hand-built zip checkpoint loads (control for the cases below)', () => {
    const pkl = tensorDictPickle('x', zipPid(4), 1, [2], [2]);
    for (const deflate of [false, true]) {
      const zip = makeZip([['archive/data.pkl', pkl], ['archive/data/0', floats([1, 2, 3, 4])], ['archive/version', [0x33]]], deflate);
      const out = parseTorchCheckpoint(zip, 'ok.pt') as Map<string, Entry>;
      assert.deepEqual([...out.get('x')!.data], [2, 4]);
    }
  });

  test('missing data.pkl, missing or short storage record, out-of-bounds layout', () => {
    const data = floats([1, 2, 3, 4]);
    const cases: [string, [string, Uint8Array | number[]][], RegExp][] = [
      ['no-pkl.pt', [['archive/version', [0x33]]], /missing data\.pkl/],
      ['no-storage.pt', [['archive/data.pkl', tensorDictPickle('x', zipPid(4), 0, [4], [1])]], /missing storage record 'archive\/data\/0'/],
      ['short.pt', [['archive/data.pkl', tensorDictPickle('x', zipPid(8), 0, [4], [1])], ['archive/data/0', data]], /'archive\/data\/0' has 16 bytes, expected 32/],
      ['oob.pt', [['archive/data.pkl', tensorDictPickle('x', zipPid(4), 1, [2], [3])], ['archive/data/0', data]], /reads past the end of storage '0'/],
    ];
    for (const [name, records, why] of cases) assert.match(errorOf(() => parseTorchCheckpoint(makeZip(records), name), name), why);
  });

  test('unsupported opcodes are named; truncated pickles say so', () => {
    const int = [...P.proto(2), 0x49, ...Buffer.from('1\n'), ...P.stop]; // protocol-0 INT
    assert.match(errorOf(() => parseTorchCheckpoint(makeZip([['a/data.pkl', int]]), 'op.pt'), 'op.pt'),
      /unsupported pickle opcode INT 0x49 at byte 2 of a\/data\.pkl/);
    const cut = tensorDictPickle('x', zipPid(4), 0, [4], [1]).slice(0, 40);
    assert.match(errorOf(() => parseTorchCheckpoint(makeZip([['a/data.pkl', cut]]), 'cut.pt'), 'cut.pt'),
      /truncated or corrupt: a\/data\.pkl ends in the middle of a pickle/);
  });

  test('truncated checkpoints (first half of the file) give a one-line error naming the file', () => {
    const dir = tmpDir();
    try {
      for (const [file, why] of [['nets_ema_zip.ckpt', /truncated or corrupt zip archive \(end of central directory not found\)$/],
        ['nets_ema_legacy.ckpt', /truncated: storage '\d+' needs \d+ bytes/]] as const) {
        const bytes = fs.readFileSync(fixture(file));
        const cut = path.join(dir, file);
        fs.writeFileSync(cut, bytes.subarray(0, bytes.length >> 1));
        assert.match(errorOf(() => readTorchCheckpoint(cut), cut), why);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  test('garbage, empty and missing files', () => {
    const dir = tmpDir();
    try {
      const garbage = path.join(dir, 'garbage.ckpt');
      fs.writeFileSync(garbage, Buffer.from('this is not a checkpoint at all, just text\n'));
      assert.match(errorOf(() => readTorchCheckpoint(garbage), garbage), /not a PyTorch checkpoint \(neither a zip archive nor a pickle stream; starts with 74 68 69 73\)/);
      const empty = path.join(dir, 'empty.ckpt');
      fs.writeFileSync(empty, '');
      assert.match(errorOf(() => readTorchCheckpoint(empty), empty), /not a PyTorch checkpoint \(empty file\)/);
      const plainPickle = path.join(dir, 'plain.pkl'); // pickle.dumps({}) — a pickle, but not torch.save's
      fs.writeFileSync(plainPickle, Buffer.from([...P.proto(2), ...P.emptyDict, ...P.stop]));
      assert.match(errorOf(() => readTorchCheckpoint(plainPickle), plainPickle), /without the torch\.save magic number/);
      const missing = path.join(dir, 'missing.ckpt');
      assert.match(errorOf(() => readTorchCheckpoint(missing), missing), /no such file/);
      // random bytes behind a zip signature, and behind a pickle PROTO
      for (const head of [[0x50, 0x4b, 0x03, 0x04], [0x80, 0x02]]) {
        let seed = 7;
        const noise = Array.from({ length: 4096 }, () => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24);
        errorOf(() => parseTorchCheckpoint(Uint8Array.from([...head, ...noise]), 'noise.bin'), 'noise.bin');
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('against live PyTorch', () => {
  test('random layouts saved by torch.save in both formats, and make_fixtures.py reproduces the fixtures', (t) => {
    if (!needsTorch(t)) return;
    const dir = tmpDir();
    try {
      const script = `
import sys, torch
sys.path.insert(0, ${JSON.stringify(FIX)})
from make_fixtures import save_safetensors, flatten
torch.manual_seed(20261123)
d, x = {}, torch.randn(5, 6, 7, dtype=torch.float64)
d['perm'] = x.float().permute(2, 0, 1)
d['steps'] = x[1:, ::2, 3:].half()
d['narrow'] = x.float().narrow(1, 2, 3).transpose(0, 2)
d['ints'] = (x * 100).long()[:, 1, ::3]
d['nested'] = {'a': {'b': torch.randn(3, 2).t().bfloat16()}, 'c': [torch.randint(0, 2, (4,)).bool()]}
torch.save(d, sys.argv[1] + '/z.ckpt')
torch.save(d, sys.argv[1] + '/l.ckpt', _use_new_zipfile_serialization=False)
save_safetensors(sys.argv[1] + '/ref.safetensors', flatten(d))
`;
      const run = runChild(python, ['-c', script, dir]);
      assert.equal(run.status, 0, run.why);
      const ref = readSafetensors(path.join(dir, 'ref.safetensors')).tensors;
      assert.equal(ref.size, 6);
      for (const f of ['z.ckpt', 'l.ckpt']) assertSameEntries(flattenStateDicts(readTorchCheckpoint(path.join(dir, f))), ref, f);

      const regen = runChild(python, [fixture('make_fixtures.py'), dir]);
      assert.equal(regen.status, 0, regen.why);
      for (const f of ['reference.safetensors', 'dtypes_reference.safetensors']) {
        assertSameEntries(readSafetensors(path.join(dir, f)).tensors, readSafetensors(fixture(f)).tensors, `regenerated ${f}`);
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
