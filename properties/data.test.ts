/**
 * Laws of the data side (stargan/data/): decoding and its errors, resizing, PNG writing,
 * the dataset layouts (StarGAN v2 folders, CelebA attributes, the embedded emoji default)
 * and their errors, and the sampler (pure and deterministic, balanced, references from the
 * target domain, values in [-1, 1]). Fixtures are made here, in a temp folder.
 *
 * Over 400 lines because the layouts' tests share one temp folder and the hand-made image helpers
 * (palette PNGs, truncated files); each describe block reads on its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as zlib from 'node:zlib';
import { createRequire } from 'node:module';
import { PNG } from 'pngjs';
import { jpegBytes, pngBytes, put, rgba, solid, type Rgb8 } from './lib/images.ts';
import { cropResize, decodeImage, imageGrid, resizeBilinear, writePng, type RgbImage } from '../dsl/io/image.ts';
import { celebaAttributes, domainFolders, pythonShuffle, type Dataset } from '../stargan/data/datasets.ts';
import { emojiDataset } from '../stargan/data/emoji.ts';
import { createImageCache, loadImages, sampleBatch, workingSize } from '../stargan/data/sampler.ts';
import { renderLossPlot, writeLossPlot } from '../dsl/io/plot.ts';

let tmp = '';
before(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stargan-data-'));
});
after(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

/** PNG chunk with its CRC (for hand-made palette PNGs, which pngjs cannot write). */
function chunk(type: string, data: Buffer): Buffer {
  const td = Buffer.concat([Buffer.from(type, 'ascii'), data]);
  let c = ~0;
  for (const byte of td) {
    c ^= byte;
    for (let k = 0; k < 8; k++) c = (c >>> 1) ^ (0xedb88320 & -(c & 1));
  }
  const len = Buffer.alloc(4);
  len.writeUInt32BE(data.length);
  const crc = Buffer.alloc(4);
  crc.writeUInt32BE(~c >>> 0);
  return Buffer.concat([len, td, crc]);
}

/** An 8-bit palette PNG with a tRNS chunk: indices per pixel, palette RGB, palette alphas. */
function palettePng(w: number, h: number, idx: number[], pal: Rgb8[], alphas: number[]): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(w, 0);
  ihdr.writeUInt32BE(h, 4);
  ihdr.set([8, 3, 0, 0, 0], 8);
  const raw = Buffer.alloc(h * (w + 1));
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) raw[y * (w + 1) + 1 + x] = idx[y * w + x];
  return Buffer.concat([
    Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]),
    chunk('IHDR', ihdr),
    chunk('PLTE', Buffer.from(pal.flat())),
    chunk('tRNS', Buffer.from(alphas)),
    chunk('IDAT', zlib.deflateSync(raw)),
    chunk('IEND', Buffer.alloc(0)),
  ]);
}

function pixel(img: RgbImage, x: number, y: number): number[] {
  const o = (y * img.width + x) * 3;
  return [img.data[o], img.data[o + 1], img.data[o + 2]];
}

function near(a: readonly number[], b: readonly number[], tol: number, msg: string): void {
  assert.ok(a.every((v, i) => Math.abs(v - b[i]) <= tol), `${msg}: ${a} vs ${b}`);
}

/** Asserts f throws one line that contains every fragment. */
function throwsWith(f: () => unknown, ...fragments: string[]): void {
  assert.throws(f, (e: unknown) => {
    assert.ok(e instanceof Error);
    assert.ok(!e.message.includes('\n'), `one line: ${e.message}`);
    for (const s of fragments) assert.ok(e.message.includes(s), `"${e.message}" should contain "${s}"`);
    return true;
  });
}

// ---------------------------------------------------------------------------------------

