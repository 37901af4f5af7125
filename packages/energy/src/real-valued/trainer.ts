import * as tf from '@tensorflow/tfjs-core';
import {
  CheckpointError,
  ConfigError,
  createOptimizer,
  createVariable,
  ShapeError,
  toRng,
  type CheckpointOptimizer,
  type OptimizerConfig,
  type ParamContainer,
  type ParameterGroupOptimizer,
  type Rng,
  type RngLike,
} from '@helmholtz/core';
import { positiveInteger, positiveNumber, rejectUnknownKeys } from '../rbm/config.js';
import { acceptanceTarget, hmcTransition } from './hmc.js';
import { constrainMeanCovarianceParams, type MeanCovarianceRBM } from './mean-covariance.js';
import { constrainSpikeAndSlabParams, type SpikeAndSlabRBM } from './spike-and-slab.js';

/** What a model needs for {@link FreeEnergyTrainer}: a differentiable free energy of a batch. */
export interface FreeEnergyModel {
  readonly kind: string;
  readonly params: ParamContainer;
  freeEnergy(v: tf.Tensor2D): tf.Tensor1D;
  checkVisible(v: tf.Tensor, what: string): void;
}

/** How a trainer draws the negative phase's particles, and the state it keeps doing so. */
export interface NegativePhase {
  /** Particles `[m, visible]` from the model, started at the batch (CD); may add scalars to log. */
  sample(batch: tf.Tensor2D, rng: Rng): { negatives: tf.Tensor2D; logs: Record<string, tf.Scalar> };
  /** Non-trainable variables the sampler adapts, saved with the trainer under these names. */
  readonly state: Record<string, tf.Variable>;
  /** Re-establishes the parameters' constraints after an update. */
  constrain?(): void;
}

/** Options every free-energy trainer takes. */
export interface FreeEnergyTrainerOptions {
  /**
   * Core optimizer config for all trainable parameters (default
   * `{ kind: 'momentum', learningRate: 0.01, momentum: 0.9, weightDecay: 0.0001, excludeBiasesFromDecay: true }`).
   */
  optimizer?: OptimizerConfig;
  /** The generator of the negative phase's draws (default seed 0). */
  rng?: RngLike;
}

/** What one update returns, for core's training loop. */
export interface FreeEnergyStepLosses {
  /**
   * mean F(batch) − mean F(negatives): the loss whose gradient is the CD estimate of minus the
   * log-likelihood gradient. It falls below 0 as the model learns to put its free energy low on
   * the data and the negative particles move away from them.
   */
  freeEnergyDifference: tf.Scalar;
  [name: string]: tf.Scalar;
}

const DEFAULT_OPTIMIZER: OptimizerConfig = { kind: 'momentum', learningRate: 0.01, momentum: 0.9, weightDecay: 0.0001, excludeBiasesFromDecay: true };
const OPTIMIZER_PREFIX = 'optimizer/';
const SAMPLER_PREFIX = 'sampler/';

/**
 * Contrastive divergence by autodiff of the free energy: for a batch v⁺ and negative particles
 * v⁻ drawn from the model starting at v⁺, the gradient of mean F(v⁺) − mean F(v⁻) with respect
 * to the parameters is the CD estimate of −∂ log p/∂θ (Hinton 2002, with the hidden units summed
 * out: −∂ log p(v)/∂θ = ∂F(v)/∂θ − E_model[∂F/∂θ]). `tf.grad` gives it for any free energy in
 * closed form, so models whose statistics have no simple form (the mcRBM's factors, the
 * ssRBM's precisions) train with one trainer, each supplying its negative phase.
 *
 * A core `CheckpointOptimizer`: `saveModel(h, model, { optimizers: { trainer }, rng: trainer.rng })`
 * keeps the optimizer's slots and the sampler's state (e.g. the adapted HMC step size).
 */
export class FreeEnergyTrainer implements CheckpointOptimizer {
  readonly model: FreeEnergyModel;
  readonly optimizer: ParameterGroupOptimizer;
  readonly negativePhase: NegativePhase;
  private currentRng: Rng;
  private disposed = false;

  constructor(model: FreeEnergyModel, negativePhase: NegativePhase, options: FreeEnergyTrainerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new ConfigError('trainer options', 'an object', options);
    this.model = model;
    this.negativePhase = negativePhase;
    this.currentRng = toRng(options.rng);
    this.optimizer = createOptimizer(options.optimizer ?? DEFAULT_OPTIMIZER, model.params);
  }

