import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { safeShift } from './log-mean-exp.js';

/** Options of {@link importanceWeightedLogMean}. */
export interface ImportanceWeightingOptions {
  /** Number of importance samples k per example (IWAE's k, or AIS's number of chains). */
  total: number;
  /** Samples per call of `logWeights`; peak memory scales with chunkSize × batch, not with total. */
  chunkSize: number;
  /**
   * The log-weights log w = log p̃(x, z) − log q(z) of samples [start, start + count) for every
   * example, as a [count, batch] tensor (batch fixed across calls; 1 for a single normalizer such
   * as an RBM's log Z). It runs inside a `tf.tidy`: every tensor it creates, the returned one
   * included, is released once its chunk is folded in; tensors it did not create (parameters,
   * the data batch) are left alone.
   */
  logWeights: (start: number, count: number) => tf.Tensor;
}

/**
 * The result of {@link importanceWeightedLogMean}: three [batch] tensors the caller owns. An
 * example whose weights are all zero (log-weights −∞) gets logMean −∞, ESS 0 and error +∞.
 */
export interface ImportanceWeightedLogMean {
  /**
   * log (1/k) Σ w_i per example. Its expectation is at most log E[w] = log Z (Jensen), so for
   * IWAE it is a stochastic lower bound on log p(x) that tightens as k grows (Burda et al. 2016,
   * theorem 1), and for AIS a stochastic lower bound on log Z (Neal 2001; Grosse et al. 2015).
   */
  logMean: tf.Tensor1D;
  /**
   * (Σ w)² / Σ w², between 1 (one sample carries all the weight) and k (equal weights): how many
   * independent samples from the target the weighted set is worth (Kong 1992). Far below k means
   * the proposal fits the target badly and `standardError` is not to be trusted.
   */
  effectiveSampleSize: tf.Tensor1D;
  /**
   * The delta-method standard error of `logMean`: sd(w) / (√k · mean(w)), with the sample
   * variance (divisor k − 1). In terms of the other outputs it is √((k / ESS − 1) / (k − 1)),
   * which is how it is computed (shift-invariant, so it never leaves the log domain). It
   * measures the spread of the estimate, not its bias, and it is itself estimated from the
   * weights: with heavy-tailed weights (low ESS) it is typically too small. NaN when k = 1.
   */
  standardError: tf.Tensor1D;
}

interface RunningSums {
  /** Largest log-weight seen so far per example (−∞ before any finite one). */
  max: tf.Tensor1D;
  /** Σ exp(log w − shift) and Σ exp(2 (log w − shift)), shift = safeShift(max). */
  sum: tf.Tensor1D;
  sumSquares: tf.Tensor1D;
}

function positiveInteger(field: string, value: number): void {
  if (!(Number.isInteger(value) && value > 0)) throw new ConfigError(field, 'a positive integer', value);
}

/**
 * Streams k importance weights per example through fixed-size chunks and returns
 * log (1/k) Σ w, the effective sample size and the standard error of the log estimate, without
 * ever holding all k × batch weights: IWAE evaluation with k = 5,000 (Burda et al. 2016) and AIS
 * with thousands of chains (Neal 2001) share it. Per example it keeps the running max log-weight
 * m and the sums Σ e^(log w − m), Σ e^(2(log w − m)), rescaled whenever m grows, so the result
 * matches `logMeanExp` over all weights at once to float32 rounding, whatever the chunk
 * size. Meant for evaluation: under a gradient tape (tf.variableGrads) the result is still
 * differentiable, but the tape then records every chunk, so memory is no longer bounded by the
 * chunk size (to train an IWAE with small k, take `logMeanExp` over the sample axis).
 */
export function importanceWeightedLogMean(options: ImportanceWeightingOptions): ImportanceWeightedLogMean {
  const { total, chunkSize, logWeights } = options;
  positiveInteger('importanceWeightedLogMean total', total);
  positiveInteger('importanceWeightedLogMean chunkSize', chunkSize);
  if (typeof logWeights !== 'function') {
    throw new ConfigError('importanceWeightedLogMean logWeights', 'a function (start, count) => [count, batch] tensor', logWeights);
  }
  let state: RunningSums | null = null;
  try {
    for (let start = 0; start < total; start += chunkSize) {
      const count = Math.min(chunkSize, total - start);
      const previous: RunningSums | null = state;
      const next: RunningSums = tf.tidy(() => {
        const raw = logWeights(start, count);
        const batch = previous ? (previous.max.shape[0] as number) : null;
        if (!(raw instanceof tf.Tensor) || raw.rank !== 2 || raw.shape[0] !== count || (batch !== null && raw.shape[1] !== batch)) {
          throw new ShapeError(
            `importanceWeightedLogMean logWeights(${start}, ${count})`,
            [count, batch],
            raw instanceof tf.Tensor ? raw.shape : [],
            'Return one row of log-weights per sample and one column per example, the same examples in every chunk.',
          );
        }
        const w = raw.dtype === 'float32' ? raw : tf.cast(raw, 'float32');
        const chunkMax = tf.max(w, 0) as tf.Tensor1D;
        const max = previous ? (tf.maximum(previous.max, chunkMax) as tf.Tensor1D) : chunkMax;
        const shift = safeShift(max);
        const scaled = tf.exp(tf.sub(w, shift));
        let sum = tf.sum(scaled, 0) as tf.Tensor1D;
        let sumSquares = tf.sum(tf.square(scaled), 0) as tf.Tensor1D;
        if (previous) {
          // The old sums are relative to the old shift; e^(old shift − new shift) ≤ 1 moves them to
          // the new one. Before any finite weight the sums are 0 and the factor is set to 0, since
          // e^(0 − new shift) could overflow and make 0·∞.
          const factor = tf.where(
            tf.isFinite(previous.max),
            tf.exp(tf.sub(safeShift(previous.max), shift)),
            tf.zerosLike(previous.max),
          );
          sum = tf.add(sum, tf.mul(previous.sum, factor));
          sumSquares = tf.add(sumSquares, tf.mul(previous.sumSquares, tf.square(factor)));
        }
        return { max, sum, sumSquares };
      });
      if (previous) tf.dispose([previous.max, previous.sum, previous.sumSquares]);
      state = next;
    }
    const final = state as RunningSums;
    return tf.tidy(() => {
      const k = total;
      const finite = tf.isFinite(final.max);
      const shift = safeShift(final.max);
      const safeSum = tf.where(finite, final.sum, tf.onesLike(final.sum));
      const logMean = tf.where(finite, tf.sub(tf.add(tf.log(safeSum), shift), Math.log(k)), tf.floor(final.max)) as tf.Tensor1D;
      const effectiveSampleSize = tf.where(
        finite,
        tf.div(tf.square(final.sum), final.sumSquares),
        tf.zerosLike(final.sum),
      ) as tf.Tensor1D;
      // var(w)/(k mean(w)²) with the unbiased variance reduces to (k Σw²/(Σw)² − 1)/(k − 1);
      // rounding can push it a hair below 0 when all weights are equal, hence the relu.
      const relativeVariance = tf.div(tf.relu(tf.sub(tf.div(k, effectiveSampleSize), 1)), k - 1);
      const standardError = tf.sqrt(relativeVariance) as tf.Tensor1D;
      return { logMean, effectiveSampleSize, standardError };
    });
  } finally {
    if (state) tf.dispose([state.max, state.sum, state.sumSquares]);
  }
}
