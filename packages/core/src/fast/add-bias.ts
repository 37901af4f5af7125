import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { offsetOf, registerWasmKernel, wasmKernelsActive } from './wasm/tfjs-wasm.js';

/** The kernel's name in tfjs's registry. */
export const ADD_ROW_BIAS_KERNEL = 'HelmholtzAddRowBias';

function addRowBiasValue(x: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  if (!wasmKernelsActive() || x.dtype !== 'float32' || bias.dtype !== 'float32') {
    return tf.add(x, tf.reshape(bias, [bias.size, 1]));
  }
  registerWasmKernel(ADD_ROW_BIAS_KERNEL, (backend, kernels, inputs) => {
    const [v, b] = [inputs.x!, inputs.bias!];
    const [rows, cols] = v.shape as [number, number];
    const out = backend.makeOutput([rows, cols], 'float32');
    kernels.addColumnBias(offsetOf(backend, v), offsetOf(backend, b), offsetOf(backend, out), rows, cols);
    return out;
  }, {
    kernelName: ADD_ROW_BIAS_KERNEL,
    gradFunc: (dy) => {
      const g = dy as tf.Tensor2D;
      return { x: () => tf.clone(g), bias: () => (g.shape[1] === 0 ? tf.zeros([g.shape[0]]) : tf.sum(g, 1)) };
    },
  });
  return tf.engine().runKernel(ADD_ROW_BIAS_KERNEL, { x, bias }, {}) as tf.Tensor2D;
}

/**
 * `x + bias` with one bias per row of x ([rows, cols] + [rows]): the layout of a layer computed
 * as W·xᵀ, one column per example. tfjs-backend-wasm broadcasts a [rows, 1] operand element by
 * element; core's SIMD kernel adds a row's bias to the whole row. Differentiable (the bias's
 * gradient is dy summed over each row).
 */
export function addRowBias(x: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor2D {
  if (!(x instanceof tf.Tensor)) throw new ConfigError('addRowBias x', 'a rank-2 tensor', x);
  if (x.rank !== 2) throw new ShapeError('addRowBias x', '[rows, cols] (rank 2)', x.shape);
  if (!(bias instanceof tf.Tensor)) throw new ConfigError('addRowBias bias', 'a rank-1 tensor', bias);
  if (bias.rank !== 1 || bias.shape[0] !== x.shape[0]) throw new ShapeError('addRowBias bias', [x.shape[0]], bias.shape);
  const withGradient = tf.customGrad<tf.Tensor2D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [v, b] = args as [tf.Tensor2D, tf.Tensor1D];
    // tfjs-backend-wasm's Sum over an empty axis leaves its output unwritten (heap garbage, not
    // 0; reductions of zero-size tensors: tensorflow/tfjs#6633), so a [rows, 0] x gets zeros.
    const dBias = (dy: tf.Tensor2D) => (dy.shape[1] === 0 ? tf.zeros([dy.shape[0]]) : tf.sum(dy, 1));
    return { value: addRowBiasValue(v, b), gradFunc: (dy: tf.Tensor2D) => [dy, dBias(dy)] };
  });
  return withGradient(x, bias);
}
