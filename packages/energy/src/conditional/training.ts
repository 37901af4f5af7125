import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  createOptimizer,
  matMul,
  Rng,
  ShapeError,
  toRng,
  train,
  transpose2d,
  type CheckpointOptimizer,
  type ParameterGroupOptimizer,
  type RngLike,
  type ScheduleLike,
  type TrainHistory,
  type TrainingCallback,
} from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, rejectUnknownKeys } from '../rbm/config.js';
import type { ConditionalRBM } from './model.js';
import { sequenceWindows, type Sequences, type SequenceWindows } from './sequences.js';

type NamedTensor = { name: string; tensor: tf.Tensor };

/** How a conditional RBM learns by CD-k. */
export interface ConditionalRbmTrainerOptions {
  /** Gibbs steps per update, k of CD-k (default 1). */
  gibbsSteps?: number;
  /** Learning rate, a core schedule of the update count (default 0.1 for binary visible units, 0.01 for Gaussian ones). */
  learningRate?: ScheduleLike;
  /** Momentum, a core schedule of the update count (default 0.5, then 0.9 from update `momentumSwitch`). */
  momentum?: ScheduleLike;
  /** The update at which the default momentum goes from 0.5 to 0.9 (default 1000). */
  momentumSwitch?: number;
  /** L2 cost on W, A and B, not the biases (default 0.0002). */
  weightDecay?: number;
  /**
   * The negative phase's visible units: `'sample'` (a draw; default for binary units) or `'mean'`
   * (E[v | h, history], as Taylor et al.'s code does for Gaussian units; the default there).
   */
  visibleReconstruction?: 'sample' | 'mean';
  /** The generator of every draw (default seed 0). */
  rng?: RngLike;
}

/** A batch of training pairs: frames `[n, V]` and their histories `[n, m·V]`. */
export type ConditionalBatch = SequenceWindows;

/** What one update returns, for core's training loop. */
export interface ConditionalRbmStepLosses {
  /** Mean over the batch of Σ (v − E[v | h, history])², h sampled from p(h | v, history). */
  reconstructionError: tf.Scalar;
  [name: string]: tf.Scalar;
}

const TRAINER_KEYS = ['gibbsSteps', 'learningRate', 'momentum', 'momentumSwitch', 'weightDecay', 'visibleReconstruction', 'rng'];

/**
 * Trains a {@link ConditionalRBM} by contrastive divergence (Taylor, Hinton & Roweis 2007): with
 * the history fixed, the model is an RBM with biases b̂ and ĉ, so CD-k runs as usual on the
 * frame, and the history's weights take the bias statistics times the history,
 *   ΔA ∝ uᵀ(v_data − v_model),   ΔB ∝ uᵀ(p(h | v_data) − p(h | v_model)).
 * For Gaussian units the energy's −∂/∂b̂ is v − b̂, whose b̂ cancels in the difference, so the
 * same statistics serve both kinds. The pseudo-gradients go to core's momentum optimizer.
 *
 * A core `CheckpointOptimizer`: `saveModel(handler, crbm, { optimizers: { trainer }, rng: trainer.rng })`.
 */
export class ConditionalRbmTrainer implements CheckpointOptimizer {
  readonly model: ConditionalRBM;
  readonly optimizer: ParameterGroupOptimizer;
  readonly gibbsSteps: number;
  readonly visibleReconstruction: 'sample' | 'mean';
  private currentRng: Rng;
  private disposed = false;

