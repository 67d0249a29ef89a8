/**
 * StarGAN v1 training checkpoints: one safetensors file holding G and D under the official
 * state_dict names after `G.` / `D.` (`G.main.0.weight`, `D.conv2.weight`; the official code
 * saves `self.G.state_dict()` and `self.D.state_dict()`), the Adam moments (`adam.G.m.*`,
 * `adam.G.v.*`, `adam.D.*`), and in the metadata the configs, iteration, PRNG key, Adam step
 * counts and the label names. Written atomically; loading restores the state exactly.
 *
 * Loading reads only the tensors the config's networks have, so a file with the official
 * InstanceNorm buffers (`running_mean`, `running_var`, `num_batches_tracked`) loads too.
 */
import { disposeParams, key as makeKey, type AdamState, type Key } from '../../dsl/index.ts';
import { recordFromEntries, recordToEntries } from '../../dsl/record-io.ts';
import { readSafetensors, writeSafetensors, type Entry } from '../../dsl/io/safetensors.ts';
import type { V1NetConfig, V1TrainConfig } from '../v1/config.ts';
import { initDiscriminatorV1 } from '../v1/discriminator.ts';
import { initGeneratorV1 } from '../v1/generator.ts';
import type { V1Config, V1Nets, V1State } from '../v1/step.ts';

export const checkpointFormatV1 = 'stargan-ts-v1/1';

const nets = ['G', 'D'] as const;

/**
 * Writes a training checkpoint; `labelNames` (one per label of each dataset, in label-vector
 * order) let programs name the attributes, `labelGroups` (indices into that order) say which
 * are mutually exclusive (hair colours, skin tones, a single-label dataset's classes).
 */
export function saveCheckpointV1(file: string, cfg: V1Config, s: V1State, labelNames?: readonly string[], labelGroups?: readonly (readonly number[])[]): void {
  const entries: [string, Entry][] = [
    ...recordToEntries(s.nets),
    ...nets.flatMap((n) => [...recordToEntries(s.opt[n].m, `adam.${n}.m`), ...recordToEntries(s.opt[n].v, `adam.${n}.v`)]),
  ];
  writeSafetensors(file, entries, {
    format: checkpointFormatV1,
    net_config: JSON.stringify(cfg.net),
    train_config: JSON.stringify(cfg.train),
    iteration: String(s.iteration),
    key: JSON.stringify(s.key),
    adam_steps: JSON.stringify({ G: s.opt.G.step, D: s.opt.D.step }),
    ...(labelNames ? { label_names: JSON.stringify(labelNames) } : {}),
    ...(labelGroups ? { label_groups: JSON.stringify(labelGroups) } : {}),
  });
}

/** G and D stored under official names after `prefix` ('' for `G.*`, `D.*`); errors name `source` and the tensor. */
export function loadNetsV1(entries: Map<string, Entry>, cfg: V1NetConfig, source: string, prefix = ''): V1Nets {
  const template = { G: initGeneratorV1(makeKey(0), cfg), D: initDiscriminatorV1(makeKey(0), cfg) };
  try {
    return recordFromEntries(template, entries, prefix, source);
  } finally {
    disposeParams(template);
  }
}

/** How two network configs differ, field by field ('' if equal). */
export function configDiffV1(a: V1NetConfig, b: V1NetConfig): string {
  return (Object.keys(a) as (keyof V1NetConfig)[])
    .filter((k) => JSON.stringify(a[k]) !== JSON.stringify(b[k]))
    .map((k) => `${k} ${JSON.stringify(a[k])} vs ${JSON.stringify(b[k])}`).join(', ');
}

/**
 * Restores a training state. With `expected`, the stored network config must equal it (a
 * checkpoint from another config is refused, naming the differing fields).
 */
export function loadCheckpointV1(file: string, expected?: V1NetConfig): { cfg: V1Config; state: V1State; labelNames?: string[]; labelGroups?: number[][] } {
  const { tensors, metadata } = readSafetensors(file);
  if (metadata.format !== checkpointFormatV1) throw new Error(`${file}: not a StarGAN v1 checkpoint (format '${metadata.format ?? 'none'}')`);
  const net = JSON.parse(metadata.net_config) as V1NetConfig;
  if (expected) {
    const diff = configDiffV1(net, expected);
    if (diff) throw new Error(`${file}: checkpoint config differs from the requested one (${diff})`);
  }
  const train = JSON.parse(metadata.train_config) as V1TrainConfig;
  const steps = JSON.parse(metadata.adam_steps) as Record<(typeof nets)[number], number>;
  const loaded = loadNetsV1(tensors, net, file);
  const moment = <P>(p: P, n: string, which: 'm' | 'v'): P => recordFromEntries(p, tensors, `adam.${n}.${which}`, file);
  const opt = {
    G: { step: steps.G, m: moment(loaded.G, 'G', 'm'), v: moment(loaded.G, 'G', 'v') } as AdamState<V1Nets['G']>,
    D: { step: steps.D, m: moment(loaded.D, 'D', 'm'), v: moment(loaded.D, 'D', 'v') } as AdamState<V1Nets['D']>,
  };
  return {
    cfg: { net, train },
    state: { nets: loaded, opt, iteration: Number(metadata.iteration), key: JSON.parse(metadata.key) as Key, losses: {} },
    ...(metadata.label_names ? { labelNames: JSON.parse(metadata.label_names) as string[] } : {}),
    ...(metadata.label_groups ? { labelGroups: JSON.parse(metadata.label_groups) as number[][] } : {}),
  };
}
