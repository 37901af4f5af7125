// Probabilistic helpers shared by the model families: sampling, log-densities, stable log-means
// and chunked importance weighting (IWAE, AIS).
export { reparameterize, type ReparameterizeOptions } from './reparameterize.js';
export {
  standardNormalLogDensity,
  diagonalGaussianLogDensity,
  bernoulliLogDensity,
  type LogDensityOptions,
} from './log-density.js';
export { logSumExp, logMeanExp } from './log-mean-exp.js';
export {
  importanceWeightedLogMean,
  type ImportanceWeightingOptions,
  type ImportanceWeightedLogMean,
} from './importance-weighting.js';
