import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { expectSameShape } from '../layers/shape-check.js';
import { reduce, type Reduction, type ScalarReduction } from './reduction.js';

/**
 * −Σ_k z_k · log softmax(logits)_k per example, for logits and (one-hot or soft) targets of
 * shape [batch, classes]. Default reduction 'mean' over the batch; 'none' gives [batch].
 */
export function categoricalCrossEntropyFromLogits(
  logits: tf.Tensor2D,
  targets: tf.Tensor2D,
  reduction?: ScalarReduction,
): tf.Scalar;
/** Per-example categorical cross-entropy, [batch]. */
export function categoricalCrossEntropyFromLogits(logits: tf.Tensor2D, targets: tf.Tensor2D, reduction: 'none'): tf.Tensor1D;
/** With a reduction known only at run time. */
export function categoricalCrossEntropyFromLogits(logits: tf.Tensor2D, targets: tf.Tensor2D, reduction?: Reduction): tf.Tensor;
export function categoricalCrossEntropyFromLogits(
  logits: tf.Tensor2D,
  targets: tf.Tensor2D,
  reduction: Reduction = 'mean',
): tf.Tensor {
  if (logits.rank !== 2) throw new ShapeError('categoricalCrossEntropyFromLogits logits', '[batch, classes]', logits.shape);
  expectSameShape('categoricalCrossEntropyFromLogits targets (must match logits)', logits, targets);
  return tf.tidy(() => reduce(tf.neg(tf.sum(tf.mul(targets, tf.logSoftmax(logits)), 1)), reduction));
}

/**
 * As {@link categoricalCrossEntropyFromLogits} with integer class labels [batch] (int32)
 * instead of one-hot targets. A label outside [0, classes) selects no class and gives 0.
 */
export function sparseCategoricalCrossEntropyFromLogits(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  reduction?: ScalarReduction,
): tf.Scalar;
/** Per-example sparse categorical cross-entropy, [batch]. */
export function sparseCategoricalCrossEntropyFromLogits(logits: tf.Tensor2D, labels: tf.Tensor1D, reduction: 'none'): tf.Tensor1D;
/** With a reduction known only at run time. */
export function sparseCategoricalCrossEntropyFromLogits(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  reduction?: Reduction,
): tf.Tensor;
export function sparseCategoricalCrossEntropyFromLogits(
  logits: tf.Tensor2D,
  labels: tf.Tensor1D,
  reduction: Reduction = 'mean',
): tf.Tensor {
  if (logits.rank !== 2) {
    throw new ShapeError('sparseCategoricalCrossEntropyFromLogits logits', '[batch, classes]', logits.shape);
  }
  if (labels.rank !== 1 || labels.shape[0] !== logits.shape[0]) {
    throw new ShapeError('sparseCategoricalCrossEntropyFromLogits labels', [logits.shape[0]], labels.shape);
  }
  return tf.tidy(() => {
    const oneHot = tf.oneHot(tf.cast(labels, 'int32'), logits.shape[1]) as tf.Tensor2D;
    return reduce(tf.neg(tf.sum(tf.mul(tf.cast(oneHot, 'float32'), tf.logSoftmax(logits)), 1)), reduction);
  });
}
