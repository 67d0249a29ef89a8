/**
 * Writing StarGAN v2 networks with the official names (clovaai/stargan-v2), for the official code to load with
 * `load_state_dict(strict=True)`: as safetensors (`exportSafetensors`, the config in the metadata), or as a
 * `torch.save` zip archive (`exportTorchCheckpoint`, written by dsl/io/torch-write.ts) laid out like the official
 * `*_nets_ema.ckpt` / `*_nets.ckpt`: `{generator: OrderedDict(state_dict), ...}`.
 *
 * With w_hpf > 0 the generator's high-pass filter buffer `generator.hpf.filter` is written by default (the
 * official code since 2021 requires it; the 2020 code, which the released checkpoints come from, rejects it).
 */
import * as E from 'fp-ts/lib/Either.js';
import { recordToEntries } from '../../dsl/record-io.ts';
import { writeFileAtomic } from '../../dsl/io/files.ts';
import { writeSafetensors, type Entry } from '../../dsl/io/safetensors.ts';
import { serializeTorchZip } from '../../dsl/io/torch-write.ts';
import { highPassFilter } from '../../layers/highpass.ts';
import { decoderOf, validateNetConfig, type NetConfig } from '../v2/config.ts';
import { netNames } from '../v2/nets.ts';
import { checkStrict, hpfName, isNetName, type Parts } from './names.ts';

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

/** What an export writes: each network's tensors (checked strictly against the config), the filter, the extras. */
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