describe('decodeImage', () => {
  test('PNG RGBA: alpha composited on white; JPEG by content whatever the name', () => {
    const f = put(path.join(tmp, 'img', 'rgba.png'), pngBytes(4, 2, (x) => [255, 0, 0, x === 0 ? 0 : x === 1 ? 255 : 128]));
    const im = decodeImage(f);
    assert.equal(im.width, 4);
    assert.equal(im.height, 2);
    near(pixel(im, 0, 0), [1, 1, 1], 1e-6, 'transparent -> white');
    near(pixel(im, 1, 0), [1, 0, 0], 1e-6, 'opaque red');
    near(pixel(im, 2, 1), [1, 127 / 255, 127 / 255], 1e-6, 'half red on white');
    const j = put(path.join(tmp, 'img', 'photo.png'), jpegBytes(16, 8, solid([30, 120, 200])));
    const jm = decodeImage(j);
    assert.deepEqual([jm.width, jm.height], [16, 8]);
    near(pixel(jm, 5, 5), [30 / 255, 120 / 255, 200 / 255], 0.03, 'JPEG colour');
  });

  test('palette (with tRNS) and gray PNGs', () => {
    const pal = put(path.join(tmp, 'img', 'pal.png'), palettePng(2, 1, [0, 1], [[0, 255, 0], [0, 0, 255]], [255, 0]));
    const p = decodeImage(pal);
    near(pixel(p, 0, 0), [0, 1, 0], 1e-6, 'palette green');
    near(pixel(p, 1, 0), [1, 1, 1], 1e-6, 'palette transparent -> white');
    const grayBuf = PNG.sync.write({ width: 2, height: 1, data: rgba(2, 1, (x) => (x ? [200, 200, 200] : [10, 10, 10])) } as PNG, { colorType: 0 });
    const g = decodeImage(put(path.join(tmp, 'img', 'gray.png'), grayBuf));
    near(pixel(g, 0, 0), [10 / 255, 10 / 255, 10 / 255], 1e-6, 'gray');
    near(pixel(g, 1, 0), [200 / 255, 200 / 255, 200 / 255], 1e-6, 'gray');
  });

  test('errors name the file and the problem', () => {
    const d = path.join(tmp, 'bad');
    throwsWith(() => decodeImage(path.join(d, 'nope.png')), path.join(d, 'nope.png'), 'no such file');
    const gif = put(path.join(d, 'a.gif'), Buffer.from('GIF89a\x01\x00\x01\x00\x00\x00\x00;', 'latin1'));
    throwsWith(() => decodeImage(gif), gif, 'unsupported', 'GIF');
    const bmp = put(path.join(d, 'b.jpg'), Buffer.concat([Buffer.from('BM'), Buffer.alloc(60)]));
    throwsWith(() => decodeImage(bmp), bmp, 'unsupported', 'BMP');
    const txt = put(path.join(d, 'c.png'), 'hello, I am text');
    throwsWith(() => decodeImage(txt), txt, 'unsupported format', 'not a PNG or JPEG');
    const empty = put(path.join(d, 'e.png'), '');
    throwsWith(() => decodeImage(empty), empty, 'empty');
    const big = (x: number, y: number) => [(x * 7 + y * 3) & 255, (x * y) & 255, (x ^ y) & 255];
    const png = pngBytes(32, 32, big);
    const tpng = put(path.join(d, 'trunc.png'), png.subarray(0, png.length - 40));
    throwsWith(() => decodeImage(tpng), tpng, 'corrupt or truncated PNG');
    const bad = Buffer.from(png);
    bad[45] ^= 0xff; // inside IDAT: the CRC no longer matches
    const cpng = put(path.join(d, 'crc.png'), bad);
    throwsWith(() => decodeImage(cpng), cpng, 'corrupt or truncated PNG');
    const jpg = jpegBytes(64, 48, big);
    const tjpg = put(path.join(d, 'trunc.jpg'), jpg.subarray(0, Math.floor(jpg.length / 2)));
    throwsWith(() => decodeImage(tjpg), tjpg, 'corrupt or truncated JPEG');
    throwsWith(() => decodeImage(d), d, 'is a directory');
  });
});

