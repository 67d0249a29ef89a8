/**
 * Faces: face-api's nets on our tfjs (the wrapper equals face-api's own chained API), gender
 * and age on real faces, identity similarity, detection counts with undetected images, the
 * face metrics, and the landmark-derived high-pass masks (shapes, range, the official
 * preprocess's moves, and that they reach the generator).
 *
 * The face fixture is a photo shipped in the pinned @vladmandic/face-api package
 * (demo/sample1.jpg, MIT, taken by the package's author): three faces, cropped here.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as path from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import './lib/setup.ts';
import { image, key, liveTensors, normal, disposeParams, type Tensor } from '../dsl/index.ts';
import { cropResize, decodeImage, type RgbImage } from '../dsl/io/image.ts';
import {
  analyseFaces, attributesOf, FACE_API_MODEL_DIR, identityCosineSimilarity, identityEuclideanDistance, loadFaceNets,
  type FaceAnalysis, type Point,
} from '../stargan/eval/faces.ts';
import {
  ageRangeAttribute, attributeFlipAccuracy, celebaHqDomainAttribute, identitySimilarityMetric,
} from '../stargan/eval/face-metrics.ts';
import { FACE_MASK_SIZE, faceMaskPlanes, faceMasks, wflwFromIbug68 } from '../stargan/v2/face-masks.ts';
import { generator, initGenerator } from '../stargan/v2/generator.ts';
import type { NetConfig } from '../stargan/v2/config.ts';

type Images = Tensor<[number, 3, number, number]>;

const SAMPLE = path.join(FACE_API_MODEL_DIR, '..', 'demo', 'sample1.jpg');
/** Face boxes in SAMPLE (face-api's SSD detections, rounded): three different women. */
const BOXES = [[414, 355, 178, 238], [838, 421, 187, 227], [1476, 200, 203, 241]] as const;

/** A square crop around a face box, 2.2 box sides wide (about CelebA-HQ's framing), resized to `size`. */
function faceCrop(img: RgbImage, [x, y, w, h]: readonly number[], size: number): RgbImage {
  const s = Math.round(Math.max(w, h) * 2.2);
  return cropResize(img, { x: Math.round(x + w / 2 - s / 2), y: Math.round(y + h / 2 - s / 2), w: s, h: s }, size);
}

/** HWC [0, 1] crops -> (N, 3, H, W) in [-1, 1], as the models take images. */
function batch(crops: readonly RgbImage[]): Images {
  const { width: w, height: h } = crops[0];
  const plane = w * h;
  const data = new Float32Array(crops.length * 3 * plane);
  crops.forEach((c, n) => {
    for (let p = 0; p < plane; p++) for (let ch = 0; ch < 3; ch++) data[(n * 3 + ch) * plane + p] = c.data[3 * p + ch] * 2 - 1;
  });
  return image(data, [crops.length, 3, h, w]);
}

const sample = decodeImage(SAMPLE);
const crops = BOXES.map((b) => faceCrop(sample, b, 256));
const gray: RgbImage = { width: 256, height: 256, data: new Float32Array(256 * 256 * 3).fill(0.5) };
const nets = await loadFaceNets();
const x = batch([...crops, gray]);
const before = liveTensors();
const analyses = await analyseFaces(nets, x, { ageGender: true, descriptor: true });
const leaked = liveTensors() - before;
const found = (f: FaceAnalysis) => {
  assert.ok(f.detected, 'expected a face');
  return f;
};

test('the wrapper equals face-api\'s own chained API on the same pixels', async () => {
  // face-api's path, built straight from the decoded crop: HWC in [0, 255], all faces kept.
  const t = tf.tensor3d(crops[0].data.map((v) => v * 255), [256, 256, 3]);
  const all = await nets.api.detectAllFaces(t as never, new nets.api.SsdMobilenetv1Options({ minConfidence: 0.5 }))
    .withFaceLandmarks().withAgeAndGender().withFaceDescriptors();
  t.dispose();
  const best = all.reduce((a, b) => (b.detection.score > a.detection.score ? b : a));
  const ours = found(analyses[0]);
  const near = (a: number, b: number, tol: number, what: string) => assert.ok(Math.abs(a - b) <= tol, `${what}: ours ${a}, face-api ${b}`);
  near(ours.score, best.detection.score, 1e-3, 'score');
  near(ours.box.x, best.detection.box.x, 0.5, 'box x');
  near(ours.box.y, best.detection.box.y, 0.5, 'box y');
  assert.equal(ours.gender, best.gender);
  near(ours.age!, best.age, 0.1, 'age');
  near(ours.landmarks[30].x, best.landmarks.positions[30].x, 0.5, 'nose tip x');
  near(ours.landmarks[30].y, best.landmarks.positions[30].y, 0.5, 'nose tip y');
  near(identityEuclideanDistance(ours.descriptor!, best.descriptor), 0, 1e-3, 'descriptor distance');
});

