/**
 * The face metrics inside StarGAN v2's evaluation protocol (protocol.ts), for face domains
 * (CelebA-HQ's female/male): per task and mode,
 * - "attribute-flip accuracy (face-api gender/age nets)": the fraction of the translations whose
 *   gender, as face-api's age/gender net predicts it, is the target domain's;
 * - "identity similarity (face-api recognition embeddings)": the mean cosine similarity of the
 *   128-d descriptors of each source and each of its translations;
 * beside the "source unchanged" baseline (the sources themselves scored as translations: their
 * flip accuracy is the fraction face-api already gives the target gender; identity 1 by definition).
 *
 * face-api runs once per validation image (`analyseSources`, also giving the landmarks the
 * generator's high-pass masks need when w_hpf > 0) and once per translation (the task hook).
 */
import type { Tensor } from '../../dsl/index.ts';
import {
  attributeFlipAccuracy, celebaHqDomainAttribute, identitySimilarityMetric,
  type AttributeFlipResult, type FaceAttribute, type IdentityResult,
} from './face-metrics.ts';
import { analyseFaces, attributesOf, descriptorOf, type FaceAnalysis, type FaceNets, type Point } from './faces.ts';
import type { DomainImages } from './protocol.ts';
import { image } from '../../dsl/index.ts';

/** The face metrics of one task and mode. */
export interface TaskFaces {
  readonly attributeFlip: AttributeFlipResult;
  readonly identity: IdentityResult;
  /** The sources themselves as outputs: what a model that changes nothing scores. */
  readonly sourceUnchanged: { readonly attributeFlip: AttributeFlipResult; readonly identity: IdentityResult };
}

/**
 * Whether a checkpoint's domains are face domains face-api can judge: every domain maps to an
 * attribute (CelebA-HQ's female/male, any case). What `--faces auto` decides by.
 */
export function areFaceDomains(domains: readonly string[], attributeOf: (d: string) => FaceAttribute | undefined = celebaHqDomainAttribute): boolean {
  return domains.length > 0 && domains.every((d) => attributeOf(d) !== undefined);
}

/**
 * face-api's detection, landmarks, gender/age and descriptor of every validation image, per domain.
 *   val[d]: n_d images (3, img, img) in [-1, 1]  ->  n_d analyses per domain
 */
export async function analyseSources(nets: FaceNets, val: readonly DomainImages[], img: number, onImage?: () => void): Promise<FaceAnalysis[][]> {
  const out: FaceAnalysis[][] = [];
  for (const v of val) {
    const mine: FaceAnalysis[] = [];
    for (let i = 0; i < v.n; i++) {
      const size = 3 * img * img;
      const x = image(v.data.slice(i * size, (i + 1) * size), [1, 3, img, img]) as Tensor<[number, 3, number, number]>;
      try {
        mine.push(...(await analyseFaces(nets, x, { ageGender: true, descriptor: true })));
      } finally {
        x.dispose();
      }
      onImage?.();
    }
    out.push(mine);
  }
  return out;
}

/** Per domain, per validation image: its 68 landmarks (img pixels), or null where face-api found no face. */
export function landmarksOf(sources: readonly (readonly FaceAnalysis[])[]): (readonly Point[] | null)[][] {
  return sources.map((d) => d.map((f) => (f.detected ? f.landmarks : null)));
}

/** Collects one task's translations as face-api sees them; `result` gives its {@link TaskFaces}. */
export interface FaceTask {
  /** The `samples` translations of source i: (samples, 3, img, img) in [-1, 1]. */
  add(i: number, fakes: Tensor<[number, 3, number, number]>): Promise<void>;
  result(): TaskFaces;
}

/** A collector for task src -> trg (domain indices into `sources` and `names`). */
export function faceTask(
  nets: FaceNets, sources: readonly (readonly FaceAnalysis[])[], names: readonly string[], src: number, trg: number,
  attributeOf: (d: string) => FaceAttribute | undefined = celebaHqDomainAttribute,
): FaceTask {
  const outputs: FaceAnalysis[] = [];
  const ofSource: FaceAnalysis[] = [];
  return {
    async add(i, fakes) {
      const analysed = await analyseFaces(nets, fakes, { ageGender: true, descriptor: true });
      outputs.push(...analysed);
      ofSource.push(...analysed.map(() => sources[src][i]));
    },
    result() {
      const target = names[trg];
      const own = sources[src];
      return {
        attributeFlip: attributeFlipAccuracy(outputs.map(attributesOf), outputs.map(() => target), attributeOf),
        identity: identitySimilarityMetric(ofSource.map(descriptorOf), outputs.map(descriptorOf)),
        sourceUnchanged: {
          attributeFlip: attributeFlipAccuracy(own.map(attributesOf), own.map(() => target), attributeOf),
          identity: identitySimilarityMetric(own.map(descriptorOf), own.map(descriptorOf)),
        },
      };
    },
  };
}
