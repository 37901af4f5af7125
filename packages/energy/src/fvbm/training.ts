import * as tf from '@tensorflow/tfjs-core';
import {
  CheckpointError,
  ConfigError,
  createOptimizer,
  createVariable,
  matMul,
  Rng,
  ShapeError,
  toRng,
  train,
  transpose2d,
  type CheckpointOptimizer,
  type Logs,
  type ParameterGroupOptimizer,
  type RngLike,
  type ScheduleLike,
  type TrainHistory,
  type TrainingCallback,
} from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, rejectUnknownKeys } from '../rbm/config.js';
import { FVBM_DEFAULT_MAX_UNITS, planEnumeration } from './enumerate.js';
import { checkBinary, negativeEnergy, type FullyVisibleBoltzmannMachine, type FvbmSweepOrder } from './model.js';

type NamedTensor = { name: string; tensor: tf.Tensor };

/** How the log-likelihood gradient's model term is obtained. */
export type FvbmTrainingMethod = 'exact' | 'pseudo-likelihood' | 'pcd';

/** How a fully-visible Boltzmann machine learns. */
export interface FvbmTrainerOptions {
  /**
   * `'exact'`: maximum likelihood, the model's moments summed over all 2^n states every update
   * (up to `maxUnits` units). `'pseudo-likelihood'`: ascend Σ_i log p(x_i | x_−i) (Besag 1975), a
   * consistent estimator that needs no samples. `'pcd'`: the model's moments from persistent
   * Gibbs chains (Younes 1998; Tieleman 2008). Default: `'exact'` up to `maxUnits` units, else
   * `'pseudo-likelihood'`.
   */
  method?: FvbmTrainingMethod;
  /** Learning rate, a core schedule of the update count (default 0.1). */
  learningRate?: ScheduleLike;
  /** Momentum, a core schedule of the update count (default 0.5, then 0.9 from update `momentumSwitch`). */
  momentum?: ScheduleLike;
  /** The update at which the default momentum goes from 0.5 to 0.9 (default 100). */
  momentumSwitch?: number;
  /** L2 cost on the couplings, not the biases (default 0: small machines are fitted exactly). */
  weightDecay?: number;
  /** PCD: number of persistent chains (default 100), saved in checkpoints. */
  chains?: number;
  /** PCD: Gibbs sweeps per update (default 1). */
  gibbsSweeps?: number;
  /** PCD: the order of each sweep (default `'sequential'`). */
  order?: FvbmSweepOrder;
  /** Exact: the largest machine it enumerates (default 20). */
  maxUnits?: number;
  /** Exact: states per chunk. */
  chunkSize?: number;
  /** The generator of the PCD chains' draws (default seed 0). */
  rng?: RngLike;
}

/**
 * What one update returns, for core's training loop: `logLikelihood` (method `'exact'`: the
 * batch's mean exact log-likelihood before the update) or `pseudoLikelihood` (the other methods:
 * the batch's mean pseudo-log-likelihood).
 */
export type FvbmStepLosses = Record<string, tf.Scalar>;

const OPTION_KEYS = ['method', 'learningRate', 'momentum', 'momentumSwitch', 'weightDecay', 'chains', 'gibbsSweeps', 'order', 'maxUnits', 'chunkSize', 'rng'];
const OPTIMIZER_PREFIX = 'optimizer/';
const CHAINS_NAME = 'chains';

/**
 * Trains a {@link FullyVisibleBoltzmannMachine}. Every method computes a pseudo-gradient keyed
 * like the parameters and hands it to core's momentum optimizer: for the couplings, the matrix
 * ⟨x xᵀ⟩_model − ⟨x xᵀ⟩_data off the diagonal (the derivative of −log p with respect to the
 * coupling U_ij = U_ji shared by a pair, placed at both of its entries), for the biases
 * ⟨x⟩_model − ⟨x⟩_data. The parameters stay symmetric with a zero diagonal.
 *
 * - exact: the model's moments by enumeration (Goodfellow et al. 2016, sec. 20.1: the
 *   likelihood's gradient is the difference of moments); full-batch updates converge to the
 *   maximum-likelihood fit, which matches the data's first and second moments.
 * - pseudo-likelihood: the gradient of Σ_i log σ(±(b_i + Σ_j U_ij x_j)), with R = x − σ(a):
 *   −Σ R for b and −(RᵀX + XᵀR) for U.
 * - pcd: the model's moments from persistent chains advanced by `gibbsSweeps` sweeps per
 *   update, Rao-Blackwellised: E[x_i] from p(x_i = 1 | x_−i) and E[x_i x_j] from
 *   ½(x_i p_j + p_i x_j), unbiased since E[x_i x_j] = E[x_i p(x_j = 1 | x_−j)] for i ≠ j.
 *
 * A core `CheckpointOptimizer`: `saveModel(handler, fvbm, { optimizers: { trainer }, rng: trainer.rng })`.
 */
