import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, Rng, ShapeError } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { BernoulliRBM } from '../../src/rbm/bernoulli.js';
import { GaussianBernoulliRBM } from '../../src/rbm/gaussian.js';
import { ais, annealedImportanceSampling } from '../../src/partition/ais.js';
import { exactLogPartition } from '../../src/partition/exact.js';
import { inverseTemperatures } from '../../src/partition/schedule.js';

/** A 20x8 RBM with weights and biases of scale 1: strongly coupled, log Z far from the base model's. */
function coupledRbm(): BernoulliRBM {
  const rbm = new BernoulliRBM({ visible: 20, hidden: 8, seed: 3, initialScale: 1 });
  const rng = new Rng(4);
  tf.tidy(() => {
    rbm.params.visibleBias.assign(rng.normalTensor([20], -1, 1));
    rbm.params.hiddenBias.assign(rng.normalTensor([8], 0, 1));
  });
  return rbm;
}

describe.each(['cpu', 'wasm'])('ais on small RBMs (%s)', (backend) => {
  beforeAll(() => useBackend(backend));

  it('estimates log Z of a 20x8 BernoulliRBM with strong weights, from a uniform or a base-rate model', async () => {
    const rbm = coupledRbm();
    const exact = await exactLogPartition(rbm);
    const data = rbm.sample(200, { rng: 5, steps: 200 });
    const errors: number[] = [];
    for (const baseRateFrom of [undefined, data]) {
      const run = await withNoLeaks(() => ais(rbm, { temperatures: 1000, runs: 100, rng: 6, ...(baseRateFrom ? { baseRateFrom } : {}) }));
      expect(Math.abs(run.logZ - exact)).toBeLessThan(Math.max(0.05, 4 * run.standardError));
      errors.push(run.standardError);
    }
    // Salakhutdinov & Murray's point: starting from the data's marginals cuts the variance (here about 8x in standard error).
    expect(errors[1]!).toBeLessThan(errors[0]! / 3);
    // The base-rate model starts closer to the model than the uniform one: log Z_A differs.
    const uniform = await ais(rbm, { temperatures: 2, runs: 1 });
    expect(uniform.logZBase).toBeCloseTo((20 + 8) * Math.LN2, 5);
    data.dispose();
    rbm.dispose();
  });

  it('is reproducible from its seed and varies with it', async () => {
    const rbm = new BernoulliRBM({ visible: 12, hidden: 6, seed: 2, initialScale: 1 });
    const a = await ais(rbm, { temperatures: 100, runs: 10, rng: 1 });
    const b = await ais(rbm, { temperatures: 100, runs: 10, rng: 1 });
    const c = await ais(rbm, { temperatures: 100, runs: 10, rng: 2 });
    expect(Array.from(b.logWeights)).toEqual(Array.from(a.logWeights));
    expect(Array.from(c.logWeights)).not.toEqual(Array.from(a.logWeights));
    expect(a.seed).toBe(1);
    rbm.dispose();
  });

  it('estimates log Z of a GaussianBernoulliRBM (base model: N(data mean, σ²))', async () => {
    const rbm = new GaussianBernoulliRBM({ visible: 10, hidden: 8, seed: 4, initialScale: 0.5, learnVariance: true });
    const rng = new Rng(8);
    tf.tidy(() => {
      rbm.params.visibleBias.assign(rng.normalTensor([10], 0, 1));
      rbm.params.hiddenBias.assign(rng.normalTensor([8], 0, 1));
      rbm.params.logVariance!.assign(rng.uniform([10], -1, 0.5));
    });
    const exact = await exactLogPartition(rbm);
    const data = rbm.sample(200, { rng: 9, steps: 100 });
    for (const baseRateFrom of [undefined, data]) {
      const run = await withNoLeaks(() => ais(rbm, { temperatures: 1000, runs: 100, rng: 10, ...(baseRateFrom ? { baseRateFrom } : {}) }));
      expect(Math.abs(run.logZ - exact)).toBeLessThan(Math.max(0.05, 4 * run.standardError));
    }
    data.dispose();
    rbm.dispose();
  });
});

