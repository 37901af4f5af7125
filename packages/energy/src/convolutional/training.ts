import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  createOptimizer,
  Rng,
  ShapeError,
  toRng,
  train,
  type CheckpointOptimizer,
  type Logs,
  type ParameterGroupOptimizer,
  type RngLike,
  type ScheduleLike,
  type TrainHistory,
  type TrainingCallback,
} from '@helmholtz/core';
import { finiteNumber, nonNegativeInteger, positiveInteger, positiveNumber, rejectUnknownKeys } from '../rbm/config.js';
import type { ConvolutionalRBM } from './model.js';

type NamedTensor = { name: string; tensor: tf.Tensor };

/** The sparsity regulariser of Lee, Ekanadham & Ng (2008), used by Lee et al. (2009) for convolutional RBMs. */
export interface ConvolutionalSparsityOptions {
  /** Wanted mean activation of the detection units, in (0, 1), e.g. 0.02. */
  target: number;
  /** Weight of the penalty, e.g. 0.5 (it scales the hidden-bias gradient, whose data term is at most 1). */
  cost: number;
}

/** How a convolutional RBM learns by CD-k. */
export interface ConvolutionalRbmTrainerOptions {
  /** Gibbs steps per update, k of CD-k (default 1). */
  gibbsSteps?: number;
  /**
   * Learning rate, a core schedule of the update count (default 1 for binary visible units, 0.1
   * for Gaussian ones). The statistics are averages over positions, each small for sparse
   * detection units, so the rates that work are larger than an ordinary RBM's: on 12x12 bar
   * images (test/convolutional/training.test.ts) binary units learned the bars with 1 to 2 and
   * barely moved with 0.1 in 240 updates; standardised Gaussian ones did best with 0.1 to 0.3.
   */
  learningRate?: ScheduleLike;
  /** Momentum, a core schedule of the update count (default 0.5, then 0.9 from update `momentumSwitch`). */
  momentum?: ScheduleLike;
  /** The update at which the default momentum goes from 0.5 to 0.9 (default 500). */
  momentumSwitch?: number;
  /** L2 weight cost on the filters, not the biases (default 0.0002). */
  weightDecay?: number;
  /** A target mean activation of the detection units (default: none). */
  sparsity?: ConvolutionalSparsityOptions;
  /** The generator of every sample the updates draw (default seed 0). */
  rng?: RngLike;
}

/** What one update returns, for core's training loop. */
export interface ConvolutionalRbmStepLosses {
  /** Mean over the batch of Σ (v − E[v | h])² over the image, h sampled from p(h | v). */
  reconstructionError: tf.Scalar;
  /** Mean p(h = 1 | v) of the detection units over the batch: the level the sparsity target steers. */
  hiddenActivation: tf.Scalar;
  [name: string]: tf.Scalar;
}

const TRAINER_KEYS = ['gibbsSteps', 'learningRate', 'momentum', 'momentumSwitch', 'weightDecay', 'sparsity', 'rng'];

/**
 * Trains a {@link ConvolutionalRBM} by contrastive divergence (CD-k), as Lee et al. (2009) did.
 * Each update takes the data statistics with p(h | v) of the batch and the model statistics at
 * the end of k block-Gibbs steps started from it, both divided by the number of positions that
 * share each parameter (n·H'·W' for a filter and its bias, n·H·W for a channel's bias), so the
 * learning rate means what it means for an ordinary RBM whatever the image size. The sparsity
 * regulariser moves each filter's hidden bias by cost · (target − mean activation), the form
 * Lee et al. apply (to the biases only). The pseudo-gradients go to core's momentum optimizer.
 *
 * It is a core `CheckpointOptimizer`: `saveModel(handler, crbm, { optimizers: { trainer }, rng: trainer.rng })`.
 */
