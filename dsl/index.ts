/** The typed tensor DSL: shapes in types, pure ops, combinators, keys, gradients, optimizers. */
export * from './shape.ts';
export * from './tensor.ts';
export * from './ops.ts';
export * from './combinators.ts';
export * from './random.ts';
export * from './params.ts';
export * from './grad.ts';
export * from './optim.ts';
export * from './fold.ts';
export * from './spec.ts';
export * from './init.ts';
export { useBackend, liveTensors, backendNames, type BackendName } from './engine/backend.ts';
export * from "./resample-conv.ts";
