// Layers: each is a creator that builds a parameter tree and a pure forward function.
export { activation, leakyRelu, ACTIVATION_NAMES, LEAKY_RELU_ALPHA, type Activation, type ActivationName } from './activations.js';
export {
  initializer,
  varianceScaling,
  orthogonal,
  computeFans,
  INITIALIZER_NAMES,
  type Initializer,
  type InitializerName,
} from './initializers.js';
export { createDense, dense, createTiedDenseBias, tiedDense, type DenseParams, type DenseOptions } from './dense.js';
export {
  createConv2d,
  conv2d,
  convOutputSize,
  type Conv2dParams,
  type Conv2dOptions,
  type ConvForwardOptions,
  type Padding,
} from './conv2d.js';
export {
  createConv2dTranspose,
  conv2dTranspose,
  convTransposeOutputSize,
  type Conv2dTransposeParams,
  type Conv2dTransposeOptions,
} from './conv2d-transpose.js';
export { createBatchNorm, batchNorm, type BatchNormParams, type BatchNormOptions } from './batch-norm.js';
export {
  createEmbedding,
  embedding,
  embeddingNormal,
  type EmbeddingParams,
  type EmbeddingOptions,
  type EmbeddingCallOptions,
} from './embedding.js';
export { dropout } from './dropout.js';
export { resolveLayerMode, type LayerMode, type ResolvedLayerMode } from './mode.js';
export { gaussianNoise } from './gaussian-noise.js';
export {
  createLstm,
  lstm,
  type LstmParams,
  type LstmOptions,
  type LstmState,
  type LstmForwardOptions,
  type LstmResult,
} from './lstm.js';
export { upsampleNearest } from './upsample.js';
export { reshape, flatten, unflatten } from './reshape.js';
