import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  disposeParams,
  matMul,
  ShapeError,
  toRng,
  type GenerativeModel,
  type LikelihoodEstimate,
  type Rng,
  type SampleOptions,
} from '@helmholtz/core';
import { nonNegativeInteger, type RbmConfigBase } from './config.js';
import { rbmLogLikelihood, type RbmLikelihoodOptions } from '../partition/log-likelihood.js';

/**
 * An RBM's trainable tensors. `weights` is `[visible, hidden]` (column j is hidden unit j's
 * filter); `logVariance` exists only on real-valued visible units (Gaussian-Bernoulli RBM).
 */
export interface RbmParams {
  weights: tf.Variable<tf.Rank.R2>;
  visibleBias: tf.Variable<tf.Rank.R1>;
  hiddenBias: tf.Variable<tf.Rank.R1>;
  logVariance?: tf.Variable<tf.Rank.R1>;
}

/**
 * Sums over a batch of −∂E(v, h)/∂θ for each parameter θ, keyed like {@link RbmParams}: the
 * data term minus the model term of these, divided by the batch size, is the log-likelihood
 * gradient that contrastive divergence approximates.
 */
export type RbmStatistics = { [K in keyof RbmParams]?: tf.Tensor };

/** Where a Gibbs chain starts when sampling from the model. */
export type GibbsStart = tf.Tensor2D | 'noise';

/** Options of {@link RestrictedBoltzmannMachine.sample}. */
export interface RbmSampleOptions extends SampleOptions {
  /** Full Gibbs steps v → h → v (default 1000; at least one is run, so 0 counts as 1 and every sample is a fresh draw). */
  steps?: number;
  /**
   * The chains' start: `'noise'` (default; uniform bits, or N(b, σ²) for real-valued units) or
   * a `[n, visible]` tensor (data, or the persistent chains of a trainer), which is not changed.
   */
  start?: GibbsStart;
  /** `'sample'` (default) returns the last visible sample; `'mean'` its conditional mean, smoother to look at. */
  output?: 'sample' | 'mean';
}

/** The state of a Gibbs chain after some steps, one row per chain. The caller owns the tensors. */
export interface GibbsState {
  /** The last visible sample. */
  visible: tf.Tensor2D;
  /** E[v | h] for the last hidden sample (probabilities, or Gaussian means). */
  visibleMean: tf.Tensor2D;
  /** The last hidden sample. */
  hidden: tf.Tensor2D;
}

/**
 * What Bernoulli and Gaussian-Bernoulli RBMs share: hidden units that are binary and
 * conditionally independent given the visible units, so that
 *   p(h_j = 1 | v) = σ(c_j + Σ_i W_ij s_i(v))
 * where s(v) is the visible units' "input to the hidden layer" (v itself for binary units,
 * v/σ² for Gaussian ones). Each kind adds its visible conditional, energy and free energy.
 *
 * A model is data: `config` rebuilds it, `params` holds its variables, and no method changes
 * a variable (training does that: see `createRbmTrainer`). Every method returns tensors the
 * caller owns and leaves no other tensor behind.
 */
export abstract class RestrictedBoltzmannMachine<C extends RbmConfigBase = RbmConfigBase> implements GenerativeModel<C> {
  abstract readonly kind: string;
  readonly config: C;
  readonly params: RbmParams;

  protected constructor(config: C, params: RbmParams) {
    this.config = config;
    this.params = params;
  }

  get visible(): number {
    return this.config.visible;
  }

  get hidden(): number {
    return this.config.hidden;
  }

  /** Whether the visible units are binary (sampling, base-rate models and AIS depend on it). */
  abstract readonly binaryVisible: boolean;

  /** The visible units' input to the hidden layer, s(v): v, or v/σ² for Gaussian units. */
  abstract visibleInput(v: tf.Tensor2D): tf.Tensor2D;

  /** E[v | h]: probabilities σ(b + W h) for binary units, means b + W h for Gaussian ones. */
  abstract visibleMean(h: tf.Tensor2D): tf.Tensor2D;

  /** A sample of v given its conditional mean (Bernoulli draws, or the mean plus Gaussian noise). */
  abstract sampleVisibleFromMean(mean: tf.Tensor2D, rng: Rng): tf.Tensor2D;

  /** `n` visible vectors to start chains from: uniform bits, or N(b, σ²). */
  abstract noiseVisible(n: number, rng: Rng): tf.Tensor2D;

  /** E(v, h) for each row pair. */
  abstract energy(v: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor1D;

  /** F(v) = −log Σ_h exp(−E(v, h)) for each row: p(v) = exp(−F(v)) / Z. */
  abstract freeEnergy(v: tf.Tensor2D): tf.Tensor1D;

  /** F(h) = −log Σ_v exp(−E(v, h)) (a sum or an integral over v), for each row: p(h) = exp(−F(h)) / Z. */
  abstract hiddenFreeEnergy(h: tf.Tensor2D): tf.Tensor1D;

  /** Sums over the batch of −∂E/∂θ at (v, h), h being samples or probabilities. */
  abstract statistics(v: tf.Tensor2D, h: tf.Tensor2D): RbmStatistics;

  /** c + W^T s(v), the hidden units' total input, `[n, hidden]`. */
  hiddenLogits(v: tf.Tensor2D): tf.Tensor2D {
    this.checkVisible(v, 'hiddenLogits');
    return tf.tidy(() => tf.add(matMul(this.visibleInput(v), this.params.weights), this.params.hiddenBias) as tf.Tensor2D);
  }

  /** p(h = 1 | v), `[n, hidden]`. */
  hiddenProbabilities(v: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.sigmoid(this.hiddenLogits(v)));
  }

