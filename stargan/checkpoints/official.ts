/**
 * Reading any StarGAN v2 checkpoint, without Python: our training checkpoints (safetensors, format
 * 'stargan-ts/1'), the official `torch.save` checkpoints (`*_nets_ema.ckpt`, `*_nets.ckpt`: a dict of state_dicts,
 * legacy or zip container, read by the safe reader in dsl/io/torch-read.ts) and safetensors files with the official
 * names (`generator.*`, `mapping_network.*`, `style_encoder.*`, optionally `discriminator.*`). The kind is told by
 * content. For official names the network config is inferred from the tensor shapes (infer.ts) and every network
 * is checked strictly, like `load_state_dict(strict=True)`: a missing or unexpected tensor, or one of the wrong
 * shape, is an error naming the tensor and the file. Loading fills templates made from the networks' specs, so
 * only the loaded tensors are allocated.
 */
import { disposeParams, mapParams } from '../../dsl/index.ts';
import { readFileOrFail } from '../../dsl/io/files.ts';
import { parseSafetensors, type Entry } from '../../dsl/io/safetensors.ts';
import { flattenStateDicts, parseTorchCheckpoint } from '../../dsl/io/torch-read.ts';
import type { NetConfig } from '../v2/config.ts';
import { netNames, type EmaNets, type Nets } from '../v2/nets.ts';
import { groupEntries, inferFromGroups } from './infer.ts';
import { describe, hpfName, officialShapes, sameShape } from './names.ts';
import { checkpointFormat, checkpointNetConfig, loadEmaNets, loadNets } from './ours.ts';

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

/** Disposes every network of a loaded checkpoint. */
export function disposeLoaded(l: LoadedCheckpoint): void {
  disposeParams(l.ema);
  if (l.nets) disposeParams(l.nets);
}
