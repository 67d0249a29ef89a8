/**
 * Laws of the offline metrics (stargan/eval/): the symmetric eigensolver and matrix square
 * root against their definitions, FID's exact formulas (zero on itself, symmetric, the 1-D
 * and diagonal closed forms, the sample-space and feature-space traces against a brute-force
 * Denman-Beavers square root, growth with noise), the LPIPS-style score (zero on identical
 * outputs, a hand computation), the feature network against nsfwjs's own inference, paired
 * errors of the baselines on a hand-computed fixture, determinism for a seed, and
 * evaluate.ts's bad inputs and report files.
 *
 * Over 400 lines because the metrics share one loaded feature network (loading it dominates the
 * file's time); each describe block reads on its own.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import fc from 'fast-check';
import * as tf from '@tensorflow/tfjs-core';
import * as tfl from '@tensorflow/tfjs';
import { load as nsfwLoad } from 'nsfwjs';
import './lib/setup.ts';
import { disposeParams, key, liveTensors } from '../dsl/index.ts';
import type { NetConfig } from '../stargan/v2/config.ts';
import { saveCheckpoint } from '../stargan/checkpoints/ours.ts';
import { initNets } from '../stargan/v2/nets.ts';
import { defaultTrain } from '../stargan/v2/config.ts';
import { initTrainState } from '../stargan/v2/step.ts';
import { allFeatures, classProbabilities, featureNetAt, packageModelHandler, poolFeatures, POOL_DIM, quantise8, type FeatureNet } from '../stargan/eval/feature-net.ts';
import { featureSet, frechetDistance, moments, traceSqrtFeatureSpace, traceSqrtSampleSpace } from '../stargan/eval/fid.ts';
import { matmul, matmulNT, matrix, sqrtmPsd, symmetricEigen, transpose, type Matrix } from '../stargan/eval/linalg.ts';
import { groupDiversity } from '../stargan/eval/lpips.ts';
import { BACKGROUND_LEVEL, backgroundPixels, baselineErrors, CHANGED_REGION_THRESHOLD, changedRegion, meanImage, outsideSplit, pairedScores } from '../stargan/eval/paired.ts';
import { domainImages, realMoments, referenceIndices, runTask, type EvalContext } from '../stargan/eval/protocol.ts';
import { pngBytes, put, pattern } from './lib/images.ts';

// ---------------------------------------------------------------------------------------
// Helpers

/** A reproducible stream of uniforms in [-0.5, 0.5). */
function rng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32 - 0.5;
  };
}

function randomMatrix(rows: number, cols: number, seed: number): Matrix {
  const r = rng(seed);
  return matrix(rows, cols, Array.from({ length: rows * cols }, r));
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  assert.equal(a.length, b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i] - b[i]));
  return m;
}

function identity(n: number): Matrix {
  const m = matrix(n, n);
  for (let i = 0; i < n; i++) m.data[i * n + i] = 1;
  return m;
}

/** Gauss-Jordan inverse with partial pivoting (brute force, small n). */
function inverse(a: Matrix): Matrix {
  const n = a.rows;
  const m = Float64Array.from(a.data);
  const inv = identity(n).data;
  for (let c = 0; c < n; c++) {
    let p = c;
    for (let r = c + 1; r < n; r++) if (Math.abs(m[r * n + c]) > Math.abs(m[p * n + c])) p = r;
    for (let k = 0; k < n; k++) {
      [m[c * n + k], m[p * n + k]] = [m[p * n + k], m[c * n + k]];
      [inv[c * n + k], inv[p * n + k]] = [inv[p * n + k], inv[c * n + k]];
    }
    const d = m[c * n + c];
    for (let k = 0; k < n; k++) {
      m[c * n + k] /= d;
      inv[c * n + k] /= d;
    }
    for (let r = 0; r < n; r++) {
      if (r === c) continue;
      const f = m[r * n + c];
      for (let k = 0; k < n; k++) {
        m[r * n + k] -= f * m[c * n + k];
        inv[r * n + k] -= f * inv[c * n + k];
      }
    }
  }
  return { rows: n, cols: n, data: inv };
}