  constructor(model: ConditionalRBM, options: ConditionalRbmTrainerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new ConfigError('conditional RBM trainer options', 'an object', options);
    rejectUnknownKeys('conditional RBM trainer', options, TRAINER_KEYS);
    this.model = model;
    this.gibbsSteps = positiveInteger('trainer.gibbsSteps', options.gibbsSteps ?? 1);
    this.visibleReconstruction = options.visibleReconstruction ?? (model.binaryVisible ? 'sample' : 'mean');
    if (this.visibleReconstruction !== 'sample' && this.visibleReconstruction !== 'mean') {
      throw new ConfigError('trainer.visibleReconstruction', "'sample' or 'mean'", this.visibleReconstruction);
    }
    const weightDecay = options.weightDecay ?? 0.0002;
    if (typeof weightDecay !== 'number' || !Number.isFinite(weightDecay) || weightDecay < 0) throw new ConfigError('trainer.weightDecay', 'a finite number >= 0', weightDecay);
    const momentumSwitch = nonNegativeInteger('trainer.momentumSwitch', options.momentumSwitch ?? 1000);
    this.currentRng = toRng(options.rng);
    this.optimizer = createOptimizer(
      {
        kind: 'momentum',
        learningRate: options.learningRate ?? (model.binaryVisible ? 0.1 : 0.01),
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

  /** One CD-k update from a batch of frames and their histories. */
  step(batch: ConditionalBatch): ConditionalRbmStepLosses {
    if (this.disposed) throw new ConfigError('trainer', 'a trainer that has not been disposed', 'a disposed ConditionalRbmTrainer');
    const model = this.model;
    if (batch === null || typeof batch !== 'object') throw new ConfigError('trainer.step batch', '{ frames, histories }', batch);
    const { frames, histories } = batch;
    model.checkFrames(frames, 'trainer.step');
    model.checkHistory(histories, frames.shape[0], 'trainer.step');
    const n = frames.shape[0];
    if (n === 0) throw new ShapeError('trainer.step frames', [null, model.visible], frames.shape, 'a batch needs at least one frame');
    const rng = this.currentRng;
    const meanField = this.visibleReconstruction === 'mean';
    return tf.tidy(() => {
      const v0 = tf.cast(frames, 'float32') as tf.Tensor2D;
      const u = tf.cast(histories, 'float32') as tf.Tensor2D;
      const biases = model.dynamicBiases(u);
      const weights = model.params.weights;
      const wt = transpose2d(weights);
      const hiddenProbs = (v: tf.Tensor2D) => tf.sigmoid(tf.add(matMul(v, weights), biases.hidden)) as tf.Tensor2D;
      const visibleMean = (h: tf.Tensor2D) => {
        const total = tf.add(matMul(h, wt), biases.visible) as tf.Tensor2D;
        return model.binaryVisible ? tf.sigmoid(total) : total;
      };
      const h0p = hiddenProbs(v0);
      let mean = visibleMean(rng.bernoulli(h0p));
      const reconstructionError = tf.div(tf.sum(tf.square(tf.sub(v0, mean))), n) as tf.Scalar;
      let v = meanField ? mean : model.sampleVisibleFromMean(mean, rng);
      let hp = hiddenProbs(v);
      for (let k = 1; k < this.gibbsSteps; k++) {
        mean = visibleMean(rng.bernoulli(hp));
        v = meanField ? mean : model.sampleVisibleFromMean(mean, rng);
        hp = hiddenProbs(v);
      }
      // The optimizer minimises: its gradient is the model's statistics minus the data's.
      const dv = tf.sub(v, v0) as tf.Tensor2D;
      const dh = tf.sub(hp, h0p) as tf.Tensor2D;
      const gradients: Record<string, tf.Tensor> = {
        weights: tf.div(tf.sub(matMul(transpose2d(v), hp), matMul(transpose2d(v0), h0p)), n),
        visibleBias: tf.mean(dv, 0),
        hiddenBias: tf.mean(dh, 0),
      };
      if (model.order > 0) {
        const ut = transpose2d(u);
        gradients.historyToVisible = tf.div(matMul(ut, dv), n);
        gradients.historyToHidden = tf.div(matMul(ut, dh), n);
      }
      this.optimizer.applyGradients(gradients);
      return { reconstructionError };
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
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
  }
}

/** A trainer for `model` (see {@link ConditionalRbmTrainer}). */
export function createConditionalRbmTrainer(model: ConditionalRBM, options: ConditionalRbmTrainerOptions = {}): ConditionalRbmTrainer {
  return new ConditionalRbmTrainer(model, options);
}

export interface FitConditionalRbmOptions extends ConditionalRbmTrainerOptions {
  /** Epoch to end before (exclusive). */
  epochs: number;
  /** Training pairs per update (default 100). */
  batchSize?: number;
  /** Seed of the epoch orders (default 0; also of the updates' draws when `rng` is not given). */
  seed?: number;
  /**
   * Set the static visible biases from the frames before training (default true, not when
   * resuming): log(p/(1−p)) of each unit's mean for binary units, the mean for Gaussian ones.
   */
  initVisibleBias?: boolean;
  /** A trainer to continue with; its options win over the ones here. */
  trainer?: ConditionalRbmTrainer;
  initialEpoch?: number;
  initialStep?: number;
  callbacks?: TrainingCallback[];
  signal?: AbortSignal;
}

export interface FitConditionalRbmResult {
  history: TrainHistory;
  trainer: ConditionalRbmTrainer;
}

const FIT_KEYS = ['epochs', 'batchSize', 'seed', 'initVisibleBias', 'trainer', 'initialEpoch', 'initialStep', 'callbacks', 'signal'];

/**
 * Trains a conditional RBM on sequences (a list of `[T, V]` tensors, or `[S, T, V]`) with core's
 * training loop: every frame that has m frames before it is a training pair; each epoch visits
 * the pairs in a new random order, one CD-k update per batch. The epoch logs hold
 * `reconstructionError`, the mean over the epoch's updates.
 *
 * ```ts no-run
 * const crbm = new ConditionalRBM({ visible: 49, hidden: 150, order: 3, visibleType: 'gaussian' });
 * const { trainer } = await fitConditionalRbm(crbm, sequences, { epochs: 200, batchSize: 100, learningRate: 1e-3 });
 * const motion = crbm.generate(seedFrames, 500, { rng: 1 });
 * ```
 */
export async function fitConditionalRbm(model: ConditionalRBM, sequences: Sequences, options: FitConditionalRbmOptions): Promise<FitConditionalRbmResult> {
  if (options === null || typeof options !== 'object') throw new ConfigError('fitConditionalRbm options', 'an object with epochs', options);
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 100);
  const seed = nonNegativeInteger('seed', options.seed ?? 0);
  const trainerOptions: ConditionalRbmTrainerOptions = Object.fromEntries(Object.entries(options).filter(([k]) => !FIT_KEYS.includes(k)));
  if (trainerOptions.rng === undefined) trainerOptions.rng = new Rng(seed).nextSeed();
  const windows = sequenceWindows(sequences, model.order, model.visible, 'fitConditionalRbm sequences');
  const n = windows.frames.shape[0];
  let trainer: ConditionalRbmTrainer | undefined = options.trainer;
  try {
    trainer ??= new ConditionalRbmTrainer(model, trainerOptions);
    const resuming = (options.initialEpoch ?? 0) > 0 || options.trainer !== undefined;
    if (options.initVisibleBias ?? !resuming) initConditionalVisibleBias(model, windows.frames);
    const active = trainer;

    function* batches(epoch: number): Iterable<ConditionalBatch> {
      const order = new Rng(seed * 1_000_003 + epoch + 13).permutation(n);
      for (let start = 0; start < n; start += batchSize) {
        const ids = order.subarray(start, Math.min(n, start + batchSize));
        yield tf.tidy(() => {
          const index = tf.tensor1d(ids, 'int32');
          return { frames: tf.gather(windows.frames, index) as tf.Tensor2D, histories: tf.gather(windows.histories, index) as tf.Tensor2D };
        });
      }
    }

    const history = await train<ConditionalBatch>({
      epochs: options.epochs,
      initialEpoch: options.initialEpoch,
      initialStep: options.initialStep,
      batches,
      step: (batch) => active.step(batch),
      callbacks: options.callbacks,
      signal: options.signal,
    });
    return { history, trainer: active };
  } catch (e) {
    if (options.trainer === undefined) trainer?.dispose();
    throw e;
  } finally {
    tf.dispose([windows.frames, windows.histories]);
  }
}

/**
 * Sets the static visible biases from training frames `[n, V]`: log(p/(1−p)) of each unit's mean
 * (clipped to [1e-3, 1 − 1e-3]) for binary units, the mean for Gaussian ones.
 */
export function initConditionalVisibleBias(model: ConditionalRBM, frames: tf.Tensor2D): void {
  model.checkFrames(frames, 'initConditionalVisibleBias');
  tf.tidy(() => {
    const mean = tf.mean(tf.cast(frames, 'float32'), 0);
    if (model.binaryVisible) {
      const p = tf.clipByValue(mean, 1e-3, 1 - 1e-3);
      model.params.visibleBias.assign(tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D);
    } else {
      model.params.visibleBias.assign(mean as tf.Tensor1D);
    }
  });
}

/**
 * The one-step prediction error: the mean over pairs of ‖predicted frame − v_t‖², the
 * prediction being `model.predict(history, { output: 'mean' })` (Gibbs steps from the last frame).
 */
export async function conditionalPredictionError(model: ConditionalRBM, windows: SequenceWindows, options: { gibbsSteps?: number; rng: RngLike }): Promise<number> {
  const prediction = model.predict(windows.histories, { rng: options.rng, gibbsSteps: options.gibbsSteps, output: 'mean' });
  const error = tf.tidy(() => tf.mean(tf.sum(tf.square(tf.sub(prediction, windows.frames)), 1)));
  prediction.dispose();
  const value = (await error.data())[0] as number;
  error.dispose();
  return value;
}
