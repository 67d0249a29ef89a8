/**
 * The README's example: a typed model, its gradient and an Adam step; then a StarGAN v2 built from a literal
 * config, whose networks take only images of its size. Run: npx tsx examples/typed-model.ts
 */
import {
  adamInit, adamStep, avgPool2, conv2d, dims, flatten, initConv, initLinear, key, labels, leakyRelu, linear, meanAbsDiff,
  normal, split, useBackend, valueAndGrad, type ConvParams, type Key, type LinearParams, type Tensor,
} from '../dsl/index.ts';
import { discriminator } from '../stargan/v2/discriminator.ts';
import { generator } from '../stargan/v2/generator.ts';
import { mappingNetwork } from '../stargan/v2/mapping.ts';
import { initNets } from '../stargan/v2/nets.ts';

type Params = { conv: ConvParams<16, 3, 3>; fc: LinearParams<10, 16> };
const init = (k: Key): Params => ({ conv: initConv(split(k)[0], 3, 16, 3), fc: initLinear(split(k)[1], 16, 10) });

function model<N extends number>(p: Params, x: Tensor<[N, 3, 4, 4]>): Tensor<[N, 10]> {
  const h = avgPool2(avgPool2(leakyRelu(conv2d(x, p.conv)))); // (N, 16, 1, 1)
  return linear(flatten(h), p.fc); // (N, 10); with fc: LinearParams<10, 8> this is a compile error
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log('usage: npx tsx examples/typed-model.ts\n\nThe README\'s typed model: one gradient and one Adam step on random data; prints the loss before and after.\nThen a small config-typed StarGAN v2: one G and D pass on random 16x16 images; prints the output shapes.');
  process.exit(0);
}
await useBackend('wasm');
const [kp, kx, ky] = split(key(0), 3);
const params = init(kp);
const x = normal(kx, [8, 3, 4, 4] as const, 'image');
const target = normal(ky, [8, 10] as const);
const loss = (p: Params) => meanAbsDiff(model(p, x), target);
const { value, grads } = valueAndGrad(loss)(params);
const [next] = adamStep({ lr: 1e-2, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0 }, grads, adamInit(params), params);
console.log(`loss ${value.dataSync()[0].toFixed(4)} -> ${loss(next).dataSync()[0].toFixed(4)} after one Adam step`);

// A StarGAN v2 whose config is a literal type: the networks' types carry its image size, widths, style and
// latent sizes and domain count, so G, E, D take only (N, 3, 16, 16) images and F only (N, 4) latents.
// A config read at run time (a NetConfig) builds the same networks, which take any size (checked at run time).
const cfg = { img: 16, base: 8, maxConv: 32, domains: 2, styleDim: 8, latentDim: 4, mappingHidden: 16, wHpf: 0 } as const;
const [kn, ki, kz] = split(key(1), 3);
const nets = initNets(kn, cfg);
const images = normal(ki, [2, 3, 16, 16] as const, 'image');
const z = normal(kz, [2, 4] as const);
const y = labels([0, 1], 2, cfg.domains); // Labels<2, 2>: two samples, of 2 domains
const fake = generator(nets.generator, images, mappingNetwork(nets.mapping_network, z, y), cfg); // Tensor<[2, 3, 16, 16]>
const logits = discriminator(nets.discriminator, fake, y); // Tensor<[2]>
/** Never called: 32x32 images into these networks do not compile (and tsc fails if this line ever does). */
function wrongImageSize() {
  const big = normal(ki, [2, 3, 32, 32] as const, 'image');
  // @ts-expect-error Argument of type 'Tensor<[2, 3, 32, 32]>' is not assignable to parameter of type 'Tensor<[2, 3, 16, 16]>'
  return discriminator(nets.discriminator, big, y);
}
const { n, c, h, w } = dims(fake);
console.log(`config-typed StarGAN v2 (img 16): G -> (${n}, ${c}, ${h}, ${w}), D -> (${logits.shape[0]},)`);
