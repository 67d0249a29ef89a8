/**
 * The embedded default data: the emoji image sets of the npm packages `emoji-datasource-<vendor>` (64x64 RGBA
 * PNGs composited on white by the decoder), one domain per vendor. Nothing is downloaded: the packages are
 * dependencies.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { byCodePoint, requireDir, type Dataset } from './datasets.ts';


/** Vendors of the `emoji-datasource-<vendor>` packages. */
export type EmojiVendor = 'google' | 'twitter' | 'apple' | 'facebook';

/** The vendors this project installs (the two smallest packages: ~82 MB and ~70 MB). */
export const EMOJI_VENDORS: readonly EmojiVendor[] = ['google', 'twitter'];

/** Categories used by default: faces, people, animals and food, where styles differ most. */
export const EMOJI_CATEGORIES: readonly string[] = ['Smileys & Emotion', 'People & Body', 'Animals & Nature', 'Food & Drink'];

/** Options of {@link emojiDataset}. */
export interface EmojiOptions {
  /** Vendors = domains, in this order; default {@link EMOJI_VENDORS}. */
  vendors?: readonly EmojiVendor[];
  /** emoji.json categories to keep; default {@link EMOJI_CATEGORIES}; `'all'` for every category. */
  categories?: readonly string[] | 'all';
  /** Keep only emoji whose emoji.json subcategory starts with this (e.g. `face-`: the smileys' faces); default all. */
  subcategoryPrefix?: string;
  /** Also include the skin-tone variants (~1,875 more people images per vendor); default false. */
  skinTones?: boolean;
}

interface EmojiEntry {
  image: string;
  category: string;
  subcategory?: string;
  [flag: `has_img_${string}`]: boolean | undefined;
  skin_variations?: Record<string, { image: string; [flag: `has_img_${string}`]: boolean | undefined }>;
}

/** The folder of an installed `emoji-datasource-<vendor>` package. */
export function emojiPackageDir(vendor: EmojiVendor): string {
  const require = createRequire(import.meta.url);
  const pkg = `emoji-datasource-${vendor}`;
  try {
    return path.dirname(require.resolve(`${pkg}/package.json`));
  } catch {
    const installed = (['google', 'twitter', 'apple', 'facebook'] as const).filter((v) => {
      try {
        require.resolve(`emoji-datasource-${v}/package.json`);
        return true;
      } catch {
        return false;
      }
    });
    throw new Error(`${pkg}: package not installed (npm install --save-exact ${pkg}); installed vendors: ${installed.join(', ') || 'none'}`);
  }
}

/**
 * The embedded default dataset: 64x64 RGBA emoji PNGs from npm, one domain per vendor
 * (like AFHQ's species). Only emoji drawn by ALL chosen vendors are used (emoji.json's
 * `has_img_<vendor>` flags, checked on disk), so every domain holds the same emoji in the
 * same order: files[d][i] is the same emoji drawn by vendor d.
 */
export function emojiDataset(opts: EmojiOptions = {}): Dataset {
  const vendors = opts.vendors ?? EMOJI_VENDORS;
  if (vendors.length === 0) throw new Error('emojiDataset: no vendors chosen');
  const dirs = vendors.map(emojiPackageDir);
  const meta = path.join(dirs[0], 'emoji.json');
  const entries = JSON.parse(fs.readFileSync(meta, 'utf8')) as EmojiEntry[];
  const known = [...new Set(entries.map((e) => e.category))].sort(byCodePoint);
  const cats = opts.categories === 'all' ? known : (opts.categories ?? EMOJI_CATEGORIES);
  for (const c of cats) {
    if (!known.includes(c)) throw new Error(`${meta}: unknown emoji category "${c}"; valid: ${known.join(', ')}`);
  }
  const drawnByAll = (x: { [flag: `has_img_${string}`]: boolean | undefined }) => vendors.every((v) => x[`has_img_${v}`] === true);
  const images = new Set<string>();
  for (const e of entries) {
    if (!cats.includes(e.category)) continue;
    if (opts.subcategoryPrefix !== undefined && !(e.subcategory ?? '').startsWith(opts.subcategoryPrefix)) continue;
    if (drawnByAll(e)) images.add(e.image);
    if (opts.skinTones) {
      for (const s of Object.values(e.skin_variations ?? {})) if (drawnByAll(s)) images.add(s.image);
    }
  }
  const names = [...images].sort(byCodePoint);
  if (names.length === 0) throw new Error(`${meta}: no emoji drawn by all of ${vendors.join(', ')} in ${cats.join(', ')}${opts.subcategoryPrefix !== undefined ? ` (subcategories ${opts.subcategoryPrefix}*)` : ''}`);
  const files = vendors.map((v, d) => {
    const dir = path.join(dirs[d], 'img', v, '64');
    requireDir(dir);
    const onDisk = new Set(fs.readdirSync(dir));
    const missing = names.find((n) => !onDisk.has(n));
    if (missing) throw new Error(`${path.join(dir, missing)}: listed in emoji.json but missing`);
    return names.map((n) => path.join(dir, n));
  });
  const versions = vendors.map((v, d) => {
    const pj = JSON.parse(fs.readFileSync(path.join(dirs[d], 'package.json'), 'utf8')) as { version: string };
    return `emoji-datasource-${v}@${pj.version}`;
  });
  return { name: `emoji[${vendors.join(',')}]`, domains: [...vendors], files, source: versions.join(' + ') };
}
