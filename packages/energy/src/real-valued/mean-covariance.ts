import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, createVariable, disposeParams, matMul, Rng, ShapeError, toRng, type GenerativeModel, type SampleOptions } from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, positiveNumber, rejectUnknownKeys } from '../rbm/config.js';
import { imageShapeOf, initialScaleOf } from './config.js';
import { acceptanceTarget, hamiltonianMonteCarlo } from './hmc.js';

export const MEAN_COVARIANCE_RBM_KIND = 'mean-covariance-rbm';

/** Config of a {@link MeanCovarianceRBM}. Plain JSON. */
export interface MeanCovarianceRbmConfig {
  /** Number of visible (real-valued) units, D. */
  visible: number;
  /** Number of factors F: the columns of C, filters whose squared responses the covariance units pool. */
  factors: number;
  /** Number of binary covariance (precision) hidden units. */
  covarianceHidden: number;
  /** Number of binary mean hidden units, a Gaussian-Bernoulli RBM part (0 for the covariance-only cRBM). */
  meanHidden: number;
  /** Seed of the initial weights (default 0). */
  seed?: number;
  /** Standard deviation of the initial mean weights W (default 0.05). */
  initialScale?: number;
  /**
   * ε of the input normalisation v̄ = v / √(‖v‖²/D + ε) of the covariance part (default 0.5). It
   * keeps v̄ and its gradient bounded near v = 0, where a pure v/‖v‖ has no direction.
   */
  normalizerOffset?: number;
  /** Shape of one visible vector as an image, `[height, width]` or `[height, width, channels]`, for pictures only. */
  imageShape?: number[];
}

/** The trainable tensors of a {@link MeanCovarianceRBM}. */
export interface MeanCovarianceRbmParams {
  /** C, `[visible, factors]`, columns of unit length. */
  factors: tf.Variable<tf.Rank.R2>;
  /** P, `[factors, covarianceHidden]`, non-negative (the energy carries the minus sign). */
  pooling: tf.Variable<tf.Rank.R2>;
  /** b^c, `[covarianceHidden]`. */
  covarianceBias: tf.Variable<tf.Rank.R1>;
  /** W, `[visible, meanHidden]` (absent with no mean units). */
  meanWeights?: tf.Variable<tf.Rank.R2>;
  /** b^m, `[meanHidden]` (absent with no mean units). */
  meanBias?: tf.Variable<tf.Rank.R1>;
  /** b^v, `[visible]`. */
  visibleBias: tf.Variable<tf.Rank.R1>;
}

/** Options of {@link MeanCovarianceRBM.sample}. */
export interface MeanCovarianceSampleOptions extends SampleOptions {
  /** HMC trajectories (default 100). */
  steps?: number;
  /** `'noise'` (default; N(b^v, I), the model without hidden units) or a `[n, visible]` tensor, not changed. */
  start?: tf.Tensor2D | 'noise';
  /** Leapfrog steps per trajectory (default 20). */
  leapfrogSteps?: number;
  /** Initial leapfrog step size (default 0.05). */
  stepSize?: number;
  /** Target acceptance rate the step size adapts to (default 0.9); `false` keeps it fixed. */
  adaptStepSize?: number | false;
}

const CONFIG_KEYS = ['visible', 'factors', 'covarianceHidden', 'meanHidden', 'seed', 'initialScale', 'normalizerOffset', 'imageShape'];
const SAMPLE_KEYS = ['rng', 'steps', 'start', 'leapfrogSteps', 'stepSize', 'adaptStepSize'];

function validateConfig(config: MeanCovarianceRbmConfig): MeanCovarianceRbmConfig {
  const kind = MEAN_COVARIANCE_RBM_KIND;
  if (config === null || typeof config !== 'object') throw new ConfigError(kind, 'a config object { visible, factors, covarianceHidden, meanHidden }', config);
  rejectUnknownKeys(kind, config, CONFIG_KEYS);
  const out: MeanCovarianceRbmConfig = {
    visible: positiveInteger(`${kind}.visible`, config.visible),
    factors: positiveInteger(`${kind}.factors`, config.factors),
    covarianceHidden: positiveInteger(`${kind}.covarianceHidden`, config.covarianceHidden),
    meanHidden: nonNegativeInteger(`${kind}.meanHidden`, config.meanHidden),
  };
  if (config.seed !== undefined) out.seed = nonNegativeInteger(`${kind}.seed`, config.seed);
  if (config.initialScale !== undefined) out.initialScale = initialScaleOf(`${kind}.initialScale`, config.initialScale);
  if (config.normalizerOffset !== undefined) out.normalizerOffset = positiveNumber(`${kind}.normalizerOffset`, config.normalizerOffset);
  if (config.imageShape !== undefined) out.imageShape = imageShapeOf(`${kind}.imageShape`, config.imageShape, out.visible);
  return out;
}

