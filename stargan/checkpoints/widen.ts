/**
 * Widening a trained checkpoint to a larger `base` without changing what it computes (Net2WiderNet, Chen et al.
 * 2016): every new channel copies an old one (channel j of a group that grew from C to C' copies j mod C), and
 * each weight reading a copied channel is split between the copies by random fractions that sum to one. The
 * copies stay equal through convolutions, instance norm, AdaIN, LeakyReLU, pooling and the residual sums, so
 * the wider networks give the old outputs; the random splits make their gradients differ, so training can use
 * the new width. The EMA networks are widened with the same splits; Adam starts afresh (moments 0, step 0).
 */
import { fold, uniformAt, type Key } from '../../dsl/random.ts';
import type { Entry, SafetensorsFile } from '../../dsl/io/safetensors.ts';
import { decoderOf, type NetConfig } from '../v2/config.ts';
import { netNames } from '../v2/nets.ts';
import { checkpointNetConfig } from './ours.ts';
import { fmt, officialShapes, type NetName } from './names.ts';

/** AdaIN's style-to-(gamma, beta) layer: its output rows are two halves, each one row per channel. */
const isAdainFc = (name: string): boolean => /\.fc\.(weight|bias)$/.test(name);

/** The old row a new output row copies: j mod C, within each half of an AdaIN layer. */
function sourceRow(j: number, old: number, now: number, halves: boolean): number {
  if (!halves) return j % old;
  const [h, hn] = [old / 2, now / 2];
  return Math.floor(j / hn) * h + ((j % hn) % h);
}

/**
 * One tensor at its wider shape: rows (axis 0) copied, columns (axis 1, the input channels) split between
 * their copies by fractions drawn from `k` (the same fractions for the same name, so EMA and raw agree).
 */
export function widenTensor(e: Entry, to: readonly number[], halves: boolean, k: Key): Entry {
  const from = e.shape;
  if (from.length !== to.length || from.slice(2).some((d, i) => d !== to[i + 2]) || to[0] < from[0] || (to.length > 1 && to[1] < from[1])) {
    throw new Error(`cannot widen ${fmt(from)} to ${fmt(to)}`);
  }
  const inner = from.slice(2).reduce((a, b) => a * b, 1);
  const [cin, cinNew] = from.length > 1 ? [from[1], to[1]] : [1, 1];
  const out = new Float32Array(to.reduce((a, b) => a * b, 1));
  const weight = (o: number, j: number, r: number) => 0.5 + uniformAt(k, (o * cinNew + j) * inner + r);
  for (let o = 0; o < to[0]; o++) {
    const so = sourceRow(o, from[0], to[0], halves);
    for (let j = 0; j < cinNew; j++) {
      const sj = j % cin;
      for (let r = 0; r < inner; r++) {
        let share = 1;
        if (cinNew !== cin) {
          let total = 0;
          for (let c = sj; c < cinNew; c += cin) total += weight(o, c, r);
          share = weight(o, j, r) / total;
        }
        out[(o * cinNew + j) * inner + r] = e.data[(so * cin + sj) * inner + r] * share;
      }
    }
  }
  return { dtype: 'F32', shape: [...to], data: out };
}

/** The config a checkpoint gets at a new base: refused where the copies would not stay equal. */
export function widenedConfig(net: NetConfig, base: number, source: string): NetConfig {
  if (decoderOf(net) !== 'adain') throw new Error(`${source}: widening keeps the outputs only with the adain decoder (this checkpoint has ${decoderOf(net)})`);
  if (net.wHpf > 0) throw new Error(`${source}: widening does not support high-pass masks (w_hpf ${net.wHpf})`);
  if (!Number.isInteger(base) || base < net.base) throw new Error(`${source}: the new base must be an integer >= the checkpoint's ${net.base}, got ${base}`);
  const wider = { ...net, base };
  for (const n of netNames) {
    const [old, now] = [officialShapes(n, net), officialShapes(n, wider)];
    const lost = [...old.keys()].find((k) => !now.has(k)) ?? [...now.keys()].find((k) => !old.has(k));
    if (lost) {
      throw new Error(`${source}: base ${base} changes the blocks, not only their widths ('${n}.${lost}' is in one config only: max_conv ${net.maxConv} caps a width that a 1x1 shortcut changed), so the outputs could not be kept; choose a smaller base`);
    }
  }
  return wider;
}

/**
 * A stargan-ts training checkpoint widened to `base`: networks and EMA copies widened, Adam moments zero at
 * the new shapes and their steps 0, the iteration, PRNG key and training config kept.
 */
export function widenCheckpoint(file: SafetensorsFile, base: number, k: Key, source: string): SafetensorsFile {
  const from = checkpointNetConfig(file.metadata, source);
  const to = widenedConfig(from, base, source);
  const tensors = new Map<string, Entry>();
  const get = (name: string): Entry => {
    const e = file.tensors.get(name);
    if (!e) throw new Error(`${source}: missing tensor '${name}'`);
    return e;
  };
  netNames.forEach((net: NetName, n) => {
    const shapes = [...officialShapes(net, to)];
    shapes.forEach(([name, shape], i) => {
      const kt = fold(fold(k, n), i);
      for (const prefix of net === 'discriminator' ? [''] : ['', 'ema.']) {
        tensors.set(`${prefix}${net}.${name}`, widenTensor(get(`${prefix}${net}.${name}`), shape, isAdainFc(name), kt));
      }
      for (const m of ['m', 'v']) tensors.set(`adam.${net}.${m}.${name}`, { dtype: 'F32', shape: [...shape], data: new Float32Array(shape.reduce((a, b) => a * b, 1)) });
    });
  });
  const metadata = { ...file.metadata, net_config: JSON.stringify(to), adam_steps: JSON.stringify(Object.fromEntries(netNames.map((n) => [n, 0]))) };
  return { tensors, metadata };
}
