import * as tf from '@tensorflow/tfjs-core';
import type { CheckpointOptimizer, NamedTensor } from '../checkpoint/artifacts.js';
import { ConfigError } from '../errors.js';
import { flattenParams, type ParamContainer } from '../params/tree.js';

/**
 * What `train` keeps a copy of so that a non-finite loss or validation metric leaves the model
 * at its last finite state (see `TrainOptions.keepLastGood`).
 */
export interface KeepLastGoodOptions {
  /** Every variable the steps change, trainable or not (a PCD chain, batch-norm statistics). */
  params: ParamContainer;
  /**
   * The optimizers the steps update. Use core's `createOptimizer`: its `setWeights` assigns into
   * the slots it has, while a raw `tf.train` optimizer's makes new slot variables and frees
   * nothing it replaces, so each restore would leave its old slots behind.
   */
  optimizers?: readonly CheckpointOptimizer[] | Readonly<Record<string, CheckpointOptimizer>>;
}

/** A device-side copy of a model's variables and optimizer state. */
export interface StateSnapshot {
  /** Steps taken when it was made. */
  readonly step: number;
  /** Which state it is, in words, for the error message. */
  readonly state: string;
  readonly params: readonly (readonly [tf.Variable, tf.Tensor])[];
  readonly optimizers: readonly (readonly [CheckpointOptimizer, NamedTensor[]])[];
}

/** The variables and optimizers named by the option, checked once before training starts. */
export interface LastGoodTargets {
  variables: tf.Variable[];
  optimizers: CheckpointOptimizer[];
}

export function resolveKeepLastGood(options: KeepLastGoodOptions): LastGoodTargets {
  if (options === null || typeof options !== 'object' || options.params === null || typeof options.params !== 'object') {
    throw new ConfigError('keepLastGood', '{ params, optimizers? }: the model\'s parameter tree and its optimizers', options);
  }
  const variables = [...flattenParams(options.params).values()];
  if (variables.length === 0) throw new ConfigError('keepLastGood.params', 'a tree holding at least one tf.Variable', options.params);
  const given = options.optimizers ?? [];
  if (given === null || typeof given !== 'object') {
    throw new ConfigError('keepLastGood.optimizers', 'an array or a record of optimizers', given);
  }
  const optimizers = Array.isArray(given) ? [...given] : Object.values(given);
  optimizers.forEach((o, i) => {
    const ok = o !== null && typeof o === 'object' && typeof o.getWeights === 'function' && typeof o.setWeights === 'function';
    if (!ok) throw new ConfigError(`keepLastGood.optimizers[${i}]`, 'an optimizer with getWeights() and setWeights() (createOptimizer)', o);
  });
  return { variables, optimizers };
}

/** Disposes every tensor a snapshot holds; the variables it copied are untouched. */
export function disposeSnapshot(snapshot: StateSnapshot | null): void {
  if (!snapshot) return;
  tf.dispose(snapshot.params.map(([, copy]) => copy));
  for (const [, weights] of snapshot.optimizers) tf.dispose(weights.map((w) => w.tensor));
}

/**
 * Copies the variables and optimizer state as they are now. The copies stay on the device: no
 * read-back, so taking one at every read of the losses does not stall the queue.
 */
export async function takeSnapshot(targets: LastGoodTargets, step: number, state: string): Promise<StateSnapshot> {
  const snapshot = { step, state, params: [] as [tf.Variable, tf.Tensor][], optimizers: [] as [CheckpointOptimizer, NamedTensor[]][] };
  try {
    for (const v of targets.variables) snapshot.params.push([v, tf.clone(v)]);
    for (const optimizer of targets.optimizers) {
      const weights = await optimizer.getWeights();
      // getWeights() gives fresh tensors (the step count; every entry of createOptimizer's) and,
      // from a raw tf.train optimizer, its live slot variables, which its next update replaces.
      const owned = weights.map((w) => ({ name: w.name, tensor: w.tensor instanceof tf.Variable ? tf.clone(w.tensor) : w.tensor }));
      snapshot.optimizers.push([optimizer, owned]);
    }
  } catch (error) {
    disposeSnapshot(snapshot);
    throw error;
  }
  return snapshot;
}

/**
 * Puts the snapshot's values back into the variables and optimizers it was taken from. The
 * optimizer state is checked first where the optimizer can check it, so a refusal changes
 * nothing. The snapshot stays the caller's; the variables share its buffers until their next
 * assignment, which tfjs counts by reference, so disposing the snapshot afterwards is safe.
 */
export async function restoreSnapshot(snapshot: StateSnapshot): Promise<void> {
  for (const [optimizer, weights] of snapshot.optimizers) optimizer.validateWeights?.(weights);
  for (const [optimizer, weights] of snapshot.optimizers) await optimizer.setWeights(weights);
  for (const [variable, copy] of snapshot.params) variable.assign(copy);
}
