// The contract every model speaks, and whole-model checkpoints.
export {
  isGenerativeModel,
  modelCapabilities,
  type GenerativeModel,
  type LikelihoodOptions,
  type ModelCapabilities,
  type ModelFactories,
  type ModelFactory,
  type SampleOptions,
} from './generative-model.js';
export {
  loadModel,
  MODEL_PARAMS_PREFIX,
  MODEL_STATE_PREFIX,
  modelTree,
  saveModel,
  type LoadedModel,
  type LoadModelOptions,
  type SaveModelOptions,
} from './save-load.js';
