import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { batchNorm, createBatchNorm, createDense, dense, type BatchNormParams } from '../../src/layers/index.js';
import type { LayerMode } from '../../src/layers/mode.js';
import { binaryCrossEntropyFromLogits } from '../../src/losses/binary-cross-entropy.js';
import { createVariable, disposeParams, trainableVariables } from '../../src/params/tree.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';
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

/** The bit patterns of a float32 tensor, so that -0 vs 0 and one-ulp changes count. */
function bits(t: tf.Tensor): number[] {
  return Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));
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

  it('16 generator steps with { training: true, updateState: false } leave the discriminator statistics bit-identical; gradients equal those of updateState true', async () => {
    await useBackend(backend);
    const rng = new Rng(11);
    const gen = createDense({ name: 'gen/1', inputs: 3, units: 4, rng });
    const hidden = createDense({ name: 'disc/1', inputs: 4, units: 5, rng });
    const bn = createBatchNorm({ name: 'disc/bn', channels: 5 });
    const out = createDense({ name: 'disc/2', inputs: 5, units: 1, rng });
    // A reference discriminator that shares every weight but owns its moving statistics, so the
    // same step can run with updateState true without touching `bn`.
    const twin: BatchNormParams = {
      ...bn,
      movingMean: createVariable(tf.zeros([5]), 'twin/movingMean', false),
      movingVariance: createVariable(tf.ones([5]), 'twin/movingVariance', false),
    };
    const discriminate = (x: tf.Tensor2D, p: BatchNormParams, mode: LayerMode): tf.Tensor2D =>
      tf.tidy(() => dense(tf.relu(batchNorm(dense(x, hidden), p, mode)), out));
    // A discriminator step first, so the statistics are not the initial zeros and ones.
    tf.tidy(() => {
      const real = rng.normalTensor([6, 4], 2, 3) as tf.Tensor2D;
      discriminate(real, bn, { training: true });
      discriminate(real, twin, { training: true });
    });
    const frozenMean = bits(bn.movingMean);
    const frozenVariance = bits(bn.movingVariance);
    expect(frozenMean).toEqual(bits(twin.movingMean));
    const genVars = trainableVariables(gen);
    let twinMoves = 0;
    expectNoLeaks(() => {
      for (let step = 0; step < 16; step++) {
        const z = rng.normalTensor([6, 3]) as tf.Tensor2D;
        const generatorLoss = (p: BatchNormParams, mode: LayerMode) => (): tf.Scalar =>
          tf.tidy(() => {
            const logits = discriminate(dense(z, gen, 'tanh'), p, mode);
            return binaryCrossEntropyFromLogits(logits, tf.onesLike(logits));
          });
        const twinBefore = bits(twin.movingMean);
        const frozen = tf.variableGrads(generatorLoss(bn, { training: true, updateState: false }), genVars);
        const moving = tf.variableGrads(generatorLoss(twin, { training: true }), genVars);
        if (bits(twin.movingMean).join() !== twinBefore.join()) twinMoves++;
        expect(bits(bn.movingMean)).toEqual(frozenMean);
        expect(bits(bn.movingVariance)).toEqual(frozenVariance);
        // Same batch statistics, same graph to the output: the gradients match bit for bit.
        expect(bits(frozen.value)).toEqual(bits(moving.value));
        for (const v of genVars) expect(bits(frozen.grads[v.name]!)).toEqual(bits(moving.grads[v.name]!));
        // The generator moves, so each step sees new fakes.
        tf.tidy(() => {
          for (const v of genVars) v.assign(tf.sub(v, tf.mul(frozen.grads[v.name]!, 0.5)));
        });
        tf.dispose([z, frozen.value, moving.value, ...Object.values(frozen.grads), ...Object.values(moving.grads)]);
      }
    });
    // The bug this guards against: with the statistics updated, every generator step moved them.
    expect(twinMoves).toBe(16);
    tf.dispose([twin.movingMean, twin.movingVariance]);
    for (const p of [gen, hidden, bn, out]) disposeParams(p);
  });

  it('updateState defaults to training: explicit and default modes give bit-identical outputs and statistics', async () => {
    await useBackend(backend);
    const x = tf.tensor2d([[1, -4], [2, 0.5], [7, 3]]);
    const run = (mode: boolean | LayerMode): { y: number[]; mean: number[]; variance: number[] } => {
      const p = createBatchNorm({ name: 'bn', channels: 2 });
      tf.tidy(() => {
        p.movingMean.assign(tf.tensor1d([0.5, -1]));
        p.movingVariance.assign(tf.tensor1d([2, 0.3]));
      });
      const y = expectOnlyReturnedTensors(() => batchNorm(x, p, mode));
      const result = { y: bits(y), mean: bits(p.movingMean), variance: bits(p.movingVariance) };
      y.dispose();
      disposeParams(p);
      return result;
    };
    const trainDefault = run({ training: true });
    expect(run({ training: true, updateState: true })).toEqual(trainDefault);
    expect(run(true)).toEqual(trainDefault);
    const trainFrozen = run({ training: true, updateState: false });
    expect(trainFrozen.y).toEqual(trainDefault.y);
    expect(trainFrozen.mean).toEqual(bits(tf.tensor1d([0.5, -1])));
    expect(trainDefault.mean).not.toEqual(trainFrozen.mean);
    // Default momentum 0.99 with batch mean [10/3, −1/6].
    expectAllClose(new Float32Array(new Uint32Array(trainDefault.mean).buffer), [0.99 * 0.5 + 0.01 * (10 / 3), -0.99 - 0.01 / 6], 1e-6);
    const inferenceDefault = run({ training: false });
    expect(run({ training: false, updateState: false })).toEqual(inferenceDefault);
    expect(run(false)).toEqual(inferenceDefault);
    expect(inferenceDefault.mean).toEqual(trainFrozen.mean);
    x.dispose();
  });

  it('refuses an invalid mode with a ConfigError before changing anything', async () => {
    await useBackend(backend);
    const p = createBatchNorm({ name: 'disc/bn', channels: 2 });
    const x = tf.tensor2d([[1, 2], [3, 5]]);
    const mean = bits(p.movingMean);
    const call = (opts: unknown) => () => batchNorm(x, p, opts as LayerMode);
    expectNoLeaks(() => {
      expect(call({ training: false, updateState: true })).toThrow(ConfigError);
      expect(call({ training: false, updateState: true })).toThrow(/batchNorm 'disc\/bn' mode\.updateState.*training is false/);
      expect(call({ training: 'yes' })).toThrow(/mode\.training": expected a boolean, got "yes"/);
      expect(call({})).toThrow(ConfigError);
      expect(call({ training: true, updateState: 0 })).toThrow(ConfigError);
      // A misspelt key would otherwise update the statistics silently.
      expect(call({ training: true, updatestate: false })).toThrow(/mode key": expected one of training, updateState, momentum, epsilon, got "updatestate"/);
      expect(call(null)).toThrow(ConfigError);
      expect(call([true])).toThrow(ConfigError);
    });
    expect(bits(p.movingMean)).toEqual(mean);
    x.dispose();
    disposeParams(p);
  });
});