/** tr √M for a (non-symmetric) M with positive eigenvalues, by the Denman-Beavers iteration: independent of any eigensolver. */
function traceSqrtDenmanBeavers(m: Matrix): number {
  let y = m;
  let z = identity(m.rows);
  for (let k = 0; k < 60; k++) {
    const yi = inverse(y);
    const zi = inverse(z);
    y = matrix(m.rows, m.cols, y.data.map((v, i) => (v + zi.data[i]) / 2));
    z = matrix(m.rows, m.cols, z.data.map((v, i) => (v + yi.data[i]) / 2));
  }
  let t = 0;
  for (let i = 0; i < m.rows; i++) t += y.data[i * m.cols + i];
  return t;
}

function covarianceOf(rows: Matrix): Matrix {
  const c = moments(featureSet(rows.data, rows.cols)).centred;
  const s = matmul(transpose(c), c);
  return matrix(s.rows, s.cols, s.data.map((v) => v / (rows.rows - 1)));
}

/** Feature rows: n samples of d, a random linear mix of uniforms (correlated columns) plus a shift. */
function features(n: number, d: number, seed: number, shift = 0): Matrix {
  const mix = randomMatrix(d, d, seed + 1);
  const base = randomMatrix(n, d, seed);
  const f = matmul(base, mix);
  return matrix(n, d, f.data.map((v) => v + shift));
}

// ---------------------------------------------------------------------------------------
// Linear algebra

describe('symmetric eigendecomposition and square root', () => {
  test('eigenvectors are orthonormal and reconstruct the matrix; values-only gives the same values', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 14 }), fc.integer({ min: 1, max: 1e6 }), (n, seed) => {
      const b = randomMatrix(n, n, seed);
      const a = matrix(n, n, b.data.map((_, i) => b.data[i] + b.data[(i % n) * n + Math.floor(i / n)])); // b + bᵀ: indefinite
      const { values, vectors } = symmetricEigen(a);
      const v = vectors!;
      assert.ok(maxAbsDiff(matmulNT(v, v).data, identity(n).data) < 1e-12, 'V Vᵀ = I');
      const scaled = matrix(n, n, v.data.map((x, i) => x * values[Math.floor(i / n)]));
      assert.ok(maxAbsDiff(matmul(transpose(v), scaled).data, a.data) < 1e-12, 'Vᵀ Λ V = A');
      for (let i = 1; i < n; i++) assert.ok(values[i - 1] <= values[i], 'ascending');
      assert.ok(maxAbsDiff(symmetricEigen(a, { vectors: false }).values, values) < 1e-12);
    }), { numRuns: 40, seed: 1 });
  });

  test('a bᵀ by rows (matmulNT) equals a times the transpose, for odd and even sizes', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 7 }), fc.integer({ min: 1, max: 9 }), fc.integer({ min: 1, max: 1e6 }), (n, m, k, seed) => {
      const a = randomMatrix(n, k, seed);
      const b = randomMatrix(m, k, seed + 1);
      assert.ok(maxAbsDiff(matmulNT(a, b).data, matmul(a, transpose(b)).data) < 1e-14);
    }), { numRuns: 40, seed: 6 });
  });

  test('sqrtm(A)² = A for random SPD and rank-deficient PSD A, and sqrtm(A) is symmetric PSD', () => {
    fc.assert(fc.property(fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 12 }), fc.integer({ min: 1, max: 1e6 }), (n, rank, seed) => {
      const b = randomMatrix(n, rank, seed);
      const a = matmulNT(b, b); // rank min(n, rank)
      const r = sqrtmPsd(a);
      const scale = Math.max(1, ...a.data.map(Math.abs));
      assert.ok(maxAbsDiff(matmul(r, r).data, a.data) < 1e-11 * scale, 'R R = A');
      assert.ok(maxAbsDiff(r.data, transpose(r).data) < 1e-12 * scale, 'symmetric');
      assert.ok(symmetricEigen(r, { vectors: false }).values[0] > -1e-7 * scale, 'PSD');
    }), { numRuns: 40, seed: 2 });
  });
});

// ---------------------------------------------------------------------------------------
// FID