  /** A sample h ~ p(h | v). */
  sampleHidden(v: tf.Tensor2D, rng: Rng): tf.Tensor2D {
    return tf.tidy(() => rng.bernoulli(this.hiddenProbabilities(v)));
  }

  /** A sample v ~ p(v | h). */
  sampleVisible(h: tf.Tensor2D, rng: Rng): tf.Tensor2D {
    this.checkHidden(h, 'sampleVisible');
    return tf.tidy(() => this.sampleVisibleFromMean(this.visibleMean(h), rng));
  }

  /**
   * `steps` full steps of block Gibbs sampling, v → h → v, from `start` (not changed). With 0
   * steps the state is the start with its hidden sample and no new visible draw.
   */
  gibbs(start: tf.Tensor2D, steps: number, rng: Rng): GibbsState {
    this.checkVisible(start, 'gibbs');
    nonNegativeInteger('steps', steps);
    let visible = tf.clone(start);
    let hidden = this.sampleHidden(visible, rng);
    let visibleMean = tf.clone(start);
    for (let k = 0; k < steps; k++) {
      const next = tf.tidy(() => {
        const mean = this.visibleMean(hidden);
        const v = this.sampleVisibleFromMean(mean, rng);
        return { mean, v, h: this.sampleHidden(v, rng) };
      });
      tf.dispose([visible, hidden, visibleMean]);
      visible = next.v;
      hidden = next.h;
      visibleMean = next.mean;
    }
    return { visible, visibleMean, hidden };
  }

  /**
   * `n` samples from the model by `steps` Gibbs steps (default 1000) from noise or from given
   * visible vectors. Chains mix slowly in a well-trained RBM: from data, a few steps mostly
   * return the data; from noise, many steps are needed before the samples look like data.
   */
  sample(n: number, options: RbmSampleOptions): tf.Tensor2D {
    if (!Number.isInteger(n) || n <= 0) throw new ConfigError('n', 'a positive integer number of samples', n);
    const { steps = 1000, start = 'noise', output = 'sample' } = options;
    nonNegativeInteger('steps', steps);
    if (output !== 'sample' && output !== 'mean') throw new ConfigError('output', "'sample' or 'mean'", output);
    const rng = toRng(options.rng);
    let initial: tf.Tensor2D;
    if (start === 'noise') {
      initial = this.noiseVisible(n, rng);
    } else if (start instanceof tf.Tensor) {
      if (start.rank !== 2 || start.shape[0] !== n || start.shape[1] !== this.visible) {
        throw new ShapeError('sample start', [n, this.visible], start.shape, 'one visible vector per sample');
      }
      initial = tf.clone(start);
    } else {
      throw new ConfigError('start', "'noise' or a [n, visible] tensor", start);
    }
    const state = this.gibbs(initial, Math.max(steps, 1), rng);
    initial.dispose();
    const keep = output === 'mean' ? state.visibleMean : state.visible;
    tf.dispose([state.hidden, output === 'mean' ? state.visible : state.visibleMean]);
    return keep;
  }

  /** The hidden probabilities p(h = 1 | x), a code for each example. */
  encode(x: tf.Tensor): tf.Tensor2D {
    return this.hiddenProbabilities(x as tf.Tensor2D);
  }

  /** E[v | h] for codes h (probabilities or binary). */
  decode(h: tf.Tensor): tf.Tensor2D {
    this.checkHidden(h as tf.Tensor2D, 'decode');
    return this.visibleMean(h as tf.Tensor2D);
  }

  /** The mean-field reconstruction E[v | h = p(h | x)], the usual monitor of RBM training. */
  reconstruct(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.visibleMean(this.hiddenProbabilities(x as tf.Tensor2D)));
  }

  /**
   * The mean log-likelihood of the rows of `x` (binary rows for a Bernoulli RBM), with its kind
   * and protocol: exact by enumeration when a layer is small enough, else AIS (a stochastic
   * estimate that overestimates in expectation), or RAISE (a stochastic lower bound) on request.
   * See `rbmLogLikelihood` for the options.
   */
  logLikelihood(x: tf.Tensor, options: RbmLikelihoodOptions): Promise<LikelihoodEstimate> {
    return rbmLogLikelihood(this, x as tf.Tensor2D, options);
  }

  dispose(): void {
    disposeParams(this.params);
  }

  /** Throws a ShapeError unless `v` is `[n, visible]`. */
  checkVisible(v: tf.Tensor, what: string): void {
    if (!(v instanceof tf.Tensor)) throw new ConfigError(what, `a [n, ${this.visible}] tensor`, v);
    if (v.rank !== 2 || v.shape[1] !== this.visible) throw new ShapeError(`${this.kind} ${what} visible`, [null, this.visible], v.shape);
  }

  /** Throws a ShapeError unless `h` is `[n, hidden]`. */
  checkHidden(h: tf.Tensor, what: string): void {
    if (!(h instanceof tf.Tensor)) throw new ConfigError(what, `a [n, ${this.hidden}] tensor`, h);
    if (h.rank !== 2 || h.shape[1] !== this.hidden) throw new ShapeError(`${this.kind} ${what} hidden`, [null, this.hidden], h.shape);
  }
}
