/**
 * Training is a fold: `state_{k+1} = step(state_k, batch_k)`. This is the one place that
 * frees what a step replaced, so `tf.memory().numTensors` stays flat over any number of steps.
 */
import { disposeReplaced, tidyTree } from './params.ts';

/**
 * Runs one step inside a tf.tidy and frees the tensors of `state` that the new state no
 * longer holds (the caller must not use the old state afterwards).
 */
export function advance<S, B>(step: (state: S, batch: B) => S, state: S, batch: B): S {
  const next = tidyTree(() => step(state, batch));
  disposeReplaced(state, next);
  return next;
}

/** Folds `step` over batches, freeing replaced state as it goes. `onStep` sees each new state. */
export function foldSteps<S, B>(
  step: (state: S, batch: B) => S,
  init: S,
  batches: Iterable<B>,
  onStep?: (state: S, index: number) => void,
): S {
  let state = init;
  let i = 0;
  for (const batch of batches) {
    state = advance(step, state, batch);
    onStep?.(state, i++);
  }
  return state;
}
