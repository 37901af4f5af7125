import * as tf from '@tensorflow/tfjs-core';
import { matMul } from './matmul.js';

/**
 * tf.gather of rows, with a gradient on every backend. tf.gather's own gradient scatters with
 * UnsortedSegmentSum, which tfjs-backend-wasm 4.22 lacks; there the gradient scatters dy into
 * the table's shape with ScatterNd (which sums repeated ids: batch·dims work whatever the table
 * size), or, on a backend without that either, takes the one-hot product onehot(ids)ᵀ · dy
 * through core's matMul (count·batch·dims). The forward pass stays a gather, exact whatever the
 * table holds (bench/embedding.bench.ts compares it with a one-hot product in both passes).
 */
export function gatherRows(table: tf.Tensor2D, ids: tf.Tensor1D): tf.Tensor2D {
  if (tf.getKernel('UnsortedSegmentSum', tf.getBackend()) !== undefined) return tf.gather(table, ids);
  const count = table.shape[0];
  const op = tf.customGrad<tf.Tensor2D>((...args: Array<tf.Tensor | tf.GradSaveFunc>) => {
    const [t, save] = args as [tf.Tensor2D, tf.GradSaveFunc];
    // Saved, not closed over: ids made inside a loss function are disposed before backprop.
    save([ids]);
    return {
      value: tf.gather(t, ids),
      gradFunc: (dy: tf.Tensor2D, saved: tf.Tensor[]) =>
        tf.tidy(() => {
          const saved0 = saved[0] as tf.Tensor1D;
          if (tf.getKernel('ScatterNd', tf.getBackend()) !== undefined) {
            const indices = tf.reshape(saved0.dtype === 'int32' ? saved0 : tf.cast(saved0, 'int32'), [saved0.shape[0], 1]);
            return tf.scatterND(indices, dy, [count, dy.shape[1]]) as tf.Tensor2D;
          }
          return matMul(oneHotRows(saved0, count), dy, true, false);
        }),
    };
  });
  return op(table);
}

/**
 * One-hot rows as float32. Not tf.oneHot(..., 'float32'): tfjs-backend-wasm 4.22 ignores the
 * dtype and writes int32 bits into the float buffer (a 1 reads as 1.4e-45).
 */
function oneHotRows(ids: tf.Tensor1D, count: number): tf.Tensor2D {
  return tf.tidy(() => tf.cast(tf.oneHot(ids, count), 'float32') as tf.Tensor2D);
}
