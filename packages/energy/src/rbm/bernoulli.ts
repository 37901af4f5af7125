import * as tf from '@tensorflow/tfjs-core';
import { createVariable, matMul, Rng, type Rng as RngType } from '@helmholtz/core';
import { validateRbmConfigBase, type RbmConfigBase } from './config.js';
import { RestrictedBoltzmannMachine, type RbmParams, type RbmStatistics } from './rbm.js';

/** Config of a {@link BernoulliRBM}: sizes, initial weight scale and seed. */
export type BernoulliRbmConfig = RbmConfigBase;

export const BERNOULLI_RBM_KIND = 'bernoulli-rbm';

/** N(0, scale²) weights and zero biases, from the config's seed. */
export function initialRbmParams(config: RbmConfigBase, name: string): RbmParams {
  const rng = new Rng(config.seed ?? 0);
  const scale = config.initialScale ?? 0.01;
  return {
    weights: createVariable(rng.normalTensor([config.visible, config.hidden], 0, scale), `${name}/weights`) as tf.Variable<tf.Rank.R2>,
    visibleBias: createVariable(tf.zeros([config.visible]), `${name}/visibleBias`) as tf.Variable<tf.Rank.R1>,
    hiddenBias: createVariable(tf.zeros([config.hidden]), `${name}/hiddenBias`) as tf.Variable<tf.Rank.R1>,
  };
}

/**
 * A restricted Boltzmann machine with binary visible and hidden units (Smolensky 1986; Hinton
 * 2002), with energy
 *   E(v, h) = −bᵀv − cᵀh − vᵀWh,
 * so that both conditionals factorise: p(h_j = 1 | v) = σ(c_j + vᵀW_{:j}) and
 * p(v_i = 1 | h) = σ(b_i + W_{i:}h), and the free energy is
 *   F(v) = −bᵀv − Σ_j softplus(c_j + vᵀW_{:j}).
 *
 * ```ts
 * import { BernoulliRBM } from '@helmholtz/energy';
 * const rbm = new BernoulliRBM({ visible: 784, hidden: 500, seed: 1, imageShape: [28, 28] });
 * ```
 */
export class BernoulliRBM extends RestrictedBoltzmannMachine<BernoulliRbmConfig> {
  readonly kind = BERNOULLI_RBM_KIND;
  readonly binaryVisible = true;

  constructor(config: BernoulliRbmConfig) {
    const valid = validateRbmConfigBase(config, BERNOULLI_RBM_KIND);
    super(valid, initialRbmParams(valid, 'rbm'));
  }

  visibleInput(v: tf.Tensor2D): tf.Tensor2D {
    return v;
  }

  /** b + W h, the visible units' total input. */
  visibleLogits(h: tf.Tensor2D): tf.Tensor2D {
    this.checkHidden(h, 'visibleLogits');
    return tf.tidy(() => tf.add(matMul(h, this.params.weights, false, true), this.params.visibleBias) as tf.Tensor2D);
  }

  visibleMean(h: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.sigmoid(this.visibleLogits(h)));
  }

  sampleVisibleFromMean(mean: tf.Tensor2D, rng: RngType): tf.Tensor2D {
    return rng.bernoulli(mean);
  }

  noiseVisible(n: number, rng: RngType): tf.Tensor2D {
    return tf.tidy(() => rng.bernoulli(tf.fill([n, this.visible], 0.5) as tf.Tensor2D));
  }

  energy(v: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor1D {
    this.checkVisible(v, 'energy');
    this.checkHidden(h, 'energy');
    if (v.shape[0] !== h.shape[0]) throw new RangeError(`energy: ${v.shape[0]} visible rows and ${h.shape[0]} hidden rows`);
    const { weights, visibleBias, hiddenBias } = this.params;
    return tf.tidy(() => {
      const interaction = tf.sum(tf.mul(matMul(v, weights), h), 1);
      const biases = tf.add(tf.sum(tf.mul(v, visibleBias), 1), tf.sum(tf.mul(h, hiddenBias), 1));
      return tf.neg(tf.add(interaction, biases)) as tf.Tensor1D;
    });
  }

  freeEnergy(v: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const hidden = tf.sum(tf.softplus(this.hiddenLogits(v)), 1);
      const visible = tf.sum(tf.mul(v, this.params.visibleBias), 1);
      return tf.neg(tf.add(visible, hidden)) as tf.Tensor1D;
    });
  }

  hiddenFreeEnergy(h: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const visible = tf.sum(tf.softplus(this.visibleLogits(h)), 1);
      const hidden = tf.sum(tf.mul(h, this.params.hiddenBias), 1);
      return tf.neg(tf.add(visible, hidden)) as tf.Tensor1D;
    });
  }

  statistics(v: tf.Tensor2D, h: tf.Tensor2D): RbmStatistics {
    return tf.tidy(() => ({
      weights: matMul(v, h, true, false),
      visibleBias: tf.sum(v, 0),
      hiddenBias: tf.sum(h, 0),
    }));
  }
}
