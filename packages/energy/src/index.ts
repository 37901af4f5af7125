// The public surface of @helmholtz/energy.
export { type RbmConfigBase } from './rbm/config.js';
export {
  RestrictedBoltzmannMachine,
  type RbmParams,
  type RbmStatistics,
  type GibbsStart,
  type GibbsState,
  type RbmSampleOptions,
} from './rbm/rbm.js';
export { BernoulliRBM, BERNOULLI_RBM_KIND, type BernoulliRbmConfig } from './rbm/bernoulli.js';
export { GaussianBernoulliRBM, GAUSSIAN_BERNOULLI_RBM_KIND, type GaussianBernoulliRbmConfig } from './rbm/gaussian.js';