describe('resize, crop, grid, PNG writing', () => {
  const checker: RgbImage = (() => {
    const w = 64;
    const data = new Float32Array(w * w * 3);
    for (let y = 0; y < w; y++) for (let x = 0; x < w; x++) data.fill((x + y) % 2, (y * w + x) * 3, (y * w + x) * 3 + 3);
    return { width: w, height: w, data };
  })();

  test('shrinking is antialiased (a 1-pixel checkerboard becomes flat gray), enlarging stays in range', () => {
    for (const s of [16, 13, 7]) {
      const r = resizeBilinear(checker, s, s);
      assert.equal(r.data.length, s * s * 3);
      for (const v of r.data) assert.ok(Math.abs(v - 0.5) < 0.08, `${s}: ${v}`);
    }
    const up = resizeBilinear({ width: 2, height: 1, data: new Float32Array([0, 0, 0, 1, 1, 1]) }, 8, 3);
    for (const v of up.data) assert.ok(v >= 0 && v <= 1);
    near(pixel(up, 0, 1), [0, 0, 0], 1e-6, 'left edge');
    near(pixel(up, 7, 1), [1, 1, 1], 1e-6, 'right edge');
    assert.ok(up.data[3 * 3] > 0 && up.data[3 * 3] < 1, 'interpolated middle');
  });

  test('cropResize takes exactly the box', () => {
    // left half red, right half blue
    const im = decodeImage(put(path.join(tmp, 'img', 'halves.png'), pngBytes(20, 10, (x) => (x < 10 ? [255, 0, 0] : [0, 0, 255]))));
    const right = cropResize(im, { x: 10, y: 0, w: 10, h: 10 }, 4);
    for (let p = 0; p < 16; p++) near([...right.data.subarray(3 * p, 3 * p + 3)], [0, 0, 1], 1e-6, 'blue');
    throwsWith(() => cropResize(im, { x: 15, y: 0, w: 10, h: 10 }, 4), 'not inside');
  });

  test('imageGrid lays out cells with white padding; writePng round-trips atomically', () => {
    const s = 3;
    const cell = (v: number) => new Float32Array(3 * s * s).fill(v);
    const g = imageGrid([cell(-1), cell(1), cell(0)], s, 2, 2, 1);
    assert.deepEqual([g.width, g.height], [7, 7]);
    const at = (x: number, y: number) => [...g.rgb.subarray((y * 7 + x) * 3, (y * 7 + x) * 3 + 3)];
    assert.deepEqual(at(0, 0), [0, 0, 0]);
    assert.deepEqual(at(3, 0), [255, 255, 255], 'padding');
    assert.deepEqual(at(4, 0), [255, 255, 255], 'cell [-1..1] = 1 -> 255');
    assert.deepEqual(at(0, 4), [128, 128, 128], '0 -> 128');
    assert.deepEqual(at(5, 5), [255, 255, 255], 'missing cell stays white');
    const out = path.join(tmp, 'out', 'deep', 'grid.png');
    writePng(out, g.width, g.height, g.rgb);
    const back = PNG.sync.read(fs.readFileSync(out));
    assert.deepEqual([back.width, back.height], [7, 7]);
    assert.deepEqual([...back.data.subarray(0, 4)], [0, 0, 0, 255]);
    assert.deepEqual(fs.readdirSync(path.dirname(out)), ['grid.png'], 'no temp file left');
    throwsWith(() => writePng(out, 2, 2, new Uint8Array(5)), 'expected 2x2x3');
  });
});

// ---------------------------------------------------------------------------------------

describe('domainFolders (StarGAN v2 layout)', () => {
  let root = '';
  before(() => {
    root = path.join(tmp, 'afhq');
    for (const split of ['train', 'val']) {
      put(path.join(root, split, 'dog', 'b.png'), pngBytes(8, 8, solid([0, 0, 255])));
      put(path.join(root, split, 'dog', 'a.JPG'), jpegBytes(8, 8, solid([0, 0, 255])));
      put(path.join(root, split, 'dog', 'sub', 'c.jpeg'), jpegBytes(8, 8, solid([0, 0, 255])));
      put(path.join(root, split, 'cat', 'x.png'), pngBytes(8, 8, solid([255, 0, 0])));
      put(path.join(root, split, 'cat', 'notes.txt'), 'not an image');
      put(path.join(root, split, 'cat', '.hidden.png'), 'ignored');
      put(path.join(root, split, 'README'), 'a file, not a domain');
    }
  });

  test('domains sorted, images found recursively and sorted, other files ignored', () => {
    for (const split of ['train', 'val'] as const) {
      const ds = domainFolders(root, split);
      assert.deepEqual(ds.domains, ['cat', 'dog']);
      assert.deepEqual(ds.files[0], [path.join(root, split, 'cat', 'x.png')]);
      assert.deepEqual(ds.files[1], ['a.JPG', 'b.png', path.join('sub', 'c.jpeg')].map((f) => path.join(root, split, 'dog', f)));
      assert.equal(ds.name, `afhq/${split}`);
    }
  });

  test('errors: missing folder, no domains, an empty domain', () => {
    throwsWith(() => domainFolders(path.join(tmp, 'nowhere'), 'train'), path.join(tmp, 'nowhere'), 'missing folder');
    const noVal = path.join(tmp, 'noval');
    fs.mkdirSync(path.join(noVal, 'train', 'a'), { recursive: true });
    throwsWith(() => domainFolders(noVal, 'val'), path.join(noVal, 'val'), 'missing folder');
    const flat = path.join(tmp, 'flat');
    put(path.join(flat, 'train', 'img.png'), pngBytes(2, 2, solid([0, 0, 0])));
    throwsWith(() => domainFolders(flat, 'train'), path.join(flat, 'train'), 'no domain subfolders');
    const emptyDom = path.join(tmp, 'emptydom');
    put(path.join(emptyDom, 'train', 'cat', 'x.png'), pngBytes(2, 2, solid([0, 0, 0])));
    put(path.join(emptyDom, 'train', 'dog', 'readme.txt'), 'no images here');
    throwsWith(() => domainFolders(emptyDom, 'train'), `${path.join(emptyDom, 'train', 'dog')}: no images (.jpg, .jpeg, .png)`);
  });
});

