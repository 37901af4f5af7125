import * as tf from '@tensorflow/tfjs-core';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';

/**
 * Sets the visible biases from the data, the start Hinton recommends (2010, sec. 8): for binary
 * units log(p_i / (1 − p_i)) of each unit's mean activation p_i (clipped to [1e-3, 1 − 1e-3], so an
 * always-off pixel gets a finite bias), for Gaussian units the data mean. With zero weights the
 * RBM then starts as the data's independent-unit (base-rate) model.
 */
export function initVisibleBiasFromData(rbm: RestrictedBoltzmannMachine, data: tf.Tensor2D): void {
  rbm.checkVisible(data, 'initVisibleBiasFromData data');
  tf.tidy(() => {
    const mean = tf.mean(data, 0);
    if (rbm.binaryVisible) {
      const p = tf.clipByValue(mean, 1e-3, 1 - 1e-3);
      rbm.params.visibleBias.assign(tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D);
    } else {
      rbm.params.visibleBias.assign(mean as tf.Tensor1D);
    }
  });
}
