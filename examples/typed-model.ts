/** The README's example: a typed model, its gradient and an Adam step. Run: npx tsx examples/typed-model.ts */
import {
  adamInit, adamStep, avgPool2, conv2d, flatten, initConv, initLinear, key, leakyRelu, linear, meanAbsDiff,
  normal, split, useBackend, valueAndGrad, type ConvParams, type Key, type LinearParams, type Tensor,
} from '../dsl/index.ts';

type Params = { conv: ConvParams<16, 3, 3>; fc: LinearParams<10, 16> };
const init = (k: Key): Params => ({ conv: initConv(split(k)[0], 3, 16, 3), fc: initLinear(split(k)[1], 16, 10) });

function model<N extends number>(p: Params, x: Tensor<[N, 3, 4, 4]>): Tensor<[N, 10]> {
  const h = avgPool2(avgPool2(leakyRelu(conv2d(x, p.conv)))); // (N, 16, 1, 1)
  return linear(flatten(h), p.fc); // (N, 10); with fc: LinearParams<10, 8> this is a compile error
}

if (process.argv.includes('--help') || process.argv.includes('-h')) {
  console.log('usage: npx tsx examples/typed-model.ts\n\nThe README\'s typed model: one gradient and one Adam step on random data; prints the loss before and after.');
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
