import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';

/**
 * `x` reshaped to `shape`, where at most one entry may be -1 (inferred). Unlike tf.reshape,
 * a size mismatch is a {@link ShapeError} naming `what`.
 */
export function reshape<R extends tf.Rank = tf.Rank>(x: tf.Tensor, shape: number[], what = 'reshape'): tf.Tensor<R> {
  if (!Array.isArray(shape)) throw new ConfigError(`${what} target shape`, 'an array of sizes', shape);
  const inferred = shape.filter((d) => d === -1).length;
  if (inferred > 1 || !shape.every((d) => d === -1 || (Number.isInteger(d) && d >= 0))) {
    throw new ShapeError(`${what} target shape`, 'non-negative integer sizes and at most one -1', shape);
  }
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const target = `[${shape.map((d) => (d === -1 ? '?' : d)).join(', ')}]`;
  const elements = `It has ${x.size} element${x.size === 1 ? '' : 's'}`;
  if (inferred === 0 && known !== x.size) {
    throw new ShapeError(`${what} input`, `${known} element${known === 1 ? '' : 's'} to fill ${target}`, x.shape, elements);
  }
  if (inferred === 1 && known === 0) {
    // Any size would do for the -1 beside a zero-size axis.
    throw new ShapeError(`${what} target shape`, 'no -1 beside a size of 0 (the inferred size would be ambiguous)', shape);
  }
  if (inferred === 1 && x.size % known !== 0) {
    throw new ShapeError(`${what} input`, `a multiple of ${known} elements to fill ${target}`, x.shape, elements);
  }
  return tf.reshape(x, shape as tf.ShapeMap[R]) as tf.Tensor<R>;
}

/** [batch, ...features] to [batch, prod(features)], as before a dense layer. */
export function flatten(x: tf.Tensor, what = 'flatten'): tf.Tensor2D {
  if (x.rank < 1) throw new ShapeError(`${what} input`, '[batch, ...] (rank >= 1)', x.shape);
  const batch = x.shape[0]!;
  return tf.reshape(x, [batch, batch === 0 ? 0 : x.size / batch]) as tf.Tensor2D;
}

/** [batch, n] to [batch, ...featureShape], as after a dense layer that feeds a convolution. */
export function unflatten(x: tf.Tensor, featureShape: number[], what = 'unflatten'): tf.Tensor {
  const n = featureShape.reduce((a, d) => a * d, 1);
  if (x.rank !== 2 || x.shape[1] !== n) throw new ShapeError(`${what} input`, [null, n], x.shape);
  return tf.reshape(x, [x.shape[0]!, ...featureShape]);
}
