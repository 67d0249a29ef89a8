/**
 * Splittable PRNG keys. tfjs's random ops take integer seeds, so a key is a pair of
 * uint32 words and `split` is a counter-based hash: the same key always gives the same
 * children, and a run is reproducible from its seed alone.
 */
import * as tf from '@tensorflow/tfjs-core';
import type { Shape } from './shape.ts';
import { memoryPerm, type Role, type Tensor } from './tensor.ts';

/** A PRNG key: two uint32 words. Plain data, so it serialises into checkpoints. */
export type Key = readonly [number, number];

/** 32-bit finaliser of MurmurHash3: a bijection with good avalanche. */
function mix32(h: number): number {
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

/** The key of a seed. */
export function key(seed: number): Key {
  return [mix32(seed >>> 0 ^ 0x9e3779b9), mix32(Math.floor(seed / 2 ** 32) ^ 0x7f4a7c15)];
}

/** The i-th child of a key (i >= 0). */
export function fold(k: Key, i: number): Key {
  // Both output words depend on both key words and on i.
  const a = mix32(k[0] ^ mix32(k[1] ^ mix32(i + 0x632be5ab)));
  const b = mix32((k[1] + Math.imul(i + 1, 0x9e3779b9)) ^ a);
  return [a, b];
}

/** n independent children of a key. */
export function split(k: Key, n = 2): Key[] {
  return Array.from({ length: n }, (_, i) => fold(k, i));
}

/** A 32-bit integer seed for tfjs's seeded random ops. */
export function seedOf(k: Key): number {
  return mix32(k[0] ^ mix32(k[1])) & 0x7fffffff;
}

/** The i-th uniform float in [0, 1) (53 bits) of a key: a pure function of (key, i). */
export function uniformAt(k: Key, i: number): number {
  const [a, b] = fold(k, i);
  return (a * 2 ** 21 + (b >>> 11)) / 2 ** 53;
}

/** n uniform floats in [0, 1) on the CPU (data sampling, augmentation). */
export function uniforms(k: Key, n: number): number[] {
  return Array.from({ length: n }, (_, i) => uniformAt(k, i));
}

/** Uniform integers in [0, m). */
export function randInts(k: Key, n: number, m: number): number[] {
  return uniforms(k, n).map((u) => Math.floor(u * m));
}

/** Standard normal samples of a logical shape, laid out for a role (see tensor.ts). */
export function normal<const S extends Shape>(k: Key, shape: S, role: Role = 'plain', std = 1): Tensor<[...S]> {
  const p = memoryPerm(role, shape.length);
  const memShape = p ? p.map((axis) => shape[axis]) : [...shape];
  return tf.randomNormal(memShape, 0, std, 'float32', seedOf(k)) as Tensor<[...S]>;
}

/** Uniform samples in [lo, hi) of a logical shape, laid out for a role. */
export function uniform<const S extends Shape>(k: Key, shape: S, lo: number, hi: number, role: Role = 'plain'): Tensor<[...S]> {
  const p = memoryPerm(role, shape.length);
  const memShape = p ? p.map((axis) => shape[axis]) : [...shape];
  return tf.randomUniform(memShape, lo, hi, 'float32', seedOf(k)) as Tensor<[...S]>;
}
