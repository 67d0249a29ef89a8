/**
 * Face metrics for translations, named for exactly what they measure:
 * - "attribute-flip accuracy (face-api gender/age nets)": the fraction of translated outputs
 *   whose predicted attribute (gender, or an age range) is the target domain's;
 * - "identity similarity (face-api recognition embeddings)": cosine similarity of the 128-d
 *   descriptors of each source and its translation, and the rate of pairs face-api would call
 *   the same person (Euclidean distance < 0.6, its default threshold).
 * Faces face-api does not find are counted and reported (detection rates), never silently
 * dropped: accuracy is given both over detected outputs and over all outputs (a missed face
 * counted as a failed flip).
 *
 * The functions over analyses are pure; {@link faceMetrics} runs the nets once per image.
 */
import type { Tensor } from '../../dsl/index.ts';
import {
  analyseFaces, attributesOf, descriptorOf, FACE_API_MATCH_DISTANCE, identityCosineSimilarity,
  identityEuclideanDistance, type FaceAttributes, type FaceNets,
} from './faces.ts';

type Detected = Extract<FaceAttributes, { detected: true }>;

/** An attribute face-api can predict, and whether a face has it. */
export interface FaceAttribute {
  /** e.g. "gender = male", "age in [0, 30)". */
  readonly name: string;
  readonly holds: (face: Detected) => boolean;
}

export function genderAttribute(gender: 'male' | 'female'): FaceAttribute {
  return { name: `gender = ${gender}`, holds: (f) => f.gender === gender };
}

/** Predicted age in [min, max) years. */
export function ageRangeAttribute(min: number, max: number): FaceAttribute {
  return { name: `age in [${min}, ${max})`, holds: (f) => f.age >= min && f.age < max };
}

/**
 * CelebA-HQ's domains (the official `female`/`male` folders; CelebA's `Male` attribute too),
 * case-insensitively; any other domain name maps to no attribute.
 */
export function celebaHqDomainAttribute(domain: string): FaceAttribute | undefined {
  const d = domain.toLowerCase();
  return d === 'male' || d === 'female' ? genderAttribute(d) : undefined;
}

export const ATTRIBUTE_FLIP_METRIC = 'attribute-flip accuracy (face-api gender/age nets)';
export const IDENTITY_METRIC = 'identity similarity (face-api recognition embeddings)';

export type AttributeFlipResult =
  | { readonly metric: typeof ATTRIBUTE_FLIP_METRIC; readonly applicable: false; readonly reason: string }
  | {
    readonly metric: typeof ATTRIBUTE_FLIP_METRIC;
    readonly applicable: true;
    /** The attributes checked, e.g. ["gender = male"]. */
    readonly attributes: readonly string[];
    readonly outputs: number;
    readonly detected: number;
    readonly detectionRate: number;
    /** Detected outputs with the target's attribute. */
    readonly flipped: number;
    /** flipped / detected (NaN if nothing was detected). */
    readonly accuracyOverDetected: number;
    /** flipped / outputs: an undetected face counts as not flipped. */
    readonly accuracyOverAll: number;
  };

/**
 * Attribute-flip accuracy of translated outputs. `targets[i]` is output i's target domain;
 * `attributeOf` maps a domain name to the attribute its images should show. If some target
 * maps to no attribute, the result says so (not applicable) instead of a number.
 */
export function attributeFlipAccuracy(
  outputs: readonly FaceAttributes[], targets: readonly string[],
  attributeOf: (domain: string) => FaceAttribute | undefined = celebaHqDomainAttribute,
): AttributeFlipResult {
  const metric = ATTRIBUTE_FLIP_METRIC;
  if (outputs.length !== targets.length) throw new Error(`attributeFlipAccuracy: ${outputs.length} outputs but ${targets.length} targets`);
  const unmapped = [...new Set(targets.filter((t) => !attributeOf(t)))];
  if (unmapped.length) return { metric, applicable: false, reason: `domain(s) ${unmapped.map((d) => `'${d}'`).join(', ')} map to no face-api attribute` };
  const attrs = targets.map((t) => attributeOf(t)!);
  let detected = 0;
  let flipped = 0;
  outputs.forEach((f, i) => {
    if (!f.detected) return;
    detected++;
    if (attrs[i].holds(f)) flipped++;
  });
  const n = outputs.length;
  return {
    metric, applicable: true, attributes: [...new Set(attrs.map((a) => a.name))], outputs: n, detected,
    detectionRate: detected / n, flipped, accuracyOverDetected: flipped / detected, accuracyOverAll: flipped / n,
  };
}

export interface IdentityResult {
  readonly metric: typeof IDENTITY_METRIC;
  readonly similarity: 'cosine';
  readonly pairs: number;
  readonly sourcesDetected: number;
  readonly outputsDetected: number;
  /** Pairs where both faces were found: the only ones measured. */
  readonly bothDetected: number;
  /** Mean cosine similarity over those pairs (NaN if none). */
  readonly meanCosineSimilarity: number;
  /** Fraction of those pairs closer than face-api's match threshold (Euclidean, 0.6). */
  readonly sameIdentityRate: number;
}

/** Identity similarity between sources[i] and outputs[i] (descriptors, `null` where no face was found). */
export function identitySimilarityMetric(
  sources: readonly (ArrayLike<number> | null)[], outputs: readonly (ArrayLike<number> | null)[],
): IdentityResult {
  if (sources.length !== outputs.length) throw new Error(`identitySimilarityMetric: ${sources.length} sources but ${outputs.length} outputs`);
  let both = 0;
  let cosSum = 0;
  let same = 0;
  sources.forEach((a, i) => {
    const b = outputs[i];
    if (!a || !b) return;
    both++;
    cosSum += identityCosineSimilarity(a, b);
    if (identityEuclideanDistance(a, b) < FACE_API_MATCH_DISTANCE) same++;
  });
  return {
    metric: IDENTITY_METRIC, similarity: 'cosine', pairs: sources.length,
    sourcesDetected: sources.filter((d) => d).length, outputsDetected: outputs.filter((d) => d).length,
    bothDetected: both, meanCosineSimilarity: cosSum / both, sameIdentityRate: same / both,
  };
}

type Images = Tensor<[number, 3, number, number]>;

/**
 * Both face metrics for a batch of translations, running face-api once per image.
 *   sources, outputs: (N, 3, H, W) in [-1, 1]; targets: N target-domain names
 */
export async function faceMetrics(
  nets: FaceNets, sources: Images, outputs: Images, targets: readonly string[],
  attributeOf: (domain: string) => FaceAttribute | undefined = celebaHqDomainAttribute,
): Promise<{ attributeFlip: AttributeFlipResult; identity: IdentityResult }> {
  const src = await analyseFaces(nets, sources, { descriptor: true });
  const out = await analyseFaces(nets, outputs, { ageGender: true, descriptor: true });
  return {
    attributeFlip: attributeFlipAccuracy(out.map(attributesOf), targets, attributeOf),
    identity: identitySimilarityMetric(src.map(descriptorOf), out.map(descriptorOf)),
  };
}
