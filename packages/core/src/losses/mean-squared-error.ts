import * as tf from '@tensorflow/tfjs-core';
import { expectSameShape } from '../layers/shape-check.js';
import { reduce, type Reduction } from './reduction.js';

/** (prediction − target)²; default reduction 'mean' over every element, 'none' elementwise. */
export function meanSquaredError(predictions: tf.Tensor, targets: tf.Tensor, reduction: Reduction = 'mean'): tf.Tensor {
  expectSameShape('meanSquaredError targets (must match predictions)', predictions, targets);
  return tf.tidy(() => reduce(tf.squaredDifference(predictions, targets), reduction));
}