describe('FID (Fréchet distance)', () => {
  test('tr (Σa Σb)^½: sample space = feature space = Denman-Beavers on Σa Σb (brute force)', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 6 }), fc.integer({ min: 3, max: 14 }), fc.integer({ min: 3, max: 14 }), fc.integer({ min: 1, max: 1e6 }), (d, na, nb, seed) => {
      const a = moments(featureSet(features(na, d, seed).data, d));
      const b = moments(featureSet(features(nb, d, seed + 7, 0.3).data, d));
      const sample = traceSqrtSampleSpace(a, b);
      const feature = traceSqrtFeatureSpace(a, b);
      // Feature space takes √ of eigenvalues that are 0 in exact arithmetic (rank < d), so it is
      // only accurate to about √eps; sample space never forms them.
      assert.ok(Math.abs(sample - feature) < 1e-6 * Math.max(1, feature), `sample ${sample} vs feature ${feature}`);
      if (na > d && nb > d) { // both covariances full rank: Σa Σb has positive eigenvalues
        const brute = traceSqrtDenmanBeavers(matmul(covarianceOf(features(na, d, seed)), covarianceOf(features(nb, d, seed + 7, 0.3))));
        assert.ok(Math.abs(sample - brute) < 1e-9 * Math.max(1, brute), `sample ${sample} vs Denman-Beavers ${brute}`);
      }
    }), { numRuns: 40, seed: 3 });
  });

  test('1-D and diagonal closed forms: Σ (μa - μb)² + (σa - σb)²', () => {
    // Columns independent by construction: each set is a scaled, shifted copy of one ±1 pattern per column.
    const n = 8;
    const signs = [1, -1, 1, -1, 1, -1, 1, -1];
    const other = [1, 1, -1, -1, 1, 1, -1, -1]; // orthogonal to `signs`, so the 2-D covariances are diagonal
    const make = (mu: number[], sd: number[]) => featureSet(Float64Array.from({ length: n * 2 }, (_, i) => {
      const [r, c] = [Math.floor(i / 2), i % 2];
      return mu[c] + sd[c] * (c === 0 ? signs[r] : other[r]);
    }), 2);
    const scale = Math.sqrt(n / (n - 1)); // unbiased variance of ±s is s² n / (n - 1)
    const fid = frechetDistance(make([1, -2], [0.5, 2]), make([3, 0], [1.5, 0.25]));
    const expected = (1 - 3) ** 2 + (-2 - 0) ** 2 + ((0.5 - 1.5) * scale) ** 2 + ((2 - 0.25) * scale) ** 2;
    assert.ok(Math.abs(fid.value - expected) < 1e-12, `${fid.value} vs ${expected}`);
  });

  test('a set against itself is 0 and the distance is symmetric (n < d and n > d)', () => {
    for (const [n, d] of [[5, 12], [20, 6]]) {
      const a = featureSet(features(n, d, 11).data, d);
      const b = featureSet(features(n + 3, d, 12, 0.2).data, d);
      const self = frechetDistance(a, a).value;
      assert.ok(Math.abs(self) < 1e-12 * moments(a).trace, `self ${self}`);
      const ab = frechetDistance(a, b);
      const ba = frechetDistance(b, a);
      assert.ok(ab.value > 0);
      assert.ok(Math.abs(ab.value - ba.value) < 1e-12 * ab.value, `${ab.value} vs ${ba.value}`);
    }
  });

  test('grows with added noise (3 levels), in feature space (2048-d, sample-space method)', () => {
    const n = 40;
    const d = POOL_DIM;
    const r = rng(5);
    const base = Float64Array.from({ length: n * d }, () => Math.abs(r()) * 2);
    const noise = Float64Array.from({ length: n * d }, r);
    const fids = [0.1, 0.3, 0.9].map((s) => frechetDistance(featureSet(base, d), featureSet(base.map((v, i) => v + s * noise[i]), d)));
    assert.equal(fids[0].method, 'sample-space');
    assert.ok(fids[0].value > 0 && fids[0].value < fids[1].value && fids[1].value < fids[2].value, fids.map((f) => f.value).join(' < '));
  });
});

// ---------------------------------------------------------------------------------------
// The feature network, and everything that runs it

let classifier: tfl.LayersModel;
let net75: FeatureNet;
before(async () => {
  classifier = await tfl.loadLayersModel(packageModelHandler());
  net75 = featureNetAt(classifier, 75);
});
after(() => classifier.dispose());

/** A fixed 32x32 test image per index, NCHW in [-1, 1]. */
function testImages(n: number, img = 32, salt = 0): Float32Array {
  const out = new Float32Array(n * 3 * img * img);
  for (let i = 0; i < n; i++) {
    const f = pattern(i % 3, i + salt);
    for (let y = 0; y < img; y++) for (let x = 0; x < img; x++) {
      const rgb = f(x, y);
      for (let c = 0; c < 3; c++) out[((i * 3 + c) * img + y) * img + x] = rgb[c] / 127.5 - 1;
    }
  }
  return out;
}

