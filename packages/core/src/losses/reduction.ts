import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';

/**
 * How a loss folds its values: 'mean' and 'sum' give a scalar over every value, 'none'
 * returns them unreduced. Losses (cross-entropies, MSE) default to 'mean'; per-example
 * quantities (log-likelihoods, KL) default to 'none'.
 */
export type Reduction = 'mean' | 'sum' | 'none';

/** The reductions that fold everything into one scalar; losses typed by them return `tf.Scalar`. */
export type ScalarReduction = Exclude<Reduction, 'none'>;

/** Applies `reduction` to `values`, disposing nothing; call inside a tidy. */
export function reduce(values: tf.Tensor, reduction: Reduction): tf.Tensor {
  if (reduction === 'mean') return tf.mean(values);
  if (reduction === 'sum') return tf.sum(values);
  if (reduction === 'none') return values;
  throw new ConfigError('reduction', "'mean', 'sum' or 'none'", reduction);
}

/** Sums every axis but the first: [batch, ...] to [batch]. */
export function sumPerExample(values: tf.Tensor): tf.Tensor1D {
  if (values.rank === 1) return values as tf.Tensor1D;
  return tf.sum(values, Array.from({ length: values.rank - 1 }, (_, i) => i + 1)) as tf.Tensor1D;
}
