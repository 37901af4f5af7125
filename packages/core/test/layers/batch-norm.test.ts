import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import { batchNorm, createBatchNorm } from '../../src/layers/index.js';
import { disposeParams, trainableVariables } from '../../src/params/tree.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from './leak-check.js';

function channelStats(t: tf.Tensor, channels: number): { mean: number[]; variance: number[] } {
  const v = t.dataSync();
  const n = v.length / channels;
  const mean = new Array<number>(channels).fill(0);
  const variance = new Array<number>(channels).fill(0);
  for (let i = 0; i < v.length; i++) mean[i % channels]! += v[i]! / n;
  for (let i = 0; i < v.length; i++) variance[i % channels]! += (v[i]! - mean[i % channels]!) ** 2 / n;
  return { mean, variance };
}

describe.each(TEST_BACKENDS)('batchNorm on %s', (backend) => {
  it('training output has per-channel mean 0 and variance ≈ 1 (NHWC, normalised over all axes but the last)', async () => {
    await useBackend(backend);
    const p = createBatchNorm({ name: 'bn', channels: 3 });
    const rng = new Rng(1);
    const x = tf.tidy(() => tf.add(tf.mul(rng.normalTensor([4, 5, 5, 3]), tf.tensor1d([1, 5, 0.2])), tf.tensor1d([3, -2, 10])));
    const y = expectOnlyReturnedTensors(() => batchNorm(x, p, { training: true }));
    const { mean, variance } = channelStats(y, 3);
    const xs = channelStats(x, 3);
    expectAllClose(mean, [0, 0, 0], 1e-4);
    // Exactly var / (var + ε) with the biased batch variance.
    expectAllClose(variance, xs.variance.map((v) => v / (v + 1e-3)), 1e-3);
    tf.dispose([x, y]);
    disposeParams(p);
  });

  it('training updates moving statistics by moving ← m·moving + (1 − m)·batch; inference leaves them alone', async () => {
    await useBackend(backend);
    const p = createBatchNorm({ name: 'bn', channels: 2 });
    const x = tf.tensor2d([[1, 10], [3, 20], [5, 60]]);
    // Batch mean [3, 30]; biased variance [8/3, 1400/3].
    tf.dispose(batchNorm(x, p, { training: true, momentum: 0.9 }));
    expectAllClose(p.movingMean, [0.3, 3], 1e-5);
    expectAllClose(p.movingVariance, [0.9 + 0.1 * (8 / 3), 0.9 + 0.1 * (1400 / 3)], 1e-5);
    tf.dispose(batchNorm(x, p, { training: true, momentum: 0.9 }));
    expectAllClose(p.movingMean, [0.9 * 0.3 + 0.3, 0.9 * 3 + 3], 1e-5);
    const before = p.movingMean.dataSync().slice();
    tf.dispose(batchNorm(x, p, { training: false }));
    expectAllClose(p.movingMean, before, 0);
    tf.dispose(x);
    disposeParams(p);
  });

  it('inference uses the moving statistics, gamma and beta', async () => {
    await useBackend(backend);
    const p = createBatchNorm({ name: 'bn', channels: 2 });
    p.movingMean.assign(tf.tensor1d([1, -1]));
    p.movingVariance.assign(tf.tensor1d([4, 0.25]));
    p.gamma.assign(tf.tensor1d([2, 1]));
    p.beta.assign(tf.tensor1d([0, 10]));
    const x = tf.tensor2d([[3, 0]]);
    const y = expectOnlyReturnedTensors(() => batchNorm(x, p, { training: false, epsilon: 1e-3 }));
    expectAllClose(y, [(2 * 2) / Math.sqrt(4.001), 1 / Math.sqrt(0.251) + 10], 1e-5);
    tf.dispose([x, y]);
    disposeParams(p);
  });

  it('gamma and beta are trainable and receive gradients; moving statistics are not trainable', async () => {
    await useBackend(backend);
    const p = createBatchNorm({ name: 'bn', channels: 2 });
    expect(trainableVariables(p)).toEqual([p.gamma, p.beta]);
    const x = tf.tensor2d([[1, 2], [3, 5], [4, 1]]);
    const { value, grads } = tf.variableGrads(() => tf.sum(tf.square(batchNorm(x, p, { training: true }))) as tf.Scalar, [
      p.gamma,
      p.beta,
    ]);
    // Σ (γ·x̂ + β)² at γ=1, β=0: ∂/∂γ = 2 Σ x̂² = 2·n·var/(var+ε) per channel, ∂/∂β = 2 Σ x̂ = 0.
    expect(grads[p.gamma.name]!.dataSync()[0]).toBeGreaterThan(5.9);
    expectAllClose(grads[p.beta.name]!, [0, 0], 1e-4);
    tf.dispose([x, value, ...Object.values(grads)]);
    disposeParams(p);
  });

  it('rejects an input whose last axis is not the channel count', async () => {
    await useBackend(backend);
    const p = createBatchNorm({ name: 'gen/bn1', channels: 4 });
    const x = tf.zeros([2, 3]);
    expect(() => batchNorm(x, p, { training: true })).toThrow(ShapeError);
    expect(() => batchNorm(x, p, { training: true })).toThrow(/batchNorm 'gen\/bn1' input/);
    x.dispose();
    disposeParams(p);
  });
});
