export {
  assignParams,
  countParams,
  createVariable,
  disposeParams,
  flattenParams,
  trainableVariables,
  type ParamTree,
} from './tree.js';
