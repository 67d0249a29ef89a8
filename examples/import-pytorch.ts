/**
 * Moves StarGAN v2 weights between the official PyTorch code and this project, without Python.
 *
 *   import  an official checkpoint (`*_nets_ema.ckpt`, `*_nets.ckpt`, or safetensors with the official names)
 *           -> our training checkpoint (stargan-ts/1), ready for sampling or to resume training
 *   export  any checkpoint -> official names, as safetensors or as a torch.save `.ckpt` (by extension)
 *   inspect any checkpoint -> the inferred config and parameter counts
 *
 * See docs/pytorch-interop.md.
 */
import * as path from 'node:path';
import type { NetConfig } from '../stargan/v2/config.ts';
import { parseFlags, runMain, UserError } from './lib/cli.ts';
import type { ExportOptions } from '../stargan/checkpoints/export.ts';
import type { Parts } from '../stargan/checkpoints/names.ts';
import type { Nets } from '../stargan/v2/nets.ts';

/** The tensor modules, loaded after the arguments are checked (so --help and usage errors answer at once). */
async function loadLib() {
  const [dsl, checkpoint, config, official, names, exporting, disc, step] = await Promise.all([
    import('../dsl/index.ts'), import('../stargan/checkpoints/ours.ts'), import('../stargan/v2/config.ts'),
    import('../stargan/checkpoints/official.ts'), import('../stargan/checkpoints/names.ts'),
    import('../stargan/checkpoints/export.ts'), import('../stargan/v2/discriminator.ts'), import('../stargan/v2/step.ts'),
  ]);
  return { ...dsl, ...checkpoint, ...config, ...official, ...names, ...exporting, ...disc, trainState: step.trainState };
}
type Lib = Awaited<ReturnType<typeof loadLib>>;

const usage = `usage:
  tsx examples/import-pytorch.ts import FILE --out OURS.safetensors [--seed N] [--iteration N] [--ema-from FILE]
  tsx examples/import-pytorch.ts export FILE --out OUT.safetensors|OUT.ckpt [--ema | --raw] [--no-hpf-filter]
                                       [--extra-from FILE]
  tsx examples/import-pytorch.ts inspect FILE

FILE is any StarGAN v2 checkpoint: an official torch.save file (*_nets_ema.ckpt, *_nets.ckpt; legacy or zip),
a safetensors file with the official names, or one of ours (stargan-ts). The kind is recognised by content.

import   writes our training checkpoint: networks = the file's weights, EMA copies = the file's weights (or those
         of --ema-from, e.g. 100000_nets_ema.ckpt next to 100000_nets.ckpt). A file without a discriminator gets a
         He-initialised one from --seed (default 0). --iteration (default: the N of an 'N_nets*.ckpt' file name,
         else 0) sets where training resumes, which matters for the lambda_ds decay.
export   writes the official names: the EMA networks G, F, E by default (like *_nets_ema.ckpt), or with --raw the
         trained G, F, E, D (like *_nets.ckpt). .safetensors -> safetensors; .ckpt/.pt/.pth -> torch.save zip format.
         With w_hpf > 0, 'generator.hpf.filter' is written (the official code since 2021 requires it);
         --no-hpf-filter leaves it out, for the 2020 code the release checkpoints come from.
         Tensors outside the four networks (e.g. 'fan.*', which the official solver keeps with the EMA networks
         when w_hpf > 0 and expects back) are copied from an official FILE, or from --extra-from FILE.
inspect  prints the inferred config, what had to be assumed, and parameter counts per network.`;

/** A usage error: one line, exit code 2. */
class UsageError extends UserError {
  constructor(message: string) {
    super(`${message} (see --help)`, 2);
  }
}

function int(v: string | undefined, flag: string): number | undefined {
  if (v === undefined) return undefined;
  if (!/^\d+$/.test(v)) throw new UsageError(`${flag} must be a non-negative integer, got '${v}'`);
  return Number(v);
}

const flags = {
  out: { type: 'string', short: 'o' },
  seed: { type: 'string' },
  iteration: { type: 'string' },
  'ema-from': { type: 'string' },
  ema: { type: 'boolean', default: false },
  raw: { type: 'boolean', default: false },
  'no-hpf-filter': { type: 'boolean', default: false },
  'extra-from': { type: 'string' },
} as const;

function parse() {
  const { values, positionals } = parseFlags(flags, usage, true);
  const [command, file, ...rest] = positionals;
  if (!command) throw new UsageError('missing command (import, export or inspect)');
  if (!['import', 'export', 'inspect'].includes(command)) throw new UsageError(`unknown command '${command}' (import, export or inspect)`);
  if (!file) throw new UsageError(`${command}: missing FILE`);
  if (rest.length) throw new UsageError(`${command}: unexpected argument '${rest[0]}'`);
  const only = (allowed: string[]) => {
    const given = Object.entries(values).filter(([k, v]) => k !== 'help' && v !== undefined && v !== false).map(([k]) => k);
    const bad = given.find((k) => !allowed.includes(k));
    if (bad) throw new UsageError(`${command}: --${bad} does not apply`);
  };
  if (command === 'inspect') only([]);
  if (command === 'import') only(['out', 'seed', 'iteration', 'ema-from']);
  if (command === 'export') {
    only(['out', 'ema', 'raw', 'no-hpf-filter', 'extra-from']);
    if (values.ema && values.raw) throw new UsageError('export: --ema and --raw exclude each other');
    if (values.out && !['.safetensors', '.ckpt', '.pt', '.pth'].includes(path.extname(values.out).toLowerCase())) {
      throw new UsageError(`export: --out must end in .safetensors, .ckpt, .pt or .pth, got '${values.out}'`);
    }
  }
  if (command !== 'inspect' && !values.out) throw new UsageError(`${command}: missing --out FILE`);
  return {
    command, file, out: values.out ?? '',
    seed: int(values.seed, '--seed') ?? 0, iteration: int(values.iteration, '--iteration'), emaFrom: values['ema-from'],
    raw: values.raw, hpfFilter: !values['no-hpf-filter'], extraFrom: values['extra-from'],
  };
}

