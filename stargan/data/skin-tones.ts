/**
 * The embedded default with ground truth: skin-tone emoji from the installed
 * `emoji-datasource-<vendor>` packages. Six domains, the default (yellow) emoji and its five
 * Fitzpatrick tone modifiers U+1F3FB..U+1F3FF; the same emoji exists in every tone, so the
 * translation of an emoji to a tone can be compared with the real emoji in that tone.
 *
 * A fixed set of emoji is held out (never trained on) as the `val` split. It is the split
 * of the PyTorch anchor (shared/anchors/emoji_learning/data.py + train.py): emoji in
 * emoji.json order, held out = `sort(RandomState(123).permutation(N)[:60])`, so both
 * implementations are measured on the same 60 emoji.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { Dataset } from './datasets.ts';
import { emojiPackageDir, type EmojiVendor } from './emoji.ts';
import { numpyPermutation } from './numpy-permutation.ts';

/** The five tone modifiers in emoji.json's `skin_variations` keys, lightest first, with readable names. */
export const SKIN_TONES: readonly { readonly code: string; readonly name: string }[] = [
  { code: '1F3FB', name: 'light' },
  { code: '1F3FC', name: 'medium-light' },
  { code: '1F3FD', name: 'medium' },
  { code: '1F3FE', name: 'medium-dark' },
  { code: '1F3FF', name: 'dark' },
];

/** Domain names: `default` (the yellow emoji, domain 0) then the tones, lightest first. */
export const SKIN_TONE_DOMAINS: readonly string[] = ['default', ...SKIN_TONES.map((t) => t.name)];

/** Options of {@link skinToneDataset}. */
export interface SkinToneOptions {
  /** Vendors whose drawings are used; default ['google'] (as the anchor). Each adds one image per emoji and domain. */
  vendors?: readonly EmojiVendor[];
  /** 'train' (default) or 'val' (the held-out emoji). */
  split?: 'train' | 'val';
  /** How many emoji are held out; default 60. */
  heldOut?: number;
  /** Seed of the NumPy-compatible permutation that picks them; default 123 (the anchor's). */
  seed?: number;
}

/** A dataset whose domains hold the same items in the same order: files[d][i] is item i in domain d. */
export interface PairedDataset extends Dataset {
  /** items[i]: what files[d][i] shows in every domain, e.g. `google:thumbsup`. */
  readonly items: readonly string[];
}

interface ImageFlags {
  image: string;
  [flag: `has_img_${string}`]: boolean | undefined;
}

interface Entry extends ImageFlags {
  short_name: string;
  skin_variations?: Record<string, ImageFlags>;
}

/** The six images of an entry (default + tones), or undefined if it lacks a tone variant. */
function sixImages(e: Entry): ImageFlags[] | undefined {
  const tones = SKIN_TONES.map((t) => e.skin_variations?.[t.code]);
  return tones.every((t) => t !== undefined) ? [e, ...(tones as ImageFlags[])] : undefined;
}

/**
 * Skin-tone emoji: domains {@link SKIN_TONE_DOMAINS}; only emoji whose six images (default +
 * five tones) are all drawn by every chosen vendor (emoji.json's `has_img_<vendor>`); in
 * emoji.json order. Files are index-aligned across domains: files[d][i] is emoji i in tone d
 * (with several vendors, vendor blocks one after the other). The split holds out a fixed set
 * of emoji (see the module comment); train and val are disjoint and together are every emoji.
 * Images are 64x64 RGBA PNGs, composited on white when decoded (as the vendor dataset).
 *
 * Throws one line naming the package, file or option: a vendor not installed, an image
 * listed but missing, no emoji with all six images, a held-out count out of range.
 */
export function skinToneDataset(opts: SkinToneOptions = {}): PairedDataset {
  const vendors = opts.vendors ?? ['google'];
  const split = opts.split ?? 'train';
  const seed = opts.seed ?? 123;
  if (vendors.length === 0) throw new Error('skinToneDataset: no vendors chosen');
  const dup = vendors.find((v, i) => vendors.indexOf(v) !== i);
  if (dup) throw new Error(`skinToneDataset: vendor '${dup}' chosen twice`);
  const dirs = vendors.map(emojiPackageDir);
  const meta = path.join(dirs[0], 'emoji.json');
  const entries = JSON.parse(fs.readFileSync(meta, 'utf8')) as Entry[];
  const drawnByAll = (x: ImageFlags) => vendors.every((v) => x[`has_img_${v}`] === true);
  const emoji = entries.flatMap((e) => {
    const six = sixImages(e);
    return six && six.every(drawnByAll) ? [{ name: e.short_name, images: six.map((x) => x.image) }] : [];
  });
  if (emoji.length < 2) throw new Error(`${meta}: ${emoji.length} emoji have all six skin-tone images drawn by ${vendors.join(', ')}; need at least 2`);
  const heldOut = opts.heldOut ?? Math.min(60, emoji.length - 1);
  if (!Number.isInteger(heldOut) || heldOut < 1 || heldOut >= emoji.length) {
    throw new Error(`skinToneDataset: heldOut must be an integer in 1..${emoji.length - 1} (${emoji.length} emoji), got ${heldOut}`);
  }
  const perm = numpyPermutation(emoji.length, seed);
  const chosen = (split === 'val' ? perm.slice(0, heldOut) : perm.slice(heldOut)).sort((a, b) => a - b);
  const files = SKIN_TONE_DOMAINS.map((_, d) => vendors.flatMap((v, k) => {
    const dir = path.join(dirs[k], 'img', v, '64');
    return chosen.map((i) => path.join(dir, emoji[i].images[d]));
  }));
  const missing = files.flat().find((f) => !fs.existsSync(f));
  if (missing) throw new Error(`${missing}: listed in emoji.json but missing`);
  const versions = vendors.map((v, k) => {
    const pj = JSON.parse(fs.readFileSync(path.join(dirs[k], 'package.json'), 'utf8')) as { version: string };
    return `emoji-datasource-${v}@${pj.version}`;
  });
  return {
    name: `emoji-tones[${vendors.join(',')}]/${split}`,
    domains: [...SKIN_TONE_DOMAINS],
    files,
    items: vendors.flatMap((v) => chosen.map((i) => `${v}:${emoji[i].name}`)),
    source: versions.join(' + '),
  };
}