export class ConvolutionalRbmTrainer implements CheckpointOptimizer {
  readonly model: ConvolutionalRBM;
  readonly optimizer: ParameterGroupOptimizer;
  readonly gibbsSteps: number;
  readonly sparsity: ConvolutionalSparsityOptions | null;
  private currentRng: Rng;

  constructor(model: ConvolutionalRBM, options: ConvolutionalRbmTrainerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new ConfigError('convolutional RBM trainer options', 'an object', options);
    rejectUnknownKeys('convolutional RBM trainer', options, TRAINER_KEYS);
    this.model = model;
    this.gibbsSteps = positiveInteger('trainer.gibbsSteps', options.gibbsSteps ?? 1);
    const weightDecay = options.weightDecay ?? 0.0002;
    if (typeof weightDecay !== 'number' || !Number.isFinite(weightDecay) || weightDecay < 0) throw new ConfigError('trainer.weightDecay', 'a finite number >= 0', weightDecay);
    const momentumSwitch = nonNegativeInteger('trainer.momentumSwitch', options.momentumSwitch ?? 500);
    this.sparsity = null;
    if (options.sparsity !== undefined) {
      const s = options.sparsity;
      if (s === null || typeof s !== 'object') throw new ConfigError('trainer.sparsity', 'an object { target, cost }', s);
      rejectUnknownKeys('trainer.sparsity', s, ['target', 'cost']);
      const target = finiteNumber('trainer.sparsity.target', s.target);
      if (!(target > 0 && target < 1)) throw new ConfigError('trainer.sparsity.target', 'a probability strictly between 0 and 1', target);
      this.sparsity = { target, cost: positiveNumber('trainer.sparsity.cost', s.cost) };
    }
    this.currentRng = toRng(options.rng);
    this.optimizer = createOptimizer(
      {
        kind: 'momentum',
        learningRate: options.learningRate ?? (model.binaryVisible ? 1 : 0.1),
        momentum: options.momentum ?? { kind: 'piecewise', boundaries: [momentumSwitch], values: [0.5, 0.9] },
        weightDecay,
        excludeBiasesFromDecay: true,
      },
      model.params,
    );
  }

  /** The generator the updates draw from. */
  get rng(): Rng {
    return this.currentRng;
  }

  /** Continues from a saved generator (the `rng` that `loadModel` returns). */
  useRng(rng: Rng): void {
    this.currentRng = rng;
  }

  /** One CD-k update from a batch of images `[n, H, W, C]`. */
  step(batch: tf.Tensor4D): ConvolutionalRbmStepLosses {
    const model = this.model;
    model.checkVisible(batch, 'trainer.step batch');
    const n = batch.shape[0];
    if (n === 0) throw new ShapeError('trainer.step batch', [null, ...model.imageShape], batch.shape, 'a batch needs at least one image');
    const rng = this.currentRng;
    return tf.tidy(() => {
      const positive = model.sampleHiddenWithProbabilities(batch, rng);
      const firstMean = model.visibleMean(positive.sample);
      const reconstructionError = tf.mean(tf.sum(tf.reshape(tf.square(tf.sub(batch, firstMean)), [n, -1]), 1)) as tf.Scalar;
      let visible = model.sampleVisibleFromMean(firstMean, rng);
      let negative = model.sampleHiddenWithProbabilities(visible, rng);
      for (let k = 1; k < this.gibbsSteps; k++) {
        visible = model.sampleVisible(negative.sample, rng);
        negative = model.sampleHiddenWithProbabilities(visible, rng);
      }
      const data = model.statistics(batch, positive.probabilities);
      const fantasy = model.statistics(visible, negative.probabilities);
      const [height, width] = model.imageShape;
      const [detH, detW] = model.detectionShape;
      const hiddenPositions = n * detH * detW;
      const visiblePositions = n * height * width;
      // The optimizer minimises: its gradient is minus the log-likelihood gradient.
      const gradient = (name: keyof typeof data, positions: number) => tf.div(tf.sub(fantasy[name], data[name]), positions);
      const activation = tf.div(data.hiddenBias, hiddenPositions);
      let hiddenBias = gradient('hiddenBias', hiddenPositions);
      if (this.sparsity !== null) hiddenBias = tf.add(hiddenBias, tf.mul(tf.sub(activation, this.sparsity.target), this.sparsity.cost));
      this.optimizer.applyGradients({
        filters: gradient('filters', hiddenPositions),
        visibleBias: gradient('visibleBias', visiblePositions),
        hiddenBias,
      });
      return { reconstructionError, hiddenActivation: tf.mean(activation) as tf.Scalar };
    });
  }

