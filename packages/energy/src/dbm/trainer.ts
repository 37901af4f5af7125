import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  createOptimizer,
  matMul,
  ShapeError,
  toRng,
  type CheckpointOptimizer,
  type OptimizerConfig,
  type ParameterGroupOptimizer,
  type Rng,
  type RngLike,
  type ScheduleLike,
} from '@helmholtz/core';
import { finiteNumber, nonNegativeInteger, positiveInteger, rejectUnknownKeys } from '../rbm/config.js';
import type { DBM } from './dbm.js';
import { bottomUpPass, dataInput, gibbsSweep, layerInput, meanFieldSweep, oddLayers } from './inference.js';

/** How a DBM learns (see {@link DbmTrainer}). */
export interface DbmTrainerOptions {
  /** Learning rate, a core schedule of the update count (default 0.005; `fitDbm` decays it linearly to 0 by default). */
  learningRate?: ScheduleLike;
  /** `'momentum'` (default) or `'sgd'`. */
  optimizer?: 'momentum' | 'sgd';
  /** Momentum schedule (momentum optimizer only). Default 0.5, then 0.9 from update `momentumSwitch`. */
  momentum?: ScheduleLike;
  /** The update at which the default momentum goes from 0.5 to 0.9 (default 1000; `fitDbm` uses 5 epochs). */
  momentumSwitch?: number;
  /** L2 weight cost on the weights (not the biases), added to the gradient (default 0.0002). */
  weightDecay?: number;
  /** Block Gibbs sweeps of the persistent chains per update (default 5, Salakhutdinov & Hinton 2009, sec. 4). */
  gibbsSteps?: number;
  /** Mean-field sweeps of the positive phase, a fixed number so that no update waits for a read-back (default 10). */
  meanFieldIterations?: number;
  /**
   * Centred DBMs only: the rate ν of the running average that moves each layer's offset towards
   * the batch's mean-field means, o ← (1 − ν) o + ν mean(μ) (default 0.01; Melchior et al. 2016
   * found small rates stable). 0 keeps the offsets fixed.
   */
  offsetRate?: number;
  /** The generator of every sample the updates draw (default seed 0). */
  rng?: RngLike;
}

/** The option names {@link DbmTrainer} takes. */
export const DBM_TRAINER_KEYS: readonly string[] = ['learningRate', 'optimizer', 'momentum', 'momentumSwitch', 'weightDecay', 'gibbsSteps', 'meanFieldIterations', 'offsetRate', 'rng'];

interface Resolved {
  gibbsSteps: number;
  meanFieldIterations: number;
  offsetRate: number;
  optimizer: OptimizerConfig;
}

function resolve(dbm: DBM, options: DbmTrainerOptions): Resolved {
  if (options === null || typeof options !== 'object') throw new ConfigError('dbm trainer options', 'an object', options);
  rejectUnknownKeys('dbm trainer', options, DBM_TRAINER_KEYS);
  const kind = options.optimizer ?? 'momentum';
  if (kind !== 'momentum' && kind !== 'sgd') throw new ConfigError('dbm trainer.optimizer', "'momentum' or 'sgd'", kind);
  if (kind === 'sgd' && (options.momentum !== undefined || options.momentumSwitch !== undefined)) {
    throw new ConfigError('dbm trainer.momentum', "no momentum with optimizer 'sgd' (use optimizer: 'momentum')", options.momentum ?? options.momentumSwitch);
  }
  const weightDecay = finiteNumber('dbm trainer.weightDecay', options.weightDecay ?? 0.0002);
  if (weightDecay < 0) throw new ConfigError('dbm trainer.weightDecay', 'a finite number >= 0', weightDecay);
  const offsetRate = finiteNumber('dbm trainer.offsetRate', options.offsetRate ?? 0.01);
  if (offsetRate < 0 || offsetRate > 1) throw new ConfigError('dbm trainer.offsetRate', 'a number in [0, 1]', offsetRate);
  if (options.offsetRate !== undefined && !dbm.centered) {
    throw new ConfigError('dbm trainer.offsetRate', 'no value unless the DBM is centred (config.centering: true)', options.offsetRate);
  }
  const momentumSwitch = nonNegativeInteger('dbm trainer.momentumSwitch', options.momentumSwitch ?? 1000);
  const base = { learningRate: options.learningRate ?? 0.005, weightDecay, excludeBiasesFromDecay: true };
  return {
    gibbsSteps: positiveInteger('dbm trainer.gibbsSteps', options.gibbsSteps ?? 5),
    meanFieldIterations: positiveInteger('dbm trainer.meanFieldIterations', options.meanFieldIterations ?? 10),
    offsetRate,
    optimizer:
      kind === 'sgd'
        ? { kind: 'sgd', ...base }
        : { kind: 'momentum', ...base, momentum: options.momentum ?? { kind: 'piecewise', boundaries: [momentumSwitch], values: [0.5, 0.9] } },
  };
}

