import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  createOptimizer,
  Rng,
  train,
  type Logs,
  type OptimizerConfig,
  type ParamContainer,
  type TrainHistory,
  type TrainingCallback,
} from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, rejectUnknownKeys } from '../rbm/config.js';

/** Options of the backprop fine-tuning of an unrolled DBN (`fineTuneAutoencoder`, `fineTuneClassifier`). */
export interface FineTuneOptions {
  /** Epoch to end before (exclusive). */
  epochs: number;
  /** Examples per update (default 100). */
  batchSize?: number;
  /** Core optimizer config (default `{ kind: 'adam', learningRate: 1e-3 }`). */
  optimizer?: OptimizerConfig;
  /** Seed of the epoch orders (default 0). */
  seed?: number;
  callbacks?: TrainingCallback[];
  signal?: AbortSignal;
}

export const FINE_TUNE_KEYS = ['epochs', 'batchSize', 'optimizer', 'seed', 'callbacks', 'signal'];

export interface BackpropRun {
  params: ParamContainer;
  /** Examples in the training set. */
  examples: number;
  options: FineTuneOptions;
  /** Extra option keys the caller accepts (validated by the caller). */
  extraKeys: readonly string[];
  /** The mean loss of the examples `ids` (int32 row indices), a scalar computed from the params. */
  loss: (ids: tf.Tensor1D) => tf.Scalar;
  /** Metrics after each epoch (validation loss, accuracy). */
  validation?: () => Promise<Logs>;
}

/**
 * Minibatch backprop with core's optimizer and training loop, shared by the unrolled
 * autoencoder and classifier. The optimizer lives for this call only.
 */
export async function trainByBackprop(run: BackpropRun): Promise<TrainHistory> {
  const { options } = run;
  if (options === null || typeof options !== 'object') throw new ConfigError('fine-tuning options', 'an object with epochs', options);
  rejectUnknownKeys('fine-tuning options', options, [...FINE_TUNE_KEYS, ...run.extraKeys]);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 100);
  const seed = nonNegativeInteger('seed', options.seed ?? 0);
  const n = run.examples;
  const optimizer = createOptimizer(options.optimizer ?? { kind: 'adam', learningRate: 1e-3 }, run.params);
  function* batches(epoch: number): Iterable<tf.Tensor1D> {
    const order = new Rng(seed * 1_000_003 + epoch + 11).permutation(n);
    for (let start = 0; start < n; start += batchSize) {
      yield tf.tensor1d(order.subarray(start, Math.min(n, start + batchSize)), 'int32');
    }
  }
  try {
    return await train<tf.Tensor1D>({
      epochs: options.epochs,
      batches,
      step: (ids) => ({ loss: optimizer.minimize(() => run.loss(ids)) }),
      ...(run.validation ? { validation: run.validation } : {}),
      ...(options.callbacks ? { callbacks: options.callbacks } : {}),
      ...(options.signal ? { signal: options.signal } : {}),
    });
  } finally {
    optimizer.dispose();
  }
}

/** Mean over the rows of `x` of a per-row quantity, in chunks, read back as a number. */
export async function chunkedMean(x: tf.Tensor2D, perRow: (rows: tf.Tensor2D, start: number) => tf.Tensor1D, chunk = 1000): Promise<number> {
  const n = x.shape[0];
  if (n === 0) throw new ConfigError('data', 'at least one example', x.shape);
  let total = 0;
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const sum = tf.tidy(() => tf.sum(perRow(tf.slice(x, [start, 0], [size, x.shape[1]]), start)));
    total += (await sum.data())[0] as number;
    sum.dispose();
  }
  return total / n;
}
