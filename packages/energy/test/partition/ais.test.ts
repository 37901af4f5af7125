import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { BernoulliRBM } from '../../src/rbm/bernoulli.js';
import { fitRbm } from '../../src/training/fit.js';
import { ais } from '../../src/partition/ais.js';
import { exactLogPartition } from '../../src/partition/exact.js';

/**
 * 1,000 binary 28x28 images, each the union of a random subset of 24 three-pixel-wide strokes
 * (each stroke on with probability 0.15), with 3% background noise and 10% dropout on strokes:
 * data with many overlapping modes, like handwriting, that a small RBM learns in a second.
 */
function strokes(seed: number, n: number): tf.Tensor2D {
  const rng = new Rng(seed);
  const masks = Array.from({ length: 24 }, () => {
    const vertical = rng.next() < 0.5;
    const at = 3 + rng.int(22);
    const from = rng.int(14);
    const length = 8 + rng.int(12);
    const mask = new Uint8Array(784);
    for (let k = from; k < Math.min(28, from + length); k++) {
      for (let w = -1; w <= 1; w++) mask[vertical ? k * 28 + at + w : (at + w) * 28 + k] = 1;
    }
    return mask;
  });
  const pixels = new Float32Array(n * 784);
  for (let r = 0; r < n; r++) {
    const on = masks.filter(() => rng.next() < 0.15);
    for (let i = 0; i < 784; i++) pixels[r * 784 + i] = rng.next() < (on.some((m) => m[i] === 1) ? 0.9 : 0.03) ? 1 : 0;
  }
  return tf.tensor2d(pixels, [n, 784]);
}

function logMeanExp(values: ArrayLike<number>): number {
  const max = Math.max(...Array.from(values));
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i]! - max);
  return max + Math.log(sum / values.length);
}

describe('ais on a trained 784x16 BernoulliRBM (wasm)', () => {
  beforeAll(() => useBackend('wasm'));

  it('is within 0.1 nats of exactLogPartition with the default schedule (14,500 temperatures, 100 runs)', async () => {
    // About 12 s on two cores: 1 s of CD-1 training, 1.5 s for 2^16 exact free energies, 9 s of AIS.
    const data = strokes(7, 1000);
    const rbm = new BernoulliRBM({ visible: 784, hidden: 16, seed: 1 });
    await fitRbm(rbm, data, { epochs: 5, batchSize: 20, learningRate: 0.05, initVisibleBias: true, seed: 1 });
    const exact = await exactLogPartition(rbm);
    const run = await withNoLeaks(() => ais(rbm, { baseRateFrom: data, rng: 1 }));
    expect(run.temperatures).toBe(14_500);
    expect(run.schedule).toBe('salakhutdinov-murray-2008');
    expect(run.runs).toBe(100);
    expect(run.logWeights).toHaveLength(100);
    expect(run.logZ).toBeCloseTo(run.logZBase + logMeanExp(run.logWeights), 9);
    expect(Math.abs(run.logZ - exact)).toBeLessThan(0.1);
    // The reported error is of the size of the actual one, and the runs are not degenerate.
    expect(run.standardError).toBeGreaterThan(0);
    expect(run.standardError).toBeLessThan(0.1);
    expect(run.effectiveSampleSize).toBeGreaterThan(50);
    tf.dispose(data);
    rbm.dispose();
  });
});
