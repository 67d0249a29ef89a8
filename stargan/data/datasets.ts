/**
 * Datasets as lists of image files per domain. Nothing is decoded here: a Dataset is only
 * names and paths, checked when it is built (folders exist, domains are not empty, listed
 * files exist). Images are decoded later, by the sampler's cache, which names the file in
 * any decoding error.
 *
 * Three sources:
 * - {@link domainFolders}: StarGAN v2's `<root>/<split>/<domain>/*.{jpg,jpeg,png}` (CelebA-HQ, AFHQ);
 * - {@link celebaAttributes}: CelebA's `img_align_celeba/` + `list_attr_celeba.txt`, with
 *   domains made from attributes the way StarGAN v1 uses them;
 * - {@link emojiDataset} (emoji.ts): the embedded default, emoji image sets from npm, one domain per vendor.
 */
import { readFileOrFail } from '../../dsl/io/files.ts';
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Image files grouped by domain. */
export interface Dataset {
  /** Short name for logs and run folders, e.g. `afhq/train`, `celeba[Male]/train`, `emoji[google,twitter]`. */
  readonly name: string;
  /** Domain names; domain index d is the label y. */
  readonly domains: readonly string[];
  /** files[d] = the sorted image paths of domain d. */
  readonly files: readonly (readonly string[])[];
  /** Where the data comes from (a folder, or npm packages with versions). */
  readonly source: string;
}

const IMAGE_EXT = /\.(jpe?g|png)$/i;
const EXT_LIST = '(.jpg, .jpeg, .png)';

function isDir(p: string): boolean {
  try {
    return fs.statSync(p).isDirectory();
  } catch {
    return false;
  }
}

/** Fails with one line naming the path unless it is an existing folder. */
export function requireDir(p: string): void {
  if (!fs.existsSync(p)) throw new Error(`${p}: missing folder`);
  if (!isDir(p)) throw new Error(`${p}: not a folder`);
}

/** Image files under a folder, recursively (as the official `listdir` with rglob), sorted. */
function listImages(dir: string): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const e of fs.readdirSync(d, { withFileTypes: true })) {
      if (e.name.startsWith('.')) continue;
      const p = path.join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (IMAGE_EXT.test(e.name) && (e.isFile() || e.isSymbolicLink())) out.push(p);
    }
  };
  walk(dir);
  return out.sort(byCodePoint);
}

/** Sorts as Python's `sorted` on str (code points), independent of locale. */
export function byCodePoint(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

// ---------------------------------------------------------------------------------------
// StarGAN v2 folder layout

/**
 * StarGAN v2's layout `<root>/<split>/<domain>/*.{jpg,jpeg,png}` (CelebA-HQ, AFHQ).
 * Domains are the subfolders, sorted by name; images are found recursively inside each
 * domain folder (as the official code does) and sorted. Hidden files are skipped.
 * Throws one line naming the path for a missing folder, no domain subfolders, or an empty domain.
 */
export function domainFolders(root: string, split: 'train' | 'val'): Dataset {
  requireDir(root);
  const dir = path.join(root, split);
  requireDir(dir);
  const domains = fs.readdirSync(dir, { withFileTypes: true })
    .filter((e) => !e.name.startsWith('.') && (e.isDirectory() || (e.isSymbolicLink() && isDir(path.join(dir, e.name)))))
    .map((e) => e.name)
    .sort(byCodePoint);
  if (domains.length === 0) {
    throw new Error(`${dir}: no domain subfolders (expected ${path.join(dir, '<domain>')}/*.jpg|png)`);
  }
  const files = domains.map((d) => {
    const fs_ = listImages(path.join(dir, d));
    if (fs_.length === 0) throw new Error(`${path.join(dir, d)}: no images ${EXT_LIST}`);
    return fs_;
  });
  return { name: `${path.basename(path.resolve(root))}/${split}`, domains, files, source: path.resolve(root) };
}

// ---------------------------------------------------------------------------------------
// CelebA attributes

/**
 * Python's `random.seed(seed); random.shuffle(list(range(n)))`: MT19937 seeded by
 * `init_by_array` with the seed's 32-bit words, and `shuffle`'s `_randbelow` by rejection.
 * This reproduces the official StarGAN v1 split (`random.seed(1234)`) exactly.
 */
export function pythonShuffle(n: number, seed: number): number[] {
  const mt = new Uint32Array(624);
  let mti = 625;
  const initGenrand = (s: number) => {
    mt[0] = s >>> 0;
    for (mti = 1; mti < 624; mti++) {
      const prev = mt[mti - 1] ^ (mt[mti - 1] >>> 30);
      mt[mti] = (Math.imul(1812433253, prev) + mti) >>> 0;
    }
  };
  const initByArray = (key: number[]) => {
    initGenrand(19650218);
    let i = 1;
    let j = 0;
    for (let k = Math.max(624, key.length); k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1664525)) + key[j] + j) >>> 0;
      i++;
      j++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
      if (j >= key.length) j = 0;
    }
    for (let k = 623; k > 0; k--) {
      const prev = mt[i - 1] ^ (mt[i - 1] >>> 30);
      mt[i] = ((mt[i] ^ Math.imul(prev, 1566083941)) - i) >>> 0;
      i++;
      if (i >= 624) {
        mt[0] = mt[623];
        i = 1;
      }
    }
    mt[0] = 0x80000000;
  };
  const genrand = (): number => {
    if (mti >= 624) {
      for (let k = 0; k < 624; k++) {
        const y = (mt[k] & 0x80000000) | (mt[(k + 1) % 624] & 0x7fffffff);
        mt[k] = mt[(k + 397) % 624] ^ (y >>> 1) ^ (y & 1 ? 0x9908b0df : 0);
      }
      mti = 0;
    }
    let y = mt[mti++];
    y ^= y >>> 11;
    y ^= (y << 7) & 0x9d2c5680;
    y ^= (y << 15) & 0xefc60000;
    y ^= y >>> 18;
    return y >>> 0;
  };
  let s = Math.abs(Math.trunc(seed));
  const key: number[] = [];
  do {
    key.push(s % 2 ** 32);
    s = Math.floor(s / 2 ** 32);
  } while (s > 0);
  initByArray(key);
  const randBelow = (m: number): number => {
    const k = 32 - Math.clz32(m); // m.bit_length()
    let r = genrand() >>> (32 - k);
    while (r >= m) r = genrand() >>> (32 - k);
    return r;
  };
  const x = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = randBelow(i + 1);
    const t = x[i];
    x[i] = x[j];
    x[j] = t;
  }
  return x;
}

