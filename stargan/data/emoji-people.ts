/**
 * The embedded default for StarGAN v1: the people emoji of the installed emoji-datasource
 * packages (64x64 PNGs) as a multi-label dataset, labels read from emoji.json:
 *
 * - `Male` / `Female`: the emoji's name has a male word (MAN, BOY, PRINCE, FATHER, MERMAN, ...)
 *   or a female one (WOMAN, GIRL, PRINCESS, MOTHER, MERMAID, BRIDE, ...); gender-neutral emoji
 *   (PERSON, ADULT, CHILD, ...) have neither, so these are two attributes, not one;
 * - `Light_Skin`, `Medium_Skin`, `Dark_Skin`: the skin-tone variant (modifiers 1F3FB and 1F3FC
 *   light, 1F3FD medium, 1F3FE and 1F3FF dark), one exclusive group; the default yellow emoji
 *   has none of the three;
 * - one attribute per vendor (`google`, `twitter`, ...) when there are several: the drawing
 *   style, one exclusive group.
 *
 * Emoji: the `People & Body` subcategories that show a face or upper body (person,
 * person-role, person-gesture, person-fantasy) and have skin-tone variants; each in its
 * default colour and its five single-tone variants, drawn by every chosen vendor
 * (165 emoji x 6 x 2 vendors = 1,980 images for google + twitter, emoji-datasource 16.0.0).
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { EMOJI_VENDORS, emojiPackageDir, type EmojiVendor } from './emoji.ts';
import type { LabelledDataset } from './labelled.ts';

/** The subcategories whose emoji show a face or an upper body. */
export const EMOJI_PEOPLE_SUBCATEGORIES: readonly string[] = ['person', 'person-role', 'person-gesture', 'person-fantasy'];

/** The attributes every emoji-people dataset has (vendor attributes follow when there are several vendors). */
export const EMOJI_PEOPLE_ATTRS: readonly string[] = ['Male', 'Female', 'Light_Skin', 'Medium_Skin', 'Dark_Skin'];

const MALE_WORDS = new Set(['MAN', 'MEN', 'BOY', 'PRINCE', 'FATHER', 'MERMAN', 'MALE']);
const FEMALE_WORDS = new Set(['WOMAN', 'WOMEN', 'GIRL', 'PRINCESS', 'MOTHER', 'MERMAID', 'BRIDE', 'FEMALE']);

/** Skin-tone modifier -> index into Light, Medium, Dark. */
const TONES: Record<string, number> = { '1F3FB': 0, '1F3FC': 0, '1F3FD': 1, '1F3FE': 2, '1F3FF': 2 };

/** Male and Female bits of an emoji name (e.g. "WOMAN: RED HAIR" -> [0, 1], "PERSON BOWING DEEPLY" -> [0, 0]). */
export function genderOf(name: string): [number, number] {
  const words = name.toUpperCase().split(/[^A-Z]+/);
  return [words.some((w) => MALE_WORDS.has(w)) ? 1 : 0, words.some((w) => FEMALE_WORDS.has(w)) ? 1 : 0];
}

type Flags = { [flag: `has_img_${string}`]: boolean | undefined };
interface PeopleEntry extends Flags {
  name: string;
  image: string;
  category: string;
  subcategory: string;
  skin_variations?: Record<string, Flags & { image: string }>;
}

/** Options of {@link emojiPeople}. */
export interface EmojiPeopleOptions {
  /** Vendors, in label order; default google, twitter (the installed ones). */
  vendors?: readonly EmojiVendor[];
  /** Also the default yellow emoji (no skin-tone label); default true. */
  yellow?: boolean;
  /**
   * One label per vendor when there are several (default true). Off when the vendor is another
   * dataset's label (StarGAN v1 with the mask vector: `train-stargan-v1.ts --dataset both`).
   */
  vendorLabels?: boolean;
}

/**
 * The people emoji with their labels. Throws one line naming the package or file when a
 * vendor is not installed or an image listed in emoji.json is missing.
 */
export function emojiPeople(opts: EmojiPeopleOptions = {}): LabelledDataset {
  const vendors = opts.vendors ?? EMOJI_VENDORS;
  if (vendors.length === 0) throw new Error('emojiPeople: no vendors chosen');
  const dirs = vendors.map(emojiPackageDir);
  const meta = path.join(dirs[0], 'emoji.json');
  const entries = JSON.parse(fs.readFileSync(meta, 'utf8')) as PeopleEntry[];
  const vendorLabels = vendors.length > 1 && (opts.vendorLabels ?? true);
  const attrs = [...EMOJI_PEOPLE_ATTRS, ...(vendorLabels ? vendors : [])];
  const k = attrs.length;
  const drawnByAll = (f: Flags) => vendors.every((v) => f[`has_img_${v}`] === true);
  const items: { image: string; labels: number[] }[] = [];
  for (const e of entries) {
    if (!EMOJI_PEOPLE_SUBCATEGORIES.includes(e.subcategory) || !e.skin_variations || !drawnByAll(e)) continue;
    const base = [...genderOf(e.name), 0, 0, 0];
    if (opts.yellow ?? true) items.push({ image: e.image, labels: base });
    for (const [tone, v] of Object.entries(e.skin_variations)) {
      if (!(tone in TONES) || !drawnByAll(v)) continue; // two-tone variants (couples) are skipped
      const l = [...base];
      l[2 + TONES[tone]] = 1;
      items.push({ image: v.image, labels: l });
    }
  }
  if (items.length === 0) throw new Error(`${meta}: no people emoji drawn by all of ${vendors.join(', ')}`);
  const files: string[] = [];
  const labels = new Uint8Array(items.length * vendors.length * k);
  vendors.forEach((v, d) => {
    const dir = path.join(dirs[d], 'img', v, '64');
    const onDisk = new Set(fs.existsSync(dir) ? fs.readdirSync(dir) : []);
    for (const it of items) {
      if (!onDisk.has(it.image)) throw new Error(`${path.join(dir, it.image)}: listed in emoji.json but missing`);
      const row = files.length;
      it.labels.forEach((b, a) => (labels[row * k + a] = b));
      if (vendorLabels) labels[row * k + EMOJI_PEOPLE_ATTRS.length + d] = 1;
      files.push(path.join(dir, it.image));
    }
  });
  const versions = vendors.map((v, d) => {
    const pj = JSON.parse(fs.readFileSync(path.join(dirs[d], 'package.json'), 'utf8')) as { version: string };
    return `emoji-datasource-${v}@${pj.version}`;
  });
  const tones = [2, 3, 4];
  const vendorGroup = vendorLabels ? [vendors.map((_, d) => EMOJI_PEOPLE_ATTRS.length + d)] : [];
  return { name: `emoji-people[${vendors.join(',')}]`, attrs, groups: [tones, ...vendorGroup], files, labels, source: versions.join(' + ') };
}
