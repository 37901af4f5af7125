import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DataError, ShapeError } from '@helmholtz/core';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';

/** Options of {@link baseRateVisibleBias}. */
export interface BaseRateOptions {
  /**
   * Pseudo-count added to the ones and to the zeros of each binary pixel before its mean is
   * taken (default 1), so that a pixel never on in the data gets a large finite negative bias
   * rather than −∞.
   */
  smoothing?: number;
}

/**
 * The visible biases of AIS's base-rate model (Salakhutdinov & Murray 2008, sec. 4.2): a model
 * with no weights whose visible units are independent with the data's marginals, so that the
 * first annealing distributions already put their mass near the data.
 *
 * Binary units: b_i = log(p_i / (1 − p_i)) with p_i = (Σ_n x_ni + α) / (N + 2α), the smoothed
 * pixel means (α = `smoothing`). Without data the biases are 0 (the uniform distribution), which
 * is valid but needs more temperatures for the same accuracy.
 *
 * Gaussian units: the data's mean per unit (the base model being N(mean, σ²) with the RBM's own
 * σ). Without data, the RBM's visible biases.
 *
 * The base model changes only the variance of AIS and RAISE, never what they estimate: any
 * data (training or test) may be used. Returns a `[visible]` tensor the caller owns.
 */
export async function baseRateVisibleBias(
  rbm: RestrictedBoltzmannMachine,
  data?: tf.Tensor2D,
  options: BaseRateOptions = {},
): Promise<tf.Tensor1D> {
  const smoothing = options.smoothing ?? 1;
  if (typeof smoothing !== 'number' || !Number.isFinite(smoothing) || smoothing <= 0) {
    throw new ConfigError('baseRateSmoothing', 'a pseudo-count > 0 (default 1)', smoothing);
  }
  if (data === undefined) {
    return rbm.binaryVisible ? tf.zeros([rbm.visible]) : tf.clone(rbm.params.visibleBias);
  }
  if (!(data instanceof tf.Tensor)) throw new ConfigError('baseRateFrom', `a [n, ${rbm.visible}] tensor of data`, data);
  if (data.rank !== 2 || data.shape[1] !== rbm.visible || data.shape[0] === 0) {
    throw new ShapeError('baseRateFrom', [null, rbm.visible], data.shape, 'at least one example with one value per visible unit');
  }
  const n = data.shape[0];
  const [range, means] = tf.tidy(() => [tf.stack([tf.min(data), tf.max(data)]), tf.mean(data, 0)]);
  const [low, high] = await range.data();
  range.dispose();
  if (!Number.isFinite(low) || !Number.isFinite(high) || (rbm.binaryVisible && (low! < 0 || high! > 1))) {
    means.dispose();
    const want = rbm.binaryVisible ? 'values in [0, 1] (binary data, or probabilities)' : 'finite values';
    throw new DataError('baseRateFrom', `expected ${want}, got values from ${low} to ${high}`);
  }
  if (!rbm.binaryVisible) return means as tf.Tensor1D;
  return tf.tidy(() => {
    const p = tf.div(tf.add(tf.mul(means, n), smoothing), n + 2 * smoothing);
    means.dispose();
    return tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D;
  });
}
