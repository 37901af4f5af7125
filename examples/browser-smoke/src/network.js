// @ts-check
// The network, data and training step that the page runs on each browser backend and the Node
// driver runs on cpu for the reference. One file for both sides, in plain JavaScript so that
// Node 20 imports it without a build step and Vite bundles it as it is.
import * as tf from '@tensorflow/tfjs-core';
import {
  Rng,
  conv2d,
  createConv2d,
  createDense,
  createOptimizer,
  dense,
  disposeParams,
  flatten,
  flattenParams,
  lossAndGradientsOf,
  train,
} from '@helmholtz/core';

/** Seeds: the parity network, the checkpoint Node saves, its sampling noise, and fresh models loaded into. */
export const SEEDS = { network: 20261123, checkpoint: 7, sampling: 11, fresh: 99 };

// SwiftShader runs WebGPU's shaders on the CPU and every new kernel is compiled once per page:
// the shapes stay tiny so the three backends fit in CI's time, yet every op has work to do.
const BATCH = 2;
const HEIGHT = 6;
const WIDTH = 6;
const CHANNELS = 2;
export const IMAGE_SHAPE = /** @type {[number, number, number, number]} */ ([BATCH, HEIGHT, WIDTH, CHANNELS]);
export const OUTPUTS = 4;

/** The model's config, saved in checkpoints and compared when they load. */
export const NETWORK_CONFIG = { image: [HEIGHT, WIDTH, CHANNELS], filters: 3, kernelSize: 3, outputs: OUTPUTS };

/** The learning rate of the one SGD step (large enough that every parameter visibly moves). */
export const LEARNING_RATE = 0.5;

/**
 * @typedef {{
 *   conv: ReturnType<typeof createConv2d>,
 *   out: ReturnType<typeof createDense>,
 * }} Network
 */

/**
 * A 3x3 'same' conv2d with tanh, flattened into a dense layer with a sigmoid: the conv's
 * filter gradient is the kernel tfjs-backend-wasm lacks (core computes it), the dense layer
 * goes through core's matMul fast path, forward and backward.
 * @param {string} prefix engine variable names must be unique: one prefix per instance
 * @param {Rng} rng
 * @returns {Network}
 */
export function createNetwork(prefix, rng) {
  return {
    conv: createConv2d({ name: `${prefix}/conv`, inputChannels: CHANNELS, filters: NETWORK_CONFIG.filters, kernelSize: NETWORK_CONFIG.kernelSize, rng }),
    out: createDense({ name: `${prefix}/out`, inputs: HEIGHT * WIDTH * NETWORK_CONFIG.filters, units: OUTPUTS, rng }),
  };
}

/**
 * @param {Network} network
 * @param {tf.Tensor4D} x
 * @returns {tf.Tensor2D}
 */
export function forward(network, x) {
  return tf.tidy(() => dense(flatten(conv2d(x, network.conv, { padding: 'same', activation: 'tanh' })), network.out, 'sigmoid'));
}

/**
 * @param {Network} network
 * @param {tf.Tensor4D} x
 * @param {tf.Tensor2D} target
 * @returns {tf.Scalar}
 */
export function meanSquaredError(network, x, target) {
  return tf.tidy(() => /** @type {tf.Scalar} */ (tf.mean(tf.square(tf.sub(forward(network, x), target)))));
}

/**
 * The network and its data, drawn from one seed in a fixed order. `Rng`'s tensor draws are made
 * in JavaScript, so every backend starts from the same numbers.
 * @param {string} prefix
 */
export function seededProblem(prefix) {
  const rng = new Rng(SEEDS.network);
  const network = createNetwork(prefix, rng);
  const x = rng.normalTensor(IMAGE_SHAPE);
  const target = rng.uniform([BATCH, OUTPUTS]);
  return { network, x, target };
}

/**
 * Every leaf of a parameter tree read back, by path.
 * @param {import('@helmholtz/core').ParamContainer} params
 * @returns {Promise<Record<string, number[]>>}
 */
export async function readParams(params) {
  /** @type {Record<string, number[]>} */
  const out = {};
  for (const [path, variable] of flattenParams(params)) out[path] = Array.from(await variable.data());
  return out;
}

/**
 * The forward pass and the gradient of the loss with respect to every parameter.
 * @param {string} prefix
 * @returns {Promise<{ output: number[], loss: number, gradients: Record<string, number[]> }>}
 */
export async function forwardAndGradients(prefix) {
  const { network, x, target } = seededProblem(prefix);
  const y = forward(network, x);
  const { loss, grads } = lossAndGradientsOf(() => meanSquaredError(network, x, target), network);
  /** @type {Record<string, number[]>} */
  const gradients = {};
  for (const [path, g] of grads) gradients[path] = Array.from(await g.data());
  const result = { output: Array.from(await y.data()), loss: (await loss.data())[0] ?? NaN, gradients };
  tf.dispose([y, loss, x, target, ...grads.values()]);
  disposeParams(network);
  return result;
}

/**
 * One SGD step through core's optimizer and `train` loop. The caller owns the returned network
 * and optimizer (to save them) and disposes both.
 * @param {string} prefix
 */
export async function trainOneStep(prefix) {
  const { network, x, target } = seededProblem(prefix);
  const optimizer = createOptimizer({ kind: 'sgd', learningRate: LEARNING_RATE }, network);
  // The loop disposes each batch after its step, so the data is handed over, not kept.
  const history = await train({
    epochs: 1,
    batches: () => [{ x, target }],
    step: (batch) => ({ loss: optimizer.minimize(() => meanSquaredError(network, batch.x, batch.target)) }),
  });
  const loss = history.epochs[0]?.loss;
  return { network, optimizer, loss: typeof loss === 'number' ? loss : NaN, steps: history.steps };
}

/**
 * What a checkpoint's model produces: its output for noise drawn from the `Rng` state the
 * checkpoint saved, so the sampler resumes where the saved run stood.
 * @param {Network} network
 * @param {unknown} state the checkpoint's `state`, `{ rng: Rng.state() }`
 * @returns {Promise<number[]>}
 */
export async function sampleFromState(network, state) {
  // Rng.fromState checks the words itself and says what it expected.
  const words = /** @type {Parameters<typeof Rng.fromState>[0]} */ (/** @type {{ rng?: unknown } | null} */ (state)?.rng);
  const rng = Rng.fromState(words);
  const noise = rng.normalTensor(IMAGE_SHAPE);
  const y = forward(network, noise);
  const values = Array.from(await y.data());
  tf.dispose([noise, y]);
  return values;
}

/** The sampler state Node saves in its checkpoint. */
export function samplingState() {
  return { rng: new Rng(SEEDS.sampling).state() };
}
