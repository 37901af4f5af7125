import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, createVariable, matMul, type Rng } from '@helmholtz/core';
import { positiveNumber, validateRbmConfigBase, type RbmConfigBase } from './config.js';
import { initialRbmParams } from './bernoulli.js';
import { RestrictedBoltzmannMachine, type RbmStatistics } from './rbm.js';

/** Config of a {@link GaussianBernoulliRBM}. */
export interface GaussianBernoulliRbmConfig extends RbmConfigBase {
  /** Learn each visible unit's variance (as its log, for positivity) instead of keeping it fixed (default false). */
  learnVariance?: boolean;
  /** Initial standard deviation σ of every visible unit (default 1: standardise the data first). */
  initialStd?: number;
}

export const GAUSSIAN_BERNOULLI_RBM_KIND = 'gaussian-bernoulli-rbm';

/**
 * An RBM with real-valued Gaussian visible units and binary hidden units (section 20.5.1 of
 * Goodfellow et al. 2016), in the parameterisation of Cho, Ilin & Raiko (2011), where each
 * visible unit i has its own variance σ_i² = exp(z_i):
 *   E(v, h) = Σ_i (v_i − b_i)² / (2σ_i²) − cᵀh − Σ_ij (v_i / σ_i²) W_ij h_j,
 * so that p(v_i | h) = N(b_i + W_{i:}h, σ_i²) and p(h_j = 1 | v) = σ(c_j + Σ_i W_ij v_i / σ_i²).
 * The free energy is F(v) = Σ_i (v_i − b_i)² / (2σ_i²) − Σ_j softplus(c_j + (v/σ²)ᵀW_{:j}).
 *
 * With a fixed variance of 1 (the default) this is the model of Hinton's practical guide
 * (2010, sec. 13.2), which expects each input dimension standardised to zero mean and unit
 * variance. `learnVariance: true` trains z too; use a smaller learning rate then.
 */
export class GaussianBernoulliRBM extends RestrictedBoltzmannMachine<GaussianBernoulliRbmConfig> {
  readonly kind = GAUSSIAN_BERNOULLI_RBM_KIND;
  readonly binaryVisible = false;

  constructor(config: GaussianBernoulliRbmConfig) {
    const base = validateRbmConfigBase(config, GAUSSIAN_BERNOULLI_RBM_KIND, ['learnVariance', 'initialStd']);
    const valid: GaussianBernoulliRbmConfig = { ...base };
    if (config.learnVariance !== undefined) {
      if (typeof config.learnVariance !== 'boolean') throw new ConfigError(`${GAUSSIAN_BERNOULLI_RBM_KIND}.learnVariance`, 'true or false', config.learnVariance);
      valid.learnVariance = config.learnVariance;
    }
    if (config.initialStd !== undefined) valid.initialStd = positiveNumber(`${GAUSSIAN_BERNOULLI_RBM_KIND}.initialStd`, config.initialStd);
    const params = initialRbmParams(valid, 'gbrbm');
    const z = 2 * Math.log(valid.initialStd ?? 1);
    params.logVariance = createVariable(tf.fill([valid.visible], z), 'gbrbm/logVariance', valid.learnVariance === true) as tf.Variable<tf.Rank.R1>;
    super(valid, params);
  }

  private get logVariance(): tf.Variable<tf.Rank.R1> {
    return this.params.logVariance as tf.Variable<tf.Rank.R1>;
  }

  /** 1/σ², `[visible]`. */
  precision(): tf.Tensor1D {
    return tf.tidy(() => tf.exp(tf.neg(this.logVariance)) as tf.Tensor1D);
  }

  /** σ, `[visible]`. */
  standardDeviation(): tf.Tensor1D {
    return tf.tidy(() => tf.exp(tf.mul(this.logVariance, 0.5)) as tf.Tensor1D);
  }

  visibleInput(v: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.mul(v, this.precision()) as tf.Tensor2D);
  }

  visibleMean(h: tf.Tensor2D): tf.Tensor2D {
    this.checkHidden(h, 'visibleMean');
    return tf.tidy(() => tf.add(matMul(h, this.params.weights, false, true), this.params.visibleBias) as tf.Tensor2D);
  }

  sampleVisibleFromMean(mean: tf.Tensor2D, rng: Rng): tf.Tensor2D {
    return tf.tidy(() => tf.add(mean, tf.mul(rng.normalTensor(mean.shape as [number, number]), this.standardDeviation())) as tf.Tensor2D);
  }

  noiseVisible(n: number, rng: Rng): tf.Tensor2D {
    return tf.tidy(() => tf.add(tf.mul(rng.normalTensor([n, this.visible]), this.standardDeviation()), this.params.visibleBias) as tf.Tensor2D);
  }

  /** Σ_i (v_i − b_i)² / (2σ_i²) for each row. */
  private quadratic(v: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.mul(tf.sum(tf.mul(tf.square(tf.sub(v, this.params.visibleBias)), this.precision()), 1), 0.5) as tf.Tensor1D);
  }

  energy(v: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor1D {
    this.checkVisible(v, 'energy');
    this.checkHidden(h, 'energy');
    if (v.shape[0] !== h.shape[0]) throw new RangeError(`energy: ${v.shape[0]} visible rows and ${h.shape[0]} hidden rows`);
    return tf.tidy(() => {
      const interaction = tf.sum(tf.mul(matMul(this.visibleInput(v), this.params.weights), h), 1);
      const hidden = tf.sum(tf.mul(h, this.params.hiddenBias), 1);
      return tf.sub(this.quadratic(v), tf.add(interaction, hidden)) as tf.Tensor1D;
    });
  }

  freeEnergy(v: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.sub(this.quadratic(v), tf.sum(tf.softplus(this.hiddenLogits(v)), 1)) as tf.Tensor1D);
  }

  /** −cᵀh − Σ_i [((b_i + W_{i:}h)² − b_i²) / (2σ_i²) + ½ log(2πσ_i²)]: the Gaussian integral over v. */
  hiddenFreeEnergy(h: tf.Tensor2D): tf.Tensor1D {
    this.checkHidden(h, 'hiddenFreeEnergy');
    return tf.tidy(() => {
      const b = this.params.visibleBias;
      const mean = this.visibleMean(h);
      const gain = tf.mul(tf.sum(tf.mul(tf.sub(tf.square(mean), tf.square(b)), this.precision()), 1), 0.5);
      const normaliser = tf.sum(tf.mul(tf.add(this.logVariance, Math.log(2 * Math.PI)), 0.5));
      const hidden = tf.sum(tf.mul(h, this.params.hiddenBias), 1);
      return tf.neg(tf.add(tf.add(gain, normaliser), hidden)) as tf.Tensor1D;
    });
  }

  statistics(v: tf.Tensor2D, h: tf.Tensor2D): RbmStatistics {
    return tf.tidy(() => {
      const precision = this.precision();
      const scaled = tf.mul(v, precision) as tf.Tensor2D;
      const centred = tf.sub(v, this.params.visibleBias);
      const stats: RbmStatistics = {
        weights: matMul(scaled, h, true, false),
        visibleBias: tf.sum(tf.mul(centred, precision), 0),
        hiddenBias: tf.sum(h, 0),
      };
      if (this.config.learnVariance === true) {
        // −∂E/∂z_i = e^{−z_i} [(v_i − b_i)²/2 − v_i (W h)_i].
        const drive = matMul(h, this.params.weights, false, true);
        stats.logVariance = tf.sum(tf.mul(tf.sub(tf.mul(tf.square(centred), 0.5), tf.mul(v, drive)), precision), 0);
      }
      return stats;
    });
  }
}
