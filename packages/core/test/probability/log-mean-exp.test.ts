import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import { logMeanExp, logSumExp } from '../../src/probability/log-mean-exp.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from '../layers/leak-check.js';

/** log (1/n) Σ e^x in float64, shifted by the max (the only way float64 survives e^1000 either). */
function logMeanExp64(xs: readonly number[]): number {
  const m = Math.max(...xs);
  if (m === -Infinity) return -Infinity;
  if (m === Infinity) return Infinity;
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0) / xs.length);
}

const ROWS = [
  [1000, 1000, 999, 998.5],
  [-1000, -1001, -1000.5, -1003],
  [-Infinity, 0, 1, -Infinity],
  [-Infinity, -Infinity, -Infinity, -Infinity],
  [1000, -Infinity, -1000, 0],
  [0.25, -0.5, 3, 2],
];

/** Exact equality for infinities, relative closeness otherwise. */
function expectMatches(actual: ArrayLike<number>, expected: readonly number[], tolerance: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]!;
    const e = expected[i]!;
    if (!Number.isFinite(e)) expect(a).toBe(e);
    else expect(Math.abs(a - e) / Math.max(1, Math.abs(e))).toBeLessThan(tolerance);
  }
}

describe.each(TEST_BACKENDS)('logMeanExp and logSumExp on %s', (backend) => {
  it('match float64 brute force with ±1000 and −∞ entries, along either axis, keepDims or not', async () => {
    await useBackend(backend);
    const x = tf.tensor2d(ROWS);
    const rows = expectOnlyReturnedTensors(() => logMeanExp(x, 1));
    expect(rows.shape).toEqual([ROWS.length]);
    expectMatches(rows.dataSync(), ROWS.map(logMeanExp64), 1e-7);
    const last = logMeanExp(x, -1, true);
    expect(last.shape).toEqual([ROWS.length, 1]);
    expectMatches(last.dataSync(), ROWS.map(logMeanExp64), 1e-7);
    const columns = logMeanExp(x, 0);
    expect(columns.shape).toEqual([4]);
    expectMatches(columns.dataSync(), [0, 1, 2, 3].map((j) => logMeanExp64(ROWS.map((r) => r[j]!))), 1e-7);
    const sums = logSumExp(x, 1);
    expectMatches(sums.dataSync(), ROWS.map((r) => logMeanExp64(r) + Math.log(4)), 1e-7);
    tf.dispose([x, rows, last, columns, sums]);
  });

  it('gives +∞ for a slice holding +∞ and NaN for one holding NaN', async () => {
    await useBackend(backend);
    const x = tf.tensor2d([[Infinity, 0, -Infinity], [Number.NaN, 0, 1], [0, 0, 0]]);
    const out = logMeanExp(x, 1);
    const values = out.dataSync();
    expect(values[0]).toBe(Infinity);
    expect(values[1]).toBeNaN();
    expect(values[2]).toBeCloseTo(0, 6);
    tf.dispose([x, out]);
  });

  it('exists because tf.logSumExp gives NaN for a slice of −∞ only; agrees with it on ordinary values', async () => {
    await useBackend(backend);
    // If a tfjs release fixes this, core's logSumExp can become a thin wrapper again.
    const allNegInf = tf.tensor1d([-Infinity, -Infinity]);
    const tfs = tf.logSumExp(allNegInf);
    expect(tfs.dataSync()[0]).toBeNaN();
    const ours = logSumExp(allNegInf);
    expect(ours.dataSync()[0]).toBe(-Infinity);
    const x = tf.tensor2d([[0.5, -2, 3], [10, 11, 9]]);
    const a = logSumExp(x, 1);
    const b = tf.logSumExp(x, 1);
    expectAllClose(a, b, 1e-6);
    tf.dispose([allNegInf, tfs, ours, x, a, b]);
  });

  it('gradient is the softmax along the axis: 0 for −∞ entries, 0 (not NaN) for a slice of −∞ only, exact at ±1000', async () => {
    await useBackend(backend);
    const rows = [
      [1000, 999, -Infinity],
      [-1000, -1001, -1002],
      [-Infinity, -Infinity, -Infinity],
      [0.5, 0.5, 0.5],
    ];
    const x = tf.tensor2d(rows);
    const upstream = tf.tensor1d([1, 2, 3, -1]);
    const g = expectOnlyReturnedTensors(() => tf.grad((v: tf.Tensor) => tf.sum(tf.mul(logMeanExp(v, 1), upstream)))(x));
    const want = rows.flatMap((r, i) => {
      const m = Math.max(...r);
      if (m === -Infinity) return r.map(() => 0);
      const e = r.map((v) => Math.exp(v - m));
      const z = e.reduce((a, v) => a + v, 0);
      return e.map((v) => ([1, 2, 3, -1][i]! * v) / z);
    });
    const got = Array.from(g.dataSync());
    expect(got.every((v) => Number.isFinite(v))).toBe(true);
    expectAllClose(got, want, 1e-6);
    tf.dispose([x, upstream, g]);
  });

  it('rejects an axis out of range and an empty axis with a ShapeError', async () => {
    await useBackend(backend);
    const x = tf.zeros([2, 3]);
    const empty = tf.zeros([0, 3]);
    const scalar = tf.scalar(1);
    expectNoLeaks(() => {
      expect(() => logMeanExp(x, 2)).toThrow(ShapeError);
      expect(() => logMeanExp(x, -3)).toThrow(/logMeanExp x: expected a tensor with an axis -3, got shape \[2, 3\]/);
      expect(() => logMeanExp(x, 0.5)).toThrow(ShapeError);
      expect(() => logSumExp(scalar)).toThrow(ShapeError);
      expect(() => logMeanExp(empty, 0)).toThrow(/at least one entry along axis 0/);
    });
    tf.dispose([x, empty, scalar]);
  });
});
