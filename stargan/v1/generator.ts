/**
 * StarGAN v1 generator (REFERENCE section 4; yunjey/stargan `model.py` Generator), as one
 * `nn.Sequential` named `main` so its parameters are the official state_dict keys:
 *
 *   x: (N, 3, H, W), c: (N, L)  ->  (N, 3, H, W) in (-1, 1)
 *
 *   concat(x, c tiled over H x W)
 *   0 conv7x7 (3+L -> d, no bias), 1 IN affine, 2 ReLU
 *   3 conv4x4 s2 (d -> 2d), 4 IN, 5 ReLU, 6 conv4x4 s2 (2d -> 4d), 7 IN, 8 ReLU      (H/4)
 *   9 .. 8+R residual blocks (4d)
 *   ConvTranspose4x4 s2 (4d -> 2d), IN, ReLU, ConvTranspose4x4 s2 (2d -> d), IN, ReLU (H)
 *   conv7x7 (d -> 3, no bias), tanh
 *
 * The official InstanceNorm2d layers track running statistics but the official code never
 * switches to eval mode, so only per-instance statistics are ever used, as here; the
 * `running_mean`/`running_var` buffers are not parameters and are not stored.
 */
import {
  concatChannels, conv2d, dims, initAffine, instanceNorm, relu, split, tanh,
  type AffineParams, type ConvParams, type Key, type Sequential, type Tensor,
} from '../../dsl/index.ts';
import { tileSpatial } from '../../dsl/broadcast.ts';
import { conv2dDown, convTranspose2dUp, type ConvTransposeParams } from '../../dsl/conv-strided.ts';
import { initConvTorch, initConvTransposeTorch } from '../../dsl/init-torch.ts';
import { conditionDim, type V1NetConfig } from './config.ts';
import { initResidualBlock, residualBlock, type ResidualBlockParams } from './residual-block.ts';

/** What index i of G's `main` does: the one rule that init, apply and the checkpoint names read. */
export type GeneratorOp = 'stem' | 'norm' | 'relu' | 'down' | 'res' | 'up' | 'toRgb' | 'tanh';

/** The official layer sequence for `repeat` residual blocks. */
export function generatorOps(repeat: number): GeneratorOp[] {
  const stage = (op: GeneratorOp): GeneratorOp[] => [op, 'norm', 'relu'];
  return [
    ...stage('stem'), ...stage('down'), ...stage('down'),
    ...Array<GeneratorOp>(repeat).fill('res'),
    ...stage('up'), ...stage('up'), 'toRgb', 'tanh',
  ];
}

export type GeneratorLayer = ConvParams<number, number, number> | AffineParams<number> | ResidualBlockParams | ConvTransposeParams<number, number, 4>;

export interface GeneratorV1Params {
  readonly main: Sequential<GeneratorLayer>;
}

/** PyTorch's default init (the official model has no init of its own); IN affine weight 1, bias 0. */
export function initGeneratorV1(key: Key, cfg: V1NetConfig): GeneratorV1Params {
  const ops = generatorOps(cfg.gRepeat);
  const ks = split(key, ops.length);
  const main: Record<string, GeneratorLayer> = {};
  let c = cfg.gConvDim;
  ops.forEach((op, i) => {
    const layer = ((): GeneratorLayer | undefined => {
      switch (op) {
        case 'stem': return initConvTorch(ks[i], 3 + conditionDim(cfg), c, 7, false);
        case 'down': c *= 2; return initConvTorch(ks[i], c / 2, c, 4, false);
        case 'norm': return initAffine(c);
        case 'res': return initResidualBlock(ks[i], c);
        case 'up': c /= 2; return initConvTransposeTorch(ks[i], c * 2, c, 4, false);
        case 'toRgb': return initConvTorch(ks[i], c, 3, 7, false);
        case 'relu': case 'tanh': return undefined;
      }
    })();
    if (layer) main[String(i)] = layer;
  });
  return { main };
}

type Maps<N extends number> = Tensor<[N, number, number, number]>;

function runOp<N extends number>(op: GeneratorOp, layer: GeneratorLayer | undefined, h: Maps<N>): Maps<N> {
  switch (op) {
    case 'stem': case 'toRgb': return conv2d(h, layer as ConvParams<number, number, 7>);
    case 'down': return conv2dDown(h, layer as ConvParams<number, number, 4>);
    case 'norm': return instanceNorm(h, layer as AffineParams<number>);
    case 'relu': return relu(h);
    case 'res': return residualBlock(layer as ResidualBlockParams, h);
    case 'up': return convTranspose2dUp(h, layer as ConvTransposeParams<number, number, 4>);
    case 'tanh': return tanh(h);
  }
}

/** Number of residual blocks, read from the parameters (a loaded checkpoint fully determines G). */
function repeatsOf(p: GeneratorV1Params): number {
  return Object.values(p.main).filter((l) => 'main' in l).length;
}

/**
 * G(x, c): translates images x to target labels c (the label vector, with the mask when
 * training on several datasets). `x: (N, 3, H, W), c: (N, L) -> (N, 3, H, W)`, H and W multiples of 4.
 */
export function generatorV1<N extends number, H extends number, W extends number>(
  p: GeneratorV1Params, x: Tensor<[N, 3, H, W]>, c: Tensor<[N, number]>,
): Tensor<[N, 3, H, W]> {
  const { h, w } = dims(x);
  let out: Maps<N> = concatChannels(x, tileSpatial(c, h, w));
  generatorOps(repeatsOf(p)).forEach((op, i) => { out = runOp(op, p.main[String(i)], out); });
  return out as Tensor as Tensor<[N, 3, H, W]>;
}
