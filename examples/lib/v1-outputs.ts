/**
 * What train-stargan-v1.ts writes besides checkpoints: the losses plot (one panel per dataset),
 * the sample grid (the fixed sources of every dataset under every label of every dataset), the
 * grid's column names, and the progress bar's loss summary.
 */
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { key as makeKey } from '../../dsl/index.ts';
import { writeStackedPlots } from '../../dsl/io/plot.ts';
import { labelsOf, type LabelledDataset } from '../../stargan/data/labelled.ts';
import type { ImageCache } from '../../stargan/data/sampler.ts';
import type { RunSet } from '../../stargan/data/v1-sets.ts';
import { writeGrid } from '../../stargan/samples.ts';
import { labelledSubBatch } from '../../stargan/v1/batch.ts';
import type { V1NetConfig } from '../../stargan/v1/config.ts';
import { crossDatasetGrid, stackRows } from '../../stargan/v1/samples.ts';
import type { V1Config, V1State } from '../../stargan/v1/step.ts';

export interface LogLine { iteration: number; elapsed_s: number; [loss: string]: number }

const plotted = ['D/loss_real', 'D/loss_fake', 'D/loss_cls', 'D/loss_gp', 'G/loss_fake', 'G/loss_rec', 'G/loss_cls'];

/** The loss names' prefix for dataset k (none with one dataset, as the official single-dataset logs). */
function prefixOf(net: V1NetConfig, k: number): string {
  return net.datasets.length > 1 ? `${net.datasets[k].name}:` : '';
}

/** losses.png: one panel per dataset. */
export function plotLosses(file: string, log: LogLine[], net: V1NetConfig): void {
  if (log.length < 2) return;
  const panels = net.datasets.map((d, k) => {
    const series: Record<string, number[]> = {};
    for (const name of plotted.map((n) => prefixOf(net, k) + n)) if (log.some((l) => l[name] !== undefined)) series[name] = log.map((l) => l[name] ?? NaN);
    return { series, opts: { title: `StarGAN v1 losses${net.datasets.length > 1 ? `: ${d.name}` : ''}`, xStart: log[0].iteration, xStep: log[1].iteration - log[0].iteration } };
  });
  writeStackedPlots(file, panels);
}

/** Fixed sample sources: n images spread evenly over the dataset (for the emoji: different emoji, tones and vendors). */
function sampleIndices(ds: LabelledDataset, n: number): number[] {
  const m = Math.min(n, ds.files.length);
  return Array.from({ length: m }, (_, i) => Math.floor((i * ds.files.length) / m) + (i % 3)).filter((i) => i < ds.files.length);
}

/** The grid's column names: the source, then every label of every dataset. */
export function gridColumns(sets: readonly RunSet[]): string[] {
  return ['source', ...sets.flatMap((s) => s.train.attrs.map((a) => (sets.length > 1 ? `${s.name}:${a}` : a)))];
}

/** Writes the grid of the current G: rows the fixed sources of each dataset, columns every label of every dataset. */
export function writeSamples(dir: string, s: V1State, cfg: V1Config, sets: readonly RunSet[], cache: ImageCache): string {
  const file = path.join(dir, 'samples', `${String(s.iteration).padStart(6, '0')}.png`);
  const labelSets = sets.map((r) => ({ size: r.train.attrs.length, groups: r.samples.groups }));
  const perSet = Math.max(2, Math.floor(8 / sets.length));
  tf.tidy(() => {
    const grids = sets.map((r, k) => {
      const indices = sampleIndices(r.samples, perSet);
      const b = labelledSubBatch(r.samples, k, cache, makeKey(0), indices.length, cfg.net.img, false, indices);
      return crossDatasetGrid(s.nets.G, cfg.net, k, b.x, indices.map((i) => labelsOf(r.samples, i)), labelSets);
    });
    writeGrid(file, stackRows(grids), cfg.net.img);
  });
  return file;
}

/** The bar's loss summary: D total, GP and cls, G rec and cls, per dataset. */
export function lossSummary(l: Record<string, number | undefined>, net: V1NetConfig): string {
  const f = (n: string, label: string) => `${label} ${(l[n] ?? NaN).toFixed(3)}`;
  return net.datasets.map((d, k) => {
    const p = prefixOf(net, k);
    const parts = [f(`${p}D/loss`, 'D'), f(`${p}D/loss_gp`, 'gp'), f(`${p}D/loss_cls`, 'Dcls'), f(`${p}G/loss_rec`, 'rec'), f(`${p}G/loss_cls`, 'Gcls')].join(' ');
    return net.datasets.length > 1 ? `${d.name}: ${parts}` : parts;
  }).join(' | ');
}
