/**
 * Writes the skin-tone emoji as our training and held-out evaluation see them (32 px, NCHW float32 in [-1, 1])
 * for docs/demo/probe/supervised.py: train<d>.f32 (every training emoji of domain d), val<d>.f32 (the 60
 * held-out emoji in domain d), region<d>.u8 (where the held-out default emoji and tone d differ), meta.json.
 *   node --import tsx docs/demo/probe/dump.ts /tmp/probe
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { skinToneDataset } from '../../../stargan/data/skin-tones.ts';
import { loadHeldOut } from '../../../stargan/eval/held-out.ts';
import { loadImages } from '../../../stargan/data/sampler.ts';

const dir = process.argv[2] ?? '/tmp/probe';
const img = 32;
const train = skinToneDataset();
const set = loadHeldOut(skinToneDataset({ split: 'val' }), train, img);
fs.mkdirSync(dir, { recursive: true });
const write = (name: string, a: Float32Array | Uint8Array) => fs.writeFileSync(path.join(dir, name), Buffer.from(a.buffer, a.byteOffset, a.byteLength));
const trainImages = train.files.map((f) => loadImages(f, img));
trainImages.forEach((a, d) => write(`train${d}.f32`, a));
set.real.forEach((a, d) => write(`val${d}.f32`, a));
set.targets.forEach((t) => write(`region${t.domain}.u8`, t.region));
fs.writeFileSync(path.join(dir, 'meta.json'), JSON.stringify({ train: trainImages.map((a) => a.length / (3 * img * img)), n: set.n, src: set.srcDomain, domains: train.domains }));
console.log(`wrote ${dir}: ${train.domains.length} domains, ${trainImages[0].length / (3 * img * img)} training and ${set.n} held-out emoji each`);