describe('feature network (nsfwjs InceptionV3)', () => {
  test('equals nsfwjs\'s own inference: class probabilities of a fixed image', async () => {
    const size = 64;
    const rgb = Int32Array.from({ length: size * size * 3 }, (_, i) => {
      const [p, c] = [Math.floor(i / 3), i % 3];
      const [x, y] = [p % size, Math.floor(p / size)];
      return Math.round(127.5 + 127.5 * Math.sin((x * (c + 1)) / 7 + (y * (3 - c)) / 5));
    });
    const pixels = tf.tensor3d(rgb, [size, size, 3], 'int32');
    const theirs = await nsfwLoad('InceptionV3');
    const expected = tf.tidy(() => theirs.infer(pixels).dataSync());
    theirs.dispose();
    const ours = tf.tidy(() => {
      const x = tf.sub(tf.div(tf.expandDims(pixels, 0), 127.5), 1); // our images: [-1, 1]
      return classProbabilities(net75, x).dataSync();
    });
    pixels.dispose();
    assert.equal(ours.length, 5);
    assert.ok(maxAbsDiff(ours, expected) < 1e-5, `ours ${Array.from(ours)} vs nsfwjs ${Array.from(expected)}`);
  });

  test('at 299 px the pooled features equal the model\'s own average_pooling2d_10 + flatten_1', () => {
    const net299 = featureNetAt(classifier, 299);
    const flatten = tfl.model({ inputs: classifier.inputs, outputs: classifier.getLayer('flatten_1').output as tfl.SymbolicTensor });
    const x = tf.tensor4d(testImages(1, 32).map((v) => v), [1, 3, 32, 32]).transpose([0, 2, 3, 1]);
    const ours = tf.tidy(() => (net299.pool.predict(tf.image.resizeBilinear(tf.div(tf.add(x, 1), 2) as tf.Tensor4D, [299, 299], true)) as tf.Tensor).dataSync());
    const theirs = tf.tidy(() => (flatten.predict(tf.image.resizeBilinear(tf.div(tf.add(x, 1), 2) as tf.Tensor4D, [299, 299], true)) as tf.Tensor).dataSync());
    x.dispose();
    assert.equal(ours.length, POOL_DIM);
    assert.ok(maxAbsDiff(ours, theirs) < 1e-5 * Math.max(...Array.from(theirs, Math.abs)));
  });

  test('pooled features do not depend on the batching', () => {
    const x = tf.tidy(() => tf.tensor4d(testImages(3), [3, 3, 32, 32]).transpose([0, 2, 3, 1]));
    const together = poolFeatures(net75, x, 3);
    const inTwos = poolFeatures(net75, x, 2);
    x.dispose();
    assert.equal(together.length, 3 * POOL_DIM);
    assert.ok(maxAbsDiff(together, inTwos) < 1e-4 * Math.max(...Array.from(together, Math.abs)));
  });

  test('FID of real images grows with added pixel noise (3 levels), through the network', () => {
    const n = 12;
    const clean = domainImages(testImages(n), 32);
    const r = rng(9);
    const noise = Float32Array.from(clean.data, r);
    const real = realMoments(net75, clean, 32);
    const fids = [0.05, 0.2, 0.6].map((s) => frechetDistance(real, realMoments(net75, domainImages(clean.data.map((v, i) => Math.max(-1, Math.min(1, v + s * noise[i]))), 32), 32)).value);
    assert.ok(Math.abs(frechetDistance(real, real).value) < 1e-9 * real.trace);
    assert.ok(fids[0] > 0 && fids[0] < fids[1] && fids[1] < fids[2], fids.join(' < '));
  });
});

// ---------------------------------------------------------------------------------------
// LPIPS-style diversity