/** What one update returns, for core's training loop (scalars it takes ownership of). */
export interface DbmStepLosses {
  /**
   * Mean over the batch of Σ_i (v_i − p(v_i = 1 | h1 = μ_1))², μ_1 being the positive phase's
   * mean-field means: a reconstruction-style monitor of learning, not of the likelihood.
   */
  reconstructionError: tf.Scalar;
  [name: string]: tf.Scalar;
}

/**
 * Trains a DBM by variational stochastic maximum likelihood (Salakhutdinov & Hinton 2009;
 * Goodfellow et al. 2016, Algorithm 20.1). Each update from a batch V:
 * 1. positive phase: mean-field means μ of every hidden layer given V (a bottom-up pass, then
 *    `meanFieldIterations` fixed-point sweeps);
 * 2. negative phase: `gibbsSteps` block Gibbs sweeps (odd layers given even, then even given
 *    odd) of the persistent fantasy particles in the model's `state.chains`; the model
 *    statistics use the particles' even layers and, for the odd ones, their conditional
 *    probabilities given the even layers (an exact Rao-Blackwellisation: every pair of
 *    connected layers has one odd member);
 * 3. the pseudo-gradient ⟨x_l x_{l+1}ᵀ⟩_model − ⟨μ_l μ_{l+1}ᵀ⟩_data for each W_l and
 *    ⟨x_l⟩_model − ⟨μ_l⟩_data for each b_l, keyed by parameter path (`weights/0`, `biases/1`),
 *    goes to core's optimizer (momentum or SGD, L2 weight cost on the weights only).
 * For a centred DBM every x and μ above is replaced by x − o (the centred gradient of
 * Montavon & Müller 2012) and, after the update, the offsets move towards the batch's
 * mean-field means with the biases changed so that the distribution stays the same.
 *
 * The chains are the model's state (they are saved with it); the trainer holds the optimizer's
 * state and the generator: `saveModel(handler, dbm, { optimizers: { trainer }, rng: trainer.rng })`.
 */
export class DbmTrainer implements CheckpointOptimizer {
  readonly dbm: DBM;
  readonly optimizer: ParameterGroupOptimizer;
  private readonly resolved: Resolved;
  private currentRng: Rng;
  private disposed = false;

  constructor(dbm: DBM, options: DbmTrainerOptions = {}) {
    this.dbm = dbm;
    this.resolved = resolve(dbm, options);
    this.currentRng = toRng(options.rng);
    this.optimizer = createOptimizer(this.resolved.optimizer, dbm.params);
  }

  /** The generator the updates draw from. */
  get rng(): Rng {
    return this.currentRng;
  }

  /** Continues from a saved generator (the `rng` that `loadModel` returns). */
  useRng(rng: Rng): void {
    this.currentRng = rng;
  }

  /** Updates taken so far. */
  get updates(): number {
    return this.optimizer.iterations;
  }

