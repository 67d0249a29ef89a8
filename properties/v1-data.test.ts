/**
 * Laws of StarGAN v1's labelled data: CelebA's multi-label vectors equal the attribute file
 * (official split), the embedded emoji-people labels follow the emoji names and skin tones,
 * and a batch is a pure function of its key whose target labels permute its source labels.
 */
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import { pythonShuffle } from '../stargan/data/datasets.ts';
import { EMOJI_PEOPLE_ATTRS, emojiPeople, genderOf } from '../stargan/data/emoji-people.ts';
import { celebaLabelled, labelsOf, sampleLabelledBatch } from '../stargan/data/labelled.ts';
import { createImageCache } from '../stargan/data/sampler.ts';
import { emojiFacesSet, emojiPeopleSet } from '../stargan/data/v1-sets.ts';
import { crossDatasetTargets } from '../stargan/v1/samples.ts';
import { errorOf } from './lib/errors.ts';
import { jpegBytes, put, solid } from './lib/images.ts';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stargan-v1-data-'));
after(() => fs.rmSync(tmp, { recursive: true, force: true }));

const names = ['Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Male', 'Smiling', 'Young'];
// file, Black, Blond, Brown, Male, Smiling, Young
const rows: [string, ...number[]][] = [
  ['000001.jpg', 1, -1, -1, 1, 1, 1],
  ['000002.jpg', -1, 1, -1, -1, 1, 1],
  ['000003.jpg', -1, -1, 1, 1, -1, -1],
  ['000004.jpg', 1, -1, -1, -1, -1, 1],
  ['000005.jpg', -1, 1, -1, 1, 1, -1],
  ['000006.jpg', -1, -1, -1, -1, 1, 1],
  ['000007.jpg', 1, 1, -1, 1, -1, 1],
];
const attrText = (rs: (string | number)[][]) => [String(rs.length), names.join(' '), ...rs.map((r) => r.join(' '))].join('\n') + '\n';

function celebaFixture(dir: string, listed = rows, onDisk = rows.map((r) => r[0])): string {
  for (const f of onDisk) put(path.join(dir, 'img_align_celeba', f), jpegBytes(18, 22, solid([200, 100, 50]), 90));
  put(path.join(dir, 'list_attr_celeba.txt'), attrText(listed));
  return dir;
}

test('CelebA multi-label vectors: every selected attribute of each image, 1 where the file says 1; the official split', () => {
  const root = celebaFixture(path.join(tmp, 'celeba'));
  const attrs = ['Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Male', 'Young'];
  const train = celebaLabelled(root, attrs, { testSize: 2 });
  const testSet = celebaLabelled(root, attrs, { split: 'test', testSize: 2 });
  const order = pythonShuffle(rows.length, 1234);
  assert.deepEqual(testSet.files.map((f) => path.basename(f)), order.slice(0, 2).map((i) => rows[i][0]));
  assert.deepEqual(train.files.map((f) => path.basename(f)), order.slice(2).map((i) => rows[i][0]));
  const cols = attrs.map((a) => names.indexOf(a) + 1);
  [train, testSet].forEach((ds) => ds.files.forEach((f, i) => {
    const row = rows.find((r) => r[0] === path.basename(f))!;
    assert.deepEqual(labelsOf(ds, i), cols.map((c) => (row[c] === 1 ? 1 : 0)), `labels of ${path.basename(f)}`);
  }));
  assert.deepEqual(train.groups, [[0, 1, 2]], 'the selected hair colours are one exclusive group');
  assert.deepEqual(celebaLabelled(root, ['Male', 'Young']).groups, []);
});

test('CelebA errors are one line naming the file: unknown attribute, image listed but missing', () => {
  const root = celebaFixture(path.join(tmp, 'celeba-missing'), rows, rows.slice(1).map((r) => r[0]));
  assert.match(errorOf(() => celebaLabelled(root, ['Male']), path.join(root, 'img_align_celeba', '000001.jpg')), /listed in .* line 3 but missing/);
  const ok = celebaFixture(path.join(tmp, 'celeba-ok'));
  assert.match(errorOf(() => celebaLabelled(ok, ['Blonde_Hair']), path.join(ok, 'list_attr_celeba.txt')), /unknown attribute "Blonde_Hair"; valid: Black_Hair/);
});

