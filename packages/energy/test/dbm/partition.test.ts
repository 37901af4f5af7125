import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { DBM } from '../../src/dbm/dbm.js';
import { unnormalizedBound } from '../../src/dbm/bound.js';
import { dbmAis, dbmExactLogPartition } from '../../src/dbm/partition.js';
import { allRows, bruteForce, energyOf, readDbm, randomise } from './brute-force.js';

const DATA = { dataset: 'random', split: 'all', binarization: 'none (binary)' };

describe.each(['cpu', 'wasm'])('DBM partition function and bound on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each([
    ['plain', false],
    ['centred', true],
  ])('exact log Z of a %s 4-3-2 DBM by either half of the layers matches float64 brute force', async (_name, centering) => {
    const dbm = new DBM({ layers: [4, 3, 2], centering, seed: 1 });
    randomise(dbm, 21, 1.5);
    const plain = await readDbm(dbm);
    const oracle = bruteForce(plain);
    // The plain-form log Z differs from the centred energy's by the constant E_centred − E_plain.
    const zero = [Array(4).fill(0), Array(3).fill(0), Array(2).fill(0)];
    const shift = centering ? energyOf(plain, zero) : 0;
    for (const parity of ['odd', 'even'] as const) {
      const logZ = await withNoLeaks(() => dbmExactLogPartition(dbm, { parity }));
      expect(logZ).toBeCloseTo(oracle.logZ + shift, 4);
    }
    const chunked = await dbmExactLogPartition(dbm, { parity: 'even', chunkSize: 4 });
    expect(chunked).toBeCloseTo(oracle.logZ + shift, 4);
    dbm.dispose();
  });

  it('the mean-field bound is at most the exact log p(v) for every v of a 4-3-2 DBM, and equals its float64 formula', async () => {
    const dbm = new DBM({ layers: [4, 3, 2], seed: 1 });
    randomise(dbm, 22, 1.5);
    const plain = await readDbm(dbm);
    const oracle = bruteForce(plain);
    const logZ = await dbmExactLogPartition(dbm);
    const rows = allRows(4);
    const x = tf.tensor2d(rows);
    const { values, residual } = unnormalizedBound(dbm, x);
    expect(residual).toBeLessThan(1e-5);
    const bound = Array.from(await values.data()).map((b) => b - logZ);
    const { layers } = dbm.meanField(x);
    const mu = await Promise.all(layers.map((m) => m.array()));
    tf.dispose([values, ...layers]);
    const entropy = (p: number) => (p <= 0 || p >= 1 ? 0 : -p * Math.log(p) - (1 - p) * Math.log(1 - p));
    rows.forEach((v, k) => {
      // Jensen: E_q[log p(v, h)] + H(q) ≤ log p(v); the gap is KL(q || p(h | v)) > 0 with these weights.
      expect(bound[k]).toBeLessThanOrEqual(oracle.logMarginal[k]! + 1e-4);
      const q = [v, ...mu.map((m) => m[k]!)];
      const formula = -energyOf(plain, q) + q.slice(1).flat().reduce((s, p) => s + entropy(p), 0) - oracle.logZ;
      expect(bound[k]).toBeCloseTo(formula, 3);
    });
    const gap = rows.reduce((s, _, k) => s + oracle.logMarginal[k]! - bound[k]!, 0) / rows.length;
    expect(gap).toBeGreaterThan(1e-3);
    const estimate = await dbm.logLikelihood(x, { data: DATA });
    expect(estimate.kind).toBe('lower-bound');
    expect(estimate.protocol.method).toBe('dbm-variational-bound');
    expect(estimate.protocol.details?.logZMethod).toBe('exact');
    expect(estimate.value).toBeCloseTo(bound.reduce((s, b) => s + b, 0) / rows.length, 4);
    x.dispose();
    dbm.dispose();
  });

  it('AIS over the DBM matches the exact log Z of a 6-5-4 DBM within 0.05 nats', async () => {
    const dbm = new DBM({ layers: [6, 5, 4], seed: 1 });
    randomise(dbm, 23, 1);
    const exact = await dbmExactLogPartition(dbm);
    const data = tf.tensor2d(allRows(6).slice(0, 40));
    const result = await withNoLeaks(() => dbmAis(dbm, { temperatures: 1000, runs: 100, rng: 3, baseRateFrom: data }));
    expect(Math.abs(result.logZ - exact)).toBeLessThan(0.05);
    expect(result.standardError).toBeLessThan(0.05);
    expect(result.runs).toBe(100);
    expect(result.temperatures).toBe(1000);
    expect(result.effectiveSampleSize).toBeGreaterThan(50);
    const estimate = await dbm.logLikelihood(data, { data: DATA, partition: 'ais', ais: { temperatures: 500, runs: 50 }, rng: 1 });
    expect(estimate.kind).toBe('stochastic-estimate');
    expect(estimate.protocol.temperatures).toBe(500);
    expect(estimate.protocol.chains).toBe(50);
    data.dispose();
    dbm.dispose();
  });

  it('AIS over a three-hidden-layer DBM matches exact enumeration too', async () => {
    const dbm = new DBM({ layers: [5, 4, 4, 3], seed: 1 });
    randomise(dbm, 24, 1);
    const exact = await dbmExactLogPartition(dbm);
    const result = await dbmAis(dbm, { temperatures: 1000, runs: 100, rng: 4 });
    expect(Math.abs(result.logZ - exact)).toBeLessThan(0.05);
    dbm.dispose();
  });

  it('refuses what it cannot do with a ConfigError', async () => {
    const dbm = new DBM({ layers: [30, 30, 30], seed: 1 });
    await expect(dbmExactLogPartition(dbm)).rejects.toThrow(ConfigError);
    await expect(dbmAis(dbm, { runs: 0 })).rejects.toThrow(ConfigError);
    await expect(dbmAis(dbm, { temperatures: [0, 0.5] })).rejects.toThrow(ConfigError);
    const x = tf.zeros([2, 30]) as tf.Tensor2D;
    await expect(dbm.logLikelihood(x, { data: DATA, partition: Number.NaN })).rejects.toThrow(ConfigError);
    await expect(dbm.logLikelihood(x, { data: DATA, partitions: 'exact' } as never)).rejects.toThrow(ConfigError);
    // Grey levels have no probability under binary units: refused before log Z is computed.
    const grey = tf.fill([2, 30], 0.5) as tf.Tensor2D;
    await expect(withNoLeaks(() => dbm.logLikelihood(grey, { data: DATA, partition: 12.5 }).catch((e: unknown) => e))).resolves.toBeInstanceOf(DataError);
    grey.dispose();
    const given = await dbm.logLikelihood(x, { data: DATA, partition: 12.5 });
    expect(given.kind).toBe('lower-bound');
    expect(given.protocol.details?.logZMethod).toBe('given');
    x.dispose();
    dbm.dispose();
  });
});
