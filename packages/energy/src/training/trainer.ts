import * as tf from '@tensorflow/tfjs-core';
import {
  addRowBias,
  CheckpointError,
  ConfigError,
  createOptimizer,
  createVariable,
  matMul,
  ShapeError,
  toRng,
  type CheckpointOptimizer,
  type OptimizerConfig,
  type ParameterGroupOptimizer,
  type Rng,
  type RngLike,
  type ScheduleLike,
  transpose2d,
} from '@helmholtz/core';
import { finiteNumber, nonNegativeInteger, positiveInteger, positiveNumber, rejectUnknownKeys } from '../rbm/config.js';
import type { RbmParams, RbmStatistics, RestrictedBoltzmannMachine } from '../rbm/rbm.js';

/** The sparsity target of Hinton's practical guide (2010, sec. 11). */
export interface SparsityOptions {
  /** Wanted mean activation q of each hidden unit, in (0, 1), e.g. 0.05. */
  target: number;
  /** Weight of the penalty (the guide's "sparsity cost"), e.g. 0.1. */
  cost: number;
  /** Decay of the running estimate of each unit's activation, q ← λ q + (1 − λ) mean p(h | v) (default 0.95). */
  decay?: number;
}

/** How an RBM learns: the Gibbs chains of the negative phase and the update rule. */
export interface RbmTrainerOptions {
  /**
   * `'cd'`: contrastive divergence, chains start at the batch (Hinton 2002). `'pcd'`: persistent
   * contrastive divergence / stochastic maximum likelihood, chains carried over from one update
   * to the next (Tieleman 2008; Younes 1998). Default `'cd'`.
   */
  method?: 'cd' | 'pcd';
  /** Gibbs steps per update, k of CD-k (default 1). */
  gibbsSteps?: number;
  /** Number of persistent chains of PCD (default 100). Their state is saved in checkpoints. */
  chains?: number;
  /** Learning rate, a core schedule of the update count (default 0.1 for binary visible units, 0.01 for Gaussian ones). */
  learningRate?: ScheduleLike;
  /**
   * Momentum, a core schedule of the update count. Default 0.5, then 0.9 from update
   * `momentumSwitch` (Hinton 2010, sec. 9); `fitRbm` sets the switch to 5 epochs.
   */
  momentum?: ScheduleLike;
  /** The update at which the default momentum goes from 0.5 to 0.9 (default 1000). */
  momentumSwitch?: number;
  /** L2 weight cost on the weights (not the biases), added to the gradient (default 0.0002, Hinton 2010 sec. 10). */
  weightDecay?: number;
  /** A target activation for the hidden units (default: none). */
  sparsity?: SparsityOptions;
  /** The generator of every sample the updates draw (default seed 0). */
  rng?: RngLike;
}

interface ResolvedOptions {
  method: 'cd' | 'pcd';
  gibbsSteps: number;
  chains: number;
  optimizer: OptimizerConfig;
  sparsity: Required<SparsityOptions> | null;
}

const OPTION_KEYS = ['method', 'gibbsSteps', 'chains', 'learningRate', 'momentum', 'momentumSwitch', 'weightDecay', 'sparsity', 'rng'];

