/**
 * Weight exchange with the official StarGAN v2 code (clovaai/stargan-v2), without Python.
 *
 * Reading (`loadAnyCheckpoint`): our training checkpoints (safetensors, format 'stargan-ts/1'), the official
 * `torch.save` checkpoints (`*_nets_ema.ckpt`, `*_nets.ckpt`: a dict of state_dicts, legacy or zip container, read by
 * the safe reader in dsl/torch-checkpoint.ts) and safetensors files with the official names (`generator.*`,
 * `mapping_network.*`, `style_encoder.*`, optionally `discriminator.*`). The network config is inferred from the tensor
 * shapes (`inferNetConfig`), and every network is checked strictly, like `load_state_dict(strict=True)`: a missing or
 * unexpected tensor, or one of the wrong shape, is an error naming the tensor and the file.
 *
 * Writing (`exportSafetensors`, `exportTorchCheckpoint`): official names in torch layout; the `.ckpt` writer produces a
 * real `torch.save` zip archive (pickle protocol 2, only `collections.OrderedDict`, `torch._utils._rebuild_tensor_v2`
 * and `torch.FloatStorage` / `torch.LongStorage`, so `torch.load(weights_only=True)` accepts it too).
 *
 * The high-pass filter (w_hpf > 0, CelebA-HQ): the official code since April 2021 registers `hpf.filter`
 * ([[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] / w_hpf) as a buffer, so its state_dict has `generator.hpf.filter` and strict
 * loading requires it; the code the 2020 release was trained with kept it as a plain attribute, so the released
 * CelebA-HQ checkpoint has no such tensor (and that older code rejects a file that has it: `hpfFilter: false`).
 * On reading, the filter, when present, gives w_hpf back exactly; when absent, an extra generator block means
 * w_hpf > 0 and w_hpf = 1 (the only published value) is assumed.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as zlib from 'node:zlib';
import * as E from 'fp-ts/lib/Either.js';
import { countParams, disposeParams, mapParams } from '../../dsl/index.ts';
import { recordToEntries } from '../../dsl/record-io.ts';
import { readFileOrFail, writeFileAtomic } from '../../dsl/io/files.ts';
import { parseSafetensors, writeSafetensors, type Entry } from '../../dsl/io/safetensors.ts';
import { flattenStateDicts, parseTorchCheckpoint } from '../../dsl/io/torch-read.ts';
import { highPassFilter } from '../../layers/highpass.ts';
import { checkpointFormat, checkpointNetConfig, loadEmaNets, loadNets } from './ours.ts';
import { decoderOf, validateNetConfig, type NetConfig } from '../v2/config.ts';
import { netNames, type EmaNets, type Nets } from '../v2/nets.ts';

export type NetName = (typeof netNames)[number];

/** Any subset of the four networks, e.g. the EMA networks `{generator, mapping_network, style_encoder}`. */
export type Parts = Partial<Nets>;

export type CheckpointSource = 'stargan-ts' | 'official-ckpt' | 'safetensors';

export interface LoadedCheckpoint {
  readonly source: CheckpointSource;
  readonly net: NetConfig;
  /** The networks used for sampling: our EMA copies, or the file's G, F, E (official files hold one set). */
  readonly ema: EmaNets;
  /**
   * All four networks, when the file has a discriminator (our checkpoints, official `*_nets.ckpt`). For official
   * files G, F, E here are copies of `ema` (separate tensors: disposing one set leaves the other).
   */
  readonly nets?: Nets;
  /** Tensors outside the four networks, by full name (e.g. `fan.*` of a CelebA-HQ checkpoint); empty for ours. */
  readonly extra: Map<string, Entry>;
  /** What had to be assumed (w_hpf without a filter, an undetermined max_conv, a stripped `module.` prefix). */
  readonly notes: string[];
  /** The file's string metadata (safetensors `__metadata__`; empty for `.ckpt`), e.g. our `domain_names`. */
  readonly metadata: Record<string, string>;
}

export interface ExportOptions {
  /**
   * Write `generator.hpf.filter` when w_hpf > 0 (default true: the official code since 2021 requires it with
   * strict loading; the 2020 code rejects it as unexpected).
   */
  readonly hpfFilter?: boolean;
  /** More tensors to write as they are, e.g. `fan.*` from `LoadedCheckpoint.extra`; names must not be networks'. */
  readonly extra?: ReadonlyMap<string, Entry>;
}

/** What `safetensors` exports carry in `__metadata__.format`. */
export const officialNamesFormat = 'stargan-v2-state-dicts/1';

// ---------------------------------------------------------------------------------------------------------
// Reading files

interface RawCheckpoint {
  readonly source: CheckpointSource;
  readonly entries: Map<string, Entry>;
  readonly metadata: Record<string, string>;
}

