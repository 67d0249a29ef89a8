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
