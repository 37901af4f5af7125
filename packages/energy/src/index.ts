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
export { energyModels } from './models.js';
export { RbmTrainer, createRbmTrainer, type RbmTrainerOptions, type RbmStepLosses, type SparsityOptions } from './training/trainer.js';
export { initVisibleBiasFromData } from './training/visible-bias.js';
export { reconstructionError, pseudoLikelihood, meanFreeEnergy, freeEnergyGap } from './training/monitors.js';
export { fitRbm, type FitRbmOptions, type FitRbmResult } from './training/fit.js';
export { saveRbmTraining, loadRbmTraining, type LoadedRbmTraining } from './training/checkpoint.js';
