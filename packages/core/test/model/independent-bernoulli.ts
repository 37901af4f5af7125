import * as tf from '@tensorflow/tfjs-core';
import {
  bernoulliLogDensity,
  ConfigError,
  createVariable,
  disposeParams,
  likelihoodFromPerExample,
  toRng,
  type GenerativeModel,
  type LikelihoodEstimate,
  type LikelihoodOptions,
  type ModelFactories,
  type SampleOptions,
} from '../../src/index.js';

export interface IndependentBernoulliConfig {
  features: number;
  chains: number;
}

/**
 * The smallest model that speaks the whole contract: independent Bernoulli pixels with
 * trainable logits, and a non-trainable state (persistent sample chains that `sample` refreshes).
 * Its log-likelihood is exact.
 */
export class IndependentBernoulli implements GenerativeModel<IndependentBernoulliConfig> {
  readonly kind = 'independent-bernoulli';
  readonly params: { logits: tf.Variable };
  readonly state: { chains: tf.Variable };

  constructor(readonly config: IndependentBernoulliConfig) {
    if (!Number.isInteger(config.features) || config.features <= 0) throw new ConfigError('features', 'a positive integer', config.features);
    this.params = { logits: createVariable(tf.zeros([config.features]), 'independentBernoulli/logits') };
    this.state = { chains: createVariable(tf.zeros([config.chains, config.features]), 'independentBernoulli/chains', false) };
  }

  sample(n: number, options: SampleOptions): tf.Tensor2D {
    const rng = toRng(options.rng);
    return tf.tidy(() => rng.bernoulli(tf.broadcastTo(tf.sigmoid(this.params.logits), [n, this.config.features])) as tf.Tensor2D);
  }

  reconstruct(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.broadcastTo(tf.sigmoid(this.params.logits), x.shape));
  }

  /** Per-example log p(x), [batch]. */
  logProbability(x: tf.Tensor2D): tf.Tensor1D {
    return bernoulliLogDensity(x, this.params.logits) as tf.Tensor1D;
  }

  async logLikelihood(x: tf.Tensor, options: LikelihoodOptions): Promise<LikelihoodEstimate> {
    const perExample = this.logProbability(x as tf.Tensor2D);
    const values = await perExample.data();
    perExample.dispose();
    return likelihoodFromPerExample(values, { kind: 'exact', protocol: { ...options.data, method: 'exact' } });
  }

  dispose(): void {
    disposeParams(this.params);
    disposeParams(this.state);
  }
}

export const tinyModels: ModelFactories = {
  'independent-bernoulli': (config: IndependentBernoulliConfig) => new IndependentBernoulli(config),
};