  get rng(): Rng {
    return this.currentRng;
  }

  /** Continues from a saved generator (the `rng` that `loadModel` returns). */
  useRng(rng: Rng): void {
    this.currentRng = rng;
  }

  /** One CD update from a batch `[n, visible]`. The returned scalars are the caller's. */
  step(batch: tf.Tensor2D): FreeEnergyStepLosses {
    this.checkAlive();
    this.model.checkVisible(batch, 'trainer.step batch');
    if (batch.shape[0] === 0) throw new ShapeError('trainer.step batch', [null, batch.shape[1]], batch.shape, 'a batch needs at least one example');
    const { negatives, logs } = this.negativePhase.sample(batch, this.currentRng);
    try {
      const loss = this.optimizer.minimize(() => tf.sub(tf.mean(this.model.freeEnergy(batch)), tf.mean(this.model.freeEnergy(negatives))));
      this.negativePhase.constrain?.();
      return { freeEnergyDifference: loss, ...logs };
    } catch (error) {
      tf.dispose(Object.values(logs));
      throw error;
    } finally {
      negatives.dispose();
    }
  }

  async getWeights(): Promise<{ name: string; tensor: tf.Tensor }[]> {
    this.checkAlive();
    const weights = (await this.optimizer.getWeights()).map((w) => ({ name: OPTIMIZER_PREFIX + w.name, tensor: w.tensor }));
    for (const [name, v] of Object.entries(this.negativePhase.state)) weights.push({ name: SAMPLER_PREFIX + name, tensor: tf.clone(v) });
    return weights;
  }

  validateWeights(weights: { name: string; tensor: tf.Tensor }[]): void {
    this.checkAlive();
    this.split(weights);
  }

  async setWeights(weights: { name: string; tensor: tf.Tensor }[]): Promise<void> {
    this.checkAlive();
    const { optimizer, sampler } = this.split(weights);
    await this.optimizer.setWeights(optimizer);
    for (const [name, tensor] of sampler) (this.negativePhase.state[name] as tf.Variable).assign(tensor);
  }

  private split(weights: { name: string; tensor: tf.Tensor }[]): { optimizer: { name: string; tensor: tf.Tensor }[]; sampler: Map<string, tf.Tensor> } {
    const what = `${this.model.kind} trainer state`;
    const optimizer: { name: string; tensor: tf.Tensor }[] = [];
    const sampler = new Map<string, tf.Tensor>();
    for (const w of weights) {
      if (w.name.startsWith(OPTIMIZER_PREFIX)) optimizer.push({ name: w.name.slice(OPTIMIZER_PREFIX.length), tensor: w.tensor });
      // Own keys only: `in` would take 'sampler/toString' for state and fail later on assign.
      else if (w.name.startsWith(SAMPLER_PREFIX) && Object.prototype.hasOwnProperty.call(this.negativePhase.state, w.name.slice(SAMPLER_PREFIX.length)))
        sampler.set(w.name.slice(SAMPLER_PREFIX.length), w.tensor);
      else throw new CheckpointError(what, `unknown entry '${w.name}'`);
    }
    for (const [name, v] of Object.entries(this.negativePhase.state)) {
      const saved = sampler.get(name);
      if (!saved) throw new CheckpointError(what, `it holds no sampler state '${name}', which this trainer needs`);
      if (saved.shape.join(',') !== v.shape.join(',')) throw new CheckpointError(what, `sampler state '${name}' of shape [${saved.shape.join(', ')}], this trainer's is [${v.shape.join(', ')}]`);
    }
    this.optimizer.validateWeights(optimizer);
    return { optimizer, sampler };
  }

  private checkAlive(): void {
    if (this.disposed) throw new ConfigError('trainer', 'a trainer that has not been disposed', 'a disposed FreeEnergyTrainer');
  }