test('three real faces are found with their gender and a plausible age; a plain gray image has none', () => {
  assert.equal(leaked, 0, 'analyseFaces leaked tensors');
  analyses.slice(0, 3).forEach((a, i) => {
    const f = found(a);
    assert.equal(f.landmarks.length, 68);
    assert.equal(f.gender, 'female', `face ${i}`);
    assert.ok(f.genderProbability! > 0.8, `face ${i}: gender probability ${f.genderProbability}`);
    assert.ok(f.age! > 15 && f.age! < 45, `face ${i}: age ${f.age}`);
    assert.equal(f.descriptor!.length, 128);
    // landmarks are in the crop's pixels: the nose tip lies inside the detection box
    const nose = f.landmarks[30];
    assert.ok(nose.x > f.box.x && nose.x < f.box.x + f.box.width && nose.y > f.box.y && nose.y < f.box.y + f.box.height);
  });
  assert.equal(analyses[3].detected, false);
});

test('identity similarity of a face with itself is maximal, and other people are not matched', () => {
  const d = analyses.slice(0, 3).map((a) => found(a).descriptor!);
  assert.ok(Math.abs(identityCosineSimilarity(d[0], d[0]) - 1) < 1e-6);
  for (let i = 0; i < 3; i++) {
    for (let j = 0; j < 3; j++) {
      if (i !== j) {
        assert.ok(identityCosineSimilarity(d[i], d[j]) < identityCosineSimilarity(d[i], d[i]) - 0.05, `faces ${i}, ${j}`);
        assert.ok(identityEuclideanDistance(d[i], d[j]) > 0.6, `faces ${i}, ${j} would be matched`);
      }
    }
  }
  const m = identitySimilarityMetric([d[0], d[1], d[2], null], [d[0], d[2], null, d[1]]);
  assert.equal(m.metric, 'identity similarity (face-api recognition embeddings)');
  assert.deepEqual([m.pairs, m.sourcesDetected, m.outputsDetected, m.bothDetected], [4, 3, 3, 2]);
  assert.ok(Math.abs(m.meanCosineSimilarity - (1 + identityCosineSimilarity(d[1], d[2])) / 2) < 1e-6);
  assert.equal(m.sameIdentityRate, 0.5);
});

test('attribute-flip accuracy counts undetected outputs and names unmapped domains', () => {
  const attrs = analyses.map(attributesOf);
  const toFemale = attributeFlipAccuracy(attrs, ['female', 'female', 'female', 'female']);
  assert.ok(toFemale.applicable);
  assert.equal(toFemale.metric, 'attribute-flip accuracy (face-api gender/age nets)');
  assert.deepEqual([toFemale.outputs, toFemale.detected, toFemale.flipped], [4, 3, 3]);
  assert.equal(toFemale.detectionRate, 0.75);
  assert.equal(toFemale.accuracyOverDetected, 1);
  assert.equal(toFemale.accuracyOverAll, 0.75);
  const mixed = attributeFlipAccuracy(attrs, ['Male', 'female', 'male', 'female']);
  assert.ok(mixed.applicable);
  assert.deepEqual(mixed.attributes, ['gender = male', 'gender = female']);
  assert.equal(mixed.flipped, 1);
  const cat = attributeFlipAccuracy(attrs, ['cat', 'female', 'dog', 'cat']);
  assert.ok(!cat.applicable);
  assert.match(cat.reason, /'cat', 'dog' map to no face-api attribute/);
  const young = attributeFlipAccuracy(attrs, ['young', 'young', 'young', 'young'], (d) => (d === 'young' ? ageRangeAttribute(0, 45) : celebaHqDomainAttribute(d)));
  assert.ok(young.applicable && young.flipped === 3);
});

test('a face too small for the detector (32 px) is reported undetected, not dropped', async () => {
  const small = batch([faceCrop(sample, BOXES[0], 32)]);
  const r = await analyseFaces(nets, small);
  small.dispose();
  assert.deepEqual(r, [{ detected: false }]);
  assert.ok(analyses[0].detected, 'the same face at 256 px is found');
});

// ---------------------------------------------------------------------------------------
// Masks

const landmarks = found(analyses[0]).landmarks;
const at = (plane: Float32Array, p: Point, dy = 0) => plane[Math.round(p.y + dy) * FACE_MASK_SIZE + Math.round(p.x)];
const centroid = (ps: readonly Point[]): Point => ({ x: ps.reduce((s, p) => s + p.x, 0) / ps.length, y: ps.reduce((s, p) => s + p.y, 0) / ps.length });

test('iBUG 68 -> WFLW 98: same-meaning points are reused, the jaw is densified', () => {
  const w = wflwFromIbug68(landmarks);
  assert.equal(w.length, 98);
  assert.deepEqual(w.slice(51, 60), landmarks.slice(27, 36));
  assert.deepEqual(w.slice(76, 96), landmarks.slice(48, 68));
  for (let j = 0; j <= 32; j += 2) assert.deepEqual(w[j], landmarks[j / 2]);
  assert.deepEqual([w[60], w[64], w[68], w[72]], [landmarks[36], landmarks[39], landmarks[42], landmarks[45]]);
  assert.throws(() => wflwFromIbug68(landmarks.slice(1)), /expected 68 landmarks, got 67/);
});