describe('LPIPS-style diversity', () => {
  test('identical outputs score exactly 0; different outputs score > 0 (through the network)', () => {
    const before_ = liveTensors();
    const one = tf.tidy(() => tf.tile(tf.tensor4d(testImages(1), [1, 3, 32, 32]).transpose([0, 2, 3, 1]), [3, 1, 1, 1]));
    const three = tf.tidy(() => tf.tensor4d(testImages(3), [3, 3, 32, 32]).transpose([0, 2, 3, 1]));
    for (const [x, zero] of [[one, true], [three, false]] as const) {
      const f = allFeatures(net75, x);
      const [score] = groupDiversity(f.maps, 3);
      tf.dispose(f.maps);
      if (zero) assert.equal(score, 0);
      else assert.ok(score > 0.01, `score ${score}`);
    }
    tf.dispose([one, three]);
    assert.equal(liveTensors(), before_, 'no tensor leaks');
  });

  test('equals a hand computation: unit-normalise per position, Σ_c diff², mean over positions, sum over layers, mean over pairs', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 4 }), fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 1e6 }), (group, groups, seed) => {
      const r = rng(seed);
      const shapes = [[2, 3, 4], [1, 2, 5]] as const; // (h, w, c) per layer
      const n = group * groups;
      const layers = shapes.map(([h, w, c]) => Float32Array.from({ length: n * h * w * c }, () => r() + 0.5));
      const maps = layers.map((l, k) => tf.tensor4d(l, [n, ...shapes[k]]));
      const got = groupDiversity(maps, group);
      tf.dispose(maps);
      for (let g = 0; g < groups; g++) {
        let sum = 0;
        let pairs = 0;
        for (let i = 0; i < group; i++) for (let j = i + 1; j < group; j++) {
          pairs++;
          shapes.forEach(([h, w, c], k) => {
            let layerSum = 0;
            for (let p = 0; p < h * w; p++) {
              const at = (img: number) => Array.from({ length: c }, (_, ch) => layers[k][((g * group + img) * h * w + p) * c + ch]);
              const norm = (v: number[]) => v.map((x) => x / Math.sqrt(v.reduce((a, y) => a + y * y, 0) + 1e-10));
              const [a, b] = [norm(at(i)), norm(at(j))];
              layerSum += a.reduce((acc, x, ch) => acc + (x - b[ch]) ** 2, 0);
            }
            sum += layerSum / (h * w);
          });
        }
        assert.ok(Math.abs(got[g] - sum / pairs) < 1e-5, `group ${g}: ${got[g]} vs ${sum / pairs}`);
      }
    }), { numRuns: 20, seed: 4 });
  });
});

// ---------------------------------------------------------------------------------------
// Paired errors

