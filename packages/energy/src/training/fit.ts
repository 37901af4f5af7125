import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, gatherRows, Rng, train, type Logs, type TrainHistory, type TrainingCallback } from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger } from '../rbm/config.js';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';
import { freeEnergyGap, pseudoLikelihood, reconstructionError } from './monitors.js';
import { createRbmTrainer, type RbmTrainer, type RbmTrainerOptions } from './trainer.js';
import { initVisibleBiasFromData } from './visible-bias.js';

export interface FitRbmOptions extends RbmTrainerOptions {
  /** Epoch to end before (exclusive). */
  epochs: number;
  /** Examples per update (default 100). */
  batchSize?: number;
  /** Seed of the epoch orders and of the monitors' draws (default 0). */
  seed?: number;
  /**
   * Held-out examples: with them, each epoch logs `freeEnergyGap`, mean F(validation) minus mean
   * F(a training subset of the same size): the overfitting signal.
   */
  validation?: tf.Tensor2D;
  /**
   * Examples the per-epoch monitors use, from the start of the training set (default 1000). 0
   * turns off the reconstruction error and pseudo-likelihood; with `validation` the free-energy
   * gap still runs, on all of the validation set (at most as many rows as the training set).
   */
  monitorExamples?: number;
  /** Set the visible biases to log(p/(1−p)) of the data (binary) or its mean (Gaussian) before training (default true, not when resuming). */
  initVisibleBias?: boolean;
  /** A trainer to continue with (resuming from `loadRbmTraining`); its options win over the ones here. */
  trainer?: RbmTrainer;
  /** Epoch to start at when resuming (with `initialStep`). */
  initialEpoch?: number;
  /** Updates taken before `initialEpoch` (default: the given trainer's update count, which its checkpoint restores). */
  initialStep?: number;
  callbacks?: TrainingCallback[];
  signal?: AbortSignal;
}

export interface FitRbmResult {
  history: TrainHistory;
  trainer: RbmTrainer;
}

const FIT_KEYS = ['epochs', 'batchSize', 'seed', 'validation', 'monitorExamples', 'initVisibleBias', 'trainer', 'initialEpoch', 'initialStep', 'callbacks', 'signal'];

/**
 * Trains an RBM on `data` `[n, visible]` with core's training loop: shuffled minibatches each
 * epoch, one trainer update per batch (CD-k or PCD, see {@link RbmTrainerOptions}), and per
 * epoch the monitors of Hinton's guide on up to `monitorExamples` examples:
 * `reconstructionError` (mean-field), `pseudoLikelihood` (binary units) and, with `validation`,
 * `freeEnergyGap`. The epoch logs also hold `updateReconstructionError`, the mean over the
 * epoch's updates of the error of their first Gibbs step (sampled hidden units, so noisier). The
 * default momentum switches from 0.5 to 0.9 after 5 epochs.
 *
 * ```ts no-run
 * const rbm = new BernoulliRBM({ visible: 784, hidden: 500, seed: 1 });
 * const { history, trainer } = await fitRbm(rbm, train, { epochs: 10, method: 'pcd', learningRate: 0.05, validation });
 * ```
 */
export async function fitRbm(rbm: RestrictedBoltzmannMachine, data: tf.Tensor2D, options: FitRbmOptions): Promise<FitRbmResult> {
  if (options === null || typeof options !== 'object') throw new ConfigError('fitRbm options', 'an object with epochs', options);
  rbm.checkVisible(data, 'fitRbm data');
  const n = data.shape[0];
  if (n === 0) throw new ConfigError('fitRbm data', 'at least one example', data.shape);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 100);
  const seed = nonNegativeInteger('seed', options.seed ?? 0);
  const monitorExamples = nonNegativeInteger('monitorExamples', options.monitorExamples ?? 1000);
  if (options.validation !== undefined) rbm.checkVisible(options.validation, 'fitRbm validation');
  const batchesPerEpoch = Math.ceil(n / batchSize);
  const trainerOptions: RbmTrainerOptions = Object.fromEntries(Object.entries(options).filter(([k]) => !FIT_KEYS.includes(k)));
  if (trainerOptions.momentum === undefined && trainerOptions.momentumSwitch === undefined) trainerOptions.momentumSwitch = 5 * batchesPerEpoch;
  if (trainerOptions.rng === undefined) trainerOptions.rng = new Rng(seed).nextSeed();
  if (options.trainer !== undefined && options.trainer.rbm !== rbm) {
    // Its updates would change the other model's variables while the monitors watch this one.
    throw new ConfigError('fitRbm trainer', `a trainer of the RBM being fitted (loadRbmTraining's model and trainer go together)`, `a trainer of another ${options.trainer.rbm.kind}`);
  }
  const trainer = options.trainer ?? createRbmTrainer(rbm, trainerOptions);
  const resuming = (options.initialEpoch ?? 0) > 0 || options.trainer !== undefined;
  if (options.initVisibleBias ?? !resuming) initVisibleBiasFromData(rbm, data);

  const monitorCount = Math.min(monitorExamples, n);
  const validationCount = options.validation ? Math.min(monitorExamples || options.validation.shape[0], options.validation.shape[0], n) : 0;
  const monitorSet = monitorCount > 0 ? tf.slice(data, [0, 0], [monitorCount, rbm.visible]) : null;
  const gapTrain = validationCount > 0 ? tf.slice(data, [0, 0], [validationCount, rbm.visible]) : null;
  const gapValidation = validationCount > 0 && options.validation ? tf.slice(options.validation, [0, 0], [validationCount, rbm.visible]) : null;
  const monitorRng = new Rng(seed + 1);

  function* batches(epoch: number): Iterable<tf.Tensor2D> {
    const order = new Rng(seed * 1_000_003 + epoch + 7).permutation(n);
    for (let start = 0; start < n; start += batchSize) {
      const ids = order.subarray(start, Math.min(n, start + batchSize));
      yield tf.tidy(() => gatherRows(data, tf.tensor1d(ids, 'int32')));
    }
  }

  async function monitors(): Promise<Logs> {
    const logs: Logs = {};
    if (monitorSet) {
      logs.reconstructionError = await reconstructionError(rbm, monitorSet);
      if (rbm.binaryVisible) logs.pseudoLikelihood = await pseudoLikelihood(rbm, monitorSet, monitorRng);
    }
    if (gapTrain && gapValidation) logs.freeEnergyGap = await freeEnergyGap(rbm, gapTrain, gapValidation);
    return logs;
  }

  try {
    const history = await train<tf.Tensor2D>({
      epochs: options.epochs,
      initialEpoch: options.initialEpoch,
      initialStep: options.initialStep ?? options.trainer?.updates,
      batches,
      step: (batch) => {
        const { reconstructionError: error } = trainer.step(batch);
        return { updateReconstructionError: error };
      },
      validation: monitorSet || gapTrain ? monitors : undefined,
      callbacks: options.callbacks,
      signal: options.signal,
    });
    return { history, trainer };
  } catch (e) {
    if (options.trainer === undefined) trainer.dispose();
    throw e;
  } finally {
    tf.dispose([monitorSet, gapTrain, gapValidation].filter((t): t is tf.Tensor2D => t !== null));
  }
}
