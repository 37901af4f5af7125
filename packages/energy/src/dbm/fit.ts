import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, gatherRows, Rng, train, type Logs, type TrainHistory, type TrainingCallback } from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, rejectUnknownKeys } from '../rbm/config.js';
import type { DBM, MeanFieldOptions } from './dbm.js';
import { createDbmTrainer, DBM_TRAINER_KEYS, type DbmTrainer, type DbmTrainerOptions } from './trainer.js';

/** Options of {@link fitDbm}; the trainer options apply unless `trainer` is given. */
export interface FitDbmOptions extends DbmTrainerOptions {
  /** Epoch to end before (exclusive). */
  epochs: number;
  /** Examples per update (default 100). */
  batchSize?: number;
  /** Seed of the epoch orders and of the trainer's draws (default 0). */
  seed?: number;
  /** Examples of the per-epoch monitor, from the start of the data (default 1000; 0 turns it off). */
  monitorExamples?: number;
  /** Mean-field options of the per-epoch monitor (default: tolerance 1e-5, at most 100 sweeps). */
  monitorMeanField?: MeanFieldOptions;
  /**
   * Set the visible biases so that p(v_i = 1) with no hidden input is the data's mean of pixel i
   * (smoothed log-odds, Hinton 2010 sec. 8.1) and, for a centred DBM, the visible offsets to the
   * data's mean. Default false: `pretrainDbm` has set them already; set it for a DBM trained from
   * scratch.
   */
  initVisibleBias?: boolean;
  /** A trainer to continue with (resuming); its options win over the ones here. */
  trainer?: DbmTrainer;
  /** Epoch to start at when resuming (with `initialStep`). */
  initialEpoch?: number;
  initialStep?: number;
  callbacks?: TrainingCallback[];
  signal?: AbortSignal;
}

export interface FitDbmResult {
  history: TrainHistory;
  trainer: DbmTrainer;
}

const FIT_KEYS = ['epochs', 'batchSize', 'seed', 'monitorExamples', 'monitorMeanField', 'initVisibleBias', 'trainer', 'initialEpoch', 'initialStep', 'callbacks', 'signal'];

/**
 * Sets the visible biases from `data` (and, for a centred DBM, the visible offsets to its mean):
 * b̃_0 = log(p / (1 − p)) with p the pixel means smoothed by one pseudo-count each way.
 */
export function initDbmVisibleFromData(dbm: DBM, data: tf.Tensor2D): void {
  dbm.checkLayer(data, 0, 'initDbmVisibleFromData data');
  const n = data.shape[0];
  if (n === 0) throw new ConfigError('initDbmVisibleFromData data', 'at least one example', data.shape);
  const mean = tf.mean(data, 0) as tf.Tensor1D;
  try {
    if (dbm.centered) dbm.setOffsets(dbm.layers.map((_, l) => (l === 0 ? mean : null)));
    const logit = tf.tidy(() => {
      const p = tf.div(tf.add(tf.mul(mean, n), 1), n + 2);
      return tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D;
    });
    dbm.setEffectiveBiases(dbm.layers.map((_, l) => (l === 0 ? logit : null)));
    logit.dispose();
  } finally {
    mean.dispose();
  }
}

/**
 * Mean over the rows of `x` of Σ_i (x_i − p(v_i = 1 | h1 = μ_1))², μ_1 from mean-field inference
 * run to its tolerance: the reconstruction-style monitor of DBM training.
 */
export async function dbmReconstructionError(dbm: DBM, x: tf.Tensor2D, options: MeanFieldOptions = {}): Promise<number> {
  dbm.checkLayer(x, 0, 'dbmReconstructionError');
  if (x.shape[0] === 0) throw new ConfigError('dbmReconstructionError x', 'at least one example', x.shape);
  const { layers } = dbm.meanField(x, options);
  const total = tf.tidy(() => tf.sum(tf.square(tf.sub(x, dbm.visibleProbabilities(layers[0] as tf.Tensor2D)))));
  tf.dispose(layers);
  const value = (await total.data())[0] as number;
  total.dispose();
  return value / x.shape[0];
}

