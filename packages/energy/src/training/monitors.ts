import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, toRng, type RngLike } from '@helmholtz/core';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';

/** Rows per chunk of the monitors, so a large set never needs more than this many rows of work at once. */
const CHUNK = 1000;

async function chunkedMean(x: tf.Tensor2D, perRow: (rows: tf.Tensor2D) => tf.Tensor1D): Promise<number> {
  const n = x.shape[0];
  if (n === 0) throw new ConfigError('monitor data', 'at least one example', x.shape);
  let total = 0;
  for (let start = 0; start < n; start += CHUNK) {
    const size = Math.min(CHUNK, n - start);
    const sum = tf.tidy(() => tf.sum(perRow(tf.slice(x, [start, 0], [size, x.shape[1]]))));
    total += (await sum.data())[0] as number;
    sum.dispose();
  }
  return total / n;
}

/**
 * Mean over examples of Σ_i (x_i − E[v_i | h = p(h | x)])²: the squared error of the mean-field
 * reconstruction. Easy to compute and a poor measure of the likelihood (Hinton 2010, sec. 5):
 * it watches that learning runs, not how good the model is.
 */
export function reconstructionError(rbm: RestrictedBoltzmannMachine, x: tf.Tensor2D): Promise<number> {
  rbm.checkVisible(x, 'reconstructionError');
  return chunkedMean(x, (rows) => tf.sum(tf.square(tf.sub(rows, rbm.reconstruct(rows))), 1) as tf.Tensor1D);
}

/**
 * Stochastic pseudo-log-likelihood of binary data, the monitor of scikit-learn and the Theano
 * tutorial: for each example one unit i is drawn at random and
 *   PL(x) ≈ V · log σ(F(x̃) − F(x)),
 * x̃ being x with unit i flipped, an unbiased estimate of Σ_i log p(x_i | x_{−i}) (Besag 1975).
 * Mean over examples, in nats. Binary visible units only.
 */
export function pseudoLikelihood(rbm: RestrictedBoltzmannMachine, x: tf.Tensor2D, rng?: RngLike): Promise<number> {
  rbm.checkVisible(x, 'pseudoLikelihood');
  if (!rbm.binaryVisible) throw new ConfigError('pseudoLikelihood model', 'an RBM with binary visible units', rbm.kind);
  const generator = toRng(rng);
  const visible = rbm.visible;
  return chunkedMean(x, (rows) => {
    const n = rows.shape[0];
    const picks = new Int32Array(n);
    for (let r = 0; r < n; r++) picks[r] = generator.int(visible);
    const mask = tf.oneHot(tf.tensor1d(picks, 'int32'), visible);
    // Flip: x̃ = x + mask − 2 x·mask.
    const flipped = tf.sub(tf.add(rows, mask), tf.mul(tf.mul(rows, mask), 2)) as tf.Tensor2D;
    const gap = tf.sub(rbm.freeEnergy(flipped), rbm.freeEnergy(rows));
    return tf.mul(tf.logSigmoid(gap), visible) as tf.Tensor1D;
  });
}

/** Mean free energy over examples, F(x) = −log Σ_h exp(−E(x, h)). */
export function meanFreeEnergy(rbm: RestrictedBoltzmannMachine, x: tf.Tensor2D): Promise<number> {
  rbm.checkVisible(x, 'meanFreeEnergy');
  return chunkedMean(x, (rows) => rbm.freeEnergy(rows));
}

/**
 * The overfitting signal of Hinton's guide (2010, sec. 6): mean F(validation) − mean F(training
 * subset). Both sets should be the same size and from the same distribution; the gap stays near
 * 0 while the model generalises and grows when it starts to fit the training set only
 * (log p ratios do not need Z, which cancels).
 */
export async function freeEnergyGap(rbm: RestrictedBoltzmannMachine, training: tf.Tensor2D, validation: tf.Tensor2D): Promise<number> {
  return (await meanFreeEnergy(rbm, validation)) - (await meanFreeEnergy(rbm, training));
}
