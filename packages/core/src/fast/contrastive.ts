import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';
import { offsetOf, registerWasmKernel, wasmKernelsActive } from './wasm/tfjs-wasm.js';

/** Kernel names in tfjs's registry (for tf.profile). */
export const ADD_SCALED_DIFFERENCE_KERNEL = 'HelmholtzAddScaledDifference';
export const ROW_SUM_DIFFERENCE_KERNEL = 'HelmholtzRowSumDifference';

function sameShape(what: string, a: tf.Tensor, b: tf.Tensor): void {
  if (a.shape.length !== b.shape.length || a.shape.some((d, i) => d !== b.shape[i])) {
    throw new ShapeError(what, a.shape, b.shape);
  }
}

function float32(what: string, t: tf.Tensor): void {
  if (!(t instanceof tf.Tensor)) throw new ConfigError(what, 'a float32 tensor', t);
  if (t.dtype !== 'float32') throw new ConfigError(`${what} dtype`, "'float32'", t.dtype);
}

/**
 * `w + alpha·(p − q)` in one pass: a parameter moved along the difference of two statistics, as
 * a contrastive-divergence update does (`W + lr/n·(v0ᵀh0 − vkᵀhk)`). On wasm one SIMD kernel
 * of core's replaces tfjs's Sub, Mul and Add (three passes over a weight matrix); elsewhere it is
 * those three ops. Differentiable (w: dy, p: alpha·dy, q: −alpha·dy).
 */
export function addScaledDifference<T extends tf.Tensor>(w: T, p: T, q: T, alpha: number): T {
  float32('addScaledDifference w', w);
  float32('addScaledDifference p', p);
  float32('addScaledDifference q', q);
  sameShape('addScaledDifference p (the shape of w)', w, p);
  sameShape('addScaledDifference q (the shape of w)', w, q);
  if (typeof alpha !== 'number' || !Number.isFinite(Math.fround(alpha))) {
    throw new ConfigError('addScaledDifference alpha', 'a number finite in float32', alpha);
  }
  if (!wasmKernelsActive()) return tf.tidy(() => tf.add(w, tf.mul(tf.sub(p, q), alpha))) as T;
  registerWasmKernel(ADD_SCALED_DIFFERENCE_KERNEL, (backend, kernels, inputs, attrs) => {
    const [a, b, c] = [inputs.w!, inputs.p!, inputs.q!];
    const out = backend.makeOutput([...a.shape], 'float32');
    kernels.addScaledDifference(
      offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, c), offsetOf(backend, out),
      tf.util.sizeFromShape(a.shape), attrs.alpha as number,
    );
    return out;
  }, {
    kernelName: ADD_SCALED_DIFFERENCE_KERNEL,
    gradFunc: (dy, _saved, attrs) => {
      const a = (attrs as { alpha: number }).alpha;
      const g = dy as tf.Tensor;
      return { w: () => tf.clone(g), p: () => tf.mul(g, a), q: () => tf.mul(g, -a) };
    },
  });
  return tf.engine().runKernel(ADD_SCALED_DIFFERENCE_KERNEL, { w, p, q }, { alpha }) as T;
}

/**
 * `sum(p − q, axis 1)` for [rows, cols] matrices: per-row sums of a difference, e.g. a bias's
 * contrastive statistic when the batch runs along the columns. One pass on wasm (core's kernel);
 * tfjs's Sub and Sum elsewhere. Differentiable.
 */
export function rowSumDifference(p: tf.Tensor2D, q: tf.Tensor2D): tf.Tensor1D {
  float32('rowSumDifference p', p);
  float32('rowSumDifference q', q);
  if (p.rank !== 2) throw new ShapeError('rowSumDifference p', '[rows, cols] (rank 2)', p.shape);
  sameShape('rowSumDifference q (the shape of p)', p, q);
  if (!wasmKernelsActive()) return tf.tidy(() => tf.sum(tf.sub(p, q), 1)) as tf.Tensor1D;
  registerWasmKernel(ROW_SUM_DIFFERENCE_KERNEL, (backend, kernels, inputs) => {
    const [a, b] = [inputs.p!, inputs.q!];
    const [rows, cols] = a.shape as [number, number];
    const out = backend.makeOutput([rows], 'float32');
    kernels.rowSumDifference(offsetOf(backend, a), offsetOf(backend, b), offsetOf(backend, out), rows, cols);
    return out;
  }, {
    kernelName: ROW_SUM_DIFFERENCE_KERNEL,
    inputsToSave: ['p'],
    gradFunc: (dy, saved) => {
      const [pSaved] = saved as [tf.Tensor2D];
      const spread = (): tf.Tensor2D => tf.mul(tf.reshape(dy as tf.Tensor, [pSaved.shape[0], 1]), tf.onesLike(pSaved));
      return { p: spread, q: () => tf.neg(spread()) };
    },
  });
  return tf.engine().runKernel(ROW_SUM_DIFFERENCE_KERNEL, { p, q }, {}) as tf.Tensor1D;
}
