/**
 * The labelled datasets a StarGAN v1 run trains on, each with the images its sample grids
 * start from and how its labels are trained: CelebA's layout (attributes, BCE), RaFD-like class
 * folders (one class, CE), and the embedded emoji: the people emoji (gender and skin-tone
 * attributes) and, as the second dataset of a mask-vector run, the smileys' faces labelled by
 * vendor (one class, CE), the stand-ins for the official `--dataset Both`'s CelebA and RaFD.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { domainFolders } from './datasets.ts';
import { emojiDataset, type EmojiVendor } from './emoji.ts';
import { emojiPeople } from './emoji-people.ts';
import { celebaLabelled, domainsAsLabels, type LabelledDataset } from './labelled.ts';

/** One labelled dataset of a run. */
export interface RunSet {
  /** The dataset's name in the network config and in the loss names with several datasets (`CelebA`, `RaFD`, ...). */
  readonly name: string;
  readonly train: LabelledDataset;
  /** The grid's sources: a held-out split where the layout has one. */
  readonly samples: LabelledDataset;
  /** `multi` for attribute vectors (BCE), `single` for one-hot classes (CE). */
  readonly kind: 'multi' | 'single';
}

/** CelebA's layout (`img_align_celeba/`, `list_attr_celeba.txt`) with its held-out split as grid sources. */
export function celebaSet(dir: string, attrs: readonly string[], testSize: number, name: string): RunSet {
  if (!fs.existsSync(dir)) throw new Error(`${dir}: no such folder`);
  const train = celebaLabelled(dir, attrs, { testSize });
  const test = celebaLabelled(dir, attrs, { split: 'test', testSize });
  return { name, train, samples: test.files.length > 0 ? test : train, kind: 'multi' };
}

/** Single-label class folders (RaFD-like): DIR/train/<class>, grid sources from DIR/val if present. */
export function classFolderSet(dir: string, name: string): RunSet {
  if (!fs.existsSync(dir)) throw new Error(`${dir}: no such folder`);
  const train = domainsAsLabels(domainFolders(dir, 'train'));
  const val = fs.existsSync(path.join(dir, 'val')) ? domainsAsLabels(domainFolders(dir, 'val')) : train;
  if (val.attrs.join() !== train.attrs.join()) throw new Error(`${dir}: val/ domains (${val.attrs.join(', ')}) differ from train/ domains (${train.attrs.join(', ')})`);
  return { name, train, samples: val, kind: 'single' };
}

/** The people emoji (Male, Female, skin tones; vendor labels only if `vendorLabels`). */
export function emojiPeopleSet(vendors: readonly EmojiVendor[], yellow: boolean, vendorLabels: boolean, name?: string): RunSet {
  const ds = emojiPeople({ vendors, yellow, vendorLabels });
  return { name: name ?? ds.name, train: ds, samples: ds, kind: 'multi' };
}

/** The smileys' faces (emoji.json `face-*` subcategories, ~118 per vendor) labelled by vendor, one class each (CE). */
export function emojiFacesSet(vendors: readonly EmojiVendor[]): RunSet {
  if (vendors.length < 2) throw new Error(`the embedded faces dataset labels faces by vendor and needs two vendors or more (got ${vendors.join(',')})`);
  const ds = domainsAsLabels(emojiDataset({ vendors, categories: ['Smileys & Emotion'], subcategoryPrefix: 'face-' }));
  const named = { ...ds, name: `emoji-faces[${vendors.join(',')}]` };
  return { name: 'emoji-faces', train: named, samples: named, kind: 'single' };
}
