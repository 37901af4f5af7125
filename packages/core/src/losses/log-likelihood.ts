import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { expectSameShape } from '../layers/shape-check.js';
import { broadcastsTo } from '../probability/broadcast.js';
import { gaussianLogDensityElements } from '../probability/log-density.js';
import { binaryCrossEntropyElements } from './binary-cross-entropy.js';
import { reduce, sumPerExample, type Reduction, type ScalarReduction } from './reduction.js';

/**
 * log p(x | logits) under independent Bernoullis with p = σ(logits), per example (summed over
 * every axis but the first). x may be binary or in [0, 1]. Default reduction 'none' ([batch]).
 */
export function bernoulliLogLikelihood(x: tf.Tensor, logits: tf.Tensor, reduction?: 'none'): tf.Tensor1D;
/** The log-likelihood folded over the batch: a scalar. */
export function bernoulliLogLikelihood(x: tf.Tensor, logits: tf.Tensor, reduction: ScalarReduction): tf.Scalar;
/** With a reduction known only at run time. */
export function bernoulliLogLikelihood(x: tf.Tensor, logits: tf.Tensor, reduction?: Reduction): tf.Tensor;
export function bernoulliLogLikelihood(x: tf.Tensor, logits: tf.Tensor, reduction: Reduction = 'none'): tf.Tensor {
  expectSameShape('bernoulliLogLikelihood logits (must match x)', x, logits);
  return tf.tidy(() => reduce(tf.neg(sumPerExample(binaryCrossEntropyElements(logits, x))), reduction));
}

/**
 * log N(x; mean, e^logVar) with diagonal covariance, per example (summed over every axis but
 * the first), including the −½ log 2π term:
 * −½ Σ [log 2π + logVar + (x − mean)² e^(−logVar)].
 * `logVar` has x's shape or broadcasts to it (e.g. [features] or a scalar for a shared
 * variance). Default reduction 'none' ([batch]).
 */
export function gaussianLogLikelihood(x: tf.Tensor, mean: tf.Tensor, logVar: tf.Tensor, reduction?: 'none'): tf.Tensor1D;
/** The log-likelihood folded over the batch: a scalar. */
export function gaussianLogLikelihood(x: tf.Tensor, mean: tf.Tensor, logVar: tf.Tensor, reduction: ScalarReduction): tf.Scalar;
/** With a reduction known only at run time. */
export function gaussianLogLikelihood(x: tf.Tensor, mean: tf.Tensor, logVar: tf.Tensor, reduction?: Reduction): tf.Tensor;
export function gaussianLogLikelihood(
  x: tf.Tensor,
  mean: tf.Tensor,
  logVar: tf.Tensor,
  reduction: Reduction = 'none',
): tf.Tensor {
  expectSameShape('gaussianLogLikelihood mean (must match x)', x, mean);
  if (!broadcastsTo(logVar.shape, x.shape)) {
    throw new ShapeError('gaussianLogLikelihood logVar', `x's shape [${x.shape.join(', ')}] or one that broadcasts to it`, logVar.shape);
  }
  return tf.tidy(() => reduce(sumPerExample(gaussianLogDensityElements(x, mean, logVar)), reduction));
}