/** Hair colours, treated as one mutually exclusive choice (StarGAN v1's `create_labels`). */
export const HAIR_COLORS: readonly string[] = ['Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Gray_Hair'];

/** StarGAN v1's default selected attributes. */
export const CELEBA_DEFAULT_ATTRS: readonly string[] = ['Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Male', 'Young'];

/** A parsed `list_attr_celeba.txt`. */
export interface CelebaAttributeTable {
  readonly names: readonly string[];
  /** Data rows in file order: file name and one ±1 value per attribute. */
  readonly rows: readonly { readonly file: string; readonly line: number; readonly values: Int8Array }[];
}

/** Parses CelebA's attribute file; errors name the file and line. */
export function parseCelebaAttributes(file: string): CelebaAttributeTable {
  const text = readFileOrFail(file).toString('utf8');
  const lines = text.split(/\r?\n/);
  const head = (lines[0] ?? '').trim();
  if (!/^\d+$/.test(head)) throw new Error(`${file}:1: expected the image count, got "${head.slice(0, 40)}"`);
  const count = Number(head);
  const names = (lines[1] ?? '').trim().split(/\s+/).filter((s) => s.length > 0);
  if (names.length === 0) throw new Error(`${file}:2: expected the attribute names, got an empty line`);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  if (dup) throw new Error(`${file}:2: attribute "${dup}" is listed twice`);
  const rows: { file: string; line: number; values: Int8Array }[] = [];
  const k = names.length;
  for (let i = 2; i < lines.length; i++) {
    const t = lines[i].trim();
    if (t.length === 0) continue;
    const cols = t.split(/\s+/);
    if (cols.length !== k + 1) {
      throw new Error(`${file}:${i + 1}: expected ${k + 1} columns (file name + ${k} values), got ${cols.length}`);
    }
    const values = new Int8Array(k);
    for (let a = 0; a < k; a++) {
      const v = cols[a + 1];
      if (v === '1') values[a] = 1;
      else if (v === '-1') values[a] = -1;
      else throw new Error(`${file}:${i + 1}: value "${v}" of attribute ${names[a]} is not 1 or -1`);
    }
    rows.push({ file: cols[0], line: i + 1, values });
  }
  if (rows.length !== count) {
    throw new Error(`${file}: line 1 says ${count} images but ${rows.length} are listed`);
  }
  return { names, rows };
}

/** Levenshtein distance, for "did you mean" hints. */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = d[0];
    d[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const t = d[j];
      d[j] = Math.min(d[j] + 1, d[j - 1] + 1, prev + (a[i - 1].toLowerCase() === b[j - 1].toLowerCase() ? 0 : 1));
      prev = t;
    }
  }
  return d[b.length];
}

/** Options of {@link celebaAttributes}. */
export interface CelebaOptions {
  /** 'train' (default) or 'test'. */
  split?: 'train' | 'test';
  /** Seed of the Python-compatible shuffle that picks the test images; default 1234 (official). */
  seed?: number;
  /** Test-set size; default 2000. (The official loop `(i+1) < 2000` keeps 1999: pass 1999 to match it.) */
  testSize?: number;
}