describe('celebaAttributes (CelebA layout)', () => {
  const names = ['Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Male', 'Smiling', 'Young'];
  // file, Black, Blond, Brown, Male, Smiling, Young
  const rows: [string, ...number[]][] = [
    ['000001.jpg', 1, -1, -1, 1, 1, 1],
    ['000002.jpg', -1, 1, -1, -1, 1, 1],
    ['000003.jpg', -1, -1, 1, 1, -1, -1],
    ['000004.jpg', 1, -1, -1, -1, -1, 1],
    ['000005.jpg', -1, 1, -1, 1, 1, -1],
    ['000006.jpg', -1, -1, -1, -1, 1, 1], // no hair colour
    ['000007.jpg', 1, 1, -1, 1, -1, 1], // two hair colours
    ['000008.jpg', -1, -1, 1, -1, 1, -1],
    ['000009.jpg', 1, -1, -1, 1, -1, -1],
    ['000010.jpg', -1, 1, -1, -1, -1, 1],
  ];
  const attrText = (rs: string[]) => [String(rs.length), names.join(' '), ...rs].join('\n') + '\n';
  const line = (r: (string | number)[]) => r.map((v, i) => (i === 0 ? v : String(v).padStart(3))).join(' ');
  const make = (dir: string, text: string, images = rows.map((r) => r[0])) => {
    for (const f of images) put(path.join(dir, 'img_align_celeba', f), jpegBytes(18, 22, solid([128, 128, 128]), 80));
    put(path.join(dir, 'list_attr_celeba.txt'), text);
    return dir;
  };
  let root = '';
  before(() => {
    root = make(path.join(tmp, 'celeba'), attrText(rows.map(line)));
  });

  test('pythonShuffle is CPython\'s random.seed(s); random.shuffle', () => {
    assert.deepEqual(pythonShuffle(10, 1234), [2, 8, 3, 5, 6, 4, 9, 0, 1, 7]);
    const x = pythonShuffle(1000, 1234);
    assert.deepEqual(x.slice(0, 6), [56, 306, 558, 770, 733, 654]);
    assert.deepEqual(x.slice(-5), [7, 119, 451, 796, 989]);
    assert.deepEqual(pythonShuffle(70000, 7).slice(0, 4), [60551, 17747, 50551, 30791]);
  });

  test('one attribute: not_Male / Male; the seeded test split and train split partition the images', () => {
    const train = celebaAttributes(root, ['Male'], { testSize: 3 });
    const test_ = celebaAttributes(root, ['Male'], { split: 'test', testSize: 3 });
    assert.deepEqual(train.domains, ['not_Male', 'Male']);
    assert.deepEqual(test_.domains, ['not_Male', 'Male']);
    const order = pythonShuffle(rows.length, 1234);
    const expectTest = order.slice(0, 3).map((i) => rows[i][0]).sort();
    const base = (ds: Dataset) => ds.files.flat().map((f) => path.basename(f)).sort();
    assert.deepEqual(base(test_), expectTest);
    assert.equal(base(train).length, 7);
    assert.deepEqual([...base(train), ...base(test_)].sort(), rows.map((r) => r[0]).sort());
    for (const ds of [train, test_]) {
      ds.files.forEach((fs_, d) => {
        for (const f of fs_) assert.equal(rows.find((r) => r[0] === path.basename(f))![4] === 1 ? 1 : 0, d, f);
      });
    }
    const other = celebaAttributes(root, ['Male'], { split: 'test', testSize: 3, seed: 99 });
    assert.notDeepEqual(base(other), base(test_), 'the seed picks the split');
    // default: 2000 test images, more than this fixture has -> train is empty, test has all
    assert.equal(celebaAttributes(root, ['Male'], { split: 'test' }).files.flat().length, rows.length);
  });

  test('hair colours are one exclusive group (StarGAN v1), other attributes binary', () => {
    const ds = celebaAttributes(root, ['Black_Hair', 'Blond_Hair', 'Brown_Hair', 'Male'], { testSize: 0 });
    assert.deepEqual(ds.domains, [
      'Black_Hair+not_Male', 'Black_Hair+Male', 'Blond_Hair+not_Male', 'Blond_Hair+Male', 'Brown_Hair+not_Male', 'Brown_Hair+Male',
    ]);
    const got = Object.fromEntries(ds.domains.map((d, i) => [d, ds.files[i].map((f) => path.basename(f))]));
    assert.deepEqual(got['Black_Hair+Male'], ['000001.jpg', '000009.jpg']);
    assert.deepEqual(got['Blond_Hair+not_Male'], ['000002.jpg', '000010.jpg']);
    const all = ds.files.flat().map((f) => path.basename(f));
    assert.ok(!all.includes('000006.jpg') && !all.includes('000007.jpg'), 'no or two hair colours: left out');
    const one = celebaAttributes(root, ['Blond_Hair', 'Young'], { testSize: 0 });
    assert.deepEqual(one.domains, ['not_Blond_Hair+not_Young', 'not_Blond_Hair+Young', 'Blond_Hair+not_Young', 'Blond_Hair+Young']);
    assert.equal(one.files.flat().length, rows.length, 'a single hair colour is a plain binary attribute');
  });

  test('errors: malformed attribute file, unknown attribute, missing image', () => {
    const bad = (name: string, text: string, images?: string[]) => make(path.join(tmp, name), text, images);
    const f = (dir: string) => path.join(dir, 'list_attr_celeba.txt');
    const cols = rows.map(line);
    cols[3] = cols[3].replace(/ +-?1$/, ''); // file line 6 loses a value
    const d1 = bad('celeba-cols', attrText(cols));
    throwsWith(() => celebaAttributes(d1, ['Male']), `${f(d1)}:6:`, 'expected 7 columns', 'got 6');
    const d2 = bad('celeba-count', attrText(rows.map(line)).replace(/^10/, '12'));
    throwsWith(() => celebaAttributes(d2, ['Male']), f(d2), 'says 12 images but 10 are listed');
    const vals = rows.map(line);
    vals[1] = vals[1].replace(/-1 *$/, ' 0').replace(/ 1$/, ' 0');
    const d3 = bad('celeba-value', attrText(vals));
    throwsWith(() => celebaAttributes(d3, ['Male']), `${f(d3)}:4:`, '"0"', 'Young', 'not 1 or -1');
    throwsWith(() => celebaAttributes(root, ['Blonde_Hair']), f(root), 'unknown attribute "Blonde_Hair"', 'did you mean Blond_Hair', 'valid: Black_Hair');
    const d4 = bad('celeba-missing', attrText(rows.map(line)), rows.slice(1).map((r) => r[0]));
    throwsWith(() => celebaAttributes(d4, ['Male']), path.join(d4, 'img_align_celeba', '000001.jpg'), 'listed in', 'line 3', 'missing');
    const d5 = path.join(tmp, 'celeba-noimgs');
    put(path.join(d5, 'list_attr_celeba.txt'), attrText(rows.map(line)));
    throwsWith(() => celebaAttributes(d5, ['Male']), path.join(d5, 'img_align_celeba'), 'missing folder');
  });

  test('CelebA 178x218-like images are centre-cropped to a square, as StarGAN v1', () => {
    // rows 0-1 and 12-13 red, the centre 10x10 blue: the crop keeps only blue
    const f = put(path.join(tmp, 'img', 'tall.png'), pngBytes(10, 14, (_x, y) => (y < 2 || y >= 12 ? [255, 0, 0] : [0, 0, 255])));
    const x = loadImages([f], 4);
    const plane = 16;
    for (let p = 0; p < plane; p++) near([x[p], x[plane + p], x[2 * plane + p]], [-1, -1, 1], 1e-6, 'blue in [-1,1]');
  });
});