  /** Frees the optimizer's slots and the sampler's state (not the model). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
    tf.dispose(Object.values(this.negativePhase.state));
  }
}

/** Options of {@link createMeanCovarianceTrainer}. */
export interface MeanCovarianceTrainerOptions extends FreeEnergyTrainerOptions {
  /** Leapfrog steps of the one HMC trajectory per update (default 20, Ranzato & Hinton 2010). */
  leapfrogSteps?: number;
  /** Initial leapfrog step size (default 0.05); it adapts after every update. */
  stepSize?: number;
  /** The acceptance rate the step size adapts to (default 0.9). */
  targetAcceptance?: number;
}

/**
 * CD-1 for a {@link MeanCovarianceRBM} as Ranzato & Hinton (2010) train it: the negative
 * particles are one HMC trajectory on F(v) started at the data, whose step size adapts
 * (×1.02 or ×0.98 after each update) so that about `targetAcceptance` of the proposals are
 * accepted; after each update P is clamped to ≥ 0 and C's columns are put back to unit length.
 * Each update logs `freeEnergyDifference`, `acceptance` and `stepSize`.
 */
export function createMeanCovarianceTrainer(model: MeanCovarianceRBM, options: MeanCovarianceTrainerOptions = {}): FreeEnergyTrainer {
  if (options === null || typeof options !== 'object') throw new ConfigError('trainer options', 'an object', options);
  rejectUnknownKeys('mean-covariance trainer', options, ['optimizer', 'rng', 'leapfrogSteps', 'stepSize', 'targetAcceptance']);
  const leapfrogSteps = positiveInteger('trainer.leapfrogSteps', options.leapfrogSteps ?? 20);
  const initialStep = positiveNumber('trainer.stepSize', options.stepSize ?? 0.05);
  const target = acceptanceTarget('trainer.targetAcceptance', options.targetAcceptance ?? 0.9);
  const stepSize = createVariable(tf.scalar(initialStep), 'mcrbm-trainer/stepSize', false) as tf.Variable<tf.Rank.R0>;
  const negativePhase: NegativePhase = {
    state: { stepSize },
    sample(batch, rng) {
      return tf.tidy(() => {
        const { samples, acceptance } = hmcTransition((v) => model.freeEnergy(v), batch, stepSize, leapfrogSteps, rng);
        // Bounded so that a long run of rejections (or acceptances) cannot drive ε to 0 or ∞.
        const factor = tf.where(tf.greater(acceptance, target), tf.scalar(1.02), tf.scalar(0.98));
        stepSize.assign(tf.clipByValue(tf.mul(stepSize, factor), 1e-4, 1) as tf.Scalar);
        return { negatives: samples, logs: { acceptance, stepSize: tf.clone(stepSize) as tf.Scalar } };
      });
    },
    constrain: () => constrainMeanCovarianceParams(model),
  };
  try {
    return new FreeEnergyTrainer(model, negativePhase, { optimizer: options.optimizer, rng: options.rng });
  } catch (error) {
    stepSize.dispose();
    throw error;
  }
}

/** Options of {@link createSpikeAndSlabTrainer}. */
export interface SpikeAndSlabTrainerOptions extends FreeEnergyTrainerOptions {
  /** Block Gibbs steps h → s → v from the batch per update, k of CD-k (default 1). */
  gibbsSteps?: number;
}

/**
 * CD-k for a {@link SpikeAndSlabRBM} (Courville, Bergstra & Bengio 2011): the negative particles
 * are k steps of block Gibbs sampling (h | v, then s | v, h, then v | s, h) from the batch, and
 * the update is the gradient of the closed-form free energy (slabs integrated out). After each
 * update Φ (when the model has it) is clamped to ≥ 0.
 */
export function createSpikeAndSlabTrainer(model: SpikeAndSlabRBM, options: SpikeAndSlabTrainerOptions = {}): FreeEnergyTrainer {
  if (options === null || typeof options !== 'object') throw new ConfigError('trainer options', 'an object', options);
  rejectUnknownKeys('spike-and-slab trainer', options, ['optimizer', 'rng', 'gibbsSteps']);
  const gibbsSteps = positiveInteger('trainer.gibbsSteps', options.gibbsSteps ?? 1);
  const negativePhase: NegativePhase = {
    state: {},
    sample(batch, rng) {
      const state = model.gibbs(batch, gibbsSteps, rng);
      tf.dispose([state.hidden, state.slab]);
      return { negatives: state.visible, logs: {} };
    },
    constrain: () => constrainSpikeAndSlabParams(model),
  };
  return new FreeEnergyTrainer(model, negativePhase, { optimizer: options.optimizer, rng: options.rng });
}
