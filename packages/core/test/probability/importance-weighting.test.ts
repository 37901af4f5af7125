import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { importanceWeightedLogMean } from '../../src/probability/importance-weighting.js';
import { diagonalGaussianLogDensity } from '../../src/probability/log-density.js';
import { logMeanExp } from '../../src/probability/log-mean-exp.js';
import { reparameterize } from '../../src/probability/reparameterize.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from '../layers/leak-check.js';

/**
 * A [total, batch] table of log-weights with the hard cases in its columns: moderate values,
 * values near +1000 and −1000, a column with −∞ entries, and one whose first 23 rows are −∞
 * (so early chunks see nothing finite) followed by values near −800.
 */
function weightTable(total: number, rng: Rng): Float32Array {
  const batch = 5;
  const out = new Float32Array(total * batch);
  for (let i = 0; i < total; i++) {
    out[i * batch] = 2 * rng.normal();
    out[i * batch + 1] = 1000 + 3 * rng.normal();
    out[i * batch + 2] = -1000 + 0.5 * rng.normal();
    out[i * batch + 3] = i % 3 === 0 ? -Infinity : rng.normal();
    out[i * batch + 4] = i < 23 ? -Infinity : -800 + rng.normal();
  }
  return out;
}

/** log-mean, ESS and delta-method standard error of one column, in float64. */
function reference(values: readonly number[]): { logMean: number; ess: number; se: number } {
  const k = values.length;
  const m = Math.max(...values);
  const w = values.map((v) => Math.exp(v - m));
  const s1 = w.reduce((a, v) => a + v, 0);
  const s2 = w.reduce((a, v) => a + v * v, 0);
  const mean = s1 / k;
  const variance = (s2 - k * mean * mean) / (k - 1);
  return { logMean: m + Math.log(mean), ess: (s1 * s1) / s2, se: Math.sqrt(variance / k) / mean };
}