test('emoji-people labels: gender from the name, one skin tone at most, one vendor exactly', () => {
  assert.deepEqual(genderOf('MAN'), [1, 0]);
  assert.deepEqual(genderOf('WOMAN: RED HAIR'), [0, 1]);
  assert.deepEqual(genderOf('PREGNANT MAN'), [1, 0]);
  assert.deepEqual(genderOf('PERSON BOWING DEEPLY'), [0, 0]);
  assert.deepEqual(genderOf('GUARDSMAN'), [0, 0]); // a word, not a substring
  assert.deepEqual(genderOf('PRINCESS'), [0, 1]);
  const ds = emojiPeople();
  assert.deepEqual(ds.attrs, [...EMOJI_PEOPLE_ATTRS, 'google', 'twitter']);
  assert.ok(ds.files.length >= 1000, `${ds.files.length} images`);
  const byFile = (vendor: string, image: string) => labelsOf(ds, ds.files.findIndex((f) => f.endsWith(path.join(vendor, '64', image))));
  assert.deepEqual(byFile('google', '1f468.png'), [1, 0, 0, 0, 0, 1, 0]); // MAN, default yellow
  assert.deepEqual(byFile('twitter', '1f469-1f3fd.png'), [0, 1, 0, 1, 0, 0, 1]); // WOMAN, medium tone
  assert.deepEqual(byFile('google', '1f9d1-1f3ff.png'), [0, 0, 0, 0, 1, 1, 0]); // ADULT (neutral), dark tone
  assert.deepEqual(byFile('twitter', '1f466-1f3fb.png'), [1, 0, 1, 0, 0, 0, 1]); // BOY, light tone
  assert.deepEqual(byFile('google', '1f467-1f3fc.png'), [0, 1, 1, 0, 0, 1, 0]); // GIRL, medium-light counts as light
  assert.deepEqual(byFile('google', '1f474-1f3fe.png'), [1, 0, 0, 0, 1, 1, 0]); // OLDER MAN, medium-dark counts as dark
  ds.files.forEach((_, i) => {
    const l = labelsOf(ds, i);
    assert.ok(l[2] + l[3] + l[4] <= 1, 'at most one skin tone');
    assert.equal(l[5] + l[6], 1, 'exactly one vendor');
  });
  const single = emojiPeople({ vendors: ['google'], yellow: false });
  assert.deepEqual(single.attrs, EMOJI_PEOPLE_ATTRS);
  single.files.forEach((_, i) => assert.equal(labelsOf(single, i).slice(2).reduce((a, b) => a + b), 1, 'every image toned'));
});

test('a labelled batch is a pure function of its key; target labels are the source labels permuted; x in [-1, 1], alpha in [0, 1)', () => {
  const ds = emojiPeople();
  const cache = createImageCache();
  fc.assert(fc.property(fc.tuple(fc.nat(2 ** 32 - 1), fc.nat(2 ** 32 - 1)), fc.integer({ min: 1, max: 6 }), fc.boolean(), (k, n, flip) => {
    const a = sampleLabelledBatch(ds, cache, k, n, 16, flip);
    const b = sampleLabelledBatch(ds, createImageCache(), k, n, 16, flip);
    assert.deepEqual(a, b, 'same key, same batch, whatever the cache holds');
    const K = ds.attrs.length;
    const rowsOf = (v: Float32Array) => Array.from({ length: n }, (_, i) => Array.from(v.subarray(i * K, (i + 1) * K)).join());
    assert.deepEqual(rowsOf(a.labelTrg).sort(), rowsOf(a.labelOrg).sort());
    a.indices.forEach((f, i) => assert.deepEqual(rowsOf(a.labelOrg)[i], labelsOf(ds, f).join()));
    assert.ok(a.x.every((v) => v >= -1 && v <= 1));
    assert.ok(a.alpha.every((v) => v >= 0 && v < 1));
  }), { numRuns: 10, seed: 3 });
});

test('the embedded pair for --dataset both: people emoji without vendor labels (BCE) and faces labelled by vendor (CE), disjoint images', () => {
  const people = emojiPeopleSet(['google', 'twitter'], true, false, 'emoji-people');
  assert.deepEqual(people.train.attrs, EMOJI_PEOPLE_ATTRS);
  assert.deepEqual(people.train.groups, [[2, 3, 4]]);
  assert.equal(people.kind, 'multi');
  assert.equal(people.train.files.length, emojiPeople().files.length); // the same images as the one-dataset default
  const faces = emojiFacesSet(['google', 'twitter']);
  assert.equal(faces.kind, 'single');
  assert.deepEqual(faces.train.attrs, ['google', 'twitter']);
  assert.deepEqual(faces.train.groups, [[0, 1]]);
  const n = faces.train.files.length / 2;
  assert.ok(n >= 100, `${n} faces per vendor`);
  for (let i = 0; i < faces.train.files.length; i++) {
    const l = labelsOf(faces.train, i);
    assert.deepEqual(l, i < n ? [1, 0] : [0, 1]); // one class each, the vendor whose folder holds the file
    assert.match(faces.train.files[i], i < n ? /img[/\\]google[/\\]/ : /img[/\\]twitter[/\\]/);
  }
  const peopleFiles = new Set(people.train.files);
  assert.ok(faces.train.files.every((f) => !peopleFiles.has(f)), 'faces and people share images');
  assert.throws(() => emojiFacesSet(['google']), /needs two vendors or more/);
});

test('cross-dataset grid targets: own labels set or flipped; the other dataset from zeros, one label set (one-hot for CE)', () => {
  const sets = [{ size: 3, groups: [[0, 1]] }, { size: 2, groups: [[0, 1]] }];
  const cols = crossDatasetTargets(0, [[1, 0, 1]], sets);
  assert.deepEqual(cols.map((c) => [c.dataset, c.targets[0]]), [
    [0, [1, 0, 1]], [0, [0, 1, 1]], [0, [1, 0, 0]], // group set, group set, flip
    [1, [1, 0]], [1, [0, 1]],
  ]);
  const fromSecond = crossDatasetTargets(1, [[0, 1]], sets);
  assert.deepEqual(fromSecond.map((c) => [c.dataset, c.targets[0]]), [[0, [1, 0, 0]], [0, [0, 1, 0]], [0, [0, 0, 1]], [1, [1, 0]], [1, [0, 1]]]);
});
