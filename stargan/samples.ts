/**
 * What a person looks at during training (REFERENCE section 3), from the EMA networks:
 * - cycle: rows of sources x, their translations G(x, s~) to a reference's style, and the
 *   reconstructions G(G(x, s~), E(x, y));
 * - latent-guided: sources as rows; per target domain, a few latent samples as columns;
 * - reference-guided: sources as rows, references as columns (the top row shows them);
 * - latent interpolation: per source, styles interpolated between two latents of a domain.
 * Latent sampling supports truncation: `s = lerp(mean_style(y), F(z, y), psi)`.
 */
import * as tf from '@tensorflow/tfjs-core';
import { batchSize, dims, labels, normal, split, typed, type Key, type Labels, type Tensor } from '../dsl/index.ts';
import { imageGrid, writePng } from '../dsl/io/image.ts';
import type { NetConfig } from './v2/config.ts';
import { generator, type GeneratorConfig, type Masks } from './v2/generator.ts';
import { mappingNetwork } from './v2/mapping.ts';
import type { EmaNets } from './v2/nets.ts';
import { styleEncoder } from './v2/style-encoder.ts';

type Images = Tensor<[number, 3, number, number]>;
type Styles = Tensor<[number, number]>;

/** NHWC images -> one CHW Float32Array per image (what imageGrid takes). */
export function toChw(x: Images): Float32Array[] {
  const { n, h, w } = dims(x);
  const data = tf.tidy(() => tf.transpose(x, [0, 3, 1, 2]).dataSync() as Float32Array);
  const size = 3 * h * w;
  return Array.from({ length: n }, (_, i) => data.slice(i * size, (i + 1) * size));
}

/** The mean style of domain y over `count` latents (the truncation anchor). */
export function meanStyle(ema: EmaNets, y: number, latentDim: number, key: Key, count = 1000): Styles {
  return tf.tidy(() => {
    const z = normal(key, [count, latentDim] as const);
    return typed<[number, number]>(tf.mean(mappingNetwork(ema.mapping_network, z, labels(new Array(count).fill(y))), 0, true));
  });
}

/** Latent-guided styles for domain y, truncated toward `mean` by psi (1 = no truncation). */
export function latentStyles(ema: EmaNets, z: Tensor<[number, number]>, y: number, psi = 1, mean?: Styles): Styles {
  return tf.tidy(() => {
    const s = mappingNetwork(ema.mapping_network, z, labels(new Array(batchSize(z)).fill(y)));
    return mean && psi !== 1 ? typed<[number, number]>(tf.add(mean, tf.mul(tf.sub(s, mean), psi))) : s;
  });
}

/** Translates every source with one style per source. */
export function translate(ema: EmaNets, x: Images, s: Styles, g: GeneratorConfig, masks?: Masks<number>): Images {
  return generator(ema.generator, x, s, g, masks);
}

/** Repeats one style for a batch of n. */
function tileStyle(s: Styles, n: number): Styles {
  return typed(tf.tile(s, [n, 1]));
}

export interface Grid {
  readonly images: Float32Array[];
  readonly rows: number;
  readonly cols: number;
}

/** Rows: sources, translations to the references' styles, reconstructions. */
export function cycleGrid(ema: EmaNets, net: NetConfig, x: Images, y: Labels, xRef: Images, yRef: Labels): Grid {
  return tf.tidy(() => {
    const fake = translate(ema, x, styleEncoder(ema.style_encoder, xRef, yRef), net);
    const rec = translate(ema, fake, styleEncoder(ema.style_encoder, x, y), net);
    const n = batchSize(x);
    return { images: [...toChw(x), ...toChw(xRef), ...toChw(fake), ...toChw(rec)], rows: 4, cols: n };
  });
}