  getWeights(): Promise<NamedTensor[]> {
    return this.optimizer.getWeights();
  }

  validateWeights(weights: NamedTensor[]): void {
    this.optimizer.validateWeights(weights);
  }

  setWeights(weights: NamedTensor[]): Promise<void> {
    return this.optimizer.setWeights(weights);
  }

  /** Frees the optimizer's state (not the model). */
  dispose(): void {
    this.optimizer.dispose();
  }
}

export interface FitConvolutionalRbmOptions extends ConvolutionalRbmTrainerOptions {
  /** Epoch to end before (exclusive). */
  epochs: number;
  /** Images per update (default 20). */
  batchSize?: number;
  /** Seed of the epoch orders (default 0; also of the updates' draws when `rng` is not given). */
  seed?: number;
  /** Images the per-epoch mean-field reconstruction error is measured on, from the start of the set (default 200; 0 turns it off). */
  monitorExamples?: number;
  /**
   * Set each channel's visible bias to log(p/(1−p)) of its mean pixel (binary units) or to its
   * mean (Gaussian ones) before training (default true, not when resuming).
   */
  initVisibleBias?: boolean;
  /** A trainer to continue with; its options win over the ones here. */
  trainer?: ConvolutionalRbmTrainer;
  /** Epoch to start at when resuming (with `initialStep`). */
  initialEpoch?: number;
  initialStep?: number;
  callbacks?: TrainingCallback[];
  signal?: AbortSignal;
}

export interface FitConvolutionalRbmResult {
  history: TrainHistory;
  trainer: ConvolutionalRbmTrainer;
}

const FIT_KEYS = ['epochs', 'batchSize', 'seed', 'monitorExamples', 'initVisibleBias', 'trainer', 'initialEpoch', 'initialStep', 'callbacks', 'signal'];

/**
 * Sets each channel's visible bias from the images (Hinton 2010, sec. 8, per channel since the
 * bias is shared): log(p/(1−p)) of the channel's mean pixel, clipped to [1e-3, 1 − 1e-3], for
 * binary units; the channel's mean for Gaussian ones. With zero filters the model then starts as
 * the data's independent-pixel model of each channel.
 */
export function initConvolutionalVisibleBias(model: ConvolutionalRBM, images: tf.Tensor4D): void {
  model.checkVisible(images, 'initConvolutionalVisibleBias images');
  tf.tidy(() => {
    const mean = tf.mean(images, [0, 1, 2]);
    if (model.binaryVisible) {
      const p = tf.clipByValue(mean, 1e-3, 1 - 1e-3);
      model.params.visibleBias.assign(tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D);
    } else {
      model.params.visibleBias.assign(mean as tf.Tensor1D);
    }
  });
}