// ---------------------------------------------------------------------------------------

describe('sampleBatch', () => {
  const colors: Rgb8[] = [[255, 0, 0], [0, 255, 0], [0, 0, 255]];
  const expected = colors.map((c) => c.map((v) => v / 127.5 - 1));
  let ds: Dataset;
  before(() => {
    // Unbalanced on purpose: 1, 3 and 6 images; each domain one solid colour.
    const root = path.join(tmp, 'rgb');
    [1, 3, 6].forEach((n, d) => {
      for (let i = 0; i < n; i++) {
        const name = path.join(root, 'train', `d${d}`, `${i}.${i % 2 ? 'jpg' : 'png'}`);
        put(name, i % 2 ? jpegBytes(12, 12, solid(colors[d]), 100) : pngBytes(12, 12, solid(colors[d])));
      }
    });
    ds = domainFolders(root, 'train');
  });

  test('shapes, range [-1, 1], and each image from its domain (x from y, x_ref and x_ref2 from yTrg)', () => {
    const img = 8;
    const b = sampleBatch(ds, createImageCache(), [1, 2], 16, img, true);
    const chw = 3 * img * img;
    assert.equal(b.x.length, 16 * chw);
    assert.equal(b.xRef.length, 16 * chw);
    assert.equal(b.xRef2.length, 16 * chw);
    assert.equal(b.y.length, 16);
    assert.equal(b.yTrg.length, 16);
    for (const arr of [b.x, b.xRef, b.xRef2]) for (const v of arr) assert.ok(v >= -1 && v <= 1, `${v}`);
    const check = (arr: Float32Array, doms: Int32Array, what: string) => {
      for (let n = 0; n < 16; n++) {
        const d = doms[n];
        assert.ok(d >= 0 && d < 3);
        for (let ch = 0; ch < 3; ch++) {
          for (let p = 0; p < img * img; p++) {
            const v = arr[n * chw + ch * img * img + p];
            assert.ok(Math.abs(v - expected[d][ch]) < 0.04, `${what}[${n}] channel ${ch} = ${v}, domain ${d}`);
          }
        }
      }
    };
    check(b.x, b.y, 'x');
    check(b.xRef, b.yTrg, 'xRef');
    check(b.xRef2, b.yTrg, 'xRef2');
  });

  test('pure: same key -> bit-identical batch (whatever the cache holds); another key -> another batch', () => {
    const bytes = (b: ReturnType<typeof sampleBatch>) =>
      Buffer.concat([b.x, b.y, b.yTrg, b.xRef, b.xRef2].map((a) => Buffer.from(a.buffer, a.byteOffset, a.byteLength)));
    const emoji = emojiDataset();
    for (const d of [ds, emoji]) {
      const warm = createImageCache();
      const a = bytes(sampleBatch(d, warm, [7, 9], 6, 16, true));
      const b = bytes(sampleBatch(d, warm, [7, 9], 6, 16, true)); // now from the cache
      const c = bytes(sampleBatch(d, createImageCache(0), [7, 9], 6, 16, true)); // no cache at all
      assert.ok(a.equals(b) && a.equals(c), `${d.name}: same key, same bytes`);
      assert.ok(!a.equals(bytes(sampleBatch(d, warm, [7, 10], 6, 16, true))), `${d.name}: another key`);
      assert.ok(!a.equals(bytes(sampleBatch(d, warm, [8, 9], 6, 16, true))), `${d.name}: another key`);
    }
  });

  test('balanced: source and target domains uniform even when domain sizes are 1, 3, 6', () => {
    const cache = createImageCache();
    const counts = [[0, 0, 0], [0, 0, 0]];
    const n = 60;
    const batches = 50;
    for (let i = 0; i < batches; i++) {
      const b = sampleBatch(ds, cache, [i, 12345], n, 4, false);
      for (let k = 0; k < n; k++) {
        counts[0][b.y[k]]++;
        counts[1][b.yTrg[k]]++;
      }
    }
    const total = n * batches; // 3000 samples: sd of a frequency ~0.0086
    for (const c of counts) for (const v of c) assert.ok(Math.abs(v / total - 1 / 3) < 0.04, `frequencies ${c.map((x) => x / total)}`);
  });

  test('augmentation: flips about half the images, crops change pixels, off = deterministic resize', () => {
    // One domain of a horizontal ramp: a flip makes the left side brighter than the right.
    const root = path.join(tmp, 'ramp');
    put(path.join(root, 'train', 'a', 'r.png'), pngBytes(40, 40, (x) => [x * 6, x * 6, x * 6]));
    const ramp = domainFolders(root, 'train');
    const cache = createImageCache();
    const img = 16;
    const plain = sampleBatch(ramp, cache, [0, 0], 1, img, false).x;
    let flipped = 0;
    let cropped = 0;
    const n = 400;
    const b = sampleBatch(ramp, cache, [3, 4], n, img, true);
    for (let k = 0; k < n; k++) {
      const x = b.x.subarray(k * 3 * img * img, k * 3 * img * img + img * img);
      if (x[0] > x[img - 1]) flipped++;
      const unflipped = x[0] > x[img - 1] ? Float32Array.from({ length: img * img }, (_, p) => x[Math.floor(p / img) * img + img - 1 - (p % img)]) : x;
      if (unflipped.some((v, p) => Math.abs(v - plain[p]) > 1e-3)) cropped++;
    }
    assert.ok(Math.abs(flipped / n - 0.5) < 0.1, `flipped ${flipped}/${n}`);
    assert.ok(Math.abs(cropped / n - 0.5) < 0.12, `cropped ${cropped}/${n}`);
    for (let k = 0; k < 5; k++) {
      const again = sampleBatch(ramp, cache, [k, 1], 1, img, false).x;
      assert.deepEqual(again, plain, 'no augmentation: always the same resize');
    }
  });

  test('off: an uncropped image is resized once from the file, exactly as loadImages (the evaluation\'s images)', () => {
    // Fine detail (a 1-pixel checker over two ramps) shows any second resize as a blur.
    const root = path.join(tmp, 'detail');
    put(path.join(root, 'train', 'a', 'd.png'), pngBytes(64, 64, (x, y) => [(x + y) % 2 ? 255 : x * 4, y * 4, (x * y) % 256]));
    const detail = domainFolders(root, 'train');
    for (const img of [32, 40, 64]) {
      const x = sampleBatch(detail, createImageCache(), [1, 2], 1, img, false).x;
      const truth = loadImages(detail.files[0], img);
      const worst = x.reduce((m, v, i) => Math.max(m, Math.abs(v - truth[i])), 0);
      assert.ok(worst < 1e-5, `img ${img}: training image differs from loadImages by up to ${worst}`);
    }
  });

  test('cache: working size, LRU byte budget, and errors from bad images name the file', () => {
    assert.equal(workingSize(64), 128);
    const cache = createImageCache(2 * 10 * 10 * 3); // room for two 10x10 images
    const files = ds.files.flat();
    for (const f of files) {
      const c = cache.get(f, 5);
      assert.equal(c.size, 10, '12px source shrunk to workingSize(5) = 10');
      assert.ok(cache.stats().bytes <= 600);
    }
    assert.equal(cache.stats().entries, 2);
    cache.get(files[files.length - 1], 5);
    assert.equal(cache.stats().hits, 1, 'the most recent one is kept');
    const small = cache.get(files[0], 64);
    assert.equal(small.size, 12, 'a smaller source is kept at its own size');
    const badRoot = path.join(tmp, 'badroot');
    put(path.join(badRoot, 'train', 'a', 'ok.png'), pngBytes(4, 4, solid([1, 2, 3])));
    const broken = put(path.join(badRoot, 'train', 'b', 'broken.jpg'), jpegBytes(32, 32, (x, y) => [x * 8, y * 8, 0]).subarray(0, 300));
    const bad = domainFolders(badRoot, 'train');
    throwsWith(() => {
      for (let i = 0; i < 20; i++) sampleBatch(bad, createImageCache(), [i, 0], 4, 8, false);
    }, broken, 'corrupt or truncated JPEG');
    throwsWith(() => loadImages([path.join(badRoot, 'gone.png')], 8), path.join(badRoot, 'gone.png'), 'no such file');
    throwsWith(() => sampleBatch({ ...bad, files: [bad.files[0], []] }, cache, [0, 0], 1, 8, false), 'domain b has no images');
  });
});

