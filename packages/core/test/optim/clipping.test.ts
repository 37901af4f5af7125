import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { clipByGlobalNorm, clipByValue, ConfigError, globalNorm } from '../../src/index.js';
import { expectAllClose, TEST_BACKENDS, useBackend } from '../../src/testing.js';

describe.each(TEST_BACKENDS)('gradient clipping on %s', (backend) => {
  it('clipByGlobalNorm scales all gradients by maxNorm / global norm (hand computation)', async () => {
    await useBackend(backend);
    // ||(3, 4)||² + ||12||² = 25 + 144 = 169: global norm 13.
    const a = tf.tensor1d([3, 4]);
    const b = tf.tensor2d([[12]]);
    const before = tf.memory().numTensors;
    const { grads, norm } = clipByGlobalNorm({ a, b }, 6.5);
    // Only the returned tensors remain: two gradients and the norm.
    expect(tf.memory().numTensors).toBe(before + 3);
    expect(norm.dataSync()[0]).toBeCloseTo(13, 5);
    expectAllClose(grads.a, [1.5, 2], 1e-6);
    expectAllClose(grads.b, [6], 1e-6);
    expect(grads.b.shape).toEqual([1, 1]);
    tf.dispose([grads.a, grads.b, norm]);
    tf.dispose([a, b]);
  });

  it('clipByGlobalNorm leaves gradients under the limit unchanged and keeps list order', async () => {
    await useBackend(backend);
    const a = tf.tensor1d([0.3, -0.4]);
    const before = tf.memory().numTensors;
    const { grads, norm } = clipByGlobalNorm([a], 1);
    expect(tf.memory().numTensors).toBe(before + 2);
    expect(norm.dataSync()[0]).toBeCloseTo(0.5, 6);
    expectAllClose(grads[0] as tf.Tensor, [0.3, -0.4], 1e-6);
    tf.dispose([...grads, norm, a]);
  });

  it('clipByValue clamps each element; globalNorm of nothing is 0', async () => {
    await useBackend(backend);
    const g = tf.tensor1d([-3, -0.5, 0.2, 7]);
    const [c] = clipByValue([g], 1);
    expectAllClose(c as tf.Tensor, [-1, -0.5, 0.2, 1], 1e-7);
    const zero = globalNorm([]);
    expect(zero.dataSync()[0]).toBe(0);
    tf.dispose([g, c as tf.Tensor, zero]);
  });

  it('rejects a non-positive limit with ConfigError', async () => {
    await useBackend(backend);
    const g = tf.ones([2]);
    expect(() => clipByGlobalNorm([g], 0)).toThrow(ConfigError);
    expect(() => clipByValue([g], -1)).toThrow(ConfigError);
    g.dispose();
  });
});
