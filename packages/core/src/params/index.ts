export {
  assignParams,
  countParams,
  createVariable,
  disposeParams,
  flattenParams,
  paramAliases,
  selectParams,
  trainableVariables,
  type ParamNode,
  type ParamTree,
} from './tree.js';
export { createParameterAverage, type ParameterAverage, type ParameterAverageOptions } from './ema.js';