function errorMessage(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The tensors of a checkpoint file under their flattened names, and what kind of file it is (by content). */
export function readCheckpointEntries(file: string): RawCheckpoint {
  const bytes = readFileOrFail(file);
  if (bytes.length === 0) throw new Error(`${file}: empty file`);
  const zip = bytes[0] === 0x50 && bytes[1] === 0x4b; // "PK"
  const pickle = bytes[0] === 0x80;
  if (zip || pickle) {
    const obj = parseTorchCheckpoint(bytes, file);
    try {
      return { source: 'official-ckpt', entries: flattenStateDicts(obj), metadata: {} };
    } catch (e) {
      throw new Error(`${file}: ${errorMessage(e)}`);
    }
  }
  if (bytes.length > 8 && bytes[8] === 0x7b) { // '{' opens a safetensors header
    const { tensors, metadata } = parseSafetensors(bytes, file);
    return { source: metadata.format === checkpointFormat ? 'stargan-ts' : 'safetensors', entries: tensors, metadata };
  }
  throw new Error(`${file}: neither a PyTorch checkpoint (torch.save) nor a safetensors file`);
}

// ---------------------------------------------------------------------------------------------------------
// The official names and shapes, from a config (no tensors needed)

type Shapes = Map<string, readonly number[]>;

function resBlkShapes(out: Shapes, p: string, din: number, dout: number, normalize: boolean): void {
  out.set(`${p}.conv1.weight`, [din, din, 3, 3]);
  out.set(`${p}.conv1.bias`, [din]);
  out.set(`${p}.conv2.weight`, [dout, din, 3, 3]);
  out.set(`${p}.conv2.bias`, [dout]);
  if (normalize) {
    for (const n of ['norm1', 'norm2']) {
      out.set(`${p}.${n}.weight`, [din]);
      out.set(`${p}.${n}.bias`, [din]);
    }
  }
  if (din !== dout) out.set(`${p}.conv1x1.weight`, [dout, din, 1, 1]);
}

function adainResBlkShapes(out: Shapes, p: string, din: number, dout: number, s: number): void {
  out.set(`${p}.conv1.weight`, [dout, din, 3, 3]);
  out.set(`${p}.conv1.bias`, [dout]);
  out.set(`${p}.conv2.weight`, [dout, dout, 3, 3]);
  out.set(`${p}.conv2.bias`, [dout]);
  out.set(`${p}.norm1.fc.weight`, [2 * din, s]);
  out.set(`${p}.norm1.fc.bias`, [2 * din]);
  out.set(`${p}.norm2.fc.weight`, [2 * dout, s]);
  out.set(`${p}.norm2.fc.bias`, [2 * dout]);
  if (din !== dout) out.set(`${p}.conv1x1.weight`, [dout, din, 1, 1]);
}

/** Number of generator down/up-sampling blocks (as generator.ts). */
const generatorRepeats = (c: NetConfig): number => Math.log2(c.img) - 4 + (c.wHpf > 0 ? 1 : 0);

/** The E / D trunk (trunk.ts): conv, R ResBlks, lrelu, conv4x4, lrelu; returns the output width. */
function trunkShapes(out: Shapes, p: string, c: NetConfig): number {
  out.set(`${p}.0.weight`, [c.base, 3, 3, 3]);
  out.set(`${p}.0.bias`, [c.base]);
  const r = Math.log2(c.img) - 2;
  let din = c.base;
  for (let i = 1; i <= r; i++) {
    const dout = Math.min(din * 2, c.maxConv);
    resBlkShapes(out, `${p}.${i}`, din, dout, false);
    din = dout;
  }
  out.set(`${p}.${r + 2}.weight`, [din, din, 4, 4]);
  out.set(`${p}.${r + 2}.bias`, [din]);
  return din;
}

/**
 * The official state_dict names and torch-layout shapes of one network for a config (without
 * `generator.hpf.filter`, which is a buffer, not a parameter). Equal to our records' names (a property test checks it).
 */
export function officialShapes(net: NetName, c: NetConfig): Shapes {
  const out: Shapes = new Map();
  switch (net) {
    case 'generator': {
      out.set('from_rgb.weight', [c.base, 3, 3, 3]);
      out.set('from_rgb.bias', [c.base]);
      const repeats = generatorRepeats(c);
      const widths: [number, number][] = []; // (din, dout) of each encoder block
      let din = c.base;
      let dout = c.base;
      for (let i = 0; i < repeats; i++) {
        dout = Math.min(din * 2, c.maxConv);
        widths.push([din, dout]);
        din = dout;
      }
      widths.push([dout, dout], [dout, dout]);
      widths.forEach(([i, o], k) => resBlkShapes(out, `encode.${k}`, i, o, true));
      // The decoder mirrors the encoder: decode.k undoes encode.(n-1-k).
      widths.forEach((_, k) => {
        const [ei, eo] = widths[widths.length - 1 - k];
        adainResBlkShapes(out, `decode.${k}`, eo, ei, c.styleDim);
      });
      out.set('to_rgb.0.weight', [c.base]);
      out.set('to_rgb.0.bias', [c.base]);
      out.set('to_rgb.2.weight', [3, c.base, 1, 1]);
      out.set('to_rgb.2.bias', [3]);
      return out;
    }
    case 'mapping_network': {
      const h = c.mappingHidden;
      [c.latentDim, h, h, h].forEach((i, k) => {
        out.set(`shared.${2 * k}.weight`, [h, i]);
        out.set(`shared.${2 * k}.bias`, [h]);
      });
      for (let d = 0; d < c.domains; d++) {
        [h, h, h, c.styleDim].forEach((o, k) => {
          out.set(`unshared.${d}.${2 * k}.weight`, [o, h]);
          out.set(`unshared.${d}.${2 * k}.bias`, [o]);
        });
      }
      return out;
    }
    case 'style_encoder': {
      const w = trunkShapes(out, 'shared', c);
      for (let d = 0; d < c.domains; d++) {
        out.set(`unshared.${d}.weight`, [c.styleDim, w]);
        out.set(`unshared.${d}.bias`, [c.styleDim]);
      }
      return out;
    }
    case 'discriminator': {
      const w = trunkShapes(out, 'main', c);
      const r = Math.log2(c.img) - 2;
      out.set(`main.${r + 4}.weight`, [c.domains, w, 1, 1]);
      out.set(`main.${r + 4}.bias`, [c.domains]);
      return out;
    }
  }
}

const hpfName = 'hpf.filter';

const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Strict check of one network's tensors against the config, like load_state_dict(strict=True). */
function checkStrict(group: Map<string, Entry>, net: NetName, c: NetConfig, err: (m: string) => Error): void {
  const want = officialShapes(net, c);
  for (const [name, shape] of want) {
    const e = group.get(name);
    if (!e) throw err(`missing tensor '${net}.${name}' (expected for ${describe(c)})`);
    if (!sameShape(e.shape, shape)) throw err(`tensor '${net}.${name}' has shape ${fmt(e.shape)}, expected ${fmt(shape)}`);
    if (e.dtype !== 'F32') throw err(`tensor '${net}.${name}' is an integer tensor, expected floats`);
  }
  for (const name of group.keys()) {
    if (want.has(name)) continue;
    if (net === 'generator' && name === hpfName && c.wHpf > 0) continue;
    throw err(`unexpected tensor '${net}.${name}' (not in the official ${net} for ${describe(c)})`);
  }
}

function describe(c: NetConfig): string {
  return `img ${c.img}, base ${c.base}, max_conv ${c.maxConv}, ${c.domains} domains, style ${c.styleDim}, latent ${c.latentDim}, ` +
    `mapping hidden ${c.mappingHidden}, w_hpf ${c.wHpf}`;
}

// ---------------------------------------------------------------------------------------------------------
// Grouping by network and inferring the config

interface Groups {
  readonly nets: Partial<Record<NetName, Map<string, Entry>>>;
  readonly extra: Map<string, Entry>;
  readonly notes: string[];
}

const isNetName = (s: string): s is NetName => (netNames as readonly string[]).includes(s);

/** Splits flattened names into the four networks (official names) and the rest; strips a DataParallel `module.`. */
function groupEntries(entries: Map<string, Entry>): Groups {
  const nets: Partial<Record<NetName, Map<string, Entry>>> = {};
  const extra = new Map<string, Entry>();
  const notes: string[] = [];
  for (const [name, e] of entries) {
    const dot = name.indexOf('.');
    const top = dot < 0 ? name : name.slice(0, dot);
    if (dot > 0 && isNetName(top)) (nets[top] ??= new Map()).set(name.slice(dot + 1), e);
    else extra.set(name, e);
  }
  for (const n of netNames) {
    const g = nets[n];
    if (g && [...g.keys()].every((k) => k.startsWith('module.'))) {
      nets[n] = new Map([...g].map(([k, e]) => [k.slice('module.'.length), e]));
      notes.push(`${n}: stripped the 'module.' prefix of an nn.DataParallel state_dict`);
    }
  }
  return { nets, extra, notes };
}

/** Sorted indices captured by `re` over a group's names. */
function indices(g: Map<string, Entry>, re: RegExp): number[] {
  const out = new Set<number>();
  for (const k of g.keys()) {
    const m = re.exec(k);
    if (m) out.add(Number(m[1]));
  }
  return [...out].sort((a, b) => a - b);
}

interface Trunk { base: number; r: number; widths: number[]; out: number }

/** The inferred config and what had to be assumed. */
interface Inferred { net: NetConfig; notes: string[]; groups: Groups }

function inferFromGroups(groups: Groups, source: string): Inferred {
  const err = (m: string) => new Error(`${source}: ${m}`);
  const { nets } = groups;
  const notes = [...groups.notes];

  const missingNets = (['generator', 'mapping_network', 'style_encoder'] as const).filter((n) => !nets[n]);
  if (missingNets.length) {
    const tops = [...new Set([...groups.extra.keys()].map((k) => k.split('.')[0]))];
    const found = [...netNames.filter((n) => nets[n]), ...tops];
    const hint = groups.extra.has('from_rgb.weight') || groups.extra.has('shared.0.weight') || groups.extra.has('main.0.weight')
      ? '; this looks like a single network\'s state_dict, expected a dict {generator: ..., mapping_network: ..., style_encoder: ...}'
      : '';
    throw err(`not a StarGAN v2 checkpoint with the official names: no ${missingNets.map((n) => `'${n}.*'`).join(', ')} tensors ` +
      `(top-level names found: ${found.slice(0, 8).join(', ') || 'none'}${found.length > 8 ? ', ...' : ''})${hint}`);
  }
  for (const n of netNames) {
    const g = nets[n];
    if (g && [...g.keys()].some((k) => k.startsWith('state.'))) {
      throw err(`'${n}' holds optimizer state (exp_avg, ...), not weights: this is an optimizer checkpoint (*_optims.ckpt); use *_nets_ema.ckpt or *_nets.ckpt`);
    }
  }

  const shapeOf = (net: NetName, name: string, rank: number): readonly number[] => {
    const e = nets[net]!.get(name);
    if (!e) throw err(`missing tensor '${net}.${name}' (names are not the official StarGAN v2 ones?)`);
    if (e.shape.length !== rank) throw err(`tensor '${net}.${name}' has shape ${fmt(e.shape)}, expected ${rank} dimensions`);
    return e.shape;
  };
  const contiguous = (idx: number[], from: number, what: string): void => {
    if (idx.some((v, i) => v !== from + i)) throw err(`${what} are numbered ${idx.join(', ')}, expected ${from}..${from + idx.length - 1}`);
  };

  const trunk = (net: 'style_encoder' | 'discriminator', p: string): Trunk => {
    const g = nets[net]!;
    const base = shapeOf(net, `${p}.0.weight`, 4)[0];
    const blocks = indices(g, new RegExp(`^${p}\\.(\\d+)\\.conv1\\.weight$`));
    contiguous(blocks, 1, `${net} ResBlks`);
    const r = blocks.length;
    if (r < 2) throw err(`${net} has ${r} ResBlks, expected log2(img) - 2 >= 2`);
    const widths = blocks.map((i) => shapeOf(net, `${p}.${i}.conv2.weight`, 4)[0]);
    const last = shapeOf(net, `${p}.${r + 2}.weight`, 4);
    return { base, r, widths, out: last[0] };
  };

  // Generator
  const gBase = shapeOf('generator', 'from_rgb.weight', 4)[0];
  const enc = indices(nets.generator!, /^encode\.(\d+)\.conv1\.weight$/);
  const dec = indices(nets.generator!, /^decode\.(\d+)\.conv1\.weight$/);
  contiguous(enc, 0, 'generator encode blocks');
  contiguous(dec, 0, 'generator decode blocks');
  if (enc.length < 2 || enc.length !== dec.length) {
    throw err(`generator has ${enc.length} encode and ${dec.length} decode blocks, expected the same number (>= 2)`);
  }
  const gStyle = shapeOf('generator', 'decode.0.norm1.fc.weight', 2)[1];

  // Mapping network
  const [hidden, latentDim] = shapeOf('mapping_network', 'shared.0.weight', 2);
  const fHeads = indices(nets.mapping_network!, /^unshared\.(\d+)\.0\.weight$/);
  contiguous(fHeads, 0, 'mapping_network heads');
  if (fHeads.length === 0) throw err(`mapping_network has no unshared heads ('mapping_network.unshared.0.0.weight')`);
  const fStyle = shapeOf('mapping_network', 'unshared.0.6.weight', 2)[0];

  // Style encoder and discriminator
  const e = trunk('style_encoder', 'shared');
  const eHeads = indices(nets.style_encoder!, /^unshared\.(\d+)\.weight$/);
  contiguous(eHeads, 0, 'style_encoder heads');
  if (eHeads.length === 0) throw err(`style_encoder has no unshared heads ('style_encoder.unshared.0.weight')`);
  const eStyle = shapeOf('style_encoder', 'unshared.0.weight', 2)[0];
  const d = nets.discriminator ? trunk('discriminator', 'main') : undefined;
  const dDomains = d ? shapeOf('discriminator', `main.${d.r + 4}.weight`, 4)[0] : undefined;

  const agree = (what: string, values: [string, number | undefined][]): number => {
    const known = values.filter((v): v is [string, number] => v[1] !== undefined);
    if (known.some(([, v]) => v !== known[0][1])) throw err(`inconsistent ${what}: ${known.map(([n, v]) => `${v} (${n})`).join(' vs ')}`);
    return known[0][1];
  };
  const base = agree('base width', [['generator from_rgb', gBase], ['style_encoder shared.0', e.base], ['discriminator main.0', d?.base]]);
  const domains = agree('number of domains', [['mapping_network heads', fHeads.length], ['style_encoder heads', eHeads.length], ['discriminator output', dDomains]]);
  const styleDim = agree('style dim', [['mapping_network output', fStyle], ['style_encoder output', eStyle], ['generator AdaIN input', gStyle]]);
  const depth = agree('trunk depth', [['style_encoder ResBlks', e.r], ['discriminator ResBlks', d?.r]]);
  const img = 2 ** (depth + 2);

  // Generator depth: log2(img) - 4 (+1 with the high-pass path) down-sampling blocks, then 2 bottleneck blocks.
  const extraBlocks = enc.length - depth;
  const filter = nets.generator!.get(hpfName);
  if (extraBlocks !== 0 && extraBlocks !== 1) {
    throw err(`generator has ${enc.length} encode blocks, but the style encoder's ${depth} ResBlks mean img ${img}, ` +
      `which needs ${depth} (w_hpf = 0) or ${depth + 1} (w_hpf > 0)`);
  }
  let wHpf = 0;
  if (extraBlocks === 1) {
    if (filter) {
      wHpf = hpfWeight(filter, (m) => err(`tensor 'generator.${hpfName}' ${m}`));
    } else {
      wHpf = 1;
      notes.push(`w_hpf: the generator has the high-pass block layout but no '${hpfName}' (as in the 2020 release); assumed w_hpf = 1`);
    }
  } else if (filter) {
    throw err(`tensor 'generator.${hpfName}' is present but the generator has no high-pass block layout (${enc.length} encode blocks for img ${img})`);
  }

  // max_conv: widths double from base until they reach the cap. If they never do, any cap >= the last width fits.
  const capOf = (t: Trunk): { cap: number; saturated: boolean } => {
    let prev = t.base;
    for (const w of t.widths) {
      if (w !== 2 * prev) return { cap: w, saturated: true };
      prev = w;
    }
    return { cap: prev, saturated: false };
  };
  const { cap: maxConv, saturated } = capOf(e);
  const net: NetConfig = { img, base, maxConv, domains, styleDim, latentDim, mappingHidden: hidden, wHpf };
  const valid = validateNetConfig(net);
  if (E.isLeft(valid)) throw err(`inferred an invalid config (${valid.left})`);
  if (!saturated) notes.push(`max_conv: the channel widths never reach a cap; any max_conv >= ${maxConv} gives the same networks (using ${maxConv})`);

  for (const n of netNames) if (nets[n]) checkStrict(nets[n], n, net, err);
  return { net, notes, groups };
}

/** w_hpf from the official buffer `hpf.filter` = [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] / w_hpf; errors describe the problem. */
function hpfWeight(filter: Entry, err: (m: string) => Error): number {
  if (!sameShape(filter.shape, [3, 3])) throw err(`has shape ${fmt(filter.shape)}, expected [3, 3]`);
  const f = filter.data;
  const w = -1 / f[0];
  const pattern = [-1, -1, -1, -1, 8, -1, -1, -1, -1];
  if (!(w > 0) || !Number.isFinite(w) || pattern.some((p, i) => Math.abs(f[i] - p / w) > 1e-6 * Math.abs(p / w))) {
    throw err(`is not the high-pass filter [[-1,-1,-1],[-1,8,-1],[-1,-1,-1]] / w_hpf (got [${[...f].join(', ')}])`);
  }
  // float32 storage: 1/w rounds; snap to the nearest value with few decimals when that reproduces the filter exactly.
  const snapped = Number(w.toPrecision(6));
  return Math.fround(-1 / snapped) === f[0] ? snapped : w;
}

/**
 * The network config of a checkpoint with the official names, from its tensor shapes: img (style encoder depth:
 * log2(img) - 2 ResBlks, cross-checked with the discriminator and with the generator's log2(img) - 4 (+1 if w_hpf > 0)
 * encode blocks), base (from_rgb), max_conv (where the widths stop doubling), domains (mapping / style encoder heads,
 * discriminator output), style and latent dims, mapping hidden width, and w_hpf (from `generator.hpf.filter`, or 1 when
 * the generator has the high-pass layout without it). Every network present is then checked name by name and shape by
 * shape (strictly). Errors name `source`. Tensors outside the four networks (e.g. `fan.*`, `ema.*`) are ignored.
 */
export function inferNetConfig(entries: Map<string, Entry>, source: string): NetConfig {
  return inferFromGroups(groupEntries(entries), source).net;
}

/** Like inferNetConfig, with the assumptions made (see LoadedCheckpoint.notes). */
export function inferNetConfigWithNotes(entries: Map<string, Entry>, source: string): { net: NetConfig; notes: string[] } {
  const { net, notes } = inferFromGroups(groupEntries(entries), source);
  return { net, notes };
}

// ---------------------------------------------------------------------------------------------------------
// Loading

/** A config from our exports' metadata, if present and equivalent to the inferred one (it resolves max_conv / w_hpf). */
function metadataConfig(meta: Record<string, string>, inferred: NetConfig, hasFilter: boolean, source: string): NetConfig | undefined {
  if (!meta.net_config) return undefined;
  let m: NetConfig;
  try {
    m = JSON.parse(meta.net_config) as NetConfig;
  } catch {
    throw new Error(`${source}: metadata 'net_config' is not JSON`);
  }
  const sameNets = netNames.every((n) => {
    const a = officialShapes(n, m);
    const b = officialShapes(n, inferred);
    return a.size === b.size && [...a].every(([k, sh]) => sameShape(sh, b.get(k) ?? []));
  }) && (m.wHpf > 0) === (inferred.wHpf > 0) && (!hasFilter || Math.abs(m.wHpf - inferred.wHpf) <= 1e-6 * inferred.wHpf);
  if (!sameNets) {
    throw new Error(`${source}: metadata net_config (${describe(m)}) does not match the tensors (${describe(inferred)})`);
  }
  return m;
}

function clone<P>(p: P): P {
  return mapParams((t) => t.clone(), p);
}

/**
 * Loads any StarGAN v2 checkpoint: (a) ours (`saveCheckpoint`; `ema` = our EMA copies, `nets` = the trained
 * networks), (b) an official `torch.save` file (`*_nets_ema.ckpt`: G, F, E; `*_nets.ckpt`: also D), (c) a safetensors
 * file with the official names. The kind is recognised by content, not extension. Errors name the file.
 */
export function loadAnyCheckpoint(file: string): LoadedCheckpoint {
  const raw = readCheckpointEntries(file);
  if (raw.source === 'stargan-ts') {
    const net = checkpointNetConfig(raw.metadata, file);
    const nets = loadNets(raw.entries, net, file);
    const ema = loadEmaNets(raw.entries, net, file, 'ema');
    return { source: raw.source, net, ema, nets, extra: new Map(), notes: [], metadata: raw.metadata };
  }
  const inferred = inferFromGroups(groupEntries(raw.entries), file);
  const { groups } = inferred;
  const net = metadataConfig(raw.metadata, inferred.net, groups.nets.generator!.has(hpfName), file) ?? inferred.net;
  const notes = net === inferred.net ? inferred.notes : inferred.notes.filter((n) => !n.startsWith('w_hpf') && !n.startsWith('max_conv'));
  // Official names relative to the file's (DataParallel prefixes stripped), buffers left out.
  const named = new Map<string, Entry>();
  for (const n of netNames) for (const [k, e] of groups.nets[n] ?? []) if (!(n === 'generator' && k === hpfName)) named.set(`${n}.${k}`, e);
  if (groups.nets.discriminator) {
    const nets = loadNets(named, net, file);
    const ema = clone({ generator: nets.generator, mapping_network: nets.mapping_network, style_encoder: nets.style_encoder });
    return { source: raw.source, net, ema, nets, extra: groups.extra, notes, metadata: raw.metadata };
  }
  return { source: raw.source, net, ema: loadEmaNets(named, net, file, ''), extra: groups.extra, notes, metadata: raw.metadata };
}

/**
 * The tensors of a checkpoint outside the four networks, by full name (e.g. `fan.*`, the landmark network the
 * official solver saves with the EMA networks when w_hpf > 0). Empty for our checkpoints (their `ema.*` / `adam.*`
 * are not exported).
 */
export function tensorsOutsideNetworks(file: string): Map<string, Entry> {
  const raw = readCheckpointEntries(file);
  return raw.source === 'stargan-ts' ? new Map() : groupEntries(raw.entries).extra;
}

export interface CheckpointSummary {
  readonly source: CheckpointSource;
  readonly net: NetConfig;
  /** Parameter counts per network; for ours also `ema.<net>`. */
  readonly counts: Record<string, number>;
  /** Top-level names of tensors outside the networks (e.g. 'fan'), with their tensor counts. */
  readonly extra: Record<string, number>;
  readonly notes: string[];
}

/** Config, parameter counts and notes of a checkpoint, from its tensor shapes alone (no network is built). */
export function describeCheckpoint(file: string): CheckpointSummary {
  const raw = readCheckpointEntries(file);
  const numel = (e: Entry) => e.shape.reduce((a, b) => a * b, 1);
  const sum = (g: Map<string, Entry> | undefined, skip?: string) => [...(g ?? [])].reduce((n, [k, e]) => (k === skip ? n : n + numel(e)), 0);
  if (raw.source === 'stargan-ts') {
    const net = checkpointNetConfig(raw.metadata, file);
    const counts: Record<string, number> = {};
    for (const prefix of ['', 'ema.']) {
      const groups = groupEntries(new Map([...raw.entries].filter(([k]) => k.startsWith(prefix)).map(([k, e]) => [k.slice(prefix.length), e])));
      for (const n of netNames) if (groups.nets[n]) counts[`${prefix}${n}`] = sum(groups.nets[n]);
    }
    return { source: raw.source, net, counts, extra: {}, notes: [`iteration ${raw.metadata.iteration ?? '?'}`] };
  }
  const inferred = inferFromGroups(groupEntries(raw.entries), file);
  const { groups } = inferred;
  const net = metadataConfig(raw.metadata, inferred.net, groups.nets.generator!.has(hpfName), file) ?? inferred.net;
  const counts: Record<string, number> = {};
  for (const n of netNames) if (groups.nets[n]) counts[n] = sum(groups.nets[n], n === 'generator' ? hpfName : undefined);
  const extra: Record<string, number> = {};
  for (const k of groups.extra.keys()) extra[k.split('.')[0]] = (extra[k.split('.')[0]] ?? 0) + 1;
  return { source: raw.source, net, counts, extra, notes: inferred.notes };
}

// ---------------------------------------------------------------------------------------------------------
// Writing

function exportEntries(parts: Parts, net: NetConfig, opts: ExportOptions, file: string): [string, Entry][] {
  const err = (m: string) => new Error(`${file}: ${m}`);
  const valid = validateNetConfig(net);
  if (E.isLeft(valid)) throw err(`invalid config (${valid.left})`);
  if (decoderOf(net) !== 'adain') {
    throw err(`decoder '${decoderOf(net)}' has no official StarGAN v2 counterpart (the official generator uses AdaIN): keep our checkpoint format for this model`);
  }
  const present = netNames.filter((n) => parts[n] !== undefined);
  if (present.length === 0) throw err('nothing to export (no networks given)');
  const out: [string, Entry][] = [];
  for (const n of present) {
    const entries = recordToEntries(parts[n], n);
    checkStrict(new Map(entries.map(([k, e]) => [k.slice(n.length + 1), e])), n, net, (m) => err(`${m} (the networks do not match the config)`));
    out.push(...entries);
    if (n === 'generator' && net.wHpf > 0 && opts.hpfFilter !== false) {
      const f = highPassFilter(net.wHpf);
      out.push([`generator.${hpfName}`, { dtype: 'F32', shape: [3, 3], data: f.dataSync().slice() as Float32Array }]);
      f.dispose();
    }
  }
  for (const [k, e] of opts.extra ?? []) {
    if (isNetName(k.split('.')[0])) throw err(`extra tensor '${k}' would overwrite a network's tensor`);
    out.push([k, e]);
  }
  return out;
}

/** safetensors with the official names in torch layout, and the config in the metadata (ours and the official args). */
export function exportSafetensors(file: string, parts: Parts, net: NetConfig, opts: ExportOptions = {}): void {
  const entries = exportEntries(parts, net, opts, file);
  writeSafetensors(file, entries, {
    format: officialNamesFormat,
    net_config: JSON.stringify(net),
    networks: netNames.filter((n) => parts[n] !== undefined).join(','),
    // The official command-line arguments (core/model.py build_model), for Python users.
    img_size: String(net.img), num_domains: String(net.domains), style_dim: String(net.styleDim),
    latent_dim: String(net.latentDim), w_hpf: String(net.wHpf), max_conv_dim: String(net.maxConv),
    dim_in: String(net.base), hidden_dim: String(net.mappingHidden),
  });
}

/**
 * A `torch.save`-compatible file: `torch.load(file)` returns `{net: OrderedDict(state_dict)}` for each network given
 * (the layout of the official `*_nets_ema.ckpt` / `*_nets.ckpt`), plus extra tensors grouped by their first name
 * component. Zip container (torch >= 1.6 format), stored records 64-byte aligned, pickle protocol 2.
 */
export function exportTorchCheckpoint(file: string, parts: Parts, net: NetConfig, opts: ExportOptions = {}): void {
  const entries = exportEntries(parts, net, opts, file);
  const groups = new Map<string, [string, Entry][]>();
  for (const [name, e] of entries) {
    const dot = name.indexOf('.');
    if (dot <= 0) throw new Error(`${file}: tensor name '${name}' has no 'network.' prefix`);
    const top = name.slice(0, dot);
    if (!groups.has(top)) groups.set(top, []);
    groups.get(top)!.push([name.slice(dot + 1), e]);
  }
  writeFileAtomic(file, serializeTorchZip([...groups]));
}

// ---------------------------------------------------------------------------------------------------------
// torch.save zip writer

/** Pickle protocol 2 opcodes used here. */
const OP = {
  PROTO: 0x80, STOP: 0x2e, MARK: 0x28, TUPLE: 0x74, TUPLE1: 0x85, TUPLE2: 0x86, TUPLE3: 0x87, EMPTY_TUPLE: 0x29,
  EMPTY_DICT: 0x7d, SETITEMS: 0x75, GLOBAL: 0x63, REDUCE: 0x52, BINPERSID: 0x51, NEWFALSE: 0x89,
  BININT: 0x4a, BININT1: 0x4b, BININT2: 0x4d, LONG1: 0x8a, BINUNICODE: 0x58,
} as const;

class Pickler {
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

  emptyOrderedDict(): this {
    return this.global('collections', 'OrderedDict').op(OP.EMPTY_TUPLE, OP.REDUCE);
  }

  done(): Buffer {
    return Buffer.from(this.bytes);
  }
}

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
  if (os.endianness() !== 'LE') throw new Error('exportTorchCheckpoint: big-endian hosts are not supported');
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
    p.str(top).emptyOrderedDict();
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
      p.int(0).intTuple(e.shape).intTuple(strides(e.shape)).op(OP.NEWFALSE).emptyOrderedDict();
      p.op(OP.TUPLE, OP.REDUCE);
    }
    if (tensors.length) p.op(OP.SETITEMS);
  }
  if (groups.length) p.op(OP.SETITEMS);
  return { pkl: p.op(OP.STOP).done(), storages };
}

