import type { ModelFactories } from '@helmholtz/core';
import { BernoulliRBM, BERNOULLI_RBM_KIND, type BernoulliRbmConfig } from './rbm/bernoulli.js';
import { GaussianBernoulliRBM, GAUSSIAN_BERNOULLI_RBM_KIND, type GaussianBernoulliRbmConfig } from './rbm/gaussian.js';

/**
 * The factories of every model kind this package defines, for core's `loadModel`:
 * `loadModel(handler, energyModels)`, or spread with other packages' maps.
 */
export const energyModels: ModelFactories = {
  [BERNOULLI_RBM_KIND]: (config: BernoulliRbmConfig) => new BernoulliRBM(config),
  [GAUSSIAN_BERNOULLI_RBM_KIND]: (config: GaussianBernoulliRbmConfig) => new GaussianBernoulliRBM(config),
};