function resolveOptions(rbm: RestrictedBoltzmannMachine, options: RbmTrainerOptions): ResolvedOptions {
  if (options === null || typeof options !== 'object') throw new ConfigError('trainer options', 'an object', options);
  rejectUnknownKeys('trainer', options, OPTION_KEYS);
  const method = options.method ?? 'cd';
  if (method !== 'cd' && method !== 'pcd') throw new ConfigError('trainer.method', "'cd' or 'pcd'", method);
  const gibbsSteps = positiveInteger('trainer.gibbsSteps', options.gibbsSteps ?? 1);
  const chains = positiveInteger('trainer.chains', options.chains ?? 100);
  const weightDecay = options.weightDecay ?? 0.0002;
  if (typeof weightDecay !== 'number' || !Number.isFinite(weightDecay) || weightDecay < 0) throw new ConfigError('trainer.weightDecay', 'a finite number >= 0', weightDecay);
  const momentumSwitch = nonNegativeInteger('trainer.momentumSwitch', options.momentumSwitch ?? 1000);
  let sparsity: Required<SparsityOptions> | null = null;
  if (options.sparsity !== undefined) {
    const s = options.sparsity;
    if (s === null || typeof s !== 'object') throw new ConfigError('trainer.sparsity', 'an object { target, cost, decay? }', s);
    rejectUnknownKeys('trainer.sparsity', s, ['target', 'cost', 'decay']);
    const target = finiteNumber('trainer.sparsity.target', s.target);
    if (!(target > 0 && target < 1)) throw new ConfigError('trainer.sparsity.target', 'a probability strictly between 0 and 1', target);
    const decay = finiteNumber('trainer.sparsity.decay', s.decay ?? 0.95);
    if (!(decay >= 0 && decay < 1)) throw new ConfigError('trainer.sparsity.decay', 'a number in [0, 1)', decay);
    sparsity = { target, cost: positiveNumber('trainer.sparsity.cost', s.cost), decay };
  }
  return {
    method,
    gibbsSteps,
    chains,
    sparsity,
    optimizer: {
      kind: 'momentum',
      learningRate: options.learningRate ?? (rbm.binaryVisible ? 0.1 : 0.01),
      momentum: options.momentum ?? { kind: 'piecewise', boundaries: [momentumSwitch], values: [0.5, 0.9] },
      weightDecay,
      excludeBiasesFromDecay: true,
    },
  };
}

/** What one update returns, for core's training loop (scalars it takes ownership of). */
export interface RbmStepLosses {
  /** Mean over the batch of Σ_i (v_i − E[v_i | h])², h sampled from p(h | v): the reconstruction of the update's first Gibbs step. */
  reconstructionError: tf.Scalar;
  [name: string]: tf.Scalar;
}

/** The parameters an RBM's trainer updates: all of them but a fixed variance. */
function trainableParams(rbm: RestrictedBoltzmannMachine): Partial<RbmParams> {
  const { weights, visibleBias, hiddenBias, logVariance } = rbm.params;
  const params: Partial<RbmParams> = { weights, visibleBias, hiddenBias };
  if (logVariance !== undefined && logVariance.trainable) params.logVariance = logVariance;
  return params;
}

const OPTIMIZER_PREFIX = 'optimizer/';
const CHAINS_NAME = 'chains';
const ACTIVATION_NAME = 'sparsity/activation';

/**
 * Trains an RBM by contrastive divergence (CD-k) or persistent contrastive divergence (PCD),
 * with the practical recipe: momentum, L2 weight cost and a sparsity target.
 *
 * Each update estimates the log-likelihood gradient as the data statistics minus the model
 * statistics of −∂E/∂θ: the data term uses p(h | v) for the batch, the model term the last
 * state of k Gibbs steps (with p(h | v_k) for the hidden units, Hinton 2010 sec. 3). These
 * pseudo-gradients go to core's momentum optimizer, so the update is Δθ ← m Δθ + g, θ ← θ − lr Δθ.
 *
 * The trainer is a core `CheckpointOptimizer`: save it with the model,
 * `saveModel(handler, rbm, { optimizers: { trainer }, rng: trainer.rng })`, and its optimizer
 * state, persistent chains and sparsity estimates come back with `loadModel`'s `optimizers`
 * option (see `saveRbmTraining`/`loadRbmTraining`, which do both).
 */
export class RbmTrainer implements CheckpointOptimizer {
  readonly rbm: RestrictedBoltzmannMachine;
  readonly options: RbmTrainerOptions;
  readonly optimizer: ParameterGroupOptimizer;
  /** The persistent chains' visible state `[chains, visible]` (PCD only). */
  readonly chains: tf.Variable<tf.Rank.R2> | null;
  /** The running estimate q of each hidden unit's mean activation (with a sparsity target only). */
  readonly activation: tf.Variable<tf.Rank.R1> | null;
  private readonly resolved: ResolvedOptions;
  private currentRng: Rng;
  private disposed = false;