describe('ais options', () => {
  beforeAll(() => useBackend('cpu'));

  it('expands the default schedule as Salakhutdinov & Murray do: 500, 4,000 and 10,000 temperatures', () => {
    const { betas, source } = inverseTemperatures();
    expect(betas).toHaveLength(14_500);
    expect(source).toBe('salakhutdinov-murray-2008');
    expect([betas[0], betas[499], betas[500], betas[4499], betas[4500], betas[14_499]]).toEqual([0, Math.fround(0.499), 0.5, Math.fround(0.8999), Math.fround(0.9), 1]);
    expect(betas.filter((b) => b < 0.5)).toHaveLength(500);
    expect(betas.filter((b) => b >= 0.5 && b < Math.fround(0.9))).toHaveLength(4000);
    for (let k = 1; k < betas.length; k++) expect(betas[k]! > betas[k - 1]!).toBe(true);
    const short = inverseTemperatures(29).betas;
    expect(short).toHaveLength(29);
    expect([short[0], short[28]]).toEqual([0, 1]);
    expect(Array.from(inverseTemperatures(2).betas)).toEqual([0, 1]);
    expect(Array.from(inverseTemperatures([0, 0.25, 1]).betas)).toEqual([0, 0.25, 1]);
  });

  it('rejects bad schedules, run counts, models and base-rate data with typed errors', async () => {
    const rbm = new BernoulliRBM({ visible: 5, hidden: 3 });
    const bad: [object, RegExp][] = [
      [{ temperatures: [0, Number.NaN, 1] }, /temperatures\[1\]/],
      [{ temperatures: [0, 0.5, 0.5, 1] }, /increase strictly/],
      [{ temperatures: [0, 0.7, 0.6, 1] }, /temperatures\[2\]/],
      [{ temperatures: [0.1, 1] }, /temperatures\[0\]/],
      [{ temperatures: [0, 0.9] }, /temperatures\[1\]/],
      [{ temperatures: 1 }, /temperatures/],
      [{ temperatures: 2.5 }, /temperatures/],
      [{ temperatures: 'many' }, /temperatures/],
      [{ runs: 0 }, /runs/],
      [{ runs: 1.5 }, /runs/],
      [{ baseRateSmoothing: 0 }, /baseRateSmoothing/],
    ];
    for (const [options, message] of bad) {
      const error = await annealedImportanceSampling(rbm, options as never).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigError);
      expect(String(error)).toMatch(message);
    }
    const wrongWidth = tf.zeros([4, 6]) as tf.Tensor2D;
    await expect(ais(rbm, { baseRateFrom: wrongWidth, temperatures: 10 })).rejects.toBeInstanceOf(ShapeError);
    const grey = tf.fill([4, 5], 2) as tf.Tensor2D;
    await expect(ais(rbm, { baseRateFrom: grey, temperatures: 10 })).rejects.toThrow(/values in \[0, 1\]/);
    await expect(ais({} as never)).rejects.toBeInstanceOf(ConfigError);
    tf.dispose([wrongWidth, grey]);
    rbm.dispose();
  });
});

describe('ais across backends', () => {
  it('gives the same log-weights on cpu and wasm for the same seed (the draws are backend-independent)', async () => {
    const weights: Float64Array[] = [];
    for (const backend of ['cpu', 'wasm']) {
      await useBackend(backend);
      const rbm = coupledRbm();
      weights.push((await ais(rbm, { temperatures: 300, runs: 20, rng: 7 })).logWeights);
      rbm.dispose();
    }
    // float32 arithmetic differs between the backends' kernels; the Bernoulli and normal draws do not.
    for (let r = 0; r < 20; r++) expect(weights[1]![r]!).toBeCloseTo(weights[0]![r]!, 3);
  });
});
