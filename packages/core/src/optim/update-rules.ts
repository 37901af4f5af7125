import * as tf from '@tensorflow/tfjs-core';
import type { OptimizerKind, ResolvedOptimizerConfig } from './config.js';

/**
 * The update rules of the optimizers, as pure functions of tensors: given a parameter, its
 * gradient and its slots (the optimizer's per-parameter state), they return the new parameter
 * and the new slots. The optimizer assigns them. Written to match tf.train's optimizers number
 * for number, so results agree with tfjs and Keras.
 */

/** Names of each kind's slots, in the order a checkpoint lists them. */
export const SLOT_NAMES: Record<OptimizerKind, readonly string[]> = {
  sgd: [],
  momentum: ['momentum'],
  adam: ['m', 'v'],
  rmsprop: ['rms', 'momentum'],
};

/** The hyperparameters of one update, evaluated at the current step. */
export interface StepHyperparameters {
  learningRate: number;
  momentum: number;
  /** 1-based index of this update (Adam's bias correction). */
  t: number;
  epsilon: number;
}

export interface RuleResult {
  value: tf.Tensor;
  slots: tf.Tensor[];
}

/** One parameter's update. Call inside tf.tidy. */
export function applyRule(
  config: ResolvedOptimizerConfig,
  hp: StepHyperparameters,
  w: tf.Tensor,
  g: tf.Tensor,
  slots: readonly tf.Tensor[],
): RuleResult {
  const lr = hp.learningRate;
  switch (config.kind) {
    case 'sgd':
      return { value: tf.sub(w, tf.mul(g, lr)), slots: [] };
    case 'momentum': {
      // v ← m·v + g;  w ← w − lr·v  (Nesterov: w ← w − lr·(g + m·v)), as tf.train.momentum.
      const v = tf.add(tf.mul(slots[0]!, hp.momentum), g);
      const step = config.nesterov ? tf.add(g, tf.mul(v, hp.momentum)) : v;
      return { value: tf.sub(w, tf.mul(step, lr)), slots: [v] };
    }
    case 'adam': {
      // Kingma & Ba 2015, Algorithm 1, with ε added to the bias-corrected √v̂ as tf.train.adam.
      const { beta1, beta2 } = config;
      const m = tf.add(tf.mul(slots[0]!, beta1), tf.mul(g, 1 - beta1));
      const v = tf.add(tf.mul(slots[1]!, beta2), tf.mul(tf.square(g), 1 - beta2));
      const mHat = tf.div(m, 1 - beta1 ** hp.t);
      const vHat = tf.div(v, 1 - beta2 ** hp.t);
      const step = tf.div(mHat, tf.add(tf.sqrt(vHat), hp.epsilon));
      return { value: tf.sub(w, tf.mul(step, lr)), slots: [m, v] };
    }
    case 'rmsprop': {
      // Tieleman & Hinton 2012 (uncentred), with momentum on the scaled step, as tf.train.rmsprop.
      const ms = tf.add(tf.mul(slots[0]!, config.decay), tf.mul(tf.square(g), 1 - config.decay));
      const mom = tf.add(tf.mul(slots[1]!, hp.momentum), tf.div(tf.mul(g, lr), tf.sqrt(tf.add(ms, hp.epsilon))));
      return { value: tf.sub(w, mom), slots: [ms, mom] };
    }
  }
}