/** Sources as rows; for each domain, `perDomain` latent samples (shared by all rows) as columns. */
export function latentGrid(ema: EmaNets, net: NetConfig, x: Images, key: Key, perDomain = 2, psi = 1): Grid {
  const { domains, latentDim } = net;
  return tf.tidy(() => {
    const n = batchSize(x);
    const sources = toChw(x);
    const columns: Float32Array[][] = [];
    split(key, domains).forEach((k, d) => {
      const mean = psi !== 1 ? meanStyle(ema, d, latentDim, split(k, 2)[1]) : undefined;
      const z = normal(k, [perDomain, latentDim] as const);
      const styles = latentStyles(ema, z, d, psi, mean);
      for (let j = 0; j < perDomain; j++) {
        const s = tileStyle(typed(tf.slice(styles, [j, 0], [1, -1])), n);
        columns.push(toChw(translate(ema, x, s, net)));
      }
    });
    const cols = 1 + columns.length;
    const images = sources.flatMap((src, i) => [src, ...columns.map((c) => c[i])]);
    return { images, rows: n, cols };
  });
}

/** Top row: the references (first cell empty); then per source: the source and its translation to each reference. */
export function referenceGrid(ema: EmaNets, net: NetConfig, x: Images, xRef: Images, yRef: Labels): Grid {
  return tf.tidy(() => {
    const n = batchSize(x);
    const refs = toChw(xRef);
    const styles = styleEncoder(ema.style_encoder, xRef, yRef);
    const columns = refs.map((_, j) => toChw(translate(ema, x, tileStyle(typed(tf.slice(styles, [j, 0], [1, -1])), n), net)));
    const blank = new Float32Array(refs[0].length).fill(1);
    const images = [blank, ...refs, ...toChw(x).flatMap((src, i) => [src, ...columns.map((c) => c[i])])];
    return { images, rows: n + 1, cols: refs.length + 1 };
  });
}

/** Per source row: styles interpolated between two latents of domain y, in `steps` columns. */
export function interpolationGrid(ema: EmaNets, net: NetConfig, x: Images, y: number, key: Key, steps = 6): Grid {
  const { latentDim } = net;
  return tf.tidy(() => {
    const n = batchSize(x);
    const [s0, s1] = [0, 1].map((i) => latentStyles(ema, normal(split(key, 2)[i], [1, latentDim] as const), y));
    const columns = Array.from({ length: steps }, (_, i) => {
      const t = steps === 1 ? 0 : i / (steps - 1);
      return toChw(translate(ema, x, tileStyle(typed(tf.add(s0, tf.mul(tf.sub(s1, s0), t))), n), net));
    });
    const images = toChw(x).flatMap((src, i) => [src, ...columns.map((c) => c[i])]);
    return { images, rows: n, cols: steps + 1 };
  });
}

/** Writes a grid as a PNG (atomically). */
export function writeGrid(file: string, g: Grid, size: number): void {
  const { width, height, rgb } = imageGrid(g.images, size, g.rows, g.cols);
  writePng(file, width, height, rgb);
}

/** The four grids a person looks at during training, from one batch of sample images (sources and references). */
export type GridKind = 'cycle' | 'latent' | 'reference' | 'interpolation';

/**
 * The training-time sample suite: cycle, latent-guided, reference-guided and interpolation grids from the EMA
 * networks. `iteration` picks the interpolation's domain, so successive samples show every domain in turn.
 */
export function sampleGrids(
  ema: EmaNets, net: NetConfig, b: { x: Images; y: Labels; xRef: Images; yTrg: Labels }, key: Key, iteration: number,
): Record<GridKind, Grid> {
  const [kLatent, kInterp] = [split(key, 4)[3], split(key, 5)[4]];
  return {
    cycle: cycleGrid(ema, net, b.x, b.y, b.xRef, b.yTrg),
    latent: latentGrid(ema, net, b.x, kLatent),
    reference: referenceGrid(ema, net, b.x, b.xRef, b.yTrg),
    interpolation: interpolationGrid(ema, net, b.x, iteration % net.domains, kInterp),
  };
}
