/**
 * The official StarGAN v2 state_dict names and torch-layout shapes (clovaai/stargan-v2 `core/model.py`), for a
 * config: the flattened specs of our networks (their records are named like the official modules, and their
 * widths and blocks come from stargan/v2/plan.ts), so the table and init cannot disagree. Plus the strict check
 * of a file's tensors against it, like `load_state_dict(strict=True)`.
 *
 * The high-pass filter `generator.hpf.filter` (w_hpf > 0) is a buffer, not a parameter: it is not in the table,
 * and the strict check allows it (the official code since April 2021 registers it; the 2020 release did not).
 */
import { countParams, flattenSpec, key } from '../../dsl/index.ts';
import type { Entry } from '../../dsl/io/safetensors.ts';
import { highPassEverywhere, type NetConfig } from '../v2/config.ts';
import { netNames, netsSpec, type Nets } from '../v2/nets.ts';

export type NetName = (typeof netNames)[number];

/** Any subset of the four networks, e.g. the EMA networks `{generator, mapping_network, style_encoder}`. */
export type Parts = Partial<Nets>;

/** The generator's high-pass filter buffer, relative to `generator.`. */
export const hpfName = 'hpf.filter';

export const isNetName = (s: string): s is NetName => (netNames as readonly string[]).includes(s);

/**
 * The official state_dict names and torch-layout shapes of one network for a config (without
 * `generator.hpf.filter`, which is a buffer, not a parameter). No tensor is made.
 */
export function officialShapes(net: NetName, c: NetConfig): Map<string, readonly number[]> {
  return new Map(flattenSpec(netsSpec(key(0), c)[net]).map(([name, s]) => [name, s.shape]));
}

export const sameShape = (a: readonly number[], b: readonly number[]): boolean => a.length === b.length && a.every((d, i) => d === b[i]);
export const fmt = (s: readonly number[]): string => `[${s.join(', ')}]`;

/** Strict check of one network's tensors against the config, like load_state_dict(strict=True). */
export function checkStrict(group: Map<string, Entry>, net: NetName, c: NetConfig, err: (m: string) => Error): void {
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

/** A config in the words of error messages. */
export function describe(c: NetConfig): string {
  return `img ${c.img}, base ${c.base}, max_conv ${c.maxConv}, ${c.domains} domains, style ${c.styleDim}, latent ${c.latentDim}, ` +
    `mapping hidden ${c.mappingHidden}, w_hpf ${c.wHpf}${highPassEverywhere(c) ? ' on every pixel' : ''}`;
}

/** Parameter counts of a record of networks, by network name. */
export function countParts(parts: Parts): Record<string, number> {
  return Object.fromEntries(netNames.filter((n) => parts[n]).map((n) => [n, countParams(parts[n])]));
}
