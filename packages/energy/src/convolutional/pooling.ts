import * as tf from '@tensorflow/tfjs-core';
import { logSumExp, type Rng } from '@helmholtz/core';

// Probabilistic max-pooling (Lee, Grosse, Ranganath & Ng 2009, sec. 3.3). The detection units
// of one filter are cut into disjoint p × p blocks; in each block at most one unit is on, and
// the block's pooling unit is on exactly when one of them is. Given the visible layer the blocks
// are independent, each a softmax over p² + 1 outcomes (one unit on, or none) whose logits are
// the units' inputs I and a 0 for "all off":
//   p(h_i = 1 | v) = exp(I_i) / (1 + Σ_block exp(I)),   p(pool off | v) = 1 / (1 + Σ_block exp(I)).
//
// The block layout used throughout: a [N, H', W', K] detection tensor becomes [p², M], one column
// per block (M = N · H'/p · W'/p · K, in the row-major order of the pooling layer [N, H'/p,
// W'/p, K]) and one row per position in the block. spaceToBatchND makes exactly that layout (the
// block offset becomes the leading batch index) in one kernel on every backend, and all the
// per-block work is then a reduction or a scan along axis 0 of a matrix.

/** The shape [N, H', W', K] of a detection tensor, H' and W' divisible by p. */
type DetectionShape = [number, number, number, number];

const NO_PADDING: [number, number][] = [
  [0, 0],
  [0, 0],
];

/** Detection-layer values [N, H', W', K] as blocks [p², M]. */
export function toBlocks(x: tf.Tensor4D, poolSize: number): tf.Tensor2D {
  const p2 = poolSize * poolSize;
  return tf.tidy(() => {
    const spread = poolSize === 1 ? x : tf.spaceToBatchND(x, [poolSize, poolSize], NO_PADDING);
    return tf.reshape(spread, [p2, x.size / p2]);
  });
}

/** The inverse of {@link toBlocks}: blocks [p², M] back to the detection layer `shape`. */
export function fromBlocks(blocks: tf.Tensor2D, shape: DetectionShape, poolSize: number): tf.Tensor4D {
  const [n, height, width, k] = shape;
  return tf.tidy(() => {
    if (poolSize === 1) return tf.reshape(blocks, shape);
    const stacked = tf.reshape(blocks, [poolSize * poolSize * n, height / poolSize, width / poolSize, k]);
    return tf.batchToSpaceND(stacked, [poolSize, poolSize], NO_PADDING) as tf.Tensor4D;
  });
}

/** Per-block values [M] as the pooling layer [N, H'/p, W'/p, K] of a detection layer `shape`. */
export function poolingLayer(values: tf.Tensor1D, shape: DetectionShape, poolSize: number): tf.Tensor4D {
  const [n, height, width, k] = shape;
  return tf.reshape(values, [n, height / poolSize, width / poolSize, k]);
}

/**
 * log(1 + Σ_block exp(I)) for each block [M], from the detection inputs as blocks [p², M]: the
 * log of the block's partition sum over its p² + 1 allowed states, with the "all off" state as
 * a zero logit. Core's logSumExp subtracts the largest logit first, so inputs of ±1000 neither
 * overflow nor lose the 1.
 */
export function blockLogNormaliser(logits: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => logSumExp(tf.concat([logits, tf.zeros([1, logits.shape[1]])], 0), 0) as tf.Tensor1D);
}

/** p(h_i = 1 | v) for each unit of each block [p², M], from the inputs as blocks and their normalisers. */
export function blockProbabilities(logits: tf.Tensor2D, logNormaliser: tf.Tensor1D): tf.Tensor2D {
  return tf.tidy(() => tf.exp(tf.sub(logits, logNormaliser)) as tf.Tensor2D);
}

/**
 * One draw per block from its p² + 1 outcomes, given the units' probabilities as blocks
 * [p², M]: a one-hot column for "unit i on", or a zero column for "all off". One uniform u per
 * block picks the first i whose cumulative probability exceeds u. The cumulative sums of
 * non-negative numbers never decrease (in floating point too), so the indicators [u < cum_i]
 * step from 0 to 1 at most once down a column, and their differences are one-hot or zero: no
 * block ever has two units on, whatever the rounding.
 */
export function sampleBlocks(probabilities: tf.Tensor2D, rng: Rng): tf.Tensor2D {
  const [p2, m] = probabilities.shape;
  return tf.tidy(() => {
    const u = rng.uniform([1, m]);
    const below = tf.cast(tf.less(u, tf.cumsum(probabilities, 0)), 'float32') as tf.Tensor2D;
    if (p2 === 1) return below;
    const previous = tf.concat([tf.zeros([1, m]), tf.slice(below, [0, 0], [p2 - 1, m])], 0);
    return tf.sub(below, previous) as tf.Tensor2D;
  });
}
