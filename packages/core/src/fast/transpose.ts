import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { offsetOf, registerWasmKernel, wasmKernelsActive } from './wasm/tfjs-wasm.js';

/** The kernel's name in tfjs's registry. */
export const TRANSPOSE_KERNEL = 'HelmholtzTranspose2D';

function register(): void {
  registerWasmKernel(
    TRANSPOSE_KERNEL,
    (backend, kernels, inputs) => {
      const x = inputs.x!;
      const [rows, cols] = x.shape as [number, number];
      const out = backend.makeOutput([cols, rows], 'float32');
      kernels.transpose(offsetOf(backend, x), offsetOf(backend, out), rows, cols);
      return out;
    },
    { kernelName: TRANSPOSE_KERNEL, gradFunc: (dy) => ({ x: () => transposeValue(dy as tf.Tensor2D) }) },
  );
}

/** `xᵀ` without gradient bookkeeping, by the fastest kernel the backend has. */
export function transposeValue(x: tf.Tensor2D): tf.Tensor2D {
  if (x.dtype === 'float32' && wasmKernelsActive()) {
    register();
    return tf.engine().runKernel(TRANSPOSE_KERNEL, { x }, {}) as tf.Tensor2D;
  }
  return tf.transpose(x);
}

/**
 * `xᵀ` for a rank-2 tensor, with its gradient. On wasm a blocked SIMD transpose of core's own
 * (tfjs-backend-wasm's Transpose kernel copies element by element); elsewhere tf.transpose.
 */
export function transpose2d(x: tf.Tensor2D): tf.Tensor2D {
  if (x.rank !== 2) throw new ShapeError('transpose2d input', '[rows, cols] (rank 2)', x.shape);
  const withGradient = tf.customGrad<tf.Tensor2D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const input = args[0] as tf.Tensor2D;
    return { value: transposeValue(input), gradFunc: (dy: tf.Tensor2D) => transposeValue(dy) };
  });
  return withGradient(x);
}