/** Scales each column of `c` to unit Euclidean length. */
function unitColumns(c: tf.Tensor2D): tf.Tensor2D {
  return tf.tidy(() => tf.div(c, tf.maximum(tf.sqrt(tf.sum(tf.square(c), 0, true)), 1e-12)) as tf.Tensor2D);
}

/**
 * The mean-covariance RBM of Ranzato & Hinton (2010), "Modeling pixel means and covariances using
 * factorized third-order Boltzmann machines" (section 20.5.2 of Goodfellow et al. 2016): binary
 * covariance units h^c that gate the precision of the visible units through factors, beside
 * binary mean units h^m that shift their mean, as a Gaussian-Bernoulli RBM does.
 *
 * The energy implemented, with v ∈ R^D, C `[D, F]`, P ≥ 0 `[F, Hc]`, W `[D, Hm]`:
 *
 *   E(v, h^c, h^m) = ½ vᵀv − b^vᵀv
 *                    − Σ_k h^c_k (b^c_k − ½ Σ_f P_fk (C_{:f}ᵀ v̄)²)
 *                    − Σ_j h^m_j (b^m_j + W_{:j}ᵀ v),
 *   v̄ = v / √(‖v‖²/D + ε).
 *
 * Ranzato & Hinton write the pooling matrix as non-positive with a plus sign; this keeps P ≥ 0
 * with the minus sign, so a covariance unit turns off when the factors it
 * pools respond: the "violated constraint" view. The covariance part sees the normalised
 * input v̄, as in their work (which makes that part blind to contrast), the mean part and
 * the quadratic term the raw v. With v̄ the conditional p(v | h) is no longer Gaussian, so
 * the model is sampled with hybrid Monte Carlo on the free energy, as they do:
 *
 *   F(v) = ½ vᵀv − b^vᵀv − Σ_k softplus(b^c_k − ½ Σ_f P_fk (C_{:f}ᵀ v̄)²) − Σ_j softplus(b^m_j + W_{:j}ᵀ v).
 *
 * With P ≥ 0 each covariance term is at most softplus(b^c_k) and the mean terms grow only
 * linearly in v, so ½ vᵀv wins and exp(−F) is integrable for any parameters. C's columns are
 * kept at unit length (the scale of factor f is in row f of P, so this loses nothing) and P ≥ 0
 * (see `constrainMeanCovarianceParams`, which the trainer applies after each update).
 *
 * Initial values: C ~ N(0, 0.02²) with unit columns; each factor pooled by one unit (P = I when
 * F = Hc); b^c = 2, so the covariance units start mostly on;
 * W ~ N(0, initialScale²); b^m = −2, so the mean units start mostly off; b^v = 0.
 */
export class MeanCovarianceRBM implements GenerativeModel<MeanCovarianceRbmConfig> {
  readonly kind = MEAN_COVARIANCE_RBM_KIND;
  readonly config: MeanCovarianceRbmConfig;
  readonly params: MeanCovarianceRbmParams;

