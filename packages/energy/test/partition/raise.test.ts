import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError, Rng, ShapeError } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { BernoulliRBM } from '../../src/rbm/bernoulli.js';
import { GaussianBernoulliRBM } from '../../src/rbm/gaussian.js';
import { exactLogPartition } from '../../src/partition/exact.js';
import { negativeFreeEnergies } from '../../src/partition/free-energy.js';
import { likelihoodSandwich } from '../../src/partition/log-likelihood.js';
import { raise } from '../../src/partition/raise.js';

/** A 20x10 RBM with weights of scale 1 (strongly coupled, multimodal) and 40 samples from it. */
function coupledRbm(): { rbm: BernoulliRBM; data: tf.Tensor2D } {
  const rbm = new BernoulliRBM({ visible: 20, hidden: 10, seed: 3, initialScale: 1 });
  const rng = new Rng(4);
  tf.tidy(() => {
    rbm.params.visibleBias.assign(rng.normalTensor([20], -1, 1));
    rbm.params.hiddenBias.assign(rng.normalTensor([10], 0, 1));
  });
  return { rbm, data: rbm.sample(40, { rng: 5, steps: 500 }) };
}

/** log p(x) of each row, exactly. */
async function exactPerExample(rbm: BernoulliRBM | GaussianBernoulliRBM, data: tf.Tensor2D): Promise<number[]> {
  const logZ = await exactLogPartition(rbm);
  return Array.from(await negativeFreeEnergies(rbm, data), (f) => f - logZ);
}

const mean = (values: ArrayLike<number>): number => Array.from(values).reduce((a, b) => a + b, 0) / values.length;

describe('RAISE (wasm)', () => {
  beforeAll(() => useBackend('wasm'));

  it('gives a lower bound that meets the exact log-likelihood of each example with a fine schedule', async () => {
    const { rbm, data } = coupledRbm();
    const exact = await exactPerExample(rbm, data);
    const run = await withNoLeaks(() => raise(rbm, data, { temperatures: 1000, chains: 20, rng: 1 }));
    expect(run.perExample).toHaveLength(40);
    expect(run.chains).toBe(20);
    expect(run.temperatures).toBe(1000);
    const gaps = Array.from(run.perExample, (v, i) => v - exact[i]!);
    // Stochastic: each example's own noise is about chainStandardError (≈ 0.03 here).
    const slack = 4 * run.chainStandardError;
    expect(run.chainStandardError).toBeLessThan(0.05);
    for (const gap of gaps) expect(gap).toBeLessThan(slack);
    expect(Math.abs(mean(gaps))).toBeLessThan(0.05);
    expect(run.mean).toBeCloseTo(mean(run.perExample), 10);
    tf.dispose(data);
    rbm.dispose();
  });

  it('is looser, and still not above the exact value, with a short schedule and one chain', async () => {
    const { rbm, data } = coupledRbm();
    const exact = mean(await exactPerExample(rbm, data));
    const fine = await raise(rbm, data, { temperatures: 1000, chains: 20, rng: 2 });
    const short = await raise(rbm, data, { temperatures: 5, chains: 1, rng: 2 });
    // One chain per example: log w itself, whose expectation lies below log p_ann(x) by Jensen's gap.
    expect(short.mean).toBeLessThan(exact);
    expect(short.mean).toBeLessThan(fine.mean);
    expect(Number.isFinite(short.chainStandardError)).toBe(false);
    tf.dispose(data);
    rbm.dispose();
  });

  it('bounds a Gaussian-Bernoulli RBM too', async () => {
    const rbm = new GaussianBernoulliRBM({ visible: 6, hidden: 6, seed: 2, initialScale: 0.7, learnVariance: true });
    const rng = new Rng(3);
    tf.tidy(() => {
      rbm.params.visibleBias.assign(rng.normalTensor([6], 0, 1));
      rbm.params.hiddenBias.assign(rng.normalTensor([6], 0, 1));
      rbm.params.logVariance!.assign(rng.uniform([6], -0.5, 0.5));
    });
    const data = rbm.sample(30, { rng: 4, steps: 200 });
    const exact = await exactPerExample(rbm, data);
    const run = await withNoLeaks(() => raise(rbm, data, { temperatures: 500, chains: 20, rng: 5 }));
    const gaps = Array.from(run.perExample, (v, i) => v - exact[i]!);
    for (const gap of gaps) expect(gap).toBeLessThan(4 * run.chainStandardError);
    expect(Math.abs(mean(gaps))).toBeLessThan(0.05);
    tf.dispose(data);
    rbm.dispose();
  });

  it('likelihoodSandwich puts the exact mean log-likelihood between RAISE and AIS', async () => {
    const { rbm, data } = coupledRbm();
    const exact = mean(await exactPerExample(rbm, data));
    const sandwich = await withNoLeaks(() =>
      likelihoodSandwich(rbm, data, {
        data: { dataset: 'samples', split: 'model', binarization: 'none (binary samples)' },
        temperatures: 1000,
        runs: 100,
        chains: 20,
        rng: 3,
      }),
    );
    const { lower, upper } = sandwich;
    expect([lower.kind, lower.protocol.method, upper.kind, upper.protocol.method]).toEqual(['lower-bound', 'raise', 'upper-bound', 'ais']);
    expect(lower.protocol).toMatchObject({ dataset: 'samples', split: 'model', examples: 40, temperatures: 1000, chains: 20 });
    expect(upper.protocol).toMatchObject({ dataset: 'samples', split: 'model', examples: 40, temperatures: 1000, chains: 100 });
    expect(upper.protocol.details).toMatchObject({ schedule: 'salakhutdinov-murray-2008 proportions', seed: 3 });
    // The sandwich holds up to the estimators' own noise (log Z's error for AIS, the chains' for RAISE).
    expect(lower.value).toBeLessThan(exact + 4 * sandwich.raise.chainStandardError / Math.sqrt(40) + 0.01);
    expect(upper.value).toBeGreaterThan(exact - 4 * sandwich.ais.standardError - 0.01);
    expect(upper.value - lower.value).toBeLessThan(0.1);
    tf.dispose(data);
    rbm.dispose();
  });
});

describe('RAISE options (cpu)', () => {
  beforeAll(() => useBackend('cpu'));

  it('rejects bad data and options with typed errors', async () => {
    const rbm = new BernoulliRBM({ visible: 5, hidden: 3 });
    const ok = tf.zeros([2, 5]) as tf.Tensor2D;
    const wide = tf.zeros([2, 6]) as tf.Tensor2D;
    const grey = tf.fill([2, 5], 0.5) as tf.Tensor2D;
    const flat = tf.zeros([5]);
    await expect(raise(rbm, wide, { temperatures: 10 })).rejects.toBeInstanceOf(ShapeError);
    await expect(raise(rbm, flat as tf.Tensor2D, { temperatures: 10 })).rejects.toBeInstanceOf(ShapeError);
    await expect(raise(rbm, grey, { temperatures: 10 })).rejects.toBeInstanceOf(DataError);
    await expect(raise(rbm, ok, { temperatures: [0, 1, 0.5] })).rejects.toBeInstanceOf(ConfigError);
    await expect(raise(rbm, ok, { temperatures: 10, chains: 0 })).rejects.toBeInstanceOf(ConfigError);
    await expect(raise(rbm, ok, { temperatures: 10, batchSize: 0 })).rejects.toBeInstanceOf(ConfigError);
    tf.dispose([ok, wide, grey, flat]);
    rbm.dispose();
  });
});
