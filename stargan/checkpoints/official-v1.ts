/**
 * Official StarGAN v1 checkpoints (yunjey/stargan `solver.py` save_model:
 * `torch.save(self.G.state_dict(), '{iter}-G.ckpt')`, the same for D): one bare state_dict per
 * network, in the zip container (torch >= 1.6) or the legacy one, read without Python by
 * dsl/io/torch-read.ts (through readCheckpointEntries). Our G and D records already use the
 * official names, so loading is a strict name-and-shape check (`load_state_dict(strict=True)`)
 * followed by a copy; the InstanceNorm running buffers the official layers carry
 * (`running_mean`, `running_var`, `num_batches_tracked`) are never used (the official code never
 * calls `eval()`) and are skipped.
 *
 * What the files do not say is how G's label vector is split into datasets: its width is
 * `3 + c_dim` (one dataset) or `3 + c_dim + c2_dim + 2` (`--dataset Both`). The caller gives the
 * layout, or {@link officialLayout} guesses the official ones from the width (5 CelebA, 8 RaFD,
 * 15 Both); D's classifier width (labels without the mask) must agree with it.
 */
import { disposeParams, flattenParams, key as makeKey, roleOf } from '../../dsl/index.ts';
import { logicalShape } from '../../dsl/tensor.ts';
import { recordFromEntries } from '../../dsl/record-io.ts';
import type { Entry } from '../../dsl/io/safetensors.ts';
import { conditionDim, labelDim, type LabelSet, type V1NetConfig } from '../v1/config.ts';
import { initDiscriminatorV1, type DiscriminatorV1Params } from '../v1/discriminator.ts';
import { initGeneratorV1, type GeneratorV1Params } from '../v1/generator.ts';
import { readCheckpointEntries } from './official.ts';

/** Buffers of the official InstanceNorm2d(track_running_stats=True) layers: in the file, never used. */
const BUFFER = /\.(running_mean|running_var|num_batches_tracked)$/;

/** The shapes of one official v1 network as read from its file. */
export interface OfficialV1Tensors {
  readonly file: string;
  readonly entries: Map<string, Entry>;
  /** Buffers and DataParallel prefixes dropped. */
  readonly notes: string[];
}

/** A state_dict's tensors by official name: DataParallel's `module.` stripped, the unused IN buffers dropped. */
export function readOfficialV1(file: string): OfficialV1Tensors {
  const raw = readCheckpointEntries(file);
  const notes: string[] = [];
  const names = [...raw.entries.keys()];
  if (names.length === 0) throw new Error(`${file}: no tensors in the file`);
  const strip = names.every((k) => k.startsWith('module.'));
  if (strip) notes.push(`${file}: stripped the 'module.' prefix of an nn.DataParallel state_dict`);
  const entries = new Map<string, Entry>();
  let buffers = 0;
  for (const [k, e] of raw.entries) {
    const name = strip ? k.slice('module.'.length) : k;
    if (BUFFER.test(name)) buffers++;
    else entries.set(name, e);
  }
  if (buffers > 0) notes.push(`${file}: skipped ${buffers} InstanceNorm running buffers (never used: the official code never calls eval())`);
  return { file, entries, notes };
}

function shapeOf(t: OfficialV1Tensors, name: string, what: string): readonly number[] {
  const e = t.entries.get(name);
  if (!e) {
    const looksLikeD = t.entries.has('conv1.weight') && t.entries.has('conv2.weight');
    throw new Error(`${t.file}: missing tensor '${name}' (${what})${looksLikeD && what.startsWith('G') ? '; this file holds a discriminator (conv1, conv2): pass it as D' : ''}`);
  }
  return e.shape;
}

/** What G's file says: channels, residual blocks, label-vector width. */
export function generatorShapeV1(t: OfficialV1Tensors): { gConvDim: number; gRepeat: number; condition: number } {
  const stem = shapeOf(t, 'main.0.weight', 'G\'s first conv');
  if (stem.length !== 4 || stem[2] !== 7 || stem[1] < 3) {
    throw new Error(`${t.file}: 'main.0.weight' has shape [${stem.join(', ')}], not G's 7x7 first conv [conv_dim, 3 + labels, 7, 7]${t.entries.has('conv2.weight') ? '; this file holds a discriminator: pass it as D' : ''}`);
  }
  const gRepeat = [...t.entries.keys()].filter((k) => /^main\.\d+\.main\.0\.weight$/.test(k)).length;
  return { gConvDim: stem[0], gRepeat, condition: stem[1] - 3 };
}

/** What D's file says: channels, strided convs, classifier width, image size (D_cls's kernel times 2^repeat). */
export function discriminatorShapeV1(t: OfficialV1Tensors): { dConvDim: number; dRepeat: number; labels: number; img: number } {
  const first = shapeOf(t, 'main.0.weight', 'D\'s first conv');
  const cls = shapeOf(t, 'conv2.weight', 'D_cls');
  if (!t.entries.has('conv1.weight')) throw new Error(`${t.file}: missing tensor 'conv1.weight' (D_src)${first[2] === 7 ? '; this file holds a generator: pass it as G' : ''}`);
  const dRepeat = [...t.entries.keys()].filter((k) => /^main\.\d+\.weight$/.test(k)).length;
  return { dConvDim: first[0], dRepeat, labels: cls[0], img: cls[2] * 2 ** dRepeat };
}