  constructor(config: MeanCovarianceRbmConfig) {
    const valid = validateConfig(config);
    this.config = valid;
    const { visible: d, factors: f, covarianceHidden: hc, meanHidden: hm } = valid;
    const rng = new Rng(valid.seed ?? 0);
    const pooling = new Float32Array(f * hc);
    // Every factor feeds one unit and every unit gets at least one factor.
    for (let i = 0; i < f; i++) pooling[i * hc + (i % hc)] = 1;
    for (let k = 0; k < hc; k++) pooling[(k % f) * hc + k] = 1;
    const params: MeanCovarianceRbmParams = {
      factors: createVariable(tf.tidy(() => unitColumns(rng.normalTensor([d, f], 0, 0.02) as tf.Tensor2D)), 'mcrbm/factors') as tf.Variable<tf.Rank.R2>,
      pooling: createVariable(tf.tensor2d(pooling, [f, hc]), 'mcrbm/pooling') as tf.Variable<tf.Rank.R2>,
      covarianceBias: createVariable(tf.fill([hc], 2), 'mcrbm/covarianceBias') as tf.Variable<tf.Rank.R1>,
      visibleBias: createVariable(tf.zeros([d]), 'mcrbm/visibleBias') as tf.Variable<tf.Rank.R1>,
    };
    if (hm > 0) {
      params.meanWeights = createVariable(rng.normalTensor([d, hm], 0, valid.initialScale ?? 0.05), 'mcrbm/meanWeights') as tf.Variable<tf.Rank.R2>;
      params.meanBias = createVariable(tf.fill([hm], -2), 'mcrbm/meanBias') as tf.Variable<tf.Rank.R1>;
    }
    this.params = params;
  }

  get visible(): number {
    return this.config.visible;
  }

  /** v̄ = v / √(‖v‖²/D + ε), the covariance part's input. */
  normalizedInput(v: tf.Tensor2D): tf.Tensor2D {
    this.checkVisible(v, 'normalizedInput');
    const eps = this.config.normalizerOffset ?? 0.5;
    return tf.tidy(() => tf.div(v, tf.sqrt(tf.add(tf.mean(tf.square(v), 1, true), eps))) as tf.Tensor2D);
  }