export class FvbmTrainer implements CheckpointOptimizer {
  readonly model: FullyVisibleBoltzmannMachine;
  readonly method: FvbmTrainingMethod;
  readonly optimizer: ParameterGroupOptimizer;
  /** The persistent chains `[chains, units]` (PCD only). */
  readonly chains: tf.Variable<tf.Rank.R2> | null;
  readonly gibbsSweeps: number;
  readonly order: FvbmSweepOrder;
  private readonly enumeration: { maxUnits?: number; chunkSize?: number };
  private currentRng: Rng;
  private disposed = false;

  constructor(model: FullyVisibleBoltzmannMachine, options: FvbmTrainerOptions = {}) {
    if (options === null || typeof options !== 'object') throw new ConfigError('fvbm trainer options', 'an object', options);
    rejectUnknownKeys('fvbm trainer', options, OPTION_KEYS);
    this.model = model;
    const maxUnits = options.maxUnits ?? FVBM_DEFAULT_MAX_UNITS;
    const method = options.method ?? (model.units <= maxUnits ? 'exact' : 'pseudo-likelihood');
    if (method !== 'exact' && method !== 'pseudo-likelihood' && method !== 'pcd') {
      throw new ConfigError('trainer.method', "'exact', 'pseudo-likelihood' or 'pcd'", method);
    }
    this.method = method;
    this.enumeration = { maxUnits: options.maxUnits, chunkSize: options.chunkSize };
    if (method === 'exact') planEnumeration(model.units, this.enumeration, "trainer method 'exact'");
    this.gibbsSweeps = positiveInteger('trainer.gibbsSweeps', options.gibbsSweeps ?? 1);
    this.order = options.order ?? 'sequential';
    if (this.order !== 'sequential' && this.order !== 'random') throw new ConfigError('trainer.order', "'sequential' or 'random'", this.order);
    const chains = positiveInteger('trainer.chains', options.chains ?? 100);
    const weightDecay = options.weightDecay ?? 0;
    if (typeof weightDecay !== 'number' || !Number.isFinite(weightDecay) || weightDecay < 0) throw new ConfigError('trainer.weightDecay', 'a finite number >= 0', weightDecay);
    const momentumSwitch = nonNegativeInteger('trainer.momentumSwitch', options.momentumSwitch ?? 100);
    this.currentRng = toRng(options.rng);
    this.optimizer = createOptimizer(
      {
        kind: 'momentum',
        learningRate: options.learningRate ?? 0.1,
        momentum: options.momentum ?? { kind: 'piecewise', boundaries: [momentumSwitch], values: [0.5, 0.9] },
        weightDecay,
        excludeBiasesFromDecay: true,
      },
      model.params,
    );
    this.chains = method === 'pcd' ? (createVariable(model.noise(chains, this.currentRng), 'fvbm-trainer/chains', false) as tf.Variable<tf.Rank.R2>) : null;
  }

  /** The generator the updates draw from. */
  get rng(): Rng {
    return this.currentRng;
  }

  /** Continues from a saved generator (the `rng` that `loadModel` returns). */
  useRng(rng: Rng): void {
    this.currentRng = rng;
  }

  /** One update from a batch of binary states `[rows, units]`. */
  step(batch: tf.Tensor2D): FvbmStepLosses {
    this.checkAlive();
    const model = this.model;
    model.checkStates(batch, 'trainer.step batch');
    const rows = batch.shape[0];
    if (rows === 0) throw new ShapeError('trainer.step batch', [null, model.units], batch.shape, 'a batch needs at least one example');
    if (this.method === 'pseudo-likelihood') return this.pseudoLikelihoodStep(batch);
    return tf.tidy(() => {
      const x = tf.cast(batch, 'float32') as tf.Tensor2D;
      const dataMean = tf.mean(x, 0);
      const dataSecond = tf.div(matMul(transpose2d(x), x), rows);
      let modelMean: tf.Tensor;
      let modelSecond: tf.Tensor;
      let losses: FvbmStepLosses;
      if (this.method === 'exact') {
        const stats = model.exactStatistics(this.enumeration);
        modelMean = stats.mean;
        modelSecond = stats.second;
        const u = model.couplings();
        losses = { logLikelihood: tf.sub(tf.mean(negativeEnergy(x, u, model.params.bias)), stats.logPartition) as tf.Scalar };
      } else {
        const chains = this.chains!;
        const next = model.gibbs(chains, this.gibbsSweeps, this.currentRng, this.order);
        chains.assign(next);
        const m = next.shape[0];
        const p = model.conditionalProbabilities(next);
        modelMean = tf.mean(p, 0);
        const cross = matMul(transpose2d(next), p);
        modelSecond = tf.div(tf.mul(tf.add(cross, transpose2d(cross)), 0.5), m);
        losses = { pseudoLikelihood: tf.mean(model.pseudoLogLikelihood(x)) as tf.Scalar };
      }
      const mask = tf.sub(1, tf.eye(model.units));
      this.optimizer.applyGradients({
        weights: tf.mul(tf.sub(modelSecond, dataSecond), mask),
        bias: tf.sub(modelMean, dataMean),
      });
      return losses;
    });
  }

