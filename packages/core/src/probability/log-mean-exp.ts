import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';

function checkedAxis(what: string, x: tf.Tensor, axis: number): number {
  const resolved = axis < 0 ? axis + x.rank : axis;
  if (!Number.isInteger(axis) || resolved < 0 || resolved >= x.rank) {
    throw new ShapeError(what, `a tensor with an axis ${axis}`, x.shape, `Axes run from ${-x.rank} to ${x.rank - 1}.`);
  }
  if (x.shape[resolved] === 0) {
    throw new ShapeError(what, `at least one entry along axis ${axis}`, x.shape, 'The log of an empty sum or mean is undefined.');
  }
  return resolved;
}

/**
 * The shift that keeps exp(x − shift) in range: floor(max) where the max is finite, 0 where it
 * is not (a slice of −∞ only, or one holding +∞ or NaN), so −∞ − (−∞) never makes a NaN.
 * floor keeps every term of the shifted sum below e, and its gradient is zero, so the shift
 * adds nothing to the backward pass (the exact gradient of log Σ e^x does not depend on it).
 * Call inside a tidy.
 */
export function safeShift(max: tf.Tensor): tf.Tensor {
  return tf.where(tf.isFinite(max), tf.floor(max), tf.zerosLike(max));
}

/**
 * log Σ exp(x) along `axis`, stable for any input: ±1000 do not overflow, −∞ entries count as
 * zero weights, a slice of −∞ only gives −∞ (not NaN), +∞ gives +∞, and the gradient (the
 * softmax along `axis`) is never NaN for finite or −∞ inputs. Core defines it because
 * `tf.logSumExp` returns NaN for a slice of −∞ only and for +∞ (tfjs-core 4.22, cpu and wasm).
 */
export function logSumExp(x: tf.Tensor, axis = 0, keepDims = false): tf.Tensor {
  const ax = checkedAxis('logSumExp x', x, axis);
  return tf.tidy(() => {
    const max = tf.max(x, ax, true);
    const finite = tf.isFinite(max);
    const shift = safeShift(max);
    const sum = tf.sum(tf.exp(tf.sub(x, shift)), ax, true);
    // Where the max is not finite the answer is the max itself (−∞, +∞ or NaN). The finite branch
    // there takes log 1 so that its (unused) backward pass stays free of 0·∞; floor(max) copies
    // the non-finite value without a gradient.
    const safeSum = tf.where(finite, sum, tf.onesLike(sum));
    const out = tf.where(finite, tf.add(tf.log(safeSum), shift), tf.floor(max));
    return keepDims ? out : tf.squeeze(out, [ax]);
  });
}

/**
 * log (1/n) Σ exp(x) along `axis` (n = the axis's size), with {@link logSumExp}'s stability:
 * the log of a Monte Carlo average of weights given as log-weights, e.g. IWAE's bound
 * log (1/k) Σ p(x, z_i)/q(z_i|x) over the sample axis (Burda et al. 2016, eq. 8). Differentiable
 * to first order: the max's gradient uses Equal, which has no gradient in tfjs 4.22.
 */
export function logMeanExp(x: tf.Tensor, axis = 0, keepDims = false): tf.Tensor {
  const ax = checkedAxis('logMeanExp x', x, axis);
  const n = x.shape[ax] as number;
  return tf.tidy(() => tf.sub(logSumExp(x, ax, keepDims), Math.log(n)));
}
