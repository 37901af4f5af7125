import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import { gaussianLogLikelihood, klDiagonalGaussians, klStandardNormal } from '../../src/losses/index.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from '../layers/leak-check.js';

describe.each(TEST_BACKENDS)('KL divergences on %s', (backend) => {
  it('KL(N(1, 1) ‖ N(0, 1)) is 0.5 per dimension, and KL of a distribution with itself is 0', async () => {
    await useBackend(backend);
    const mu = tf.tensor2d([[1, 1, 1], [0, 0, 0]]);
    const logVar = tf.zeros([2, 3]);
    const kl = expectOnlyReturnedTensors(() => klStandardNormal(mu, logVar));
    expect(kl.shape).toEqual([2]);
    expectAllClose(kl, [1.5, 0], 1e-6);
    const mean = klStandardNormal(mu, logVar, 'mean');
    expectAllClose(mean, 0.75, 1e-6);
    const self = klDiagonalGaussians(mu, logVar, mu, logVar);
    expectAllClose(self, [0, 0], 1e-6);
    tf.dispose([mu, logVar, kl, mean, self]);
  });

  it('matches the scalar closed form log(σ2/σ1) + (σ1² + (μ1−μ2)²)/(2σ2²) − ½ summed over dimensions', async () => {
    await useBackend(backend);
    const m1 = [0.3, -1.2];
    const lv1 = [0.5, -0.7];
    const m2 = [1.0, 0.4];
    const lv2 = [-0.2, 1.1];
    const want = m1.reduce((acc, _, d) => {
      const s1 = Math.exp(lv1[d]! / 2);
      const s2 = Math.exp(lv2[d]! / 2);
      return acc + Math.log(s2 / s1) + (s1 ** 2 + (m1[d]! - m2[d]!) ** 2) / (2 * s2 ** 2) - 0.5;
    }, 0);
    const t = (v: number[]) => tf.tensor2d([v]);
    const [a, b, c, d] = [t(m1), t(lv1), t(m2), t(lv2)];
    const kl = expectOnlyReturnedTensors(() => klDiagonalGaussians(a, b, c, d));
    expectAllClose(kl, [want], 1e-5);
    // With a standard normal second argument it agrees with klStandardNormal.
    const z = tf.zeros([1, 2]);
    const general = klDiagonalGaussians(a, b, z, z);
    const special = klStandardNormal(a, b);
    expectAllClose(general, special, 1e-6);
    tf.dispose([a, b, c, d, kl, z, general, special]);
  });

  it('agrees with a Monte Carlo estimate E_q[log q − log p]', async () => {
    await useBackend(backend);
    const rng = new Rng(12);
    const n = 40000;
    const mu1 = tf.tensor2d([[0.5, -0.3, 1.0]]);
    const lv1 = tf.tensor2d([[-0.5, 0.2, 0.0]]);
    const mu2 = tf.tensor2d([[0.0, 0.4, 0.5]]);
    const lv2 = tf.tensor2d([[0.3, -0.1, 0.6]]);
    const exact = klDiagonalGaussians(mu1, lv1, mu2, lv2).dataSync()[0]!;
    const estimate = tf.tidy(() => {
      const eps = rng.normalTensor([n, 3]);
      const samples = tf.add(tf.mul(eps, tf.exp(tf.mul(lv1, 0.5))), mu1);
      const tile = (t: tf.Tensor) => tf.tile(t, [n, 1]);
      const logQ = gaussianLogLikelihood(samples, tile(mu1), lv1);
      const logP = gaussianLogLikelihood(samples, tile(mu2), lv2);
      return tf.mean(tf.sub(logQ, logP)).dataSync()[0]!;
    });
    // The log-ratio has SD ≈ 1 here: 40k samples give SE ≈ 0.005.
    expect(Math.abs(estimate - exact)).toBeLessThan(0.03);
    tf.dispose([mu1, lv1, mu2, lv2]);
  });

  it('rejects mismatched shapes with a ShapeError', async () => {
    await useBackend(backend);
    const a = tf.zeros([2, 3]);
    const b = tf.zeros([2, 4]);
    expect(() => klStandardNormal(a, b)).toThrow(ShapeError);
    expect(() => klDiagonalGaussians(a, a, b, a)).toThrow(ShapeError);
    tf.dispose([a, b]);
  });
});
