import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@helmholtz/core/testing';
import { BernoulliRBM } from '../../src/rbm/bernoulli.js';
import { fitRbm } from '../../src/training/fit.js';

/** The 30 distinct 4x4 bars-and-stripes images (MacKay 2003): rows or columns all on or off. */
export function barsAndStripes(): number[][] {
  const seen = new Map<string, number[]>();
  for (let mask = 0; mask < 16; mask++) {
    for (const vertical of [false, true]) {
      const image: number[] = [];
      for (let r = 0; r < 4; r++) for (let c = 0; c < 4; c++) image.push((mask >> (vertical ? c : r)) & 1);
      seen.set(image.join(''), image);
    }
  }
  return [...seen.values()];
}

/** Exact mean log p(x) by enumerating all 2^16 visible states (float64 log-sum-exp of −F). */
async function exactMeanLogLikelihood(rbm: BernoulliRBM, data: number[][]): Promise<number> {
  const states = tf.tidy(() => {
    const codes = tf.range(0, 1 << 16, 1, 'int32');
    const bits = tf.range(0, 16, 1, 'int32');
    // bit i of each code: floor(code / 2^i) mod 2.
    return tf.cast(tf.mod(tf.floorDiv(tf.expandDims(codes, 1), tf.pow(tf.scalar(2, 'int32'), bits)), 2), 'float32') as tf.Tensor2D;
  });
  const negF = tf.tidy(() => tf.neg(rbm.freeEnergy(states)));
  const values = await negF.data();
  tf.dispose([states, negF]);
  let max = -Infinity;
  for (const v of values) max = Math.max(max, v);
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  const logZ = max + Math.log(sum);
  const x = tf.tensor2d(data);
  const f = rbm.freeEnergy(x);
  const fd = await f.data();
  tf.dispose([x, f]);
  let total = 0;
  for (const v of fd) total += -v - logZ;
  return total / data.length;
}

describe('PCD on 4x4 bars and stripes', () => {
  beforeAll(() => useBackend('wasm'));

  it('brings the exact average log-likelihood of the 30 patterns within 0.5 nats of the optimum −ln 30', async () => {
    const patterns = barsAndStripes();
    expect(patterns.length).toBe(30);
    // Each pattern 4 times per epoch, in batches of 20: 9,000 PCD-5 updates (about 10 s on two cores).
    const data = tf.tensor2d(patterns.flatMap((p) => [p, p, p, p]));
    const rbm = new BernoulliRBM({ visible: 16, hidden: 24, seed: 3, initialScale: 0.1 });
    const before = await exactMeanLogLikelihood(rbm, patterns);
    const { trainer } = await fitRbm(rbm, data, {
      epochs: 1500,
      batchSize: 20,
      method: 'pcd',
      chains: 100,
      gibbsSteps: 5,
      learningRate: { kind: 'linear', from: 0.05, to: 0.001, steps: 9000 },
      momentum: 0.5,
      weightDecay: 0,
      monitorExamples: 0,
      seed: 1,
    });
    const after = await exactMeanLogLikelihood(rbm, patterns);
    trainer.dispose();
    const optimum = -Math.log(30);
    console.log(`bars and stripes: before ${before.toFixed(3)}, after ${after.toFixed(3)}, optimum ${optimum.toFixed(3)}`);
    expect(after).toBeGreaterThan(optimum - 0.5);
    expect(after).toBeLessThanOrEqual(optimum + 1e-3);
    tf.dispose([data]);
    rbm.dispose();
  });
});
