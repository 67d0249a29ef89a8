/**
 * The network config of a checkpoint with the official StarGAN v2 names, from its tensor shapes alone: the
 * tensors are grouped by network (`generator.*`, ...; a DataParallel `module.` prefix stripped), the config read
 * off the shapes and cross-checked between networks, and every network then checked strictly against the
 * official table (names.ts).
 *
 * w_hpf: the filter `generator.hpf.filter`, when present, gives it back exactly; when absent, an extra generator
 * block means w_hpf > 0 and w_hpf = 1 (the only published value) is assumed (the 2020 release has no filter).
 */
import * as E from 'fp-ts/lib/Either.js';
import type { Entry } from '../../dsl/io/safetensors.ts';
import { validateNetConfig, type NetConfig } from '../v2/config.ts';
import { netNames } from '../v2/nets.ts';
import { bottleneckBlocks, generatorRepeats } from '../v2/plan.ts';
import { checkStrict, fmt, hpfName, isNetName, sameShape, type NetName } from './names.ts';

/** A checkpoint's tensors by network (names relative to the network), the rest, and what was done to them. */
export interface Groups {
  readonly nets: Partial<Record<NetName, Map<string, Entry>>>;
  readonly extra: Map<string, Entry>;
  readonly notes: string[];
}

/** Splits flattened names into the four networks (official names) and the rest; strips a DataParallel `module.`. */
export function groupEntries(entries: Map<string, Entry>): Groups {
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
export interface Inferred { net: NetConfig; notes: string[]; groups: Groups }

/** The config of a checkpoint's grouped tensors (see inferNetConfig); errors name `source`. */
export function inferFromGroups(groups: Groups, source: string): Inferred {
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
  const img = 2 ** (depth + 2); // the trunk has log2(img) - 2 blocks (plan.ts)

  // The generator has one more encode block than the plan for img gives without the high-pass path iff w_hpf > 0.
  const plainBlocks = generatorRepeats({ img, wHpf: 0 }) + bottleneckBlocks;
  const extraBlocks = enc.length - plainBlocks;
  const filter = nets.generator!.get(hpfName);
  if (extraBlocks !== 0 && extraBlocks !== 1) {
    throw err(`generator has ${enc.length} encode blocks, but the style encoder's ${depth} ResBlks mean img ${img}, ` +
      `which needs ${plainBlocks} (w_hpf = 0) or ${plainBlocks + 1} (w_hpf > 0)`);
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

