// Products, a convolution and a dense layer (forward and gradients) large enough that XNNPACK
// splits them across its thread pool, and core's own wasm kernels (transpose, Bernoulli
// sampling), computed on the active backend. Plain JavaScript so that
// both the test file (in its own process, threaded wasm) and scenario.mjs (a fresh process,
// single-threaded wasm) run the very same computation against one cpu reference.
import * as tf from '@tensorflow/tfjs-core';
import { Rng, conv2d, dense, lossAndGradients, matMul } from '@helmholtz/core';

const SEED = 20261123;

function normals(rng, shape, scale) {
  const data = new Float32Array(shape.reduce((a, b) => a * b, 1));
  for (let i = 0; i < data.length; i++) data[i] = rng.normal() * scale;
  return { shape, data };
}

let inputs = null;

// Drawn once per process in JavaScript, so every backend starts from the same float32 values.
function draw() {
  const rng = new Rng(SEED);
  return {
    // Each product's operands are scaled so its entries are of order one.
    a: normals(rng, [256, 784], 1),
    b: normals(rng, [784, 500], 1 / Math.sqrt(784)),
    aT: normals(rng, [784, 256], 1),
    bT: normals(rng, [500, 784], 1 / Math.sqrt(784)),
    image: normals(rng, [8, 28, 28, 16], 1),
    kernel: normals(rng, [3, 3, 16, 32], 1 / Math.sqrt(3 * 3 * 16)),
    convBias: normals(rng, [32], 0.1),
    denseBias: normals(rng, [500], 0.1),
    target: normals(rng, [256, 500], 0.5),
  };
}

const tensor = (spec) => tf.tensor(spec.data, spec.shape);
// tf.variable keeps its initial tensor's values, not the tensor: tidy frees that one.
const variable = (spec) => tf.tidy(() => tf.variable(tensor(spec)));

async function read(named) {
  const out = [];
  for (const [name, t] of Object.entries(named)) out.push({ name, values: await t.data() });
  tf.dispose(Object.values(named));
  return out;
}

/**
 * Runs every op on the active backend; returns each result's values by name, in a fixed
 * order, and leaves no tensor behind.
 */
export async function runWorkload() {
  inputs ??= draw();
  const a = tensor(inputs.a);
  const b = tensor(inputs.b);
  const aT = tensor(inputs.aT);
  const bT = tensor(inputs.bT);
  const products = tf.tidy(() => {
    const z = matMul(a, b);
    // Core's matMul with each transpose: wasm takes its explicit-transpose path there.
    return {
      matMul: z,
      'matMul(aT)': matMul(aT, b, true, false),
      'matMul(bT)': matMul(a, bT, false, true),
      'matMul(aT, bT)': matMul(aT, bT, true, true),
      sigmoid: tf.sigmoid(z),
      softplus: tf.softplus(z),
      'mean(softplus, 1)': tf.mean(tf.softplus(z), 1),
      'max(z, 1)': tf.max(z, 1),
      'logSumExp(z, 1)': tf.logSumExp(z, 1),
      'sum(z, 0)': tf.sum(z, 0),
      'mean(sigmoid)': tf.mean(tf.sigmoid(z)),
      // Core's Bernoulli kernel, which on wasm writes into the backend's own (here shared) memory:
      // the same samples on every backend for one seed, so any difference fails the comparison.
      bernoulli: new Rng(SEED + 1).bernoulli(tf.sigmoid(z)),
    };
  });

  // A 3x3 'same' convolution, 16 to 32 channels, and the gradients for its input, kernel and bias.
  const image = variable(inputs.image);
  const kernel = variable(inputs.kernel);
  const convBias = variable(inputs.convBias);
  const conv = lossAndGradients(() => {
    const y = conv2d(image, { kernel, bias: convBias }, { padding: 'same', activation: 'tanh' });
    return { loss: tf.mean(tf.square(y)), y };
  }, [image, kernel, convBias]);

  // A dense layer [256, 784] to [256, 500], and the gradients for its input, kernel and bias.
  const x = variable(inputs.a);
  const weights = variable(inputs.b);
  const denseBias = variable(inputs.denseBias);
  const target = tensor(inputs.target);
  const layer = lossAndGradients(() => {
    const y = dense(x, { kernel: weights, bias: denseBias }, 'sigmoid');
    return { loss: tf.mean(tf.square(tf.sub(y, target))), y };
  }, [x, weights, denseBias]);

  const [dImage, dKernel, dConvBias] = conv.grads;
  const [dX, dWeights, dDenseBias] = layer.grads;
  const results = await read({
    ...products,
    conv2d: conv.aux.y,
    'conv2d loss': conv.loss,
    'd image': dImage,
    'd kernel': dKernel,
    'd conv bias': dConvBias,
    dense: layer.aux.y,
    'dense loss': layer.loss,
    'd x': dX,
    'd weights': dWeights,
    'd dense bias': dDenseBias,
  });
  tf.dispose([a, b, aT, bT, image, kernel, convBias, x, weights, denseBias, target]);
  return results;
}
