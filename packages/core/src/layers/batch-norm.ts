import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { createVariable } from '../params/tree.js';
import { resolveLayerMode, type LayerMode } from './mode.js';
import { positiveInteger } from './params.js';
import { layerNameOf } from './shape-check.js';

/**
 * Batch normalisation over the last axis (channels): trainable scale `gamma` and shift `beta`,
 * and the non-trainable running statistics `movingMean`, `movingVariance`, all of shape [channels].
 */
export type BatchNormParams = {
  gamma: tf.Variable;
  beta: tf.Variable;
  movingMean: tf.Variable;
  movingVariance: tf.Variable;
};

export function createBatchNorm(opts: { name: string; channels: number }): BatchNormParams {
  if (typeof opts.name !== 'string' || !opts.name) throw new ConfigError('name', 'a non-empty layer name', opts.name);
  const c = positiveInteger('channels', opts.channels);
  return {
    gamma: createVariable(tf.ones([c]), `${opts.name}/gamma`),
    beta: createVariable(tf.zeros([c]), `${opts.name}/beta`),
    movingMean: createVariable(tf.zeros([c]), `${opts.name}/movingMean`, false),
    movingVariance: createVariable(tf.ones([c]), `${opts.name}/movingVariance`, false),
  };
}

/**
 * A {@link LayerMode} plus the update's constants. `training` selects batch statistics;
 * `updateState` (default: `training`) lets the call move the moving statistics.
 */
export interface BatchNormOptions extends LayerMode {
  /** Weight of the old moving statistics in each update; default 0.99 (Keras). */
  momentum?: number;
  /** Added to the variance before the square root; default 1e-3 (Keras). */
  epsilon?: number;
}

const OPTION_KEYS = ['momentum', 'epsilon'] as const;

/**
 * Normalises `x` over every axis but the last (Ioffe & Szegedy 2015), then scales by gamma
 * and shifts by beta.
 *
 * With `training` it uses the batch mean and (biased) variance; with `updateState` as well
 * (the default in training) it moves the statistics:
 * moving ← momentum·moving + (1 − momentum)·batch. This is the one forward pass in Helmholtz
 * that assigns variables, as in every framework; the update is not part of the gradient, so
 * `updateState` changes no output and no gradient. Without `training` it reads the moving
 * statistics and changes nothing. A bare boolean is `{ training }`, as in dropout and noise.
 * The mode is checked before anything is computed.
 */
export function batchNorm<T extends tf.Tensor>(x: T, p: BatchNormParams, opts: boolean | BatchNormOptions): T {
  const channels = p.gamma.shape[0]!;
  if (x.rank < 2 || x.shape[x.rank - 1] !== channels) {
    throw new ShapeError(`batchNorm '${layerNameOf(p.gamma)}' input`, `[?, ..., ${channels}] (rank >= 2)`, x.shape);
  }
  const mode = resolveLayerMode(opts, `batchNorm '${layerNameOf(p.gamma)}'`, OPTION_KEYS);
  const { momentum = 0.99, epsilon = 1e-3 } = typeof opts === 'boolean' ? {} : opts;
  if (!(momentum >= 0 && momentum <= 1)) throw new ConfigError('momentum', 'a number in [0, 1]', momentum);
  if (!(epsilon > 0)) throw new ConfigError('epsilon', 'a positive number', epsilon);
  const axes = Array.from({ length: x.rank - 1 }, (_, i) => i);
  return tf.tidy(() => {
    let mean: tf.Tensor = p.movingMean;
    let variance: tf.Tensor = p.movingVariance;
    if (mode.training) {
      const moments = tf.moments(x, axes);
      mean = moments.mean;
      variance = moments.variance;
    }
    if (mode.updateState) {
      // The assignment lies off the path to the output, so no gradient flows through it.
      const newMean = tf.add(tf.mul(p.movingMean, momentum), tf.mul(mean, 1 - momentum));
      const newVar = tf.add(tf.mul(p.movingVariance, momentum), tf.mul(variance, 1 - momentum));
      p.movingMean.assign(newMean);
      p.movingVariance.assign(newVar);
    }
    const scale = tf.mul(p.gamma, tf.rsqrt(tf.add(variance, epsilon)));
    return tf.add(tf.mul(tf.sub(x, mean), scale), p.beta) as T;
  });
}
