import * as tf from '@tensorflow/tfjs-core';
import { expectSameShape } from '../layers/shape-check.js';
import { reduce, type Reduction, type ScalarReduction } from './reduction.js';

/** (prediction − target)²; default reduction 'mean' over every element, 'none' elementwise. */
export function meanSquaredError(predictions: tf.Tensor, targets: tf.Tensor, reduction?: ScalarReduction): tf.Scalar;
/** Elementwise squared error, of the predictions' shape. */
export function meanSquaredError<R extends tf.Rank>(predictions: tf.Tensor<R>, targets: tf.Tensor, reduction: 'none'): tf.Tensor<R>;
/** With a reduction known only at run time. */
export function meanSquaredError(predictions: tf.Tensor, targets: tf.Tensor, reduction?: Reduction): tf.Tensor;
export function meanSquaredError(predictions: tf.Tensor, targets: tf.Tensor, reduction: Reduction = 'mean'): tf.Tensor {
  expectSameShape('meanSquaredError targets (must match predictions)', predictions, targets);
  return tf.tidy(() => reduce(tf.squaredDifference(predictions, targets), reduction));
}
