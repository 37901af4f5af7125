import type { ModelFactories } from '@helmholtz/core';
import { BernoulliRBM, BERNOULLI_RBM_KIND, type BernoulliRbmConfig } from './rbm/bernoulli.js';
import { GaussianBernoulliRBM, GAUSSIAN_BERNOULLI_RBM_KIND, type GaussianBernoulliRbmConfig } from './rbm/gaussian.js';
import { MeanCovarianceRBM, MEAN_COVARIANCE_RBM_KIND, type MeanCovarianceRbmConfig } from './real-valued/mean-covariance.js';
import { SpikeAndSlabRBM, SPIKE_AND_SLAB_RBM_KIND, type SpikeAndSlabRbmConfig } from './real-valued/spike-and-slab.js';
import { ConvolutionalRBM } from './convolutional/model.js';
import { CONVOLUTIONAL_RBM_KIND, type ConvolutionalRbmConfig } from './convolutional/config.js';
import { DBN } from './dbn/dbn.js';
import { DBN_KIND, type DbnConfig } from './dbn/config.js';
import { DeepAutoencoder, DBN_AUTOENCODER_KIND, type DeepAutoencoderConfig } from './dbn/autoencoder.js';
import { DbnClassifier, DBN_CLASSIFIER_KIND, type DbnClassifierConfig } from './dbn/classifier.js';
import { FullyVisibleBoltzmannMachine } from './fvbm/model.js';
import { FVBM_KIND, type FvbmConfig } from './fvbm/config.js';
import { ConditionalRBM } from './conditional/model.js';
import { CONDITIONAL_RBM_KIND, type ConditionalRbmConfig } from './conditional/config.js';
import { DBM } from './dbm/dbm.js';
import { DBM_KIND, type DbmConfig } from './dbm/config.js';

/**
 * The factories of every model kind this package defines, for core's `loadModel`:
 * `loadModel(handler, energyModels)`, or spread with other packages' maps.
 */
export const energyModels: ModelFactories = {
  [BERNOULLI_RBM_KIND]: (config: BernoulliRbmConfig) => new BernoulliRBM(config),
  [GAUSSIAN_BERNOULLI_RBM_KIND]: (config: GaussianBernoulliRbmConfig) => new GaussianBernoulliRBM(config),
  [MEAN_COVARIANCE_RBM_KIND]: (config: MeanCovarianceRbmConfig) => new MeanCovarianceRBM(config),
  [SPIKE_AND_SLAB_RBM_KIND]: (config: SpikeAndSlabRbmConfig) => new SpikeAndSlabRBM(config),
  [CONVOLUTIONAL_RBM_KIND]: (config: ConvolutionalRbmConfig) => new ConvolutionalRBM(config),
  [DBN_KIND]: (config: DbnConfig) => new DBN(config),
  [DBN_AUTOENCODER_KIND]: (config: DeepAutoencoderConfig) => new DeepAutoencoder(config),
  [DBN_CLASSIFIER_KIND]: (config: DbnClassifierConfig) => new DbnClassifier(config),
  [FVBM_KIND]: (config: FvbmConfig) => new FullyVisibleBoltzmannMachine(config),
  [CONDITIONAL_RBM_KIND]: (config: ConditionalRbmConfig) => new ConditionalRBM(config),
  [DBM_KIND]: (config: DbmConfig) => new DBM(config),
};