/** The official label layouts by G's label width (main.py defaults): 5 CelebA, 8 RaFD, 5 + 8 + 2 Both. */
export function officialLayout(condition: number): LabelSet[] | undefined {
  if (condition === 5) return [{ name: 'CelebA', size: 5, kind: 'multi' }];
  if (condition === 8) return [{ name: 'RaFD', size: 8, kind: 'single' }];
  if (condition === 15) return [{ name: 'CelebA', size: 5, kind: 'multi' }, { name: 'RaFD', size: 8, kind: 'single' }];
  return undefined;
}

/**
 * Strict check of a record against a file's tensors, as `load_state_dict(strict=True)`: one line
 * naming the network, the file and the first missing, unexpected or mis-shaped tensors.
 */
export function checkStrict(template: object, t: OfficialV1Tensors, net: string): void {
  const want = new Map(flattenParams(template).map(([name, x]) => [name, logicalShape(x, roleOf(name, x.rank))]));
  const missing = [...want.keys()].filter((k) => !t.entries.has(k));
  const unexpected = [...t.entries.keys()].filter((k) => !want.has(k));
  const wrong = [...want].filter(([k, s]) => {
    const e = t.entries.get(k);
    return e && (e.shape.length !== s.length || e.shape.some((d, i) => d !== s[i]));
  }).map(([k, s]) => `'${k}' is [${t.entries.get(k)!.shape.join(', ')}], expected [${s.join(', ')}]`);
  const list = (xs: string[]) => xs.slice(0, 3).map((x) => `'${x}'`).join(', ') + (xs.length > 3 ? ` and ${xs.length - 3} more` : '');
  const problems = [
    missing.length ? `missing ${list(missing)}` : '',
    unexpected.length ? `unexpected ${list(unexpected)}` : '',
    wrong.length ? `mis-shaped ${wrong.slice(0, 2).join('; ')}${wrong.length > 2 ? ` and ${wrong.length - 2} more` : ''}` : '',
  ].filter(Boolean);
  if (problems.length) throw new Error(`${t.file}: not the ${net} of this config: ${problems.join('; ')}`);
}

/** Official G (and optionally D) files loaded into our records, with the config they imply. */
export interface OfficialV1 {
  readonly net: V1NetConfig;
  readonly G: GeneratorV1Params;
  readonly D?: DiscriminatorV1Params;
  readonly notes: string[];
}

/** Options of {@link loadOfficialV1}. */
export interface OfficialV1Options {
  /** How the label vector splits into datasets; default {@link officialLayout} of G's label width. */
  readonly datasets?: readonly LabelSet[];
  /** Image size when there is no D to read it from (G is fully convolutional); default 128 (official). */
  readonly img?: number;
}

/**
 * Loads an official `{iter}-G.ckpt` (and `{iter}-D.ckpt`): G's widths and block count from its
 * shapes, D's from its own, the label layout from `opts.datasets` or the official guess, then a
 * strict name/shape check of each network. Errors are one line naming the file and the tensor.
 */
export function loadOfficialV1(gFile: string, dFile?: string, opts: OfficialV1Options = {}): OfficialV1 {
  const g = readOfficialV1(gFile);
  const gs = generatorShapeV1(g);
  const d = dFile ? readOfficialV1(dFile) : undefined;
  const ds = d ? discriminatorShapeV1(d) : undefined;
  const datasets = opts.datasets ?? officialLayout(gs.condition);
  if (!datasets) {
    throw new Error(`${gFile}: G reads ${gs.condition} labels, not an official layout (5 CelebA, 8 RaFD, 15 Both): give the label names (--labels, and --labels2 for two datasets)`);
  }
  const net: V1NetConfig = {
    img: ds?.img ?? opts.img ?? 128, gConvDim: gs.gConvDim, gRepeat: gs.gRepeat,
    dConvDim: ds?.dConvDim ?? gs.gConvDim, dRepeat: ds?.dRepeat ?? 6, datasets,
  };
  if (conditionDim(net) !== gs.condition) {
    throw new Error(`${gFile}: G reads ${gs.condition} labels, the layout ${datasets.map((s) => `${s.name} ${s.size}`).join(' + ')}${datasets.length > 1 ? ` + mask ${datasets.length}` : ''} has ${conditionDim(net)}`);
  }
  if (d && ds && ds.labels !== labelDim(net)) {
    throw new Error(`${d.file}: D classifies ${ds.labels} labels, G's label vector implies ${labelDim(net)}${datasets.length > 1 ? ' (labels without the mask)' : ''}: G and D from different runs?`);
  }
  const template = { G: initGeneratorV1(makeKey(0), net), D: d ? initDiscriminatorV1(makeKey(0), net) : undefined };
  try {
    checkStrict(template.G, g, 'generator');
    if (d) checkStrict(template.D!, d, 'discriminator');
    const G = recordFromEntries(template.G, g.entries, '', gFile);
    const D = d ? recordFromEntries(template.D!, d.entries, '', d.file) : undefined;
    return { net, G, ...(D ? { D } : {}), notes: [...g.notes, ...(d?.notes ?? [])] };
  } finally {
    disposeParams(template);
  }
}
