import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError, modelCapabilities, Rng, ShapeError, type LikelihoodOptions } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { BernoulliRBM } from '../../src/rbm/bernoulli.js';
import { GaussianBernoulliRBM } from '../../src/rbm/gaussian.js';
import { exactLogPartition } from '../../src/partition/exact.js';
import { averageLogLikelihood } from '../../src/partition/free-energy.js';
import { rbmLogLikelihood } from '../../src/partition/log-likelihood.js';

const data: LikelihoodOptions['data'] = { dataset: 'toy', split: 'test', binarization: 'fixed-stochastic' };

function toyRbm(visible: number, hidden: number, seed: number): BernoulliRBM {
  const rbm = new BernoulliRBM({ visible, hidden, seed, initialScale: 0.8 });
  const rng = new Rng(seed + 100);
  tf.tidy(() => {
    rbm.params.visibleBias.assign(rng.normalTensor([visible], -0.5, 1));
    rbm.params.hiddenBias.assign(rng.normalTensor([hidden], 0, 1));
  });
  return rbm;
}

/** Brute-force mean log p(x) in float64: log Z over all 2^(V+H) joint states of a tiny RBM. */
async function bruteForceMeanLogLikelihood(rbm: BernoulliRBM, rows: number[][]): Promise<number> {
  const W = (await rbm.params.weights.array()) as number[][];
  const b = (await rbm.params.visibleBias.array()) as number[];
  const c = (await rbm.params.hiddenBias.array()) as number[];
  const negF = (v: number[]): number =>
    v.reduce((s, vi, i) => s + vi * b[i]!, 0) + c.reduce((s, cj, j) => s + Math.log1p(Math.exp(cj + v.reduce((t, vi, i) => t + vi * W[i]![j]!, 0))), 0);
  const all = Array.from({ length: 2 ** b.length }, (_, r) => b.map((_, i) => (r >> i) & 1));
  const terms = all.map(negF);
  const max = Math.max(...terms);
  const logZ = max + Math.log(terms.reduce((s, t) => s + Math.exp(t - max), 0));
  return rows.reduce((s, v) => s + negF(v) - logZ, 0) / rows.length;
}

describe.each(['cpu', 'wasm'])('rbmLogLikelihood (%s)', (backend) => {
  beforeAll(() => useBackend(backend));

  it("is 'exact' by default on a small RBM, through the GenerativeModel method too, and equals brute force", async () => {
    const rbm = toyRbm(8, 5, 1);
    const rows = Array.from({ length: 12 }, (_, n) => Array.from({ length: 8 }, (_, i) => ((n * 7 + i * 3) % 5 < 2 ? 1 : 0)));
    const x = tf.tensor2d(rows);
    expect(modelCapabilities(rbm).logLikelihood).toBe(true);
    const estimate = await withNoLeaks(() => rbm.logLikelihood(x, { data }));
    expect(estimate.kind).toBe('exact');
    expect(estimate.protocol).toMatchObject({ ...data, examples: 12, method: 'exact' });
    expect(estimate.protocol.details).toMatchObject({ layer: 'hidden' });
    expect(estimate.value).toBeCloseTo(await bruteForceMeanLogLikelihood(rbm, rows), 4);
    expect(estimate.value).toBeCloseTo(await averageLogLikelihood(rbm, x, await exactLogPartition(rbm), { batchSize: 5 }), 9);
    // The spread over the 12 examples.
    expect(estimate.standardError).toBeGreaterThan(0);
    // JSON all the way: it goes into reports and checkpoints as it is.
    expect(JSON.parse(JSON.stringify(estimate))).toEqual(estimate);
    x.dispose();
    rbm.dispose();
  });

  it("uses AIS ('stochastic-estimate') when both layers are too large to enumerate, and RAISE ('lower-bound') on request", async () => {
    const rbm = toyRbm(10, 8, 2);
    const x = rbm.sample(20, { rng: 3, steps: 50 });
    const exact = await averageLogLikelihood(rbm, x, await exactLogPartition(rbm));
    // maxUnits 6 makes 'auto' treat this RBM as too large to enumerate.
    const viaAis = await withNoLeaks(() => rbmLogLikelihood(rbm, x, { data, maxUnits: 6, temperatures: 500, runs: 50, rng: 4 }));
    expect(viaAis.kind).toBe('stochastic-estimate');
    expect(viaAis.protocol).toMatchObject({ ...data, examples: 20, method: 'ais', temperatures: 500, chains: 50 });
    const details = viaAis.protocol.details as Record<string, number | string>;
    expect(details).toMatchObject({ schedule: 'salakhutdinov-murray-2008 proportions', seed: 4, baseRateFrom: 'the evaluated data' });
    // Its error combines the examples' spread and log Z's.
    expect(viaAis.standardError).toBeCloseTo(Math.hypot(details.standardErrorExamples as number, details.logZStandardError as number), 10);
    expect(Math.abs(viaAis.value - exact)).toBeLessThan(0.05);

    const viaRaise = await withNoLeaks(() => rbmLogLikelihood(rbm, x, { data, method: 'raise', temperatures: 500, chains: 10, rng: 5 }));
    expect(viaRaise.kind).toBe('lower-bound');
    expect(viaRaise.protocol).toMatchObject({ ...data, examples: 20, method: 'raise', temperatures: 500, chains: 10 });
    expect(viaRaise.value).toBeLessThan(exact + 0.05);
    expect(viaRaise.value).toBeGreaterThan(exact - 0.1);
    x.dispose();
    rbm.dispose();
  });

  it("is 'exact' for a Gaussian-Bernoulli RBM with few hidden units", async () => {
    const rbm = new GaussianBernoulliRBM({ visible: 30, hidden: 6, seed: 1, initialScale: 0.3 });
    const x = rbm.sample(10, { rng: 2, steps: 20 });
    const estimate = await rbm.logLikelihood(x, { data: { dataset: 'toy', split: 'test', binarization: 'none (real-valued)' } });
    expect(estimate.kind).toBe('exact');
    expect(estimate.value).toBeCloseTo(await averageLogLikelihood(rbm, x, await exactLogPartition(rbm)), 9);
    x.dispose();
    rbm.dispose();
  });
});

