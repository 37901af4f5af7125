import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { gaussianLogLikelihood } from '../../src/losses/index.js';
import {
  bernoulliLogDensity,
  diagonalGaussianLogDensity,
  standardNormalLogDensity,
} from '../../src/probability/log-density.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from '../layers/leak-check.js';

// Float64 references, written out from the definitions.
const gaussianLogPdf = (x: number, m: number, lv: number) =>
  -0.5 * Math.log(2 * Math.PI) - 0.5 * lv - (x - m) ** 2 / (2 * Math.exp(lv));
const bernoulliLogPmf = (x: number, logit: number) => {
  const p = 1 / (1 + Math.exp(-logit));
  return x * Math.log(p) + (1 - x) * Math.log(1 - p);
};

function draws(rng: Rng, n: number, scale = 1): number[] {
  return Array.from({ length: n }, () => scale * rng.normal());
}

describe.each(TEST_BACKENDS)('log-densities on %s', (backend) => {
  it('standard normal log-density matches N(0, 1) values, summed over the event axis', async () => {
    await useBackend(backend);
    // φ(0) = 1/√(2π) = 0.3989422804014327, φ(1) = 0.24197072451914337, φ(2) = 0.05399096651318806.
    const x = tf.tensor2d([[0, 1, -2], [0, 0, 0]]);
    const lp = expectOnlyReturnedTensors(() => standardNormalLogDensity(x));
    expect(lp.shape).toEqual([2]);
    const row0 = Math.log(0.3989422804014327) + Math.log(0.24197072451914337) + Math.log(0.05399096651318806);
    expectAllClose(lp, [row0, 3 * Math.log(0.3989422804014327)], 1e-6);
    const elementwise = standardNormalLogDensity(x, { eventRank: 0 });
    expect(elementwise.shape).toEqual([2, 3]);
    const logPhi = [0, 1, -2, 0, 0, 0].map((v) => -0.5 * Math.log(2 * Math.PI) - 0.5 * v * v);
    expectAllClose(elementwise, logPhi, 1e-6);
    expectAllClose(logPhi[1]!, Math.log(0.24197072451914337), 1e-12);
    const total = standardNormalLogDensity(x, { eventRank: 2 });
    expect(total.shape).toEqual([]);
    expectAllClose(total, [row0 + 3 * Math.log(0.3989422804014327)], 1e-6);
    tf.dispose([x, lp, elementwise, total]);
  });

  it('diagonal Gaussian log-density broadcasts samples [k, batch, d] against mean [batch, d] and logVar [d]', async () => {
    await useBackend(backend);
    const rng = new Rng(21);
    const [k, b, d] = [3, 2, 4];
    const xs = draws(rng, k * b * d, 2);
    const ms = draws(rng, b * d);
    const lvs = draws(rng, d, 0.7);
    const x = tf.tensor3d(xs, [k, b, d]);
    const mean = tf.tensor2d(ms, [b, d]);
    const logVar = tf.tensor1d(lvs);
    const lp = expectOnlyReturnedTensors(() => diagonalGaussianLogDensity(x, mean, logVar));
    expect(lp.shape).toEqual([k, b]);
    const want: number[] = [];
    for (let s = 0; s < k; s++) {
      for (let i = 0; i < b; i++) {
        let sum = 0;
        for (let j = 0; j < d; j++) sum += gaussianLogPdf(xs[(s * b + i) * d + j]!, ms[i * d + j]!, lvs[j]!);
        want.push(sum);
      }
    }
    expectAllClose(lp, want, 1e-5);
    // The same call with the roles swapped (mean larger than x) gives the same numbers.
    const swapped = diagonalGaussianLogDensity(mean, x, logVar);
    expectAllClose(swapped, want, 1e-5);
    const perSample = diagonalGaussianLogDensity(x, mean, logVar, { eventRank: 2 });
    expect(perSample.shape).toEqual([k]);
    expectAllClose(perSample, [0, 1, 2].map((s) => want[2 * s]! + want[2 * s + 1]!), 1e-5);
    tf.dispose([x, mean, logVar, lp, swapped, perSample]);
  });

  it('agrees with the per-example gaussianLogLikelihood when shapes match (image-shaped, eventRank 3)', async () => {
    await useBackend(backend);
    const rng = new Rng(4);
    const x = tf.tensor4d(draws(rng, 2 * 2 * 2 * 3), [2, 2, 2, 3]);
    const mean = tf.tensor4d(draws(rng, 2 * 2 * 2 * 3), [2, 2, 2, 3]);
    const logVar = tf.tensor1d([0.1, -0.4, 0.9]);
    const a = diagonalGaussianLogDensity(x, mean, logVar, { eventRank: 3 });
    const b = gaussianLogLikelihood(x, mean, logVar);
    expect(a.shape).toEqual([2]);
    expectAllClose(a, b, 1e-6);
    tf.dispose([x, mean, logVar, a, b]);
  });

  it('gradients reduce over broadcast axes: ∂/∂mean = Σ_k (x − mean) e^(−logVar), ∂/∂logVar = Σ ½((x − mean)² e^(−logVar) − 1)', async () => {
    await useBackend(backend);
    const xs = [0.5, -1, 2, 0.25, 1, -0.5]; // [k = 3, 1, 2]
    const ms = [0.1, -0.2];
    const lvs = [0.3, -0.8];
    const x = tf.tensor3d(xs, [3, 1, 2]);
    const mean = tf.tensor2d(ms, [1, 2]);
    const logVar = tf.tensor1d(lvs);
    const [dMean, dLogVar] = expectOnlyReturnedTensors(() =>
      tf.grads((m: tf.Tensor, lv: tf.Tensor) => tf.sum(diagonalGaussianLogDensity(x, m, lv)))([mean, logVar]),
    ) as [tf.Tensor, tf.Tensor];
    expect(dMean.shape).toEqual([1, 2]);
    expect(dLogVar.shape).toEqual([2]);
    const wantMean = [0, 1].map((j) => [0, 1, 2].reduce((a, s) => a + (xs[2 * s + j]! - ms[j]!) * Math.exp(-lvs[j]!), 0));
    const wantLogVar = [0, 1].map((j) =>
      [0, 1, 2].reduce((a, s) => a + 0.5 * ((xs[2 * s + j]! - ms[j]!) ** 2 * Math.exp(-lvs[j]!) - 1), 0),
    );
    expectAllClose(dMean, wantMean, 1e-5);
    expectAllClose(dLogVar, wantLogVar, 1e-5);
    tf.dispose([x, mean, logVar, dMean, dLogVar]);
  });

  it('Bernoulli log-density broadcasts binary samples [k, batch, d] against logits [batch, d] and stays finite at ±200', async () => {
    await useBackend(backend);
    const xs = [1, 0, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0]; // [2, 2, 3]
    const logits = [0.5, -1.5, 3, -0.2, 0, 2.2]; // [2, 3]
    const x = tf.tensor3d(xs, [2, 2, 3]);
    const l = tf.tensor2d(logits, [2, 3]);
    const lp = expectOnlyReturnedTensors(() => bernoulliLogDensity(x, l));
    expect(lp.shape).toEqual([2, 2]);
    const want = [0, 1, 2, 3].map((row) => [0, 1, 2].reduce((a, j) => a + bernoulliLogPmf(xs[row * 3 + j]!, logits[(row % 2) * 3 + j]!), 0));
    expectAllClose(lp, want, 1e-5);
    // p = σ(±200) is 0 or 1 in float32; the −softplus form still gives the exact log-probability.
    const far = tf.tensor2d([[200, -200, 200, -200]]);
    const y = tf.tensor2d([[0, 1, 1, 0]]);
    const lpFar = bernoulliLogDensity(y, far);
    expectAllClose(lpFar, [-400], 1e-6);
    tf.dispose([x, l, lp, far, y, lpFar]);
  });

  it('stays finite at x = mean for a log-variance whose exp(−logVar) overflows float32', async () => {
    await useBackend(backend);
    const x = tf.tensor2d([[0.5, -0.25]]);
    const logVar = tf.tensor1d([-100, -90]);
    const out = diagonalGaussianLogDensity(x, x, logVar, { eventRank: 0 });
    // −½(log 2π + logVar) at x = mean.
    expectAllClose(out, [-0.5 * (Math.log(2 * Math.PI) - 100), -0.5 * (Math.log(2 * Math.PI) - 90)], 1e-5);
    tf.dispose([x, logVar, out]);
  });

  it('rejects shapes that do not broadcast and event ranks larger than the broadcast shape, with typed errors', async () => {
    await useBackend(backend);
    const a = tf.zeros([3, 2, 4]);
    const b = tf.zeros([3, 4]);
    const c = tf.zeros([4]);
    expectNoLeaks(() => {
      expect(() => diagonalGaussianLogDensity(a, b, c)).toThrow(ShapeError);
      expect(() => diagonalGaussianLogDensity(a, b, c)).toThrow(/x, mean and logVar: expected shapes that broadcast together, got shape \[3, 4\]\. The shapes are \[3, 2, 4\], \[3, 4\], \[4\]; each axis/);
      expect(() => bernoulliLogDensity(a, b)).toThrow(ShapeError);
      expect(() => standardNormalLogDensity(c, { eventRank: 2 })).toThrow(ShapeError);
      expect(() => diagonalGaussianLogDensity(a, c, c, { eventRank: 4 })).toThrow(/at least 4 axes/);
      expect(() => standardNormalLogDensity(c, { eventRank: -1 })).toThrow(ConfigError);
      expect(() => bernoulliLogDensity(c, c, { eventRank: 1.5 })).toThrow(ConfigError);
    });
    tf.dispose([a, b, c]);
  });
});