/**
 * CelebA: `<root>/img_align_celeba/*.jpg` and `<root>/list_attr_celeba.txt`.
 *
 * Domains follow how StarGAN v1 uses the attributes (its `create_labels`): the selected hair
 * colours (Black_Hair, Blond_Hair, Brown_Hair, Gray_Hair) form ONE mutually exclusive group
 * when two or more are selected, and every other attribute is an independent binary
 * on/off. A domain is one combination, named by joining the parts with `+`: a hair colour
 * by its name, a binary attribute as `Name` or `not_Name`, e.g. `Black_Hair+Male+not_Young`.
 * One attribute gives two domains: `['not_Male', 'Male']` (index = StarGAN v1's 0/1 label).
 * Only combinations that occur in the attribute file are domains (the same list for both
 * splits; a rare one may be empty in the test split). With a hair group selected, images with
 * no or several of the selected hair colours are left out (their domain is ambiguous).
 * Domain order: hair colour in the order given, then each binary attribute `not_` before on.
 *
 * Split as StarGAN v1: the data lines, in file order, are shuffled with Python's
 * `random.seed(seed); random.shuffle`; the first `testSize` are the test set, the rest train.
 *
 * Throws one line naming the file (and line) for a missing folder or file, a malformed
 * attribute file (count mismatch, wrong column count, a value not ±1), an unknown attribute
 * (listing the valid ones), or an image listed but missing from `img_align_celeba/`.
 */
export function celebaAttributes(root: string, attrs: readonly string[], opts: CelebaOptions = {}): Dataset {
  const split = opts.split ?? 'train';
  const seed = opts.seed ?? 1234;
  const testSize = opts.testSize ?? 2000;
  requireDir(root);
  const imageDir = path.join(root, 'img_align_celeba');
  const attrFile = path.join(root, 'list_attr_celeba.txt');
  requireDir(imageDir);
  const table = parseCelebaAttributes(attrFile);
  if (attrs.length === 0) throw new Error(`celebaAttributes: no attributes selected (e.g. ${CELEBA_DEFAULT_ATTRS.join(', ')})`);
  const col = attrs.map((a) => {
    const i = table.names.indexOf(a);
    if (i < 0) {
      const best = [...table.names].sort((p, q) => editDistance(a, p) - editDistance(a, q))[0];
      const hint = best !== undefined && editDistance(a, best) <= 3 ? ` (did you mean ${best}?)` : '';
      throw new Error(`${attrFile}: unknown attribute "${a}"${hint}; valid: ${table.names.join(', ')}`);
    }
    if (attrs.indexOf(a) !== attrs.lastIndexOf(a)) throw new Error(`celebaAttributes: attribute "${a}" selected twice`);
    return i;
  });
  const hairSel = attrs.map((a, i) => (HAIR_COLORS.includes(a) ? i : -1)).filter((i) => i >= 0);
  const hairGroup = hairSel.length >= 2 ? hairSel : [];
  const binary = attrs.map((_, i) => i).filter((i) => !hairGroup.includes(i));

  // Domain code of a row: hair choice (position in hairGroup) then binary bits; -1 = excluded.
  const nBin = binary.length;
  const codeOf = (values: Int8Array): number => {
    let hair = 0;
    if (hairGroup.length > 0) {
      const on = hairGroup.filter((i) => values[col[i]] === 1);
      if (on.length !== 1) return -1;
      hair = hairGroup.indexOf(on[0]);
    }
    let code = hair;
    for (const i of binary) code = code * 2 + (values[col[i]] === 1 ? 1 : 0);
    return code;
  };
  const nameOf = (code: number): string => {
    const parts: string[] = [];
    for (let b = nBin - 1; b >= 0; b--) {
      const a = attrs[binary[b]];
      parts.unshift(code % 2 === 1 ? a : `not_${a}`);
      code = Math.floor(code / 2);
    }
    if (hairGroup.length > 0) parts.unshift(attrs[hairGroup[code]]);
    return parts.join('+');
  };

  const codes = table.rows.map((r) => codeOf(r.values));
  const present = [...new Set(codes.filter((c) => c >= 0))].sort((a, b) => a - b);
  if (present.length === 0) throw new Error(`${attrFile}: no image has exactly one of ${hairGroup.map((i) => attrs[i]).join(', ')}`);
  const domainIndex = new Map(present.map((c, d) => [c, d]));

  const onDisk = new Set(fs.readdirSync(imageDir));
  for (const r of table.rows) {
    if (!onDisk.has(r.file)) {
      throw new Error(`${path.join(imageDir, r.file)}: listed in ${attrFile} line ${r.line} but missing`);
    }
  }
  const order = pythonShuffle(table.rows.length, seed);
  const nTest = Math.min(Math.max(0, Math.trunc(testSize)), order.length);
  const chosen = split === 'test' ? order.slice(0, nTest) : order.slice(nTest);
  const files: string[][] = present.map(() => []);
  for (const i of chosen) {
    const d = domainIndex.get(codes[i]);
    if (d !== undefined) files[d].push(path.join(imageDir, table.rows[i].file));
  }
  for (const f of files) f.sort(byCodePoint);
  return {
    name: `celeba[${attrs.join(',')}]/${split}`,
    domains: present.map(nameOf),
    files,
    source: path.resolve(root),
  };
}