describe('rbmLogLikelihood input checks', () => {
  beforeAll(() => useBackend('cpu'));

  it('rejects wrong shapes, non-binary data, missing protocol data and bad options with typed errors', async () => {
    const rbm = toyRbm(6, 4, 3);
    const x = tf.ones([3, 6]) as tf.Tensor2D;
    const wide = tf.ones([3, 7]);
    const rank1 = tf.ones([6]);
    const grey = tf.fill([3, 6], 0.3) as tf.Tensor2D;
    await expect(rbm.logLikelihood(wide, { data })).rejects.toBeInstanceOf(ShapeError);
    await expect(rbm.logLikelihood(rank1, { data })).rejects.toBeInstanceOf(ShapeError);
    await expect(rbm.logLikelihood(grey, { data })).rejects.toBeInstanceOf(DataError);
    await expect(rbm.logLikelihood(grey, { data })).rejects.toThrow(/binarization/);
    await expect(rbm.logLikelihood(x, {} as never)).rejects.toBeInstanceOf(ConfigError);
    await expect(rbm.logLikelihood(x, { data: { ...data, dataset: '' } })).rejects.toThrow(/protocol.dataset/);
    const bad: [object, RegExp][] = [
      [{ method: 'parzen' }, /method/],
      [{ method: 'ais', temperatures: [0, Number.NaN, 1] }, /temperatures\[1\]/],
      [{ method: 'ais', temperatures: [0, 0.6, 0.4, 1] }, /temperatures\[2\]/],
      [{ method: 'ais', runs: 0 }, /runs/],
      [{ method: 'raise', chains: -1 }, /chains/],
      [{ method: 'exact', maxUnits: 31 }, /maxUnits/],
      [{ method: 'exact', chunkSize: 0 }, /chunkSize/],
    ];
    for (const [options, message] of bad) {
      const error = await rbm.logLikelihood(x, { data, ...options }).catch((e: unknown) => e);
      expect(error, JSON.stringify(options)).toBeInstanceOf(ConfigError);
      expect(String(error)).toMatch(message);
    }
    tf.dispose([x, wide, rank1, grey]);
    rbm.dispose();
  });

  it('refuses to enumerate more than 25 units, naming the sizes and ais', async () => {
    const rbm = new BernoulliRBM({ visible: 30, hidden: 28 });
    const error = await exactLogPartition(rbm).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect(String(error)).toMatch(/28 hidden units/);
    expect(String(error)).toMatch(/30x28/);
    expect(String(error)).toMatch(/ais\(/);
    await expect(exactLogPartition(rbm, { maxUnits: 31 })).rejects.toBeInstanceOf(ConfigError);
    rbm.dispose();
  });
});