  /** One update from a batch `[n, visible]` of binary data (or probabilities). */
  step(batch: tf.Tensor2D): DbmStepLosses {
    this.checkAlive();
    const dbm = this.dbm;
    dbm.checkLayer(batch, 0, 'trainer.step batch');
    const n = batch.shape[0];
    if (n === 0) throw new ShapeError('dbm trainer.step batch', [null, dbm.visible], batch.shape, 'a batch needs at least one example');
    const rng = this.currentRng;
    const { gibbsSteps, meanFieldIterations, offsetRate } = this.resolved;
    const chains = dbm.state.chains;
    const offsets = dbm.state.offsets;
    const top = dbm.depth;
    return tf.tidy(() => {
      const terms = dbm.terms();
      const fromData = dataInput(terms, batch);
      let mu = bottomUpPass(terms, batch, fromData);
      for (let k = 0; k < meanFieldIterations; k++) mu = meanFieldSweep(terms, mu, fromData);
      const reconstruction = tf.sigmoid(layerInput(terms, mu, 0));
      const reconstructionError = tf.div(tf.sum(tf.square(tf.sub(batch, reconstruction))), n) as tf.Scalar;

      let particles: tf.Tensor2D[] = [...chains];
      for (let k = 0; k < gibbsSteps; k++) particles = gibbsSweep(terms, particles, rng);
      const model = [...particles];
      const kept = [...particles];
      for (const l of oddLayers(top)) {
        const p = tf.sigmoid(layerInput(terms, particles, l));
        model[l] = p;
        kept[l] = rng.bernoulli(p);
      }
      const m = (chains[0] as tf.Variable).shape[0];
      const centre = (x: tf.Tensor2D, l: number): tf.Tensor2D => (offsets ? (tf.sub(x, offsets[l] as tf.Variable) as tf.Tensor2D) : x);
      const gradients: Record<string, tf.Tensor> = {};
      for (let l = 0; l < top; l++) {
        const negative = tf.div(matMul(centre(model[l] as tf.Tensor2D, l), centre(model[l + 1] as tf.Tensor2D, l + 1), true, false), m);
        const positive = tf.div(matMul(centre(mu[l] as tf.Tensor2D, l), centre(mu[l + 1] as tf.Tensor2D, l + 1), true, false), n);
        // The optimizer minimises: its gradient is minus the log-likelihood gradient.
        gradients[`weights/${l}`] = tf.sub(negative, positive);
      }
      for (let l = 0; l <= top; l++) gradients[`biases/${l}`] = tf.sub(tf.mean(model[l] as tf.Tensor2D, 0), tf.mean(mu[l] as tf.Tensor2D, 0));
      this.optimizer.applyGradients(gradients);
      kept.forEach((x, l) => (chains[l] as tf.Variable).assign(x));
      if (offsets && offsetRate > 0) {
        const moved = offsets.map((o, l) => tf.add(tf.mul(o, 1 - offsetRate), tf.mul(tf.mean(mu[l] as tf.Tensor2D, 0), offsetRate)) as tf.Tensor1D);
        dbm.setOffsets(moved);
      }
      return { reconstructionError };
    });
  }

  /** The optimizer's state, for a checkpoint (the chains are the model's state). */
  getWeights(): Promise<{ name: string; tensor: tf.Tensor }[]> {
    this.checkAlive();
    return this.optimizer.getWeights();
  }

  validateWeights(weights: { name: string; tensor: tf.Tensor }[]): void {
    this.checkAlive();
    this.optimizer.validateWeights(weights);
  }

  setWeights(weights: { name: string; tensor: tf.Tensor }[]): Promise<void> {
    this.checkAlive();
    return this.optimizer.setWeights(weights);
  }

  private checkAlive(): void {
    if (this.disposed) throw new ConfigError('dbm trainer', 'a trainer that has not been disposed', 'a disposed DbmTrainer');
  }

  /** Frees the optimizer's state (not the model). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
  }
}

/** A trainer for `dbm` (see {@link DbmTrainer}). */
export function createDbmTrainer(dbm: DBM, options: DbmTrainerOptions = {}): DbmTrainer {
  return new DbmTrainer(dbm, options);
}
