import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { binaryCrossEntropyFromLogits } from '../../src/losses/binary-cross-entropy.js';
import {
  categoricalCrossEntropyFromLogits,
  sparseCategoricalCrossEntropyFromLogits,
} from '../../src/losses/categorical-cross-entropy.js';
import { klDiagonalGaussians, klStandardNormal } from '../../src/losses/kl-divergence.js';
import { bernoulliLogLikelihood, gaussianLogLikelihood } from '../../src/losses/log-likelihood.js';
import { meanSquaredError } from '../../src/losses/mean-squared-error.js';
import type { Reduction } from '../../src/losses/reduction.js';
import { TEST_BACKENDS, useBackend } from '../../src/testing.js';

// The static half of these checks runs in `tsc --noEmit` (this file is in the tsconfig): an
// overload that returned tf.Tensor for 'mean' would fail the assignments to tf.Scalar and the
// expectTypeOf lines, and an unused @ts-expect-error fails too. The run-time half checks that
// each declared rank is the rank that comes out.

describe.each(TEST_BACKENDS)('loss result types match their ranks on %s', (backend) => {
  it('losses that reduce are tf.Scalar; elementwise "none" keeps the input rank; per-example "none" is tf.Tensor1D', async () => {
    await useBackend(backend);
    const logits = tf.tensor2d([[0.5, -1, 2], [1, 0, -3]]);
    const targets = tf.tensor2d([[1, 0, 1], [0, 0, 1]]);
    const labels = tf.tensor1d([2, 0], 'int32');
    const image = tf.zeros([2, 2, 2, 1]) as tf.Tensor4D;
    const results: tf.Tensor[] = [];
    const keep = <T extends tf.Tensor>(t: T, rank: number): T => {
      expect(t.rank).toBe(rank);
      results.push(t);
      return t;
    };

    // Defaults that reduce, and the explicit scalar reductions.
    const bce: tf.Scalar = keep(binaryCrossEntropyFromLogits(logits, targets), 0);
    const bceSum: tf.Scalar = keep(binaryCrossEntropyFromLogits(logits, targets, 'sum'), 0);
    const mse: tf.Scalar = keep(meanSquaredError(logits, targets), 0);
    const cce: tf.Scalar = keep(categoricalCrossEntropyFromLogits(logits, targets, 'mean'), 0);
    const sparse: tf.Scalar = keep(sparseCategoricalCrossEntropyFromLogits(logits, labels), 0);
    const kl: tf.Scalar = keep(klStandardNormal(logits, targets, 'mean'), 0);
    const klPair: tf.Scalar = keep(klDiagonalGaussians(logits, targets, logits, targets, 'sum'), 0);
    const bern: tf.Scalar = keep(bernoulliLogLikelihood(targets, logits, 'mean'), 0);
    const gauss: tf.Scalar = keep(gaussianLogLikelihood(targets, logits, tf.scalar(0), 'sum'), 0);
    expectTypeOf(bce).toEqualTypeOf<tf.Scalar>();
    expectTypeOf(bceSum).toEqualTypeOf<tf.Scalar>();
    expectTypeOf(meanSquaredError(logits, targets, 'mean')).toEqualTypeOf<tf.Scalar>();
    // A scalar loss feeds tf.variableGrads, which needs () => tf.Scalar, without a cast.
    expectTypeOf(() => meanSquaredError(logits, targets)).toMatchTypeOf<() => tf.Scalar>();
    expectTypeOf([mse, cce, sparse, kl, klPair, bern, gauss]).toEqualTypeOf<tf.Scalar[]>();

    // Elementwise 'none' keeps the rank of the input.
    const bceElements: tf.Tensor2D = keep(binaryCrossEntropyFromLogits(logits, targets, 'none'), 2);
    const mseImage: tf.Tensor4D = keep(meanSquaredError(image, image, 'none'), 4);
    expectTypeOf(bceElements).toEqualTypeOf<tf.Tensor2D>();
    expectTypeOf(mseImage).toEqualTypeOf<tf.Tensor4D>();

    // Per-example quantities: [batch], the default for KL and log-likelihoods.
    const perExample: tf.Tensor1D[] = [
      keep(categoricalCrossEntropyFromLogits(logits, targets, 'none'), 1),
      keep(sparseCategoricalCrossEntropyFromLogits(logits, labels, 'none'), 1),
      keep(klStandardNormal(logits, targets), 1),
      keep(klDiagonalGaussians(logits, targets, logits, targets), 1),
      keep(bernoulliLogLikelihood(image, image), 1),
      keep(gaussianLogLikelihood(image, image, tf.scalar(0), 'none'), 1),
    ];
    expectTypeOf(klStandardNormal(logits, targets)).toEqualTypeOf<tf.Tensor1D>();
    expectTypeOf(bernoulliLogLikelihood(targets, logits, 'none')).toEqualTypeOf<tf.Tensor1D>();
    expect(perExample.every((t) => t.shape[0] === 2)).toBe(true);

    // A reduction known only at run time gives the general type.
    const chosen = 'sum' as Reduction;
    expectTypeOf(meanSquaredError(logits, targets, chosen)).toEqualTypeOf<tf.Tensor>();
    expectTypeOf(klStandardNormal(logits, targets, chosen)).toEqualTypeOf<tf.Tensor>();
    keep(meanSquaredError(logits, targets, chosen), 0);

    // The narrow types refuse the wrong use.
    // @ts-expect-error 'none' is not a scalar
    const notScalar: tf.Scalar = meanSquaredError(logits, targets, 'none');
    // @ts-expect-error per-example values by default, not a scalar
    const notScalarKl: tf.Scalar = klStandardNormal(logits, targets);
    // @ts-expect-error a mean is not per example
    const notPerExample: tf.Tensor1D = bernoulliLogLikelihood(targets, logits, 'mean');
    // @ts-expect-error not a reduction
    expect(() => meanSquaredError(logits, targets, 'max')).toThrow(/"reduction"/);
    results.push(notScalar, notScalarKl, notPerExample);

    tf.dispose([logits, targets, labels, image, ...results]);
  });
});
