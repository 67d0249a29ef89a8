/**
 * PyTorch's default initialisation of conv layers (what a model without its own init, such as
 * StarGAN v1, trains from): weights kaiming_uniform(a = sqrt(5)), i.e. U(-b, b) with
 * b = 1/sqrt(fan_in), and biases U(-b, b) with the same bound. PyTorch's fan_in is
 * `weight.size(1) * K * K`: Ci for a conv, but Co for a transposed conv (its weight is (Ci, Co, K, K)).
 */
import type { ConvTransposeParams } from './conv-strided.ts';
import type { ConvParams } from './ops.ts';
import { split, uniform, type Key } from './random.ts';

/** Weight of `shape` and bias of `co` entries, both U(-b, b) with b = 1/sqrt(fanIn), from one key. */
function torchUniform<W extends number[], Co extends number>(key: Key, shape: W, co: Co, fanIn: number, bias: boolean) {
  const [kw, kb] = split(key, 2);
  const b = 1 / Math.sqrt(fanIn);
  const weight = uniform(kw, shape, -b, b, 'conv');
  return bias ? { weight, bias: uniform(kb, [co] as [Co], -b, b) } : { weight };
}

/** A conv layer `Ci -> Co` with a KxK kernel, PyTorch default init (fan_in = Ci K K). */
export function initConvTorch<Co extends number, Ci extends number, K extends number>(
  key: Key, ci: Ci, co: Co, k: K, bias = true,
): ConvParams<Co, Ci, K> {
  return torchUniform(key, [co, ci, k, k] as [Co, Ci, K, K], co, ci * k * k, bias);
}

/** A transposed conv layer `Ci -> Co` with a KxK kernel, PyTorch default init (fan_in = Co K K). */
export function initConvTransposeTorch<Ci extends number, Co extends number, K extends number>(
  key: Key, ci: Ci, co: Co, k: K, bias = true,
): ConvTransposeParams<Ci, Co, K> {
  return torchUniform(key, [ci, co, k, k] as [Ci, Co, K, K], co, co * k * k, bias);
}
