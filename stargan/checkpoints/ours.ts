/**
 * Training checkpoints: one safetensors file holding the networks under their official
 * names (`generator.*`, `mapping_network.*`, `style_encoder.*`, `discriminator.*`), the EMA
 * copies (`ema.generator.*`, ...), Adam moments (`adam.<net>.m.*`, `adam.<net>.v.*`), and in
 * the metadata the configs, iteration, PRNG key and Adam step counts. Written atomically.
 */
import { key as makeKey, type AdamState, type Key, type Spec } from '../../dsl/index.ts';
import { recordFromEntries, recordFromSpec, recordToEntries } from '../../dsl/record-io.ts';
import { readSafetensors, writeSafetensors, type Entry } from '../../dsl/io/safetensors.ts';
import { decoderOf, hpfMaskOf, type NetConfig, type TrainConfig } from '../v2/config.ts';
import { netNames, netsSpec, type EmaNets, type Nets } from '../v2/nets.ts';
import { trainState, type Optimizers, type StarGANConfig, type TrainState } from '../v2/step.ts';

export const checkpointFormat = 'stargan-ts/1';

/**
 * Writes a training checkpoint; `domainNames` (one per domain) let programs address domains by name;
 * `extraMetadata` adds string fields (e.g. a StEP run's stage config) next to ours.
 */
export function saveCheckpoint(file: string, cfg: StarGANConfig, s: TrainState, domainNames?: readonly string[], extraMetadata: Record<string, string> = {}): void {
  const entries: [string, Entry][] = [
    ...recordToEntries(s.nets),
    ...recordToEntries(s.ema, 'ema'),
    ...netNames.flatMap((n) => [...recordToEntries(s.opt[n].m, `adam.${n}.m`), ...recordToEntries(s.opt[n].v, `adam.${n}.v`)]),
  ];
  writeSafetensors(file, entries, {
    ...extraMetadata,
    format: checkpointFormat,
    net_config: JSON.stringify(cfg.net),
    train_config: JSON.stringify(cfg.train),
    iteration: String(s.iteration),
    key: JSON.stringify(s.key),
    adam_steps: JSON.stringify(Object.fromEntries(netNames.map((n) => [n, s.opt[n].step]))),
    ...(domainNames ? { domain_names: JSON.stringify(domainNames) } : {}),
  });
}

/** The network config a checkpoint was trained with. */
export function checkpointNetConfig(meta: Record<string, string>, source: string): NetConfig {
  if (meta.format !== checkpointFormat) throw new Error(`${source}: not a stargan-ts checkpoint (format '${meta.format ?? 'none'}')`);
  return JSON.parse(meta.net_config) as NetConfig;
}

/** A field-by-field description of how two configs differ, or '' if they are equal (an absent decoder is 'adain', an absent hpfMask 'face'). */
export function configDiff(a: NetConfig, b: NetConfig): string {
  const [ca, cb] = [a, b].map((c) => ({ ...c, decoder: decoderOf(c), hpfMask: hpfMaskOf(c) }));
  const keys = [...new Set([...Object.keys(ca), ...Object.keys(cb)])] as (keyof NetConfig)[];
  return keys.filter((k) => ca[k] !== cb[k]).map((k) => `${k} ${ca[k]} vs ${cb[k]}`).join(', ');
}

/**
 * Loads the part of the networks `pick` selects, stored under official names after `prefix`. The template is the
 * networks' spec (names and shapes from the plan; the key is irrelevant): no tensor is made but the loaded ones.
 */
function loadPart<T>(cfg: NetConfig, pick: (n: Spec<Nets>) => Spec<T>, entries: Map<string, Entry>, prefix: string, source: string): T {
  return recordFromSpec<T>(pick(netsSpec(makeKey(0), cfg)), entries, prefix, source);
}

/** Loads the four networks stored under their official names (`generator.*`, ...). */
export function loadNets(entries: Map<string, Entry>, cfg: NetConfig, source: string, prefix = ''): Nets {
  return loadPart<Nets>(cfg, (n) => n, entries, prefix, source);
}

/** Loads G, F, E stored under official names after `prefix` (e.g. 'ema'). */
export function loadEmaNets(entries: Map<string, Entry>, cfg: NetConfig, source: string, prefix: string): EmaNets {
  return loadPart<EmaNets>(cfg, ({ generator, mapping_network, style_encoder }) => ({ generator, mapping_network, style_encoder }), entries, prefix, source);
}

/**
 * Restores a training state. With `expected`, the stored network config must equal it
 * (a checkpoint from a different config is refused with the differing fields named).
 */
export function loadCheckpoint(file: string, expected?: NetConfig): { cfg: StarGANConfig; state: TrainState; metadata: Record<string, string> } {
  const { tensors, metadata } = readSafetensors(file);
  const net = checkpointNetConfig(metadata, file);
  if (expected) {
    const diff = configDiff(net, expected);
    if (diff) throw new Error(`${file}: checkpoint config differs from the requested one (${diff})`);
  }
  const train = JSON.parse(metadata.train_config) as TrainConfig;
  const steps = JSON.parse(metadata.adam_steps) as Record<string, number>;
  const nets = loadNets(tensors, net, file);
  const ema = loadEmaNets(tensors, net, file, 'ema');
  const moment = (n: (typeof netNames)[number], which: 'm' | 'v') => recordFromEntries(nets[n], tensors, `adam.${n}.${which}`, file);
  const opt = Object.fromEntries(netNames.map((n) => [n, { step: steps[n], m: moment(n, 'm'), v: moment(n, 'v') } as AdamState<unknown>])) as unknown as Optimizers;
  return { cfg: { net, train }, state: trainState(nets, JSON.parse(metadata.key) as Key, { ema, opt, iteration: Number(metadata.iteration) }), metadata };
}

/** The domain names stored in a checkpoint's metadata, or `domain0..` when it has none. */
export function domainNamesOf(meta: Record<string, string>, domains: number): string[] {
  const names = meta.domain_names ? (JSON.parse(meta.domain_names) as string[]) : [];
  return names.length === domains ? names : Array.from({ length: domains }, (_, i) => `domain${i}`);
}
