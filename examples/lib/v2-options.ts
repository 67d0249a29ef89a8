/**
 * What the StarGAN v2 training programs (train-celeba.ts, train-step.ts) read alike: the network
 * flags, the emoji vendors, the training data, and the check that a resumed checkpoint has the
 * network the flags ask for.
 */
import { configDiff } from '../../stargan/checkpoints/ours.ts';
import { EMOJI_VENDORS, type EmojiVendor } from '../../stargan/data/emoji.ts';
import { openTrainingData, type TrainingData } from '../../stargan/data/training-data.ts';
import { decoderKinds, hpfMasks, officialBase, type NetConfig } from '../../stargan/v2/config.ts';
import { choiceFlag, intFlag, numFlag, UserError } from './cli.ts';

/** The options both v2 training programs have: data, batches and the run folder. */
export interface RunOptions {
  readonly data?: string;
  readonly attrs: string[];
  readonly testSize: number;
  readonly vendors: EmojiVendor[];
  readonly batch: number;
  readonly seed: number;
  readonly augment: boolean;
  readonly out?: string;
  readonly sampleEvery: number;
  readonly ckptEvery: number;
  readonly logEvery: number;
  readonly resume: boolean;
  /** Network flags given explicitly (checked against a resumed checkpoint). */
  readonly explicitNet: (keyof NetConfig)[];
}

/** The network flags, for a program's parseArgs table. */
export const netFlagSpec = {
  img: { type: 'string' }, base: { type: 'string' }, 'max-conv': { type: 'string' }, 'mapping-hidden': { type: 'string' },
  'w-hpf': { type: 'string' }, 'style-dim': { type: 'string' }, 'latent-dim': { type: 'string' }, decoder: { type: 'string' },
  'hpf-mask': { type: 'string' },
} as const;

type NetValues = { readonly [F in keyof typeof netFlagSpec]?: string };

const netFlagNames: [keyof NetConfig, keyof typeof netFlagSpec][] = [
  ['img', 'img'], ['base', 'base'], ['maxConv', 'max-conv'], ['mappingHidden', 'mapping-hidden'],
  ['wHpf', 'w-hpf'], ['styleDim', 'style-dim'], ['latentDim', 'latent-dim'], ['decoder', 'decoder'], ['hpfMask', 'hpf-mask'],
];

/** The network the flags ask for (`domains` is set later, from the dataset). */
export function netConfigFrom(v: NetValues): NetConfig {
  const img = intFlag('img', v.img, 64, 16, 1024);
  if ((img & (img - 1)) !== 0) throw new UserError(`--img must be a power of two, got '${v.img}'`, 2);
  return {
    img,
    base: intFlag('base', v.base, img === 64 ? 32 : Math.max(16, Math.min(64, officialBase(img)))),
    maxConv: intFlag('max-conv', v['max-conv'], 256),
    domains: 2,
    styleDim: intFlag('style-dim', v['style-dim'], 64),
    latentDim: intFlag('latent-dim', v['latent-dim'], 16),
    mappingHidden: intFlag('mapping-hidden', v['mapping-hidden'], 512),
    wHpf: numFlag('w-hpf', v['w-hpf'], 0),
    decoder: choiceFlag('decoder', v.decoder, decoderKinds, 'adain'),
    ...(v['hpf-mask'] !== undefined ? { hpfMask: choiceFlag('hpf-mask', v['hpf-mask'], hpfMasks, 'face') } : {}),
  };
}

/** The network fields the user gave explicitly (checked against a resumed checkpoint). */
export const explicitNetFields = (v: NetValues): (keyof NetConfig)[] =>
  netFlagNames.filter(([, flag]) => v[flag] !== undefined).map(([k]) => k);

/**
 * Why a checkpoint's network cannot continue under these flags ('' if it can): the fields given
 * explicitly, and the domain count, must equal the checkpoint's.
 */
export function resumeConflict(stored: NetConfig, asked: NetConfig, explicit: readonly (keyof NetConfig)[]): string {
  const fields = Object.fromEntries([...explicit, 'domains' as const].map((k) => [k, asked[k]]));
  const diff = configDiff({ ...stored, ...fields }, stored);
  return diff ? `checkpoint from a different config (requested ${diff.replace(/(\S+) (\S+) vs (\S+)/g, '$1 $2, checkpoint has $3')}); drop the conflicting flags or use another --out` : '';
}

/** `--vendors a,b`: known, distinct, at least `min`. */
export function vendorsFrom(value: string | undefined, fallback: readonly EmojiVendor[], min: number, why: string): EmojiVendor[] {
  const vendors = (value ?? fallback.join(',')).split(',').map((s) => s.trim()) as EmojiVendor[];
  const known: readonly string[] = [...EMOJI_VENDORS, 'apple', 'facebook'];
  const bad = vendors.find((x) => !known.includes(x));
  if (bad) throw new UserError(`--vendors: unknown vendor '${bad}' (choose from ${known.join(', ')})`, 2);
  if (new Set(vendors).size !== vendors.length) throw new UserError(`--vendors: a vendor is listed twice ('${value}')`, 2);
  if (vendors.length < min) throw new UserError(`--vendors needs at least two vendors ${why}`, 2);
  return vendors;
}

/** The run's datasets; a problem with the data is the user's to fix (one line, exit 1). */
export function openData(o: Parameters<typeof openTrainingData>[0]): TrainingData {
  try {
    return openTrainingData(o);
  } catch (e) {
    throw new UserError((e as Error).message);
  }
}