// ---------------------------------------------------------------------------------------

describe('emojiDataset (embedded default)', () => {
  test('domains are the vendors, with the same emoji in the same order; a 64x64 emoji decodes', () => {
    const ds = emojiDataset();
    assert.deepEqual(ds.domains, ['google', 'twitter']);
    assert.equal(ds.files[0].length, ds.files[1].length);
    assert.ok(ds.files[0].length > 500, `${ds.files[0].length} emoji`);
    assert.deepEqual(ds.files[0].map((f) => path.basename(f)), ds.files[1].map((f) => path.basename(f)));
    assert.match(ds.source, /emoji-datasource-google@\d+\.\d+\.\d+ \+ emoji-datasource-twitter@/);
    const grin = ds.files[0].find((f) => path.basename(f) === '1f600.png');
    assert.ok(grin, 'grinning face is in the default categories');
    for (const d of [0, 1]) {
      const im = decodeImage(ds.files[d][ds.files[0].indexOf(grin)]);
      assert.deepEqual([im.width, im.height], [64, 64]);
      for (const v of im.data) assert.ok(v >= 0 && v <= 1);
      near(pixel(im, 0, 0), [1, 1, 1], 1e-6, 'transparent corner -> white');
      near(pixel(im, 32, 32).slice(0, 1), [1], 0.2, 'a yellow face: red channel high');
    }
    const more = emojiDataset({ skinTones: true });
    assert.ok(more.files[0].length > ds.files[0].length + 1000, 'skin-tone variants');
    const food = emojiDataset({ categories: ['Food & Drink'] });
    assert.ok(food.files[0].length > 50 && food.files[0].length < ds.files[0].length);
    throwsWith(() => emojiDataset({ categories: ['Smileys'] }), 'emoji.json', 'unknown emoji category "Smileys"', 'Smileys & Emotion');
    const require = createRequire(import.meta.url);
    const hasApple = (() => {
      try {
        require.resolve('emoji-datasource-apple/package.json');
        return true;
      } catch {
        return false;
      }
    })();
    if (!hasApple) throwsWith(() => emojiDataset({ vendors: ['google', 'apple'] }), 'emoji-datasource-apple', 'not installed');
  });
});

