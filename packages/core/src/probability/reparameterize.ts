import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { Rng } from '../random/rng.js';
import { broadcastsTo } from './broadcast.js';

/** Options of {@link reparameterize}. */
export interface ReparameterizeOptions {
  /**
   * Draw this many samples per distribution, stacked on a new leading axis: the result has
   * shape [samples, ...mean.shape] (IWAE's k samples per example). Without it, one sample
   * in mean's shape.
   */
  samples?: number;
}

/**
 * A sample of N(mean, diag e^logVar) as mean + e^(½ logVar)·ε with ε ~ N(0, I) from `rng`: the
 * reparameterization trick (Kingma & Welling 2014, §2.4), so gradients reach `mean` and
 * `logVar` (∂z/∂mean = 1, ∂z/∂logVar = ½ ε e^(½ logVar)) while the noise carries none.
 * `logVar` has mean's shape or broadcasts to it (a shared variance per feature, a scalar).
 * Each call advances `rng` by one tensor draw.
 */
export function reparameterize<T extends tf.Tensor>(mean: T, logVar: tf.Tensor, rng: Rng): T;
export function reparameterize(mean: tf.Tensor, logVar: tf.Tensor, rng: Rng, options: ReparameterizeOptions): tf.Tensor;
export function reparameterize(
  mean: tf.Tensor,
  logVar: tf.Tensor,
  rng: Rng,
  options: ReparameterizeOptions = {},
): tf.Tensor {
  if (!broadcastsTo(logVar.shape, mean.shape)) {
    throw new ShapeError(
      'reparameterize logVar',
      `mean's shape [${mean.shape.join(', ')}] or one that broadcasts to it`,
      logVar.shape,
    );
  }
  // Only a generator: a seed number would draw the same noise at every call.
  if (!(rng instanceof Rng)) throw new ConfigError('rng', 'an Rng (a number would repeat the same noise every call)', rng);
  const { samples } = options;
  if (samples !== undefined && !(Number.isInteger(samples) && samples > 0)) {
    throw new ConfigError('reparameterize samples', 'a positive integer', samples);
  }
  const shape = samples === undefined ? mean.shape : [samples, ...mean.shape];
  return tf.tidy(() => tf.add(mean, tf.mul(tf.exp(tf.mul(logVar, 0.5)), rng.normalTensor(shape))));
}
