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
export { filterPicture, samplePicture, filterPng, samplePng, type PictureOptions, type HasFilters } from './pictures.js';
export { hamiltonianMonteCarlo, hmcTransition, type HmcOptions, type HmcResult, type HmcTransition, type RowFunction } from './real-valued/hmc.js';
export {
  MeanCovarianceRBM,
  MEAN_COVARIANCE_RBM_KIND,
  constrainMeanCovarianceParams,
  type MeanCovarianceRbmConfig,
  type MeanCovarianceRbmParams,
  type MeanCovarianceSampleOptions,
} from './real-valued/mean-covariance.js';
export {
  SpikeAndSlabRBM,
  SPIKE_AND_SLAB_RBM_KIND,
  SPIKE_AND_SLAB_EXACT_MAX_HIDDEN,
  constrainSpikeAndSlabParams,
  type SpikeAndSlabRbmConfig,
  type SpikeAndSlabRbmParams,
  type SpikeAndSlabGibbsState,
  type SpikeAndSlabSampleOptions,
} from './real-valued/spike-and-slab.js';
export {
  FreeEnergyTrainer,
  createMeanCovarianceTrainer,
  createSpikeAndSlabTrainer,
  type FreeEnergyModel,
  type NegativePhase,
  type FreeEnergyTrainerOptions,
  type FreeEnergyStepLosses,
  type MeanCovarianceTrainerOptions,
  type SpikeAndSlabTrainerOptions,
} from './real-valued/trainer.js';
export {
  ConvolutionalRBM,
  type ConvolutionalRbmParams,
  type ConvolutionalRbmStatistics,
  type ConvolutionalPosterior,
  type ConvolutionalGibbsState,
  type ConvolutionalRbmSampleOptions,
} from './convolutional/model.js';
export { CONVOLUTIONAL_RBM_KIND, type ConvolutionalRbmConfig, type ResolvedConvolutionalRbmConfig } from './convolutional/config.js';
export {
  ConvolutionalRbmTrainer,
  fitConvolutionalRbm,
  initConvolutionalVisibleBias,
  convolutionalReconstructionError,
  type ConvolutionalRbmTrainerOptions,
  type ConvolutionalRbmStepLosses,
  type ConvolutionalSparsityOptions,
  type FitConvolutionalRbmOptions,
  type FitConvolutionalRbmResult,
} from './convolutional/training.js';
export { DBN, type DbnSampleOptions, type PropagateUpOptions, type PropagationMode } from './dbn/dbn.js';
export { DBN_KIND, type DbnConfig, type VisibleType } from './dbn/config.js';
export { fitDbn, type FitDbnOptions, type FitDbnResult, type DbnLayerOptions, type DbnLayerInfo, type DbnLayerEnd } from './dbn/fit.js';
export { dbnLogLikelihoodBound, type DbnLikelihoodOptions, type DbnBound } from './dbn/bound.js';
export { type FineTuneOptions } from './dbn/backprop.js';
export {
  DeepAutoencoder,
  DBN_AUTOENCODER_KIND,
  unrollToAutoencoder,
  fineTuneAutoencoder,
  meanReconstructionLoss,
  type DeepAutoencoderConfig,
  type DeepAutoencoderParams,
  type CodeActivation,
  type UnrollAutoencoderOptions,
  type FineTuneAutoencoderOptions,
} from './dbn/autoencoder.js';
export {
  DbnClassifier,
  DBN_CLASSIFIER_KIND,
  unrollToClassifier,
  fineTuneClassifier,
  type DbnClassifierConfig,
  type DbnClassifierParams,
  type UnrollClassifierOptions,
  type FineTuneClassifierOptions,
} from './dbn/classifier.js';
export { exactLogPartition, DEFAULT_MAX_ENUMERATED_UNITS, MAX_ENUMERATED_UNITS, type ExactLogPartitionOptions } from './partition/exact.js';
export { annealedImportanceSampling, ais, type AisOptions, type AisResult } from './partition/ais.js';
export { raise, type RaiseOptions, type RaiseResult } from './partition/raise.js';
export { inverseTemperatures, DEFAULT_TEMPERATURE_COUNT, type TemperatureSchedule, type InverseTemperatures } from './partition/schedule.js';
export { baseRateVisibleBias, type BaseRateOptions } from './partition/base-rate.js';
export { type AnnealingProgress } from './partition/anneal.js';
export { averageLogLikelihood } from './partition/free-energy.js';
export {
  rbmLogLikelihood,
  likelihoodSandwich,
  type RbmLikelihoodOptions,
  type RbmLikelihoodMethod,
  type LikelihoodSandwich,
} from './partition/log-likelihood.js';
export {
  FullyVisibleBoltzmannMachine,
  type FvbmParams,
  type FvbmSampleOptions,
  type FvbmExactStatistics,
  type FvbmLikelihoodOptions,
  type FvbmSweepOrder,
} from './fvbm/model.js';
export { FVBM_KIND, type FvbmConfig, type ResolvedFvbmConfig } from './fvbm/config.js';
export { FVBM_DEFAULT_MAX_UNITS, FVBM_MAX_UNITS, type FvbmEnumerationOptions } from './fvbm/enumerate.js';
export {
  FvbmTrainer,
  createFvbmTrainer,
  fitFvbm,
  initFvbmBiasFromData,
  type FvbmTrainingMethod,
  type FvbmTrainerOptions,
  type FvbmStepLosses,
  type FitFvbmOptions,
  type FitFvbmResult,
} from './fvbm/training.js';
export {
  ConditionalRBM,
  type ConditionalRbmParams,
  type DynamicBiases,
  type ConditionalGibbsState,
  type ConditionalGenerateOptions,
  type ConditionalSampleOptions,
  type ConditionalExactOptions,
  type ConditionalLikelihoodOptions,
} from './conditional/model.js';
export { CONDITIONAL_RBM_KIND, type ConditionalRbmConfig, type ResolvedConditionalRbmConfig } from './conditional/config.js';
export { sequenceWindows, type Sequences, type SequenceWindows } from './conditional/sequences.js';
export {
  ConditionalRbmTrainer,
  createConditionalRbmTrainer,
  fitConditionalRbm,
  initConditionalVisibleBias,
  conditionalPredictionError,
  type ConditionalRbmTrainerOptions,
  type ConditionalBatch,
  type ConditionalRbmStepLosses,
  type FitConditionalRbmOptions,
  type FitConditionalRbmResult,
} from './conditional/training.js';
export {
  DBM,
  type DbmParams,
  type DbmState,
  type MeanFieldOptions,
  type MeanFieldResult,
  type DbmSampleOptions,
} from './dbm/dbm.js';
export { DBM_KIND, type DbmConfig } from './dbm/config.js';
export { DbmTrainer, createDbmTrainer, type DbmTrainerOptions, type DbmStepLosses } from './dbm/trainer.js';
export { fitDbm, initDbmVisibleFromData, dbmReconstructionError, type FitDbmOptions, type FitDbmResult } from './dbm/fit.js';
export { pretrainDbm, type PretrainDbmOptions, type PretrainDbmResult, type DbmPretrainLayerEnd, type RbmCopies } from './dbm/pretrain.js';
export {
  dbmExactLogPartition,
  dbmAis,
  type DbmExactLogPartitionOptions,
  type DbmAisOptions,
  type DbmAisResult,
  type DbmParity,
} from './dbm/partition.js';
export { dbmLogLikelihoodBound, type DbmLikelihoodOptions } from './dbm/bound.js';