/**
 * Trains a DBM on binary `data` `[n, visible]` by variational stochastic maximum likelihood
 * ({@link DbmTrainer}) with core's training loop: shuffled minibatches each epoch, one update
 * per batch, the per-update `updateReconstructionError` averaged per epoch and, per epoch,
 * `reconstructionError` with mean field run to its tolerance on up to `monitorExamples` examples.
 * Unless `learningRate` is given, it decays linearly from 0.005 to 0 over the run, as
 * Salakhutdinov & Hinton (2009) let it; the default momentum goes from 0.5 to 0.9 after 5 epochs.
 *
 * ```ts no-run
 * const dbm = new DBM({ layers: [784, 500, 1000], seed: 1 });
 * await pretrainDbm(dbm, train, { epochs: 10 });
 * const { history, trainer } = await fitDbm(dbm, train, { epochs: 50, batchSize: 100 });
 * ```
 */
export async function fitDbm(dbm: DBM, data: tf.Tensor2D, options: FitDbmOptions): Promise<FitDbmResult> {
  if (options === null || typeof options !== 'object') throw new ConfigError('fitDbm options', 'an object with epochs', options);
  // Checked here too: with a trainer given, no new trainer would see (and refuse) a misspelt key.
  rejectUnknownKeys('fitDbm options', options, [...FIT_KEYS, ...DBM_TRAINER_KEYS]);
  dbm.checkLayer(data, 0, 'fitDbm data');
  const n = data.shape[0];
  if (n === 0) throw new ConfigError('fitDbm data', 'at least one example', data.shape);
  const epochs = nonNegativeInteger('epochs', options.epochs);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 100);
  const seed = nonNegativeInteger('seed', options.seed ?? 0);
  const monitorExamples = nonNegativeInteger('monitorExamples', options.monitorExamples ?? 1000);
  const batchesPerEpoch = Math.ceil(n / batchSize);
  const trainerOptions: DbmTrainerOptions = Object.fromEntries(Object.entries(options).filter(([k]) => !FIT_KEYS.includes(k)));
  if (trainerOptions.learningRate === undefined) {
    const steps = Math.max(1, (epochs - (options.initialEpoch ?? 0)) * batchesPerEpoch);
    trainerOptions.learningRate = { kind: 'linear', from: 0.005, to: 0, steps };
  }
  if (trainerOptions.optimizer !== 'sgd' && trainerOptions.momentum === undefined && trainerOptions.momentumSwitch === undefined) {
    trainerOptions.momentumSwitch = 5 * batchesPerEpoch;
  }
  if (trainerOptions.rng === undefined) trainerOptions.rng = new Rng(seed).nextSeed();
  const trainer = options.trainer ?? createDbmTrainer(dbm, trainerOptions);
  if (options.initVisibleBias) initDbmVisibleFromData(dbm, data);
  const monitorCount = Math.min(monitorExamples, n);
  const monitorSet = monitorCount > 0 ? tf.slice(data, [0, 0], [monitorCount, dbm.visible]) : null;

  function* batches(epoch: number): Iterable<tf.Tensor2D> {
    const order = new Rng(seed * 1_000_003 + epoch + 7).permutation(n);
    for (let start = 0; start < n; start += batchSize) {
      const ids = order.subarray(start, Math.min(n, start + batchSize));
      yield tf.tidy(() => gatherRows(data, tf.tensor1d(ids, 'int32')));
    }
  }

  async function monitors(): Promise<Logs> {
    return monitorSet ? { reconstructionError: await dbmReconstructionError(dbm, monitorSet, options.monitorMeanField ?? {}) } : {};
  }

  try {
    const history = await train<tf.Tensor2D>({
      epochs,
      initialEpoch: options.initialEpoch,
      initialStep: options.initialStep,
      batches,
      step: (batch) => ({ updateReconstructionError: trainer.step(batch).reconstructionError }),
      validation: monitorSet ? monitors : undefined,
      callbacks: options.callbacks,
      signal: options.signal,
    });
    return { history, trainer };
  } catch (e) {
    if (options.trainer === undefined) trainer.dispose();
    throw e;
  } finally {
    monitorSet?.dispose();
  }
}