  constructor(rbm: RestrictedBoltzmannMachine, options: RbmTrainerOptions = {}) {
    this.rbm = rbm;
    this.options = options;
    this.resolved = resolveOptions(rbm, options);
    this.currentRng = toRng(options.rng);
    this.optimizer = createOptimizer(this.resolved.optimizer, trainableParams(rbm));
    // Chains start from noise; Tieleman (2008) notes the start matters little once they run.
    this.chains =
      this.resolved.method === 'pcd' ? (createVariable(rbm.noiseVisible(this.resolved.chains, this.currentRng), 'rbm-trainer/chains', false) as tf.Variable<tf.Rank.R2>) : null;
    this.activation = this.resolved.sparsity
      ? (createVariable(tf.fill([rbm.hidden], this.resolved.sparsity.target), 'rbm-trainer/activation', false) as tf.Variable<tf.Rank.R1>)
      : null;
  }

  /** The generator the updates draw from. */
  get rng(): Rng {
    return this.currentRng;
  }

  /** Continues from a saved generator (the `rng` that `loadModel` returns). */
  useRng(rng: Rng): void {
    this.currentRng = rng;
  }

  /** Updates taken so far (the optimizer's step count). */
  get updates(): number {
    return this.optimizer.iterations;
  }

  /** One update from a batch `[n, visible]`. */
  step(batch: tf.Tensor2D): RbmStepLosses {
    this.checkAlive();
    const rbm = this.rbm;
    rbm.checkVisible(batch, 'trainer.step batch');
    const n = batch.shape[0];
    if (n === 0) throw new ShapeError('trainer.step batch', [null, rbm.visible], batch.shape, 'a batch needs at least one example');
    if (rbm.kind === 'bernoulli-rbm') return this.binaryStep(batch);
    const rng = this.currentRng;
    const { gibbsSteps, sparsity } = this.resolved;
    return tf.tidy(() => {
      const h0p = rbm.hiddenProbabilities(batch);
      const h0 = rng.bernoulli(h0p);
      const firstMean = rbm.visibleMean(h0);
      const reconstructionError = tf.mean(tf.sum(tf.square(tf.sub(batch, firstMean)), 1)) as tf.Scalar;
      // The negative chain: from the batch's hidden sample (CD) or from the persistent state (PCD).
      let visible: tf.Tensor2D;
      let hidden: tf.Tensor2D;
      let steps = gibbsSteps;
      if (this.chains === null) {
        visible = rbm.sampleVisibleFromMean(firstMean, rng);
        steps -= 1;
      } else {
        visible = this.chains;
      }
      let hiddenProbs = rbm.hiddenProbabilities(visible);
      for (let k = 0; k < steps; k++) {
        hidden = rng.bernoulli(hiddenProbs);
        visible = rbm.sampleVisible(hidden, rng);
        hiddenProbs = rbm.hiddenProbabilities(visible);
      }
      const m = visible.shape[0];
      const positive = rbm.statistics(batch, h0p);
      const negative = rbm.statistics(visible, hiddenProbs);
      const gradients: Record<string, tf.Tensor> = {};
      for (const name of Object.keys(positive) as (keyof RbmStatistics)[]) {
        // The optimizer minimises: its gradient is minus the log-likelihood gradient.
        gradients[name] = tf.sub(tf.div(negative[name] as tf.Tensor, m), tf.div(positive[name] as tf.Tensor, n));
      }
      if (sparsity !== null && this.activation !== null) {
        const q = tf.add(tf.mul(this.activation, sparsity.decay), tf.mul(tf.mean(h0p, 0), 1 - sparsity.decay));
        this.activation.assign(q as tf.Tensor1D);
        // d(cross-entropy(target, q))/d(total input) = q − target, for the hidden biases and,
        // through the mean visible input, for the weights (Hinton 2010, sec. 11.2).
        const push = tf.mul(tf.sub(q, sparsity.target), sparsity.cost);
        gradients.hiddenBias = tf.add(gradients.hiddenBias as tf.Tensor, push);
        const meanInput = tf.mean(rbm.visibleInput(batch), 0);
        gradients.weights = tf.add(gradients.weights as tf.Tensor, tf.outerProduct(meanInput as tf.Tensor1D, push as tf.Tensor1D));
      }
      if (this.chains !== null) this.chains.assign(visible);
      this.optimizer.applyGradients(gradients);
      return { reconstructionError };
    });
  }