describe('writeLossPlot', () => {
  test('writes a PNG of the requested size with the series colours, tolerating NaN and empty series', () => {
    const file = path.join(tmp, 'plots', 'loss.png');
    const series = {
      'D/loss': Array.from({ length: 300 }, (_, i) => 1 + Math.exp(-i / 50) + 0.1 * Math.sin(i)),
      'G/loss': Array.from({ length: 300 }, (_, i) => (i === 10 ? NaN : 2 - i / 300)),
      empty: [],
    };
    writeLossPlot(file, series, { width: 640, height: 360, title: 'losses' });
    const png = PNG.sync.read(fs.readFileSync(file));
    assert.deepEqual([png.width, png.height], [640, 360]);
    let blue = 0;
    let orange = 0;
    for (let p = 0; p < png.width * png.height; p++) {
      const [r, g, b] = png.data.subarray(4 * p, 4 * p + 3);
      if (Math.abs(r - 0x1f) < 12 && Math.abs(g - 0x77) < 12 && Math.abs(b - 0xb4) < 12) blue++;
      if (Math.abs(r - 0xff) < 12 && Math.abs(g - 0x7f) < 12 && Math.abs(b - 0x0e) < 12) orange++;
    }
    assert.ok(blue > 200 && orange > 200, `curves drawn: ${blue} blue, ${orange} orange pixels`);
    const blank = renderLossPlot({}, { width: 300, height: 200 });
    assert.equal(blank.rgb.length, 300 * 200 * 3);
  });
});
