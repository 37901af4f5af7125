import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import { bernoulliLogLikelihood, gaussianLogLikelihood } from '../../src/losses/index.js';
import { expectAllClose, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from '../layers/leak-check.js';

const gaussianLogPdf = (x: number, m: number, lv: number) =>
  -0.5 * (Math.log(2 * Math.PI) + lv + (x - m) ** 2 / Math.exp(lv));

describe.each(TEST_BACKENDS)('log-likelihoods on %s', (backend) => {
  it('Gaussian log-likelihood is the per-example sum of log N(x; m, e^lv), −½ log 2π included', async () => {
    await useBackend(backend);
    const xs = [[0.1, -2, 3], [1, 1, 1]];
    const ms = [[0, -1, 2.5], [0.5, 2, 1]];
    const lvs = [[0, 0.5, -1], [1, -0.3, 0.2]];
    const [x, m, lv] = [tf.tensor2d(xs), tf.tensor2d(ms), tf.tensor2d(lvs)];
    const want = xs.map((row, b) => row.reduce((a, v, d) => a + gaussianLogPdf(v, ms[b]![d]!, lvs[b]![d]!), 0));
    const ll = expectOnlyReturnedTensors(() => gaussianLogLikelihood(x, m, lv));
    expect(ll.shape).toEqual([2]);
    expectAllClose(ll, want, 1e-5);
    const sum = gaussianLogLikelihood(x, m, lv, 'sum');
    expectAllClose(sum, want[0]! + want[1]!, 1e-5);
    // A shared log-variance per feature broadcasts over the batch.
    const shared = tf.tensor1d([0, 0.5, -1]);
    const llShared = expectOnlyReturnedTensors(() => gaussianLogLikelihood(x, m, shared));
    const wantShared = xs.map((row, b) => row.reduce((a, v, d) => a + gaussianLogPdf(v, ms[b]![d]!, [0, 0.5, -1][d]!), 0));
    expectAllClose(llShared, wantShared, 1e-5);
    // Unit variance, x = mean: −(D/2) log 2π exactly.
    const z = tf.zeros([1, 4]);
    const atMean = gaussianLogLikelihood(z, z, z);
    expectAllClose(atMean, [-2 * Math.log(2 * Math.PI)], 1e-6);
    tf.dispose([x, m, lv, ll, sum, shared, llShared, z, atMean]);
  });

  it('Bernoulli log-likelihood is Σ x log p + (1 − x) log(1 − p) per example, over images too', async () => {
    await useBackend(backend);
    const logits = [0.5, -1, 2, 0];
    const xs = [1, 0, 0, 1];
    const want = logits.reduce((a, l, i) => {
      const p = 1 / (1 + Math.exp(-l));
      return a + xs[i]! * Math.log(p) + (1 - xs[i]!) * Math.log(1 - p);
    }, 0);
    const x = tf.tensor4d([...xs, ...xs], [2, 2, 2, 1]);
    const l = tf.tensor4d([...logits, ...logits], [2, 2, 2, 1]);
    const ll = expectOnlyReturnedTensors(() => bernoulliLogLikelihood(x, l));
    expect(ll.shape).toEqual([2]);
    expectAllClose(ll, [want, want], 1e-5);
    const mean = bernoulliLogLikelihood(x, l, 'mean');
    expectAllClose(mean, want, 1e-5);
    // Saturated logits stay finite.
    const sat = tf.tensor2d([[200, -200]]);
    const y = tf.tensor2d([[0, 1]]);
    const far = bernoulliLogLikelihood(y, sat);
    expectAllClose(far, [-400], 1e-6);
    tf.dispose([x, l, ll, mean, sat, y, far]);
  });

  it('rejects a mean or logits of another shape, and a log-variance that does not broadcast', async () => {
    await useBackend(backend);
    const x = tf.zeros([2, 3]);
    const wrong = tf.zeros([2, 4]);
    const lv = tf.zeros([4]);
    expect(() => gaussianLogLikelihood(x, wrong, x)).toThrow(ShapeError);
    expect(() => gaussianLogLikelihood(x, x, lv)).toThrow(/gaussianLogLikelihood logVar/);
    expect(() => bernoulliLogLikelihood(x, wrong)).toThrow(ShapeError);
    tf.dispose([x, wrong, lv]);
  });
});
