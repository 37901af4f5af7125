import * as tf from '@tensorflow/tfjs-core';
import { expectSameShape } from '../layers/shape-check.js';
import { reduce, sumPerExample, type Reduction, type ScalarReduction } from './reduction.js';

/**
 * KL(N(mu1, e^logVar1) ‖ N(mu2, e^logVar2)) between diagonal Gaussians, per example, summed
 * over every axis but the first:
 * ½ Σ [logVar2 − logVar1 + (e^logVar1 + (mu1 − mu2)²) / e^logVar2 − 1].
 * Default reduction 'none' ([batch]); 'mean'/'sum' fold the batch.
 */
export function klDiagonalGaussians(
  mu1: tf.Tensor,
  logVar1: tf.Tensor,
  mu2: tf.Tensor,
  logVar2: tf.Tensor,
  reduction?: 'none',
): tf.Tensor1D;
/** The KL folded over the batch: a scalar. */
export function klDiagonalGaussians(
  mu1: tf.Tensor,
  logVar1: tf.Tensor,
  mu2: tf.Tensor,
  logVar2: tf.Tensor,
  reduction: ScalarReduction,
): tf.Scalar;
/** With a reduction known only at run time. */
export function klDiagonalGaussians(
  mu1: tf.Tensor,
  logVar1: tf.Tensor,
  mu2: tf.Tensor,
  logVar2: tf.Tensor,
  reduction?: Reduction,
): tf.Tensor;
export function klDiagonalGaussians(
  mu1: tf.Tensor,
  logVar1: tf.Tensor,
  mu2: tf.Tensor,
  logVar2: tf.Tensor,
  reduction: Reduction = 'none',
): tf.Tensor {
  expectSameShape('klDiagonalGaussians logVar1 (must match mu1)', mu1, logVar1);
  expectSameShape('klDiagonalGaussians mu2 (must match mu1)', mu1, mu2);
  expectSameShape('klDiagonalGaussians logVar2 (must match mu1)', mu1, logVar2);
  return tf.tidy(() => {
    const ratio = tf.mul(tf.add(tf.exp(logVar1), tf.squaredDifference(mu1, mu2)), tf.exp(tf.neg(logVar2)));
    const terms = tf.sub(tf.add(tf.sub(logVar2, logVar1), ratio), 1);
    return reduce(tf.mul(sumPerExample(terms), 0.5), reduction);
  });
}

/**
 * KL(N(mu, e^logVar) ‖ N(0, I)), the VAE regulariser (Kingma & Welling 2014, appendix B),
 * per example: −½ Σ (1 + logVar − mu² − e^logVar). Default reduction 'none' ([batch]).
 */
export function klStandardNormal(mu: tf.Tensor, logVar: tf.Tensor, reduction?: 'none'): tf.Tensor1D;
/** The KL folded over the batch: a scalar. */
export function klStandardNormal(mu: tf.Tensor, logVar: tf.Tensor, reduction: ScalarReduction): tf.Scalar;
/** With a reduction known only at run time. */
export function klStandardNormal(mu: tf.Tensor, logVar: tf.Tensor, reduction?: Reduction): tf.Tensor;
export function klStandardNormal(mu: tf.Tensor, logVar: tf.Tensor, reduction: Reduction = 'none'): tf.Tensor {
  expectSameShape('klStandardNormal logVar (must match mu)', mu, logVar);
  return tf.tidy(() => {
    const terms = tf.sub(tf.add(tf.exp(logVar), tf.square(mu)), tf.add(logVar, 1));
    return reduce(tf.mul(sumPerExample(terms), 0.5), reduction);
  });
}