type Args = ReturnType<typeof parse>;

const fmtCount = (n: number) => n.toLocaleString('en-US');

function printConfig(net: NetConfig, notes: readonly string[]): void {
  console.log(`config: ${JSON.stringify(net)}`);
  for (const n of notes) console.log(`note: ${n}`);
}

function printCounts(counts: Record<string, number>): void {
  for (const [n, c] of Object.entries(counts)) console.log(`  ${n.padEnd(24)} ${fmtCount(c).padStart(12)}`);
}

/** The iteration an official file name states, e.g. 100000 for '100000_nets_ema.ckpt'. */
function iterationOfName(file: string): number {
  const m = /^(\d+)_nets/.exec(path.basename(file));
  return m ? Number(m[1]) : 0;
}

function importCommand(lib: Lib, a: Args): void {
  const { configDiff, defaultTrain, initDiscriminator, key, loadAnyCheckpoint, mapParams, saveCheckpoint, split, countParts, trainState } = lib;
  const loaded = loadAnyCheckpoint(a.file);
  if (loaded.source === 'stargan-ts') throw new Error(`${a.file}: already a stargan-ts checkpoint (nothing to import)`);
  console.log(`${a.file}: ${loaded.source}, ${loaded.nets ? 'G, F, E, D' : 'G, F, E (no discriminator)'}`);
  printConfig(loaded.net, loaded.notes);
  let ema = loaded.ema;
  if (a.emaFrom) {
    const other = loadAnyCheckpoint(a.emaFrom);
    const diff = configDiff(loaded.net, other.net);
    if (diff) throw new Error(`${a.emaFrom}: config differs from ${a.file} (${diff})`);
    ema = other.ema;
    console.log(`EMA networks from ${a.emaFrom}`);
  }
  const [kD, kRun] = split(key(a.seed), 2);
  let nets: Nets;
  if (loaded.nets) {
    nets = loaded.nets;
  } else {
    const copy = mapParams((t) => t.clone(), loaded.ema);
    nets = { ...copy, discriminator: initDiscriminator(kD, loaded.net) };
    console.log(`discriminator: none in the file; He-initialised from --seed ${a.seed}`);
  }
  const iteration = a.iteration ?? iterationOfName(a.file);
  const state = trainState(nets, kRun, { ema, iteration });
  saveCheckpoint(a.out, { net: loaded.net, train: defaultTrain }, state);
  console.log('parameters:');
  printCounts(countParts(nets));
  console.log(`wrote ${a.out} (stargan-ts checkpoint, iteration ${iteration}, default training config, fresh Adam state)`);
}

function exportCommand(lib: Lib, a: Args): void {
  const { countParts, exportSafetensors, exportTorchCheckpoint, loadAnyCheckpoint, tensorsOutsideNetworks } = lib;
  const ext = path.extname(a.out).toLowerCase();
  const writer = ext === '.safetensors' ? exportSafetensors : exportTorchCheckpoint;
  const loaded = loadAnyCheckpoint(a.file);
  let parts: Parts;
  if (a.raw) {
    if (!loaded.nets) throw new Error(`${a.file}: holds only the EMA networks G, F, E (no discriminator); export without --raw`);
    parts = loaded.nets;
  } else {
    parts = loaded.ema;
  }
  const extra = new Map(loaded.extra);
  if (a.extraFrom) {
    const more = tensorsOutsideNetworks(a.extraFrom);
    if (more.size === 0) throw new Error(`${a.extraFrom}: has no tensors outside the four networks (nothing for --extra-from)`);
    for (const [k, e] of more) extra.set(k, e);
  }
  const opts: ExportOptions = { hpfFilter: a.hpfFilter, extra };
  writer(a.out, parts, loaded.net, opts);
  printConfig(loaded.net, loaded.notes);
  console.log(`parameters (${a.raw ? 'raw' : 'EMA'} networks):`);
  printCounts(countParts(parts));
  if (extra.size) console.log(`also copied ${extra.size} tensors outside the networks (e.g. '${[...extra.keys()][0]}')`);
  if (loaded.net.wHpf > 0) console.log(a.hpfFilter ? `wrote generator.hpf.filter (w_hpf ${loaded.net.wHpf})` : 'left out generator.hpf.filter (--no-hpf-filter)');
  console.log(`wrote ${a.out} (${ext === '.safetensors' ? 'safetensors' : 'torch.save zip'}, official names)`);
}

function inspectCommand(lib: Lib, a: Args): void {
  const d = lib.describeCheckpoint(a.file);
  console.log(`${a.file}: ${d.source}`);
  printConfig(d.net, d.notes);
  console.log('parameters:');
  printCounts(d.counts);
  for (const [k, n] of Object.entries(d.extra)) console.log(`other tensors: ${k}.* (${n})`);
}

async function main(): Promise<void> {
  const a = parse();
  const lib = await loadLib();
  if (a.command === 'inspect') return inspectCommand(lib, a);
  await lib.useBackend('wasm');
  if (a.command === 'import') importCommand(lib, a);
  else exportCommand(lib, a);
}

runMain('import-pytorch', main);