describe('paired errors', () => {
  // 1 x 2 images (CHW, 3 channels, 2 pixels), values in [-1, 1]; [0, 1] units are (v + 1) / 2.
  const src = Float32Array.from([-1, 1, -1, 1, -1, 1]); // pixel 0 black, pixel 1 white
  const truth = Float32Array.from([-1, 0, -1, -1, -1, 1]); // pixel 0 black (unchanged), pixel 1 (0.5, 0, 1)
  const mean = Float32Array.from([0, 0, 0, 0, 0, 0]); // grey 0.5 everywhere

  test('changed region: max over RGB |source - truth| in [0, 1] units above the threshold', () => {
    assert.equal(CHANGED_REGION_THRESHOLD, 0.1);
    assert.deepEqual(Array.from(changedRegion(src, truth)), [0, 1]); // pixel 1 differs by 1 in G
    // a change of 0.1 in [0, 1] units (0.2 in [-1, 1]) is at the threshold, not above it; 0.11 is above
    const at = Float32Array.from(src, (v, i) => (i === 0 ? v + 0.2 : v));
    const above = Float32Array.from(src, (v, i) => (i === 0 ? v + 0.22 : v));
    assert.deepEqual(Array.from(changedRegion(src, at)), [0, 0]);
    assert.deepEqual(Array.from(changedRegion(src, above)), [1, 0]);
  });

  test('baselines equal the values computed by hand', () => {
    const b = baselineErrors([src], [truth], mean);
    const unchanged = pairedScores(b['source unchanged']);
    // changed pixel 1: |1 - 0.5|, |1 - 0|, |1 - 1| = 0.5, 1, 0 -> L1 0.5, MSE (0.25 + 1 + 0) / 3
    assert.ok(Math.abs(unchanged.l1Changed - 0.5) < 1e-12);
    assert.ok(Math.abs(unchanged.psnrChanged - 10 * Math.log10(3 / 1.25)) < 1e-12);
    // unchanged pixel 0 is copied exactly: L1 0, PSNR +inf
    assert.equal(unchanged.l1Unchanged, 0);
    assert.equal(unchanged.psnrUnchanged, Infinity);
    assert.equal(unchanged.changedFraction, 0.5);
    const m = pairedScores(b['domain mean']);
    // grey 0.5 vs pixel 1 (0.5, 0, 1): 0, 0.5, 0.5 -> L1 1/3, MSE 0.5/3; vs pixel 0 black: 0.5 x 3 -> L1 0.5, MSE 0.25
    assert.ok(Math.abs(m.l1Changed - 1 / 3) < 1e-7);
    assert.ok(Math.abs(m.psnrChanged - 10 * Math.log10(3 / 0.5)) < 1e-6);
    assert.ok(Math.abs(m.l1Unchanged - 0.5) < 1e-7);
    assert.ok(Math.abs(m.psnrUnchanged - 10 * Math.log10(4)) < 1e-6);
  });

  test('outside the changed region, split into the source\'s white background and the rest of the drawing, by hand', () => {
    // 4 pixels: 0 white background, 1 drawing (grey), 2 changed, 3 almost white (0.94 in R: drawing)
    const s4 = Float32Array.from([1, 0, -1, 0.88, /* G */ 1, 0, -1, 1, /* B */ 1, 0, -1, 1]);
    const t4 = Float32Array.from([1, 0, 1, 0.88, 1, 0, 1, 1, 1, 0, 1, 1]); // pixel 2 changes black -> white
    const region = changedRegion(s4, t4);
    assert.deepEqual(Array.from(region), [0, 0, 1, 0]);
    assert.equal(BACKGROUND_LEVEL, 0.95);
    assert.deepEqual(Array.from(backgroundPixels(s4)), [1, 0, 0, 0]);
    // output: background off by 0.1 in every channel, pixel 1 by 0.3 in R, pixel 3 exact, pixel 2 anything
    const out = Float32Array.from([0.8, 0.6, 0, 0.88, 0.8, 0, 0, 1, 0.8, 0, 0, 1]);
    const split = outsideSplit(out, t4, region, s4);
    assert.ok(Math.abs(split.background - 0.1) < 1e-6, `background ${split.background}`);
    assert.ok(Math.abs(split.drawing - 0.3 / 6) < 1e-6, `drawing ${split.drawing}`); // pixels 1 and 3: 0.3 over 6 values
  });

  test('the domain mean image is the per-pixel mean', () => {
    assert.deepEqual(Array.from(meanImage([src, truth])), [-1, 0.5, -1, 0, -1, 1]);
  });
});

// ---------------------------------------------------------------------------------------
// The protocol: determinism, references

const tinyNet: NetConfig = { img: 16, base: 8, maxConv: 16, domains: 2, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 0 };

describe('protocol', () => {
  test('references come from the target domain and never are the source\'s own item on paired data', () => {
    fc.assert(fc.property(fc.integer({ min: 2, max: 30 }), fc.nat(), fc.integer({ min: 1, max: 1e6 }), (n, own, seed) => {
      const i = own % n;
      const refs = referenceIndices(key(seed), 10, n, i);
      assert.ok(refs.every((r) => r >= 0 && r < n && r !== i), refs.join(','));
    }), { seed: 5 });
  });

  test('metrics are a pure function of the seed: same seed, same numbers; another seed, other numbers', async () => {
    const nets = initNets(key(3), tinyNet);
    const ema = { generator: nets.generator, mapping_network: nets.mapping_network, style_encoder: nets.style_encoder };
    const val = [domainImages(testImages(3, 16, 0), 16), domainImages(testImages(3, 16, 5), 16)];
    const real = val.map((v) => realMoments(net75, v, 16));
    const ctx = (seed: number): EvalContext => ({
      ema, net: tinyNet, features: net75, val, paired: true, real, meanImage: val.map((v) => meanImage([0, 1, 2].map((i) => v.data.subarray(i * 768, (i + 1) * 768)))),
      samples: 2, key: key(seed),
    });
    const before_ = liveTensors();
    const summary = async (seed: number, mode: 'latent' | 'reference') => {
      const r = await runTask(ctx(seed), { src: 0, trg: 1 }, mode);
      return JSON.stringify([r.fid.value, r.lpips, r.paired]);
    };
    for (const mode of ['latent', 'reference'] as const) {
      const a = await summary(7, mode);
      assert.equal(await summary(7, mode), a);
      assert.notEqual(await summary(8, mode), a);
    }
    assert.equal(liveTensors(), before_, 'no tensor leaks');
    disposeParams(nets);
  });

  test('quantise8 keeps 256 levels: (x + 1) * 127.5 is an integer', () => {
    const q = tf.tidy(() => quantise8(tf.tensor4d([-1, -0.3, 0.1234, 0.999, 1, 1.5, -2, 0.5], [1, 2, 2, 2])).dataSync());
    for (const v of q) assert.ok(Math.abs((v + 1) * 127.5 - Math.round((v + 1) * 127.5)) < 1e-4, String(v));
    assert.equal(q[5], 1);
    assert.equal(q[6], -1);
  });
});