  private pseudoLikelihoodStep(batch: tf.Tensor2D): FvbmStepLosses {
    const model = this.model;
    const rows = batch.shape[0];
    return tf.tidy(() => {
      const x = tf.cast(batch, 'float32') as tf.Tensor2D;
      const a = model.conditionalLogits(x);
      const pseudoLikelihood = tf.div(tf.sum(tf.sub(tf.mul(x, a), tf.softplus(a))), rows) as tf.Scalar;
      const residual = tf.sub(x, tf.sigmoid(a)) as tf.Tensor2D;
      const cross = matMul(transpose2d(residual), x);
      const mask = tf.sub(1, tf.eye(model.units));
      this.optimizer.applyGradients({
        weights: tf.div(tf.mul(tf.neg(tf.add(cross, transpose2d(cross))), mask), rows),
        bias: tf.neg(tf.mean(residual, 0)),
      });
      return { pseudoLikelihood };
    });
  }

  /** The optimizer's state and the chains, named for a checkpoint. */
  async getWeights(): Promise<NamedTensor[]> {
    this.checkAlive();
    const weights = (await this.optimizer.getWeights()).map((w) => ({ name: OPTIMIZER_PREFIX + w.name, tensor: w.tensor }));
    if (this.chains !== null) weights.push({ name: CHAINS_NAME, tensor: tf.clone(this.chains) });
    return weights;
  }

  validateWeights(weights: NamedTensor[]): void {
    this.checkAlive();
    this.split(weights);
  }

  async setWeights(weights: NamedTensor[]): Promise<void> {
    this.checkAlive();
    const { optimizer, chains } = this.split(weights);
    await this.optimizer.setWeights(optimizer);
    if (chains && this.chains) this.chains.assign(chains as tf.Tensor2D);
  }

  private split(weights: NamedTensor[]): { optimizer: NamedTensor[]; chains?: tf.Tensor } {
    const optimizer: NamedTensor[] = [];
    let chains: tf.Tensor | undefined;
    for (const w of weights) {
      if (w.name.startsWith(OPTIMIZER_PREFIX)) optimizer.push({ name: w.name.slice(OPTIMIZER_PREFIX.length), tensor: w.tensor });
      else if (w.name === CHAINS_NAME) chains = w.tensor;
      else throw new CheckpointError('fvbm trainer state', `unknown entry '${w.name}'`);
    }
    if ((chains === undefined) !== (this.chains === null)) {
      throw new CheckpointError(
        'fvbm trainer state',
        this.chains === null ? `it holds persistent chains, which this trainer (${this.method}) does not have` : `it holds no persistent chains, which this trainer (pcd) needs`,
      );
    }
    if (chains && this.chains && chains.shape.join(',') !== this.chains.shape.join(',')) {
      throw new CheckpointError('fvbm trainer state', `persistent chains of shape [${chains.shape.join(', ')}], this trainer's are [${this.chains.shape.join(', ')}]`);
    }
    this.optimizer.validateWeights(optimizer);
    return { optimizer, chains };
  }

  private checkAlive(): void {
    if (this.disposed) throw new ConfigError('trainer', 'a trainer that has not been disposed', 'a disposed FvbmTrainer');
  }

