// Losses and log-densities. Losses default to a mean scalar; per-example quantities to [batch].
export { type Reduction, type ScalarReduction } from './reduction.js';
export { binaryCrossEntropyFromLogits } from './binary-cross-entropy.js';
export { meanSquaredError } from './mean-squared-error.js';
export { categoricalCrossEntropyFromLogits, sparseCategoricalCrossEntropyFromLogits } from './categorical-cross-entropy.js';
export { klDiagonalGaussians, klStandardNormal } from './kl-divergence.js';
export { bernoulliLogLikelihood, gaussianLogLikelihood } from './log-likelihood.js';
