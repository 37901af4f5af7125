import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerKind, ResolvedOptimizerConfig } from './config.js';

/*
 * Everything that touches tf.train optimizers' non-public fields lives in this file, written
 * against tfjs-core 4.22 (test/optim/optimizer.test.ts pins the behaviour it relies on):
 * - Adam and RMSProp read `this.learningRate` (and RMSProp `this.momentum`) on every
 *   applyGradients and have no setter, so a schedule sets the field directly.
 * - MomentumOptimizer.setMomentum only stores the number: the update reads the scalar `m`
 *   made in the constructor, so a momentum schedule would silently do nothing. We replace `m`.
 *   That constructor scalar is also not kept, so an optimizer made inside tf.tidy lost it.
 * - MomentumOptimizer.dispose does not call SGDOptimizer.dispose: its learning-rate scalar `c`
 *   leaked. We dispose it.
 * - Slot variables (moments, accumulators) are made lazily on the first update, so the first
 *   training step changed tf.memory().numTensors. We make them up front, named after the
 *   parameter's stable path rather than its engine name, which can differ between runs.
 */

interface Slot {
  originalName: string;
  variable: tf.Variable;
}

interface Internals {
  learningRate: number;
  momentum?: number;
  c?: tf.Scalar;
  m?: tf.Scalar;
  setLearningRate?(learningRate: number): void;
  accumulations?: Slot[];
  accumulatedFirstMoment?: Slot[];
  accumulatedSecondMoment?: Slot[];
  accumulatedMeanSquares?: Slot[];
  accumulatedMoments?: Slot[];
}

/** The slot arrays of each kind, in the order getWeights/setWeights list them, with tfjs's suffixes. */
const SLOTS: Record<OptimizerKind, readonly [keyof Internals, string][]> = {
  sgd: [],
  momentum: [['accumulations', 'momentum']],
  adam: [
    ['accumulatedFirstMoment', 'm'],
    ['accumulatedSecondMoment', 'v'],
  ],
  rmsprop: [
    ['accumulatedMeanSquares', 'rms'],
    ['accumulatedMoments', 'momentum'],
  ],
};

/** Slot variables per parameter for a kind (the optimizer state is `1 + slots · n` tensors with the step). */
export function slotsPerVariable(kind: OptimizerKind): number {
  return SLOTS[kind].length;
}

function internals(optimizer: tf.Optimizer): Internals {
  return optimizer as unknown as Internals;
}

/** Builds the tf.train optimizer for a config, with its step-0 hyperparameters and its slots allocated. */
export function createTfOptimizer(
  config: ResolvedOptimizerConfig,
  variables: readonly tf.Variable[],
  names: readonly string[],
): tf.Optimizer {
  const lr = config.learningRate(0);
  const momentum = config.momentum(0);
  let optimizer: tf.Optimizer;
  switch (config.kind) {
    case 'sgd':
      optimizer = tf.train.sgd(lr);
      break;
    case 'momentum':
      optimizer = tf.train.momentum(lr, momentum, config.nesterov);
      break;
    case 'adam':
      optimizer = tf.train.adam(lr, config.beta1, config.beta2, config.epsilon);
      break;
    case 'rmsprop':
      optimizer = tf.train.rmsprop(lr, config.decay, momentum, config.epsilon, false);
      break;
  }
  const opt = internals(optimizer);
  if (config.kind === 'momentum') {
    const unkept = opt.m;
    opt.m = tf.keep(tf.scalar(momentum));
    unkept?.dispose();
  }
  for (const [field, suffix] of SLOTS[config.kind]) {
    opt[field] = variables.map((v, i) => ({
      originalName: `${names[i]}/${suffix}`,
      variable: tf.tidy(() => tf.variable(tf.zerosLike(v), false)),
    })) as never;
  }
  return optimizer;
}

/** Sets the learning rate and momentum the next applyGradients uses. */
export function setHyperparameters(optimizer: tf.Optimizer, kind: OptimizerKind, learningRate: number, momentum: number): void {
  const opt = internals(optimizer);
  if (kind === 'sgd' || kind === 'momentum') {
    // setLearningRate reallocates a scalar: skip it when the value is unchanged.
    if (opt.learningRate !== learningRate) opt.setLearningRate?.(learningRate);
  } else {
    opt.learningRate = learningRate;
  }
  if (kind === 'momentum' && opt.momentum !== momentum) {
    opt.momentum = momentum;
    const old = opt.m;
    opt.m = tf.keep(tf.scalar(momentum));
    old?.dispose();
  }
  if (kind === 'rmsprop') opt.momentum = momentum;
}

/** The optimizer's own slot variables, in getWeights order (without the step counter). */
export function slotVariables(optimizer: tf.Optimizer, kind: OptimizerKind): tf.Variable[] {
  const opt = internals(optimizer);
  return SLOTS[kind].flatMap(([field]) => ((opt[field] as Slot[] | undefined) ?? []).map((s) => s.variable));
}

/** Disposes everything the optimizer holds, including what tfjs's own dispose forgets. */
export function disposeTfOptimizer(optimizer: tf.Optimizer, kind: OptimizerKind): void {
  optimizer.dispose();
  if (kind === 'momentum') internals(optimizer).c?.dispose();
}
