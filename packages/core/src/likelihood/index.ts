// Likelihood results that carry their kind and protocol, and the rules for comparing them.
export {
  likelihoodEstimate,
  likelihoodFromPerExample,
  formatLikelihood,
  LIKELIHOOD_KINDS,
  type LikelihoodEstimate,
  type LikelihoodKind,
  type LikelihoodMethod,
  type LikelihoodProtocol,
  type LikelihoodInterval,
  type LikelihoodFromPerExampleOptions,
} from './estimate.js';
export { compareLikelihoods, type LikelihoodComparison } from './compare.js';