// ---------------------------------------------------------------------------------------
// evaluate.ts, as a user runs it

describe('evaluate.ts', () => {
  let tmp = '';
  let ckpt = '';
  before(() => {
    tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'stargan-eval-'));
    ckpt = path.join(tmp, 'checkpoint.safetensors');
    const cfg = { net: tinyNet, train: defaultTrain };
    const state = initTrainState(key(1), cfg);
    saveCheckpoint(ckpt, cfg, state, ['cat', 'dog']);
    disposeParams(state);
    for (const [d, name] of ['cat', 'dog'].entries()) {
      for (const split of ['train', 'val']) for (let i = 0; i < 3; i++) put(path.join(tmp, 'data', split, name, `${i}.png`), pngBytes(20, 20, pattern(d, i)));
    }
  });
  after(() => fs.rmSync(tmp, { recursive: true, force: true }));

  const run = (args: string[]) => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'examples/evaluate.ts', ...args], { encoding: 'utf8' });
    return { code: r.status, stdout: r.stdout, stderr: r.stderr.split('\n').filter((l) => l && !l.includes('Unknown user config')) };
  };
  const assertFails = (r: ReturnType<typeof run>, message: RegExp) => {
    assert.notEqual(r.code, 0, `expected failure, got exit 0:\n${r.stdout}`);
    assert.equal(r.stderr.length, 1, `expected one error line, got:\n${r.stderr.join('\n')}`);
    assert.match(r.stderr[0], message);
  };

  test('bad inputs: one line naming the problem, non-zero exit', () => {
    assertFails(run(['--checkpoint', path.join(tmp, 'nope.safetensors')]), /--checkpoint .*nope\.safetensors: no such file/);
    const wild = path.join(tmp, 'wild');
    for (const split of ['train', 'val']) for (const name of ['cat', 'wild']) put(path.join(wild, split, name, '0.png'), pngBytes(20, 20, pattern(0, 0)));
    assertFails(run(['--checkpoint', ckpt, '--data', wild]), /lacks the checkpoint's domain\(s\) dog/);
    const broken = path.join(tmp, 'broken');
    fs.cpSync(path.join(tmp, 'data'), broken, { recursive: true });
    put(path.join(broken, 'val', 'dog', '1.png'), 'not a png');
    assertFails(run(['--checkpoint', ckpt, '--data', broken]), /dog.1\.png/);
  });

  test('writes report.json and report.csv with named metrics, paired errors and means', () => {
    const out = path.join(tmp, 'out');
    const r = run(['--checkpoint', ckpt, '--data', path.join(tmp, 'data'), '--out', out, '--samples', '2', '--feature-size', '75']);
    assert.equal(r.code, 0, r.stderr.join('\n'));
    assert.match(r.stdout, /FID \(InceptionV3, nsfwjs weights, 75px input\)/);
    const report = JSON.parse(fs.readFileSync(path.join(out, 'report.json'), 'utf8')) as { paired: boolean; rows: { mode: string; task: string; fid: number; fidSourceUnchanged: number; paired?: unknown }[] };
    assert.equal(report.paired, true);
    assert.deepEqual(report.rows.map((x) => `${x.mode}/${x.task}`), ['latent/dog2cat', 'latent/cat2dog', 'latent/mean', 'reference/dog2cat', 'reference/cat2dog', 'reference/mean']);
    assert.ok(report.rows.every((x) => Number.isFinite(x.fid) && Number.isFinite(x.fidSourceUnchanged) && x.paired));
    const csv = fs.readFileSync(path.join(out, 'report.csv'), 'utf8').trim().split('\n');
    assert.equal(csv.length, 7);
    assert.match(csv[0], /"FID \(InceptionV3, nsfwjs weights, 75px input\)"/);
  });
});