  /**
   * The same update for binary units, computed one column per example: activations are
   * `[units, n]` and every product's right operand is an activation matrix, never the weights.
   * On tfjs-backend-wasm a product repacks its right operand whenever that tensor is new (the
   * weights change every update), about 2 ms for 784x500 on one thread; here only [V, n] and
   * [n, H] activations are repacked (bench/src/rbm-step.ts measures the layouts). Used on every
   * backend, so a seed gives the same samples on cpu, wasm and GPUs.
   */
  private binaryStep(batch: tf.Tensor2D): RbmStepLosses {
    const rbm = this.rbm;
    const rng = this.currentRng;
    const { gibbsSteps, sparsity } = this.resolved;
    const { weights, visibleBias, hiddenBias } = rbm.params;
    const n = batch.shape[0];
    return tf.tidy(() => {
      const wt = transpose2d(weights);
      const hiddenProbs = (vt: tf.Tensor2D): tf.Tensor2D => tf.sigmoid(addRowBias(matMul(wt, vt), hiddenBias));
      const visibleProbs = (ht: tf.Tensor2D): tf.Tensor2D => tf.sigmoid(addRowBias(matMul(weights, ht), visibleBias));
      const v0t = transpose2d(batch);
      const h0pt = hiddenProbs(v0t);
      const firstMean = visibleProbs(rng.bernoulli(h0pt));
      const reconstructionError = tf.div(tf.sum(tf.square(tf.sub(v0t, firstMean))), n) as tf.Scalar;
      let vt: tf.Tensor2D;
      let steps = gibbsSteps;
      if (this.chains === null) {
        vt = rng.bernoulli(firstMean);
        steps -= 1;
      } else {
        vt = transpose2d(this.chains);
      }
      let hpt = hiddenProbs(vt);
      for (let k = 0; k < steps; k++) {
        vt = rng.bernoulli(visibleProbs(rng.bernoulli(hpt)));
        hpt = hiddenProbs(vt);
      }
      const m = vt.shape[1];
      const gradients: Record<string, tf.Tensor> = {
        weights: tf.sub(tf.div(matMul(vt, transpose2d(hpt)), m), tf.div(matMul(v0t, transpose2d(h0pt)), n)),
        visibleBias: tf.sub(tf.div(tf.sum(vt, 1), m), tf.div(tf.sum(v0t, 1), n)),
        hiddenBias: tf.sub(tf.div(tf.sum(hpt, 1), m), tf.div(tf.sum(h0pt, 1), n)),
      };
      if (sparsity !== null && this.activation !== null) {
        const q = tf.add(tf.mul(this.activation, sparsity.decay), tf.mul(tf.mean(h0pt, 1), 1 - sparsity.decay));
        this.activation.assign(q as tf.Tensor1D);
        const push = tf.mul(tf.sub(q, sparsity.target), sparsity.cost);
        gradients.hiddenBias = tf.add(gradients.hiddenBias as tf.Tensor, push);
        gradients.weights = tf.add(gradients.weights as tf.Tensor, tf.outerProduct(tf.mean(v0t, 1) as tf.Tensor1D, push as tf.Tensor1D));
      }
      if (this.chains !== null) this.chains.assign(transpose2d(vt));
      this.optimizer.applyGradients(gradients);
      return { reconstructionError };
    });
  }

