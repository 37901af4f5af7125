import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { transposeValue } from './transpose.js';

/**
 * Backends whose matMul kernel is slow when asked to read an operand transposed.
 * On tfjs-backend-wasm 4.22 (XNNPACK) `transposeA`/`transposeB` fall off the fast
 * path: 1.3-1.6 GFLOP/s against about 20 GFLOP/s for an explicit transpose followed
 * by a plain product (shared/ENVIRONMENT.md; `pnpm bench` re-measures it).
 */
const EXPLICIT_TRANSPOSE_BACKENDS = new Set(['wasm']);

/** Whether the active backend gets explicit transposes instead of matMul's flags. */
export function prefersExplicitTranspose(backend: string = tf.getBackend()): boolean {
  return EXPLICIT_TRANSPOSE_BACKENDS.has(backend);
}

function checkOperands(a: tf.Tensor, b: tf.Tensor, transposeA: boolean, transposeB: boolean): void {
  if (a.rank !== 2) throw new ShapeError('matMul left operand', '[m, k] (rank 2)', a.shape);
  if (b.rank !== 2) throw new ShapeError('matMul right operand', '[k, n] (rank 2)', b.shape);
  const inner = transposeA ? a.shape[0] : a.shape[1];
  const innerB = transposeB ? b.shape[1] : b.shape[0];
  if (inner !== innerB) {
    const want = transposeB ? [null, inner] : [inner, null];
    throw new ShapeError(
      `matMul right operand (transposeA=${transposeA}, transposeB=${transposeB})`,
      want as (number | null)[],
      b.shape,
      `the left operand ${JSON.stringify(a.shape)} has inner dimension ${inner}`,
    );
  }
}

/** op(a) · op(b) without autodiff bookkeeping, choosing the backend's fast form. */
function product(a: tf.Tensor2D, b: tf.Tensor2D, transposeA: boolean, transposeB: boolean): tf.Tensor2D {
  if (!(transposeA || transposeB) || !prefersExplicitTranspose()) {
    return tf.matMul(a, b, transposeA, transposeB);
  }
  return tf.tidy(() => {
    const left = transposeA ? transposeValue(a) : a;
    const right = transposeB ? transposeValue(b) : b;
    return tf.matMul(left, right);
  });
}

/**
 * Matrix product `op(a) · op(b)` for rank-2 tensors, where `op` transposes when its flag is set.
 *
 * Same result as `tf.matMul(a, b, transposeA, transposeB)`, but routed around slow kernels on
 * the active backend, in the forward pass and in the gradient. The gradient matters: tfjs's own
 * matMul gradient uses the transpose flags, so every dense layer's backward pass would hit the
 * slow path on wasm even when the forward pass does not.
 */
export function matMul(
  a: tf.Tensor2D,
  b: tf.Tensor2D,
  transposeA = false,
  transposeB = false,
): tf.Tensor2D {
  checkOperands(a, b, transposeA, transposeB);
  if (!prefersExplicitTranspose()) return tf.matMul(a, b, transposeA, transposeB);
  const withGradient = tf.customGrad<tf.Tensor2D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [left, right, save] = args as [tf.Tensor2D, tf.Tensor2D, tf.GradSaveFunc];
    save([left, right]);
    return {
      value: product(left, right, transposeA, transposeB),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) => {
        const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
        const g = dy;
        // C = op(A)·op(B): each case below is the textbook derivative with the
        // transposes folded into the operands.
        if (!transposeA && !transposeB) return [product(g, sb, false, true), product(sa, g, true, false)];
        if (transposeA && !transposeB) return [product(sb, g, false, true), product(sa, g, false, false)];
        if (!transposeA && transposeB) return [product(g, sb, false, false), product(g, sa, true, false)];
        return [product(sb, g, true, true), product(g, sa, true, true)];
      },
    };
  });
  return withGradient(a, b);
}
