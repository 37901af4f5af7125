import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DataError } from '@helmholtz/core';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';

/** Rows per free-energy batch: bounds the [rows, hidden] intermediates whatever the data's size. */
const DEFAULT_BATCH = 1000;

function batchRows(batchSize: number | undefined): number {
  const rows = batchSize ?? DEFAULT_BATCH;
  if (!Number.isInteger(rows) || rows < 1) throw new ConfigError('batchSize', 'a positive integer number of examples per batch', batchSize);
  return rows;
}

/** −F(x) of each row, in batches, read back as float64 (the caller averages in JS). */
export async function negativeFreeEnergies(rbm: RestrictedBoltzmannMachine, x: tf.Tensor2D, batchSize?: number): Promise<Float64Array> {
  rbm.checkVisible(x, 'free energy data');
  const rows = batchRows(batchSize);
  const n = x.shape[0];
  const out = new Float64Array(n);
  for (let start = 0; start < n; start += rows) {
    const size = Math.min(rows, n - start);
    const f = tf.tidy(() => rbm.freeEnergy(start === 0 && size === n ? x : (tf.slice(x, [start, 0], [size, rbm.visible]) as tf.Tensor2D)));
    const values = await f.data();
    f.dispose();
    for (let i = 0; i < size; i++) out[start + i] = -(values[i] as number);
  }
  return out;
}

/**
 * Throws a DataError unless every entry of `x` is 0 or 1: a Bernoulli RBM's likelihood is a
 * probability of binary vectors, and the free energy of grey levels gives a number that means
 * nothing (binarize first, and record how in the protocol).
 */
export async function checkBinaryData(x: tf.Tensor2D, what: string): Promise<void> {
  const stats = tf.tidy(() => tf.stack([tf.max(tf.abs(tf.mul(x, tf.sub(1, x)))), tf.min(x), tf.max(x)]));
  const [offBinary, low, high] = await stats.data();
  stats.dispose();
  if (!(offBinary === 0)) {
    throw new DataError(
      what,
      `expected binary values (0 or 1) for a Bernoulli RBM's log-likelihood, got values from ${low} to ${high} that are not all 0 or 1. ` +
        'Binarize the data (e.g. fixed stochastic binarization or a threshold) and name the scheme in options.data.binarization',
    );
  }
}

/**
 * The mean log-likelihood (1/N) Σ_n [−F(x_n) − log Z] of the rows of `x` for a given log Z (from
 * `exactLogPartition` or `ais`), in batches of `batchSize` rows (default 1,000); the free
 * energies are float32 on the device, the mean is taken in float64.
 */
export async function averageLogLikelihood(rbm: RestrictedBoltzmannMachine, x: tf.Tensor2D, logZ: number, options: { batchSize?: number } = {}): Promise<number> {
  if (typeof logZ !== 'number' || !Number.isFinite(logZ)) throw new ConfigError('logZ', 'a finite log partition function', logZ);
  rbm.checkVisible(x, 'averageLogLikelihood x');
  if (x.shape[0] === 0) throw new ConfigError('averageLogLikelihood x', 'at least one example', x.shape);
  const negF = await negativeFreeEnergies(rbm, x, options.batchSize);
  let sum = 0;
  for (const v of negF) sum += v;
  return sum / negF.length - logZ;
}