  /** Frees the optimizer's state and the chains (not the model). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
    this.chains?.dispose();
  }
}

/** A trainer for `model` (see {@link FvbmTrainer}). */
export function createFvbmTrainer(model: FullyVisibleBoltzmannMachine, options: FvbmTrainerOptions = {}): FvbmTrainer {
  return new FvbmTrainer(model, options);
}

/**
 * Sets the biases to log(p/(1−p)) of each unit's mean in `data`, clipped to [1e-3, 1 − 1e-3]:
 * with zero couplings the machine is then the data's independent-units fit.
 */
export function initFvbmBiasFromData(model: FullyVisibleBoltzmannMachine, data: tf.Tensor2D): void {
  model.checkStates(data, 'initFvbmBiasFromData data');
  tf.tidy(() => {
    const p = tf.clipByValue(tf.mean(tf.cast(data, 'float32'), 0), 1e-3, 1 - 1e-3);
    model.params.bias.assign(tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D);
  });
}

export interface FitFvbmOptions extends FvbmTrainerOptions {
  /** Epoch to end before (exclusive). */
  epochs: number;
  /** Examples per update (default: the whole set, the natural choice for exact maximum likelihood). */
  batchSize?: number;
  /** Seed of the epoch orders (default 0; also of the chains' draws when `rng` is not given). */
  seed?: number;
  /** Set the biases from the data's means before training (default true, not when resuming). */
  initBias?: boolean;
  /**
   * Examples (from the start of the set) on which each epoch logs `trainLogLikelihood` (exact,
   * when the machine can be enumerated) or `trainPseudoLikelihood` (default 1000; 0 turns it off).
   */
  monitorExamples?: number;
  /** A trainer to continue with; its options win over the ones here. */
  trainer?: FvbmTrainer;
  initialEpoch?: number;
  initialStep?: number;
  callbacks?: TrainingCallback[];
  signal?: AbortSignal;
}

export interface FitFvbmResult {
  history: TrainHistory;
  trainer: FvbmTrainer;
}

const FIT_KEYS = ['epochs', 'batchSize', 'seed', 'initBias', 'monitorExamples', 'trainer', 'initialEpoch', 'initialStep', 'callbacks', 'signal'];

/**
 * Trains a fully-visible Boltzmann machine on binary `data` `[n, units]` with core's training
 * loop, one {@link FvbmTrainer} update per batch.
 *
 * ```ts no-run
 * const fvbm = new FullyVisibleBoltzmannMachine({ units: 12 });
 * const { history, trainer } = await fitFvbm(fvbm, data, { epochs: 300, method: 'exact', learningRate: 0.5 });
 * ```
 */
export async function fitFvbm(model: FullyVisibleBoltzmannMachine, data: tf.Tensor2D, options: FitFvbmOptions): Promise<FitFvbmResult> {
  if (options === null || typeof options !== 'object') throw new ConfigError('fitFvbm options', 'an object with epochs', options);
  model.checkStates(data, 'fitFvbm data');
  const n = data.shape[0];
  if (n === 0) throw new ConfigError('fitFvbm data', 'at least one example', data.shape);
  await checkBinary(data, 'fitFvbm data');
  const batchSize = positiveInteger('batchSize', options.batchSize ?? n);
  const seed = nonNegativeInteger('seed', options.seed ?? 0);
  const monitorExamples = nonNegativeInteger('monitorExamples', options.monitorExamples ?? 1000);
  const trainerOptions: FvbmTrainerOptions = Object.fromEntries(Object.entries(options).filter(([k]) => !FIT_KEYS.includes(k)));
  if (trainerOptions.rng === undefined) trainerOptions.rng = new Rng(seed).nextSeed();
  const trainer = options.trainer ?? new FvbmTrainer(model, trainerOptions);
  const resuming = (options.initialEpoch ?? 0) > 0 || options.trainer !== undefined;
  if (options.initBias ?? !resuming) initFvbmBiasFromData(model, data);
  const monitorCount = Math.min(monitorExamples, n);
  const monitorSet = monitorCount > 0 ? (tf.slice(data, [0, 0], [monitorCount, model.units]) as tf.Tensor2D) : null;
  const enumerable = model.units <= (options.maxUnits ?? FVBM_DEFAULT_MAX_UNITS);

  function* batches(epoch: number): Iterable<tf.Tensor2D> {
    if (batchSize >= n) {
      yield tf.clone(data);
      return;
    }
    const order = new Rng(seed * 1_000_003 + epoch + 11).permutation(n);
    for (let start = 0; start < n; start += batchSize) {
      const ids = order.subarray(start, Math.min(n, start + batchSize));
      yield tf.tidy(() => tf.gather(data, tf.tensor1d(ids, 'int32')));
    }
  }

  async function monitor(): Promise<Logs> {
    const set = monitorSet!;
    if (enumerable) {
      const logZ = await model.logPartition({ maxUnits: options.maxUnits, chunkSize: options.chunkSize });
      const mean = tf.tidy(() => tf.mean(model.logProbability(set, logZ)));
      const value = (await mean.data())[0] as number;
      mean.dispose();
      return { trainLogLikelihood: value };
    }
    const mean = tf.tidy(() => tf.mean(model.pseudoLogLikelihood(set)));
    const value = (await mean.data())[0] as number;
    mean.dispose();
    return { trainPseudoLikelihood: value };
  }

  try {
    const history = await train<tf.Tensor2D>({
      epochs: options.epochs,
      initialEpoch: options.initialEpoch,
      initialStep: options.initialStep,
      batches,
      step: (batch) => trainer.step(batch),
      validation: monitorSet ? monitor : undefined,
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