test('masks: two (N, 1, 256, 256) tensors in [0, 1], inner inside full, zero where no face was found', () => {
  const n0 = liveTensors();
  const masks = faceMasks([landmarks, null], 256);
  for (const m of masks) {
    assert.deepEqual(m.shape, [2, 256, 256, 1]); // memory NHWC of (N, 1, H, W): one channel, same order
    const v = m.dataSync();
    assert.ok(v.every((a) => a >= 0 && a <= 1));
    assert.ok(v.subarray(0, 256 * 256).some((a) => a === 1), 'face: some pixel saturates');
    assert.ok(v.subarray(256 * 256).every((a) => a === 0), 'no face: zero mask');
  }
  const [full, inner] = masks.map((m) => m.dataSync());
  assert.ok(inner.every((a, i) => a <= full[i]));
  tf.dispose([...masks]);
  assert.equal(liveTensors(), n0);
});

test('masks follow the official preprocess: eyes moved down, lips only in masks[0], jaw sides dropped', () => {
  const [full, inner] = faceMaskPlanes(landmarks);
  const eye = centroid(landmarks.slice(36, 42));
  assert.ok(at(inner, eye, 24) > 0.9, 'eye heatmap moved 24 px down');
  assert.equal(at(inner, eye, -24), 0, 'nothing 24 px above the eye');
  const mouth = centroid(landmarks.slice(60, 68));
  assert.ok(at(full, mouth) > 0.5, 'lips in masks[0]');
  assert.equal(at(inner, mouth), 0, 'lips not in masks[1]');
  assert.ok(at(full, landmarks[8]) > 0.9, 'chin kept');
  // the jaw's sides (iBUG 0-3, 13-16 -> WFLW 0-7, 25-32) are dropped: moving them changes nothing
  const moved = landmarks.map((p, i) => (i <= 3 || (i >= 13 && i <= 16) ? { x: 128, y: 128 } : p));
  assert.deepEqual(faceMaskPlanes(moved), [full, inner]);
  const chinMoved = landmarks.map((p, i) => (i === 8 ? { x: 128, y: 128 } : p));
  assert.notDeepEqual(faceMaskPlanes(chinMoved)[0], full);
});

test('masks move with the face and scale with the image: shift, resize, and the roll wraps at the bottom', () => {
  const shift = (ps: readonly Point[], dx: number, dy: number) => ps.map((p) => ({ x: p.x + dx, y: p.y + dy }));
  const [a] = faceMaskPlanes(landmarks);
  const [b] = faceMaskPlanes(shift(landmarks, 5, -3));
  let worst = 0;
  for (let r = 40; r < 216; r++) for (let c = 40; c < 216; c++) worst = Math.max(worst, Math.abs(a[r * 256 + c] - b[(r - 3) * 256 + c + 5]));
  assert.ok(worst < 1e-5, `shifted face, mask differs by ${worst}`);
  // the same face given in a 128-px frame gives the same 256-px masks
  const half = landmarks.map((p) => ({ x: p.x / 2, y: p.y / 2 }));
  const [m128, m256] = [faceMasks([half], 128), faceMasks([landmarks], 256)];
  assert.deepEqual(m128[0].dataSync(), m256[0].dataSync());
  tf.dispose([...m128, ...m256]);
  // eyes near the bottom edge: the 24-px move rolls their heatmap round to the top rows
  const eye = centroid(landmarks.slice(36, 42));
  const low = shift(landmarks, 0, 250 - eye.y);
  const [, innerLow] = faceMaskPlanes(low);
  assert.ok(innerLow[(250 + 24 - 256) * 256 + Math.round(eye.x)] > 0.9, 'wrapped eye heatmap at the top');
});

test('masks reach the generator: zero masks change nothing, face masks change the output', () => {
  const cfg: NetConfig = { img: 64, base: 8, maxConv: 16, domains: 2, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 1 };
  const p = initGenerator(key(1), cfg);
  const n0 = liveTensors();
  const [x64, s] = [normal(key(2), [1, 3, 64, 64] as const, 'image'), normal(key(3), [1, 8] as const)];
  const face = faceMasks<1>([landmarks], 256);
  const none = faceMasks<1>([null], 256);
  const [zeroGap, faceGap] = tf.tidy(() => {
    const plain = generator(p, x64, s, cfg);
    const gap = (y: tf.Tensor) => tf.max(tf.abs(tf.sub(plain, y))).dataSync()[0];
    return [gap(generator(p, x64, s, cfg, none)), gap(generator(p, x64, s, cfg, face))];
  });
  assert.ok(zeroGap < 1e-6, `zero masks differ from no masks by ${zeroGap}`);
  assert.ok(faceGap > 1e-3, `face masks changed the output by only ${faceGap}`);
  tf.dispose([x64, s, ...face, ...none]);
  assert.equal(liveTensors(), n0);
  disposeParams(p);
});

test('teardown', () => {
  x.dispose();
});
