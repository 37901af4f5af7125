import * as tf from '@tensorflow/tfjs-core';
import { expectSameShape } from '../layers/shape-check.js';
import { reduce, type Reduction, type ScalarReduction } from './reduction.js';

/** Elementwise −[z·log σ(x) + (1−z)·log(1−σ(x))] in a form that never overflows; call inside a tidy. */
export function binaryCrossEntropyElements(logits: tf.Tensor, targets: tf.Tensor): tf.Tensor {
  // max(x, 0) − x·z + log(1 + e^(−|x|)): the exponent is never positive, so nothing overflows
  // (the form TensorFlow's sigmoid_cross_entropy_with_logits documents).
  return tf.add(tf.sub(tf.relu(logits), tf.mul(logits, targets)), tf.log1p(tf.exp(tf.neg(tf.abs(logits)))));
}

/**
 * Binary cross-entropy between targets z in [0, 1] and σ(logits), stable for any logit.
 * Default reduction 'mean' (over every element); 'none' gives the elementwise values.
 */
export function binaryCrossEntropyFromLogits(logits: tf.Tensor, targets: tf.Tensor, reduction?: ScalarReduction): tf.Scalar;
/** Elementwise binary cross-entropy, of the logits' shape. */
export function binaryCrossEntropyFromLogits<R extends tf.Rank>(logits: tf.Tensor<R>, targets: tf.Tensor, reduction: 'none'): tf.Tensor<R>;
/** With a reduction known only at run time. */
export function binaryCrossEntropyFromLogits(logits: tf.Tensor, targets: tf.Tensor, reduction?: Reduction): tf.Tensor;
export function binaryCrossEntropyFromLogits(
  logits: tf.Tensor,
  targets: tf.Tensor,
  reduction: Reduction = 'mean',
): tf.Tensor {
  expectSameShape('binaryCrossEntropyFromLogits targets (must match logits)', logits, targets);
  return tf.tidy(() => reduce(binaryCrossEntropyElements(logits, targets), reduction));
}
