import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { binaryCrossEntropyElements } from '../losses/binary-cross-entropy.js';
import { broadcastShape } from './broadcast.js';

const LOG_2PI = Math.log(2 * Math.PI);

/** Options shared by the broadcasting log-densities. */
export interface LogDensityOptions {
  /**
   * How many trailing axes of the broadcast shape make up one event (one draw of the
   * distribution); they are summed, the others are kept. Default 1: [k, batch, d] gives
   * [k, batch]. Use 3 for images [batch, h, w, c], 0 for elementwise densities.
   */
  eventRank?: number;
}

/**
 * Elementwise log N(x; mean, e^logVar), broadcasting the three; call inside a tidy.
 * Differentiable to first order (tfjs 4.22's exp has no correct second derivative).
 * −½ [log 2π + logVar + (x − mean)² e^(−logVar)]. `tf.squaredDifference` is avoided on
 * purpose: its gradient does not reduce over broadcast axes, `tf.sub` then `tf.square` does.
 */
export function gaussianLogDensityElements(x: tf.Tensor, mean: tf.Tensor, logVar: tf.Tensor): tf.Tensor {
  // ((x − mean)·e^(−logVar/2))², not (x − mean)²·e^(−logVar): the latter is 0·∞ = NaN when
  // e^(−logVar) overflows float32 (logVar < −88.7) at x = mean, which IWAE's log q meets once
  // reparameterize returns the mean exactly.
  const quad = tf.square(tf.mul(tf.sub(x, mean), tf.exp(tf.mul(logVar, -0.5))));
  return tf.mul(tf.add(tf.add(quad, logVar), LOG_2PI), -0.5);
}

function eventAxes(what: string, shape: readonly number[], options: LogDensityOptions): number[] {
  const eventRank = options.eventRank ?? 1;
  if (!Number.isInteger(eventRank) || eventRank < 0) {
    throw new ConfigError(`${what} eventRank`, 'a non-negative integer', eventRank);
  }
  if (eventRank > shape.length) {
    throw new ShapeError(
      what,
      `at least ${eventRank} axes (eventRank ${eventRank})`,
      shape,
      'Lower eventRank or give inputs with the event axes last.',
    );
  }
  return Array.from({ length: eventRank }, (_, i) => shape.length - eventRank + i);
}

function sumEvent(elements: tf.Tensor, axes: number[]): tf.Tensor {
  return axes.length === 0 ? elements : tf.sum(elements, axes);
}

/**
 * log N(x; 0, I), summed over the last `eventRank` axes (default 1):
 * −½ Σ (x² + log 2π). The prior term of a VAE's importance weights.
 */
export function standardNormalLogDensity(x: tf.Tensor, options: LogDensityOptions = {}): tf.Tensor {
  const axes = eventAxes('standardNormalLogDensity x', x.shape, options);
  return tf.tidy(() => sumEvent(tf.mul(tf.add(tf.square(x), LOG_2PI), -0.5), axes));
}

/**
 * log N(x; mean, diag e^logVar), with x, mean and logVar broadcast against each other
 * (NumPy rules), summed over the last `eventRank` axes (default 1); −½ log 2π per dimension
 * included. So k posterior samples z [k, batch, d] score against q's mean and log-variance
 * [batch, d] in one call, giving [k, batch] (the log q(z|x) term of IWAE's weights).
 */
export function diagonalGaussianLogDensity(
  x: tf.Tensor,
  mean: tf.Tensor,
  logVar: tf.Tensor,
  options: LogDensityOptions = {},
): tf.Tensor {
  const shape = broadcastShape('diagonalGaussianLogDensity x, mean and logVar', [x.shape, mean.shape, logVar.shape]);
  const axes = eventAxes('diagonalGaussianLogDensity (broadcast shape)', shape, options);
  return tf.tidy(() => sumEvent(gaussianLogDensityElements(x, mean, logVar), axes));
}

/**
 * log p(x | logits) under independent Bernoullis with p = σ(logits): x·logits − softplus(logits),
 * written so that no exponent is positive (any logit is safe). x may be binary or in [0, 1];
 * x and logits broadcast against each other (NumPy rules); the last `eventRank` axes (default 1)
 * are summed. Use eventRank 3 for images [batch, h, w, c].
 */
export function bernoulliLogDensity(x: tf.Tensor, logits: tf.Tensor, options: LogDensityOptions = {}): tf.Tensor {
  const shape = broadcastShape('bernoulliLogDensity x and logits', [x.shape, logits.shape]);
  const axes = eventAxes('bernoulliLogDensity (broadcast shape)', shape, options);
  return tf.tidy(() => sumEvent(tf.neg(binaryCrossEntropyElements(logits, x)), axes));
}
