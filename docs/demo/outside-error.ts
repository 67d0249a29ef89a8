/**
 * The measurement behind docs/demo/README.md "Where the outside error is": what kind of error the EMA
 * generator makes outside the changed region of the held-out emoji (latent-guided, the two latents and
 * the clamping of the training-time evaluation, so "raw" equals metrics.jsonl's latent_outside).
 *   nice node --import tsx docs/demo/outside-error.ts docs/demo/checkpoint.safetensors
 * Mean L1 in [0, 1] units over the outside pixels: raw; after a 3x3 box blur of output and truth (what is
 * left is low-frequency: colour and shading over areas); the drawing's pixels split into edge pixels (the
 * truth differs from its own blur by > 0.05) and flat ones; and what a 3x3 blur of a perfect copy would cost.
 */
import * as tf from '@tensorflow/tfjs-core';
import { image, key as makeKey, normal, split, toTorch, useBackend, type Tensor } from '../../dsl/index.ts';
import { loadCheckpoint } from '../../stargan/checkpoints/ours.ts';
import { skinToneDataset } from '../../stargan/data/skin-tones.ts';
import { loadHeldOut } from '../../stargan/eval/held-out.ts';
import { BACKGROUND_LEVEL, to01 } from '../../stargan/eval/paired.ts';
import { latentStyles, translate } from '../../stargan/samples.ts';

await useBackend('wasm');
const { cfg, state } = loadCheckpoint(process.argv[2] ?? 'docs/demo/checkpoint.safetensors');
const train = skinToneDataset();
const set = loadHeldOut(skinToneDataset({ split: 'val' }), train, cfg.net.img);
const { n, img } = set;
const plane = img * img;
const src = set.real[set.srcDomain];

/** A 3x3 box blur per channel of one (3, img, img) image in [0, 1], the border averaged over the pixels inside. */
function blur(x: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let c = 0; c < 3; c++) for (let y = 0; y < img; y++) for (let x0 = 0; x0 < img; x0++) {
    let sum = 0, count = 0;
    for (let dy = -1; dy <= 1; dy++) for (let dx = -1; dx <= 1; dx++) {
      const [yy, xx] = [y + dy, x0 + dx];
      if (yy < 0 || xx < 0 || yy >= img || xx >= img) continue;
      sum += x[c * plane + yy * img + xx];
      count++;
    }
    out[c * plane + y * img + x0] = sum / count;
  }
  return out;
}

const sums = new Map<string, [number, number]>();
const add = (name: string, v: number) => {
  const s = sums.get(name) ?? [0, 0];
  sums.set(name, [s[0] + v, s[1] + 1]);
};
for (const z of split(makeKey(0xe7a1), 2)) {
  for (const t of set.targets) {
    const out = tf.tidy(() => {
      const s = latentStyles(state.ema, tf.tile(normal(z, [1, cfg.net.latentDim] as const), [n, 1]) as Tensor<[number, number]>, t.domain);
      return toTorch(translate(state.ema, image(src, [n, 3, img, img] as const), s, cfg.net), 'image').dataSync() as Float32Array;
    });
    for (let i = 0; i < n; i++) {
      const at = (a: Float32Array) => a.subarray(i * 3 * plane, (i + 1) * 3 * plane).map(to01);
      const [o, r, s0] = [at(out), at(set.real[t.domain]), at(src)];
      const [bo, br, bs] = [blur(o), blur(r), blur(s0)];
      for (let p = 0; p < plane; p++) {
        if (t.region[i * plane + p]) continue;
        const mean = (f: (k: number) => number) => (f(p) + f(plane + p) + f(2 * plane + p)) / 3;
        const raw = mean((k) => Math.abs(o[k] - r[k]));
        const background = [0, 1, 2].every((c) => s0[c * plane + p] >= BACKGROUND_LEVEL);
        add('raw', raw);
        add('both blurred', mean((k) => Math.abs(bo[k] - br[k])));
        add('a blurred perfect copy', mean((k) => Math.abs(bs[k] - r[k])));
        if (background) add('raw: background', raw);
        else add(mean((k) => Math.abs(r[k] - br[k])) > 0.05 ? 'raw: drawing, edge pixels' : 'raw: drawing, flat pixels', raw);
      }
    }
  }
}
console.log(`${process.argv[2] ?? 'docs/demo/checkpoint.safetensors'}: outside the changed region, latent-guided, mean L1 in [0, 1]`);
for (const [name, [sum, count]] of sums) console.log(`  ${name.padEnd(28)} ${(sum / count).toFixed(4)}  (${count} pixels)`);
