/**
 * Python's pickle format: the one opcode table, a restricted unpickler and a small pickler.
 *
 * The unpickler runs the opcodes that plain data needs (protocols 2-5: dicts, lists, tuples, scalars, strings,
 * bytes, memo, persistent ids) and hands everything that could run code (globals, calls, object creation, state)
 * to the caller's hooks, which decide what is allowed; nothing here imports or calls anything named in a pickle.
 * The pickler writes the opcodes a caller asks for, with helpers for strings, ints, int tuples and globals.
 */
import { decodeUtf8, fail, u64, view } from './bytes.ts';

/** Every pickle opcode (as Python's pickle.py spells them), so unsupported ones are named in errors. */
const opcodeChars = {
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
} as const;

export type OpName = keyof typeof opcodeChars;

/** The opcodes as bytes. */
export const OP = Object.fromEntries(Object.entries(opcodeChars).map(([name, ch]) => [name, ch.charCodeAt(0)])) as Record<OpName, number>;

const opNames = new Map(Object.entries(OP).map(([name, code]) => [code, name]));

// ---------------------------------------------------------------------------------------------------------
// Reading

/** What the unpickler asks its caller: everything beyond plain data. Refuse by throwing (e.g. with `fail`). */
export interface PickleHooks {
  /** GLOBAL / STACK_GLOBAL: the value standing for `module.name`. */
  global(module: string, name: string): unknown;
  /** REDUCE: `fn(*args)`. */
  call(fn: unknown, args: unknown): unknown;
  /** NEWOBJ / NEWOBJ_EX: `cls.__new__(cls, *args)`. */
  newObj(cls: unknown, args: unknown): unknown;
  /** BUILD: `obj.__setstate__(state)`; false if `obj` takes no state (then the pickle is corrupt). */
  build(obj: unknown, state: unknown): boolean;
  /** BINPERSID: the object a persistent id refers to. */
  persistentLoad(pid: unknown): unknown;
}

/** A dict key as JS sees it: only hashable scalars (a tuple key would need structural equality). */
export function dictKey(k: unknown): unknown {
  const t = typeof k;
  if (k === null || t === 'string' || t === 'number' || t === 'bigint' || t === 'boolean') return k;
  return fail('dict key is not a string, number, bool or None');
}

/**
 * Unpickles one pickle starting at `start` of `bytes` (protocols 2-5). Returns the value and the position just
 * after its STOP (a torch.save legacy file is several pickles in a row). `what` names the pickle in errors.
 * dict -> Map, list / tuple -> array, str -> string, bytes -> Uint8Array (a copy), float -> number, int -> number
 * (bigint beyond 2^53), bool -> boolean, None -> null.
 */
export function unpickle(bytes: Uint8Array, start: number, what: string, hooks: PickleHooks): { value: unknown; end: number } {
  return new Unpickler(bytes, start, what, hooks).load();
}

/** The state of one run of the pickle machine: stack, mark stack, memo. */
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
    private readonly hooks: PickleHooks,
  ) {
    this.pos = start;
    this.dv = view(bytes);
    this.handlers = new Map(Object.entries(this.table()).map(([name, h]) => [OP[name as OpName], h]));
  }

  /** Runs to STOP; returns the value and the position just after the pickle. */
  load(): { value: unknown; end: number } {
    while (!this.result) {
      const at = this.pos;
      const code = this.take(1)[0];
      const handler = this.handlers.get(code);
      if (!handler) {
        const name = opNames.has(code) ? `opcode ${opNames.get(code)}` : 'byte (not a pickle opcode)';
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
      GLOBAL: () => { const module = this.line(); push(this.hooks.global(module, this.line())); },
      STACK_GLOBAL: () => { const [module, name] = this.popN(2); push(this.hooks.global(this.str(module), this.str(name))); },
      REDUCE: () => { const [fn, args] = this.popN(2); push(this.hooks.call(fn, args)); },
      NEWOBJ: () => { const [cls, args] = this.popN(2); push(this.hooks.newObj(cls, args)); },
      NEWOBJ_EX: () => { const [cls, args] = this.popN(3); push(this.hooks.newObj(cls, args)); },
      BUILD: () => { const state = this.pop(); this.build(this.top(), state); },
      BINPERSID: () => push(this.hooks.persistentLoad(this.pop())),
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

  private build(obj: unknown, state: unknown): void {
    if (!this.hooks.build(obj, state)) fail(`corrupt pickle: BUILD on an object without state in ${this.what}`);
  }
}

// ---------------------------------------------------------------------------------------------------------
// Writing

/** Appends opcodes and their arguments; `done()` returns the bytes. */
export class Pickler {
  private readonly bytes: number[] = [];

  op(...codes: number[]): this {
    for (const c of codes) this.bytes.push(c);
    return this;
  }

  private raw(b: Uint8Array): void {
    for (const x of b) this.bytes.push(x);
  }

  private u32(n: number): void {
    this.op(n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, (n >>> 24) & 0xff);
  }

  str(s: string): this {
    const b = Buffer.from(s, 'utf8');
    this.op(OP.BINUNICODE);
    this.u32(b.length);
    this.raw(b);
    return this;
  }

  global(module: string, name: string): this {
    this.op(OP.GLOBAL);
    this.raw(Buffer.from(`${module}\n${name}\n`, 'ascii'));
    return this;
  }

  /** The shortest of BININT1, BININT2, BININT, LONG1. */
  int(n: number): this {
    if (!Number.isSafeInteger(n)) throw new Error(`pickle: ${n} is not a safe integer`);
    if (n >= 0 && n < 0x100) return this.op(OP.BININT1, n);
    if (n >= 0 && n < 0x10000) return this.op(OP.BININT2, n & 0xff, n >>> 8);
    if (n >= -(2 ** 31) && n < 2 ** 31) {
      this.op(OP.BININT);
      this.u32(n >>> 0);
      return this;
    }
    // LONG1: little-endian two's complement, as few bytes as needed.
    const out: number[] = [];
    let v = BigInt(n);
    for (;;) {
      const b = Number(v & 0xffn);
      out.push(b);
      v >>= 8n;
      if ((v === 0n && (b & 0x80) === 0) || (v === -1n && (b & 0x80) !== 0)) break;
    }
    return this.op(OP.LONG1, out.length, ...out);
  }

  intTuple(xs: readonly number[]): this {
    if (xs.length === 0) return this.op(OP.EMPTY_TUPLE);
    if (xs.length > 3) this.op(OP.MARK);
    xs.forEach((x) => this.int(x));
    return xs.length > 3 ? this.op(OP.TUPLE) : this.op([OP.TUPLE1, OP.TUPLE2, OP.TUPLE3][xs.length - 1]);
  }

  done(): Buffer {
    return Buffer.from(this.bytes);
  }
}
