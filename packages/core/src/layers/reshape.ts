import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';

/**
 * `x` reshaped to `shape`, where at most one entry may be -1 (inferred). Unlike tf.reshape,
 * a size mismatch is a {@link ShapeError} naming `what`.
 */
export function reshape<R extends tf.Rank = tf.Rank>(x: tf.Tensor, shape: number[], what = 'reshape'): tf.Tensor<R> {
  const inferred = shape.filter((d) => d === -1).length;
  const known = shape.reduce((a, d) => (d === -1 ? a : a * d), 1);
  const valid =
    inferred <= 1 &&
    shape.every((d) => d === -1 || (Number.isInteger(d) && d >= 0)) &&
    (inferred === 0 ? known === x.size : known > 0 && x.size % known === 0);
  if (!valid) {
    const want = `[${shape.map((d) => (d === -1 ? '?' : d)).join(', ')}]`;
    throw new ShapeError(`${what} input`, `a shape with as many elements as ${want}`, x.shape, `it has ${x.size}`);
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
