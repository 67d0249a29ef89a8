/**
 * Which images a training run uses: its training split and the held-out split its sample grids (and
 * evaluation) draw from, chosen by what the data folder holds. Errors name the folder and the problem.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { celebaAttributes, domainFolders, type Dataset } from './datasets.ts';
import { emojiDataset, type EmojiVendor } from './emoji.ts';
import { skinToneDataset } from './skin-tones.ts';

export interface TrainingDataOptions {
  /** A folder in StarGAN v2 layout (`train/`, `val/`) or CelebA's; none: the embedded emoji. */
  readonly data?: string;
  /** Which embedded emoji set: skin tones (default; paired, 60 emoji held out) or vendors (one domain each). */
  readonly emoji?: 'tones' | 'vendors';
  /** CelebA attributes that make the domains. */
  readonly attrs: readonly string[];
  /** CelebA images held out for samples. */
  readonly testSize: number;
  /** Emoji vendors: one domain each, or (skin tones) whose drawings are used. */
  readonly vendors: readonly EmojiVendor[];
}

export interface TrainingData {
  readonly train: Dataset;
  /** The held-out split when it covers every domain, else the training split. */
  readonly samples: Dataset;
}

/** The training and sample datasets for a run; every training domain must have images. */
export function openTrainingData(o: TrainingDataOptions): TrainingData {
  const { train, samples } = openSplits(o);
  const empty = train.domains.find((_, d) => train.files[d].length === 0);
  if (empty !== undefined) throw new Error(`${train.name}: domain ${empty} has no images`);
  return { train, samples: samples.files.every((f) => f.length > 0) ? samples : train };
}

function openSplits(o: TrainingDataOptions): TrainingData {
  if (!o.data && (o.emoji ?? 'tones') === 'tones') {
    return { train: skinToneDataset({ vendors: o.vendors }), samples: skinToneDataset({ vendors: o.vendors, split: 'val' }) };
  }
  if (!o.data) {
    const ds = emojiDataset({ vendors: o.vendors });
    return { train: ds, samples: ds };
  }
  if (!fs.existsSync(o.data)) throw new Error(`--data ${o.data}: no such folder`);
  if (fs.existsSync(path.join(o.data, 'list_attr_celeba.txt'))) {
    const opts = { testSize: o.testSize };
    return { train: celebaAttributes(o.data, o.attrs, opts), samples: celebaAttributes(o.data, o.attrs, { ...opts, split: 'test' }) };
  }
  const train = domainFolders(o.data, 'train');
  const samples = fs.existsSync(path.join(o.data, 'val')) ? domainFolders(o.data, 'val') : train;
  if (samples.domains.join() !== train.domains.join()) {
    throw new Error(`${o.data}: val/ domains (${samples.domains.join(', ')}) differ from train/ domains (${train.domains.join(', ')})`);
  }
  return { train, samples };
}