  /** The optimizer's state, the chains and the activation estimates, named for a checkpoint. */
  async getWeights(): Promise<{ name: string; tensor: tf.Tensor }[]> {
    this.checkAlive();
    const weights = (await this.optimizer.getWeights()).map((w) => ({ name: OPTIMIZER_PREFIX + w.name, tensor: w.tensor }));
    if (this.chains !== null) weights.push({ name: CHAINS_NAME, tensor: tf.clone(this.chains) });
    if (this.activation !== null) weights.push({ name: ACTIVATION_NAME, tensor: tf.clone(this.activation) });
    return weights;
  }

  validateWeights(weights: { name: string; tensor: tf.Tensor }[]): void {
    this.checkAlive();
    this.split(weights);
  }

  async setWeights(weights: { name: string; tensor: tf.Tensor }[]): Promise<void> {
    this.checkAlive();
    const { optimizer, chains, activation } = this.split(weights);
    this.optimizer.validateWeights(optimizer);
    await this.optimizer.setWeights(optimizer);
    if (chains && this.chains) this.chains.assign(chains as tf.Tensor2D);
    if (activation && this.activation) this.activation.assign(activation as tf.Tensor1D);
  }

  private split(weights: { name: string; tensor: tf.Tensor }[]): {
    optimizer: { name: string; tensor: tf.Tensor }[];
    chains?: tf.Tensor;
    activation?: tf.Tensor;
  } {
    const optimizer: { name: string; tensor: tf.Tensor }[] = [];
    let chains: tf.Tensor | undefined;
    let activation: tf.Tensor | undefined;
    for (const w of weights) {
      if (w.name.startsWith(OPTIMIZER_PREFIX)) optimizer.push({ name: w.name.slice(OPTIMIZER_PREFIX.length), tensor: w.tensor });
      else if (w.name === CHAINS_NAME) chains = w.tensor;
      else if (w.name === ACTIVATION_NAME) activation = w.tensor;
      else throw new CheckpointError('RBM trainer state', `unknown entry '${w.name}'`);
    }
    const expect = (what: string, saved: tf.Tensor | undefined, mine: tf.Variable | null): void => {
      if ((saved === undefined) !== (mine === null)) {
        throw new CheckpointError(
          'RBM trainer state',
          mine === null ? `it holds ${what}, which this trainer (${this.describe()}) does not have` : `it holds no ${what}, which this trainer (${this.describe()}) needs`,
        );
      }
      if (saved && mine && saved.shape.join(',') !== mine.shape.join(',')) {
        throw new CheckpointError('RBM trainer state', `${what} of shape [${saved.shape.join(', ')}], this trainer's are [${mine.shape.join(', ')}]`);
      }
    };
    expect('persistent chains', chains, this.chains);
    expect('sparsity activation estimates', activation, this.activation);
    this.optimizer.validateWeights(optimizer);
    return { optimizer, chains, activation };
  }

  private describe(): string {
    const r = this.resolved;
    return `${r.method}${r.method === 'pcd' ? ` with ${r.chains} chains` : ''}${r.sparsity ? ', sparsity target' : ''}`;
  }

  private checkAlive(): void {
    if (this.disposed) throw new ConfigError('trainer', 'a trainer that has not been disposed', 'a disposed RbmTrainer');
  }

  /** Frees the optimizer's state, the chains and the activation estimates (not the model). */
  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    this.optimizer.dispose();
    this.chains?.dispose();
    this.activation?.dispose();
  }
}

/** A trainer for `rbm` (see {@link RbmTrainer}). */
export function createRbmTrainer(rbm: RestrictedBoltzmannMachine, options: RbmTrainerOptions = {}): RbmTrainer {
  return new RbmTrainer(rbm, options);
}