/** Mean over images of Σ (x − E[v | h = p(h | x)])², in chunks so a large set needs bounded memory. */
export async function convolutionalReconstructionError(model: ConvolutionalRBM, images: tf.Tensor4D, chunk = 200): Promise<number> {
  model.checkVisible(images, 'convolutionalReconstructionError');
  // A chunk of 0 (or NaN) would never advance the loop below.
  positiveInteger('convolutionalReconstructionError chunk', chunk);
  const n = images.shape[0];
  if (n === 0) throw new ConfigError('convolutionalReconstructionError images', 'at least one image', images.shape);
  let total = 0;
  for (let start = 0; start < n; start += chunk) {
    const size = Math.min(chunk, n - start);
    const sum = tf.tidy(() => {
      const x = tf.slice(images, [start, 0, 0, 0], [size, -1, -1, -1]);
      return tf.sum(tf.square(tf.sub(x, model.reconstruct(x))));
    });
    total += (await sum.data())[0] as number;
    sum.dispose();
  }
  return total / n;
}

/**
 * Trains a convolutional RBM on `images` `[n, H, W, C]` with core's training loop: shuffled
 * minibatches each epoch, one CD-k update per batch (see {@link ConvolutionalRbmTrainer}). The
 * epoch logs hold `reconstructionError` and `hiddenActivation` averaged over the updates and,
 * with `monitorExamples`, `meanFieldReconstructionError` on the first images. The default
 * momentum switches from 0.5 to 0.9 after 5 epochs.
 *
 * ```ts no-run
 * const crbm = new ConvolutionalRBM({ imageShape: [28, 28, 1], filters: 24, filterSize: 9, seed: 1 });
 * const { history, trainer } = await fitConvolutionalRbm(crbm, images, { epochs: 10, sparsity: { target: 0.02, cost: 1 } });
 * ```
 */
export async function fitConvolutionalRbm(model: ConvolutionalRBM, images: tf.Tensor4D, options: FitConvolutionalRbmOptions): Promise<FitConvolutionalRbmResult> {
  if (options === null || typeof options !== 'object') throw new ConfigError('fitConvolutionalRbm options', 'an object with epochs', options);
  model.checkVisible(images, 'fitConvolutionalRbm images');
  const n = images.shape[0];
  if (n === 0) throw new ConfigError('fitConvolutionalRbm images', 'at least one image', images.shape);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 20);
  const seed = nonNegativeInteger('seed', options.seed ?? 0);
  const monitorExamples = nonNegativeInteger('monitorExamples', options.monitorExamples ?? 200);
  const batchesPerEpoch = Math.ceil(n / batchSize);
  const trainerOptions: ConvolutionalRbmTrainerOptions = Object.fromEntries(Object.entries(options).filter(([k]) => !FIT_KEYS.includes(k)));
  if (trainerOptions.momentum === undefined && trainerOptions.momentumSwitch === undefined) trainerOptions.momentumSwitch = 5 * batchesPerEpoch;
  if (trainerOptions.rng === undefined) trainerOptions.rng = new Rng(seed).nextSeed();
  const trainer = options.trainer ?? new ConvolutionalRbmTrainer(model, trainerOptions);
  const resuming = (options.initialEpoch ?? 0) > 0 || options.trainer !== undefined;
  if (options.initVisibleBias ?? !resuming) initConvolutionalVisibleBias(model, images);
  const monitorCount = Math.min(monitorExamples, n);
  const monitorSet = monitorCount > 0 ? tf.slice(images, [0, 0, 0, 0], [monitorCount, -1, -1, -1]) : null;

  function* batches(epoch: number): Iterable<tf.Tensor4D> {
    const order = new Rng(seed * 1_000_003 + epoch + 7).permutation(n);
    for (let start = 0; start < n; start += batchSize) {
      const ids = order.subarray(start, Math.min(n, start + batchSize));
      yield tf.tidy(() => tf.gather(images, tf.tensor1d(ids, 'int32')));
    }
  }

  try {
    const history = await train<tf.Tensor4D>({
      epochs: options.epochs,
      initialEpoch: options.initialEpoch,
      initialStep: options.initialStep,
      batches,
      step: (batch) => trainer.step(batch),
      validation: monitorSet ? async (): Promise<Logs> => ({ meanFieldReconstructionError: await convolutionalReconstructionError(model, monitorSet) }) : undefined,
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