describe.each(TEST_BACKENDS)('importanceWeightedLogMean on %s', (backend) => {
  it('equals logMeanExp over all weights at once for chunk sizes that do and do not divide the total', async () => {
    await useBackend(backend);
    const total = 60;
    const batch = 5;
    const table = weightTable(total, new Rng(8));
    const all = tf.tensor2d(table, [total, batch]);
    const oneShot = logMeanExp(all, 0);
    const columns = Array.from({ length: batch }, (_, j) => Array.from({ length: total }, (_, i) => table[i * batch + j]!));
    const refs = columns.map(reference);
    for (const chunkSize of [1, 7, 13, 20, 60, 100]) {
      const calls: [number, number][] = [];
      const result = importanceWeightedLogMean({
        total,
        chunkSize,
        logWeights: (start, count) => {
          calls.push([start, count]);
          return tf.slice(all, [start, 0], [count, batch]);
        },
      });
      // Every sample once, in order, in chunks of chunkSize and one remainder.
      expect(calls.map(([, c]) => c).reduce((a, c) => a + c, 0)).toBe(total);
      expect(calls.every(([s], i) => s === i * chunkSize)).toBe(true);
      expect(result.logMean.shape).toEqual([batch]);
      expectAllClose(result.logMean, oneShot, 1e-6);
      expectAllClose(result.logMean, refs.map((r) => r.logMean), 1e-6);
      expectAllClose(result.effectiveSampleSize, refs.map((r) => r.ess), 1e-4);
      expectAllClose(result.standardError, refs.map((r) => r.se), 1e-4, 1e-3);
      tf.dispose([result.logMean, result.effectiveSampleSize, result.standardError]);
    }
    tf.dispose([all, oneShot]);
  });

  it('holds a number of tensors that does not grow with the chunk index, and leaves only its three results', async () => {
    await useBackend(backend);
    const rng = new Rng(2);
    const seen: number[] = [];
    const before = tf.memory().numTensors;
    const result = importanceWeightedLogMean({
      total: 1000,
      chunkSize: 64,
      logWeights: (_start, count) => {
        seen.push(tf.memory().numTensors);
        // Intermediate tensors made here are released by the helper's tidy.
        const z = rng.normalTensor([count, 3]);
        return tf.mul(tf.square(z), -0.5);
      },
    });
    expect(seen.length).toBe(16);
    // The first call comes before any running sums exist; from then on the count is flat.
    expect(new Set(seen.slice(1)).size).toBe(1);
    expect(seen[1]! - seen[0]!).toBeLessThanOrEqual(3);
    expect(tf.memory().numTensors - before).toBe(3);
    tf.dispose([result.logMean, result.effectiveSampleSize, result.standardError]);
  });

  it('gives ESS = k and standard error 0 for equal weights, ESS = 1 when one weight dominates, NaN error for k = 1', async () => {
    await useBackend(backend);
    const equal = importanceWeightedLogMean({ total: 40, chunkSize: 16, logWeights: (_s, n) => tf.fill([n, 2], -3.5) });
    expectAllClose(equal.logMean, [-3.5, -3.5], 1e-6);
    expectAllClose(equal.effectiveSampleSize, [40, 40], 1e-5);
    expectAllClose(equal.standardError, [0, 0], 1e-6);
    const dominated = importanceWeightedLogMean({
      total: 10,
      chunkSize: 4,
      logWeights: (start, n) => tf.tensor2d(Array.from({ length: n }, (_, i) => [start + i === 5 ? 0 : -Infinity])),
    });
    expectAllClose(dominated.logMean, [-Math.log(10)], 1e-6);
    expectAllClose(dominated.effectiveSampleSize, [1], 1e-6);
    // One weight out of ten: the delta method gives √((k/ESS − 1)/(k − 1)) = 1.
    expectAllClose(dominated.standardError, [1], 1e-6);
    const single = importanceWeightedLogMean({ total: 1, chunkSize: 8, logWeights: () => tf.tensor2d([[0.5]]) });
    expectAllClose(single.logMean, [0.5], 1e-6);
    expect(single.standardError.dataSync()[0]).toBeNaN();
    const nothing = importanceWeightedLogMean({ total: 6, chunkSize: 4, logWeights: (_s, n) => tf.fill([n, 1], -Infinity) });
    expect(nothing.logMean.dataSync()[0]).toBe(-Infinity);
    expect(nothing.effectiveSampleSize.dataSync()[0]).toBe(0);
    expect(nothing.standardError.dataSync()[0]).toBe(Infinity);
    tf.dispose([equal, dominated, single, nothing].flatMap((r) => [r.logMean, r.effectiveSampleSize, r.standardError]));
  });

  it('estimates the known normalizer log(s√(2π)) of unnormalised Gaussians with a Gaussian proposal', async () => {
    await useBackend(backend);
    // Targets p̃(x) = exp(−(x − μ)²/(2s²)), whose integral is s√(2π); proposal q = N(0, 3²),
    // wider than every target so the weights have finite variance.
    const mus = [0, 1, -1];
    const sigmas = [1, 0.5, 2];
    const mu = tf.tensor2d(mus, [3, 1]);
    const logVarTarget = tf.tensor2d(sigmas.map((s) => Math.log(s * s)), [3, 1]);
    const q = { mean: tf.zeros([3, 1]), logVar: tf.fill([3, 1], Math.log(9)) };
    const rng = new Rng(17);
    const k = 20_000;
    const result = expectOnlyReturnedTensors(() =>
      importanceWeightedLogMean({
        total: k,
        chunkSize: 3000,
        logWeights: (_start, count) => {
          const z = reparameterize(q.mean, q.logVar, rng, { samples: count }); // [count, 3, 1]
          // log p̃ = log N(z; μ, s²) + log(s√(2π)); the constant is added back below.
          const logTarget = diagonalGaussianLogDensity(z, mu, logVarTarget);
          const logNorm = tf.tensor1d(sigmas.map((s) => Math.log(s * Math.sqrt(2 * Math.PI))));
          return tf.sub(tf.add(logTarget, logNorm), diagonalGaussianLogDensity(z, q.mean, q.logVar));
        },
      }),
    );
    const estimates = Array.from(result.logMean.dataSync());
    const errors = Array.from(result.standardError.dataSync());
    const ess = Array.from(result.effectiveSampleSize.dataSync());
    sigmas.forEach((s, i) => {
      const truth = Math.log(s * Math.sqrt(2 * Math.PI));
      expect(errors[i]!).toBeGreaterThan(0);
      expect(errors[i]!).toBeLessThan(0.02);
      expect(Math.abs(estimates[i]! - truth)).toBeLessThan(4 * errors[i]!);
      expect(ess[i]!).toBeGreaterThan(k / 10);
      expect(ess[i]!).toBeLessThanOrEqual(k);
    });
    tf.dispose([mu, logVarTarget, q.mean, q.logVar, result.logMean, result.effectiveSampleSize, result.standardError]);
  });

  it('reports a standard error that matches the spread of independent estimates', async () => {
    await useBackend(backend);
    // 400 independent estimates (one per column) of log ∫ exp(−x²/2) dx = ½ log 2π with k = 200
    // draws each from N(0, 2²): the delta-method error should match their standard deviation.
    const copies = 400;
    const k = 200;
    const rng = new Rng(99);
    const zeros = tf.zeros([copies, 1]);
    const logVarQ = tf.fill([copies, 1], Math.log(4));
    const result = importanceWeightedLogMean({
      total: k,
      chunkSize: 64,
      logWeights: (_s, count) => {
        const z = reparameterize(zeros, logVarQ, rng, { samples: count });
        return tf.sub(tf.mul(tf.sum(tf.square(z), -1), -0.5), diagonalGaussianLogDensity(z, zeros, logVarQ));
      },
    });
    const estimates = Array.from(result.logMean.dataSync());
    const reported = Array.from(result.standardError.dataSync());
    const mean = estimates.reduce((a, v) => a + v, 0) / copies;
    const spread = Math.sqrt(estimates.reduce((a, v) => a + (v - mean) ** 2, 0) / (copies - 1));
    const typical = reported.reduce((a, v) => a + v, 0) / copies;
    expect(typical / spread).toBeGreaterThan(0.85);
    expect(typical / spread).toBeLessThan(1.15);
    // The log of an unbiased estimate is biased low by about SE²/2 (Jensen): small here.
    expect(Math.abs(mean - 0.5 * Math.log(2 * Math.PI))).toBeLessThan(4 * (spread / Math.sqrt(copies)) + typical ** 2);
    tf.dispose([zeros, logVarQ, result.logMean, result.effectiveSampleSize, result.standardError]);
  });

  it('rejects bad counts with a ConfigError and a chunk of the wrong shape with a ShapeError, leaking nothing', async () => {
    await useBackend(backend);
    const ok = (_s: number, n: number) => tf.zeros([n, 2]);
    expect(() => importanceWeightedLogMean({ total: 0, chunkSize: 4, logWeights: ok })).toThrow(ConfigError);
    expect(() => importanceWeightedLogMean({ total: 10, chunkSize: 2.5, logWeights: ok })).toThrow(/chunkSize": expected a positive integer/);
    expectNoLeaks(() => {
      expect(() => importanceWeightedLogMean({ total: 10, chunkSize: 4, logWeights: (_s, n) => tf.zeros([n]) })).toThrow(ShapeError);
      expect(() => importanceWeightedLogMean({ total: 10, chunkSize: 4, logWeights: () => tf.zeros([4, 2]) })).toThrow(
        /logWeights\(8, 2\): expected shape \[2, 2\], got \[4, 2\]/,
      );
      expect(() =>
        importanceWeightedLogMean({ total: 10, chunkSize: 4, logWeights: (s, n) => tf.zeros([n, s === 0 ? 2 : 3]) }),
      ).toThrow(/logWeights\(4, 4\): expected shape \[4, 2\], got \[4, 3\]/);
    });
  });
});
