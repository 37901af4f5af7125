export {
  assignParams,
  countParams,
  createVariable,
  disposeParams,
  flattenParams,
  paramAliases,
  paramPaths,
  subtreeAt,
  trainableVariables,
  type ParamContainer,
  type ParamNode,
  type ParamTree,
} from './tree.js';
export { createParameterAverage, type ParameterAverage, type ParameterAverageOptions } from './ema.js';
