import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/errors.js';
import {
  binaryCrossEntropyFromLogits,
  categoricalCrossEntropyFromLogits,
  meanSquaredError,
  sparseCategoricalCrossEntropyFromLogits,
  type Reduction,
} from '../../src/losses/index.js';
import { expectAllClose, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from '../layers/leak-check.js';

const naiveBce = (x: number, z: number) => {
  const p = 1 / (1 + Math.exp(-x));
  return -(z * Math.log(p) + (1 - z) * Math.log(1 - p));
};

describe.each(TEST_BACKENDS)('losses on %s', (backend) => {
  it('binary cross-entropy from logits equals the naive formula where that is finite', async () => {
    await useBackend(backend);
    const xs = [-8, -2, -0.5, 0, 0.3, 1.5, 6];
    const zs = [0, 1, 0.25, 0.5, 1, 0, 0.9];
    const logits = tf.tensor2d(xs, [1, 7]);
    const targets = tf.tensor2d(zs, [1, 7]);
    const none = expectOnlyReturnedTensors(() => binaryCrossEntropyFromLogits(logits, targets, 'none'));
    const want = xs.map((x, i) => naiveBce(x, zs[i]!));
    expect(none.shape).toEqual([1, 7]);
    expectAllClose(none, want, 1e-5);
    const mean = expectOnlyReturnedTensors(() => binaryCrossEntropyFromLogits(logits, targets));
    expect(mean.shape).toEqual([]);
    expectAllClose(mean, want.reduce((a, b) => a + b) / 7, 1e-5);
    const sum = binaryCrossEntropyFromLogits(logits, targets, 'sum');
    expectAllClose(sum, want.reduce((a, b) => a + b), 1e-5);
    tf.dispose([logits, targets, none, mean, sum]);
  });

  it('binary cross-entropy stays finite and exact at logits ±100, and its gradient is σ(x) − z', async () => {
    await useBackend(backend);
    const logits = tf.tensor1d([100, -100, 100, -100]);
    const targets = tf.tensor1d([1, 0, 0, 1]);
    const v = binaryCrossEntropyFromLogits(logits, targets, 'none');
    // Correct predictions cost ≈ e^-100 ≈ 0; wrong ones cost 100.
    expectAllClose(v, [0, 0, 100, 100], 1e-6);
    const g = tf.grad((x: tf.Tensor) => binaryCrossEntropyFromLogits(x, targets, 'sum'))(logits);
    expectAllClose(g, [0, 0, 1, -1], 1e-6);
    tf.dispose([logits, targets, v, g]);
  });

  it('mean squared error equals the manual mean of squared differences', async () => {
    await useBackend(backend);
    const p = tf.tensor2d([[1, 2], [3, 4]]);
    const t = tf.tensor2d([[0, 2], [5, 1]]);
    const m = expectOnlyReturnedTensors(() => meanSquaredError(p, t));
    expectAllClose(m, (1 + 0 + 4 + 9) / 4, 1e-6);
    const n = meanSquaredError(p, t, 'none');
    expectAllClose(n, [1, 0, 4, 9], 1e-6);
    tf.dispose([p, t, m, n]);
  });

  it('categorical cross-entropy equals −log softmax of the true class, one-hot or sparse', async () => {
    await useBackend(backend);
    const rows = [
      [2, 1, 0.1],
      [-1, 3, 0.5],
    ];
    const labels = [0, 2];
    const logits = tf.tensor2d(rows);
    const oneHot = tf.tensor2d([
      [1, 0, 0],
      [0, 0, 1],
    ]);
    const manual = rows.map((r, i) => {
      const lse = Math.log(r.reduce((a, v) => a + Math.exp(v), 0));
      return lse - r[labels[i]!]!;
    });
    const none = expectOnlyReturnedTensors(() => categoricalCrossEntropyFromLogits(logits, oneHot, 'none'));
    expectAllClose(none, manual, 1e-5);
    const mean = categoricalCrossEntropyFromLogits(logits, oneHot);
    expectAllClose(mean, (manual[0]! + manual[1]!) / 2, 1e-5);
    const idx = tf.tensor1d(labels, 'int32');
    const sparse = expectOnlyReturnedTensors(() => sparseCategoricalCrossEntropyFromLogits(logits, idx, 'none'));
    expectAllClose(sparse, manual, 1e-5);
    // Large logits: log-softmax keeps it finite.
    const big = tf.tensor2d([[1000, 0, -1000]]);
    const hot = tf.tensor2d([[0, 1, 0]]);
    const ce = categoricalCrossEntropyFromLogits(big, hot);
    expectAllClose(ce, 1000, 1e-6);
    tf.dispose([logits, oneHot, none, mean, idx, sparse, big, hot, ce]);
  });

  it('rejects mismatched shapes with a ShapeError and unknown reductions with a ConfigError', async () => {
    await useBackend(backend);
    const a = tf.zeros([4, 3]);
    const b = tf.zeros([4, 2]);
    expect(() => binaryCrossEntropyFromLogits(a, b)).toThrow(ShapeError);
    expect(() => meanSquaredError(a, b)).toThrow('meanSquaredError targets (must match predictions): expected shape [4, 3], got [4, 2]');
    expect(() => categoricalCrossEntropyFromLogits(a as tf.Tensor2D, b as tf.Tensor2D)).toThrow(ShapeError);
    const labels = tf.zeros([3], 'int32') as tf.Tensor1D;
    expect(() => sparseCategoricalCrossEntropyFromLogits(a as tf.Tensor2D, labels)).toThrow(ShapeError);
    expect(() => meanSquaredError(a, a, 'avg' as Reduction)).toThrow(ConfigError);
    tf.dispose([a, b, labels]);
  });
});
