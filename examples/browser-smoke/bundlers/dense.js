// @ts-check
// The computation the bundled pages run on webgpu and the driver runs in Node on cpu: one
// dense layer of @helmholtz/core, seeded with core's Rng (whose draws are made in JavaScript,
// so both sides start from the same numbers). Plain JavaScript so Node imports it unbuilt.
import * as tf from '@tensorflow/tfjs-core';
import { Rng, createDense, dense, disposeParams } from '@helmholtz/core';

const SEED = 20261124;
const BATCH = 3;
const INPUTS = 16;
const UNITS = 5;

/**
 * tanh(x · kernel + bias) for seeded x, kernel and bias, read back.
 * @param {string} prefix engine variable names must be unique: one prefix per call
 * @returns {Promise<number[]>}
 */
export async function denseForward(prefix) {
  const rng = new Rng(SEED);
  const layer = createDense({ name: `${prefix}/dense`, inputs: INPUTS, units: UNITS, rng });
  // The bias starts at zero; give it values so that a dropped bias add would show.
  const bias = rng.normalTensor([UNITS]);
  layer.bias?.assign(bias);
  const x = rng.normalTensor([BATCH, INPUTS]);
  const y = dense(/** @type {tf.Tensor2D} */ (x), layer, 'tanh');
  const values = Array.from(await y.data());
  tf.dispose([bias, x, y]);
  disposeParams(layer);
  return values;
}