let crcTable: Uint32Array | undefined;
function crc32(b: Uint8Array): number {
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

const ALIGN = 64;

/**
 * A zip archive of stored (uncompressed) records, each record's data 64-byte aligned via padding in the local
 * header's extra field (id 'FB', as torch's own writer does). No zip64: the whole file must stay below 4 GiB.
 */
function zipStored(records: [string, Buffer][]): Buffer {
  const chunks: Buffer[] = [];
  const central: Buffer[] = [];
  let offset = 0;
  for (const [name, data] of records) {
    const nameBytes = Buffer.from(name, 'utf8');
    const start = offset + 30 + nameBytes.length + 4;
    const pad = (ALIGN - (start % ALIGN)) % ALIGN;
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
    if (offset >= 0xffffffff) throw new Error('exportTorchCheckpoint: the checkpoint exceeds 4 GiB (zip64 is not supported)');
  }
  const cdSize = central.reduce((n, b) => n + b.length, 0);
  if (records.length >= 0xffff || offset + cdSize >= 0xffffffff) throw new Error('exportTorchCheckpoint: too many tensors or too large for a zip without zip64');
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(records.length, 8);
  end.writeUInt16LE(records.length, 10);
  end.writeUInt32LE(cdSize, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...chunks, ...central, end]);
}

/** The bytes of a torch.save zip checkpoint holding `{top: OrderedDict(tensors)}`. */
export function serializeTorchZip(groups: [string, [string, Entry][]][], archive = 'archive'): Buffer {
  const { pkl, storages } = pickleStateDicts(groups);
  return zipStored([
    [`${archive}/data.pkl`, pkl], // first: torch takes the archive name from the first record
    [`${archive}/byteorder`, Buffer.from('little')],
    ...storages.map((s, i): [string, Buffer] => [`${archive}/data/${i}`, s]),
    [`${archive}/version`, Buffer.from('3\n')],
  ]);
}

// ---------------------------------------------------------------------------------------------------------
// Small helpers for callers

/** Parameter counts of a record of networks, by network name. */
export function countParts(parts: Parts): Record<string, number> {
  return Object.fromEntries(netNames.filter((n) => parts[n]).map((n) => [n, countParams(parts[n])]));
}

/** Disposes every network of a loaded checkpoint. */
export function disposeLoaded(l: LoadedCheckpoint): void {
  disposeParams(l.ema);
  if (l.nets) disposeParams(l.nets);
}