  /** b^c − ½ (v̄ C)² P, the covariance units' total input, `[n, covarianceHidden]`. */
  covarianceLogits(v: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => {
      const responses = tf.square(matMul(this.normalizedInput(v), this.params.factors));
      return tf.sub(this.params.covarianceBias, tf.mul(matMul(responses as tf.Tensor2D, this.params.pooling), 0.5)) as tf.Tensor2D;
    });
  }

  /** b^m + vW, the mean units' total input, `[n, meanHidden]` (`[n, 0]` without mean units). */
  meanLogits(v: tf.Tensor2D): tf.Tensor2D {
    this.checkVisible(v, 'meanLogits');
    const { meanWeights, meanBias } = this.params;
    if (!meanWeights || !meanBias) return tf.zeros([v.shape[0], 0]);
    return tf.tidy(() => tf.add(matMul(v, meanWeights), meanBias) as tf.Tensor2D);
  }

  /** p(h^c = 1 | v) and p(h^m = 1 | v): given v the hidden units are independent. */
  hiddenProbabilities(v: tf.Tensor2D): { covariance: tf.Tensor2D; mean: tf.Tensor2D } {
    return tf.tidy(() => ({ covariance: tf.sigmoid(this.covarianceLogits(v)), mean: tf.sigmoid(this.meanLogits(v)) }));
  }

  /** ½ vᵀv − b^vᵀv for each row. */
  private visibleTerm(v: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.sub(tf.mul(tf.sum(tf.square(v), 1), 0.5), tf.sum(tf.mul(v, this.params.visibleBias), 1)) as tf.Tensor1D);
  }

  /** E(v, h^c, h^m) for each row triple (see the class comment). */
  energy(v: tf.Tensor2D, covarianceHidden: tf.Tensor2D, meanHidden: tf.Tensor2D): tf.Tensor1D {
    this.checkVisible(v, 'energy');
    const n = v.shape[0];
    const { covarianceHidden: hc, meanHidden: hm } = this.config;
    if (covarianceHidden.rank !== 2 || covarianceHidden.shape[0] !== n || covarianceHidden.shape[1] !== hc) throw new ShapeError('mean-covariance-rbm energy covariance hidden', [n, hc], covarianceHidden.shape);
    if (meanHidden.rank !== 2 || meanHidden.shape[0] !== n || meanHidden.shape[1] !== hm) throw new ShapeError('mean-covariance-rbm energy mean hidden', [n, hm], meanHidden.shape);
    return tf.tidy(() => {
      const covariance = tf.sum(tf.mul(this.covarianceLogits(v), covarianceHidden), 1);
      const mean = hm > 0 ? tf.sum(tf.mul(this.meanLogits(v), meanHidden), 1) : tf.zeros([n]);
      return tf.sub(this.visibleTerm(v), tf.add(covariance, mean)) as tf.Tensor1D;
    });
  }

  /** F(v) = −log Σ_h exp(−E(v, h)) for each row, in closed form (see the class comment). */
  freeEnergy(v: tf.Tensor2D): tf.Tensor1D {
    this.checkVisible(v, 'freeEnergy');
    return tf.tidy(() => {
      let hidden = tf.sum(tf.softplus(this.covarianceLogits(v)), 1);
      if (this.config.meanHidden > 0) hidden = tf.add(hidden, tf.sum(tf.softplus(this.meanLogits(v)), 1));
      return tf.sub(this.visibleTerm(v), hidden) as tf.Tensor1D;
    });
  }

  /**
   * `n` samples by hybrid Monte Carlo on F(v) (Ranzato & Hinton 2010), from noise or
   * from given vectors, `steps` trajectories of `leapfrogSteps` leapfrog steps each, the step
   * size adapting to a 90% acceptance rate by default. For the acceptance rate, call
   * {@link hamiltonianMonteCarlo} with `(v) => model.freeEnergy(v)` directly.
   */
  sample(n: number, options: MeanCovarianceSampleOptions): tf.Tensor2D {
    if (!Number.isInteger(n) || n <= 0) throw new ConfigError('n', 'a positive integer number of samples', n);
    if (options === null || typeof options !== 'object') throw new ConfigError('sample options', 'an object { rng, ... }', options);
    rejectUnknownKeys('mean-covariance-rbm sample', options, SAMPLE_KEYS);
    const { steps = 100, start = 'noise', leapfrogSteps = 20, stepSize = 0.05, adaptStepSize = 0.9 } = options;
    if (adaptStepSize !== false) acceptanceTarget('sample.adaptStepSize', adaptStepSize);
    const rng = toRng(options.rng);
    let initial: tf.Tensor2D;
    if (start === 'noise') {
      initial = tf.tidy(() => tf.add(rng.normalTensor([n, this.visible]), this.params.visibleBias) as tf.Tensor2D);
    } else if (start instanceof tf.Tensor) {
      if (start.rank !== 2 || start.shape[0] !== n || start.shape[1] !== this.visible) throw new ShapeError('sample start', [n, this.visible], start.shape, 'one visible vector per sample');
      initial = start;
    } else {
      throw new ConfigError('start', "'noise' or a [n, visible] tensor", start);
    }
    try {
      const hmc = { stepSize, leapfrogSteps, steps, rng, ...(adaptStepSize === false ? {} : { adaptStepSize }) };
      return hamiltonianMonteCarlo((v) => this.freeEnergy(v), initial, hmc).samples;
    } finally {
      if (initial !== start) initial.dispose();
    }
  }

  /** Features for a classifier: p(h^c = 1 | x) then p(h^m = 1 | x), `[n, covarianceHidden + meanHidden]`. */
  encode(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const { covariance, mean } = this.hiddenProbabilities(x as tf.Tensor2D);
      return tf.concat([covariance, mean], 1) as tf.Tensor2D;
    });
  }

  dispose(): void {
    disposeParams(this.params);
  }

  /** Throws a ShapeError unless `v` is `[n, visible]`. */
  checkVisible(v: tf.Tensor, what: string): void {
    if (!(v instanceof tf.Tensor)) throw new ConfigError(what, `a [n, ${this.visible}] tensor`, v);
    if (v.rank !== 2 || v.shape[1] !== this.visible) throw new ShapeError(`${this.kind} ${what} visible`, [null, this.visible], v.shape);
  }
}

/**
 * Puts the parameters back where the model is defined after a gradient step: P ≥ 0 (clamped)
 * and C's columns at unit length. The trainer calls it after every update.
 */
export function constrainMeanCovarianceParams(model: MeanCovarianceRBM): void {
  tf.tidy(() => {
    model.params.pooling.assign(tf.relu(model.params.pooling));
    model.params.factors.assign(unitColumns(model.params.factors));
  });
}
