import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { computeFans, initializer, orthogonal, type InitializerName } from '../../src/layers/index.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from './leak-check.js';

function moments(t: tf.Tensor): { mean: number; variance: number; min: number; max: number } {
  const v = t.dataSync();
  let s = 0;
  for (const x of v) s += x;
  const mean = s / v.length;
  let q = 0;
  for (const x of v) q += (x - mean) ** 2;
  return { mean, variance: q / v.length, min: Math.min(...v), max: Math.max(...v) };
}

describe('fans', () => {
  it('dense [in, out] and conv [kh, kw, in, out] shapes give Keras fans', () => {
    expect(computeFans([784, 500])).toEqual({ fanIn: 784, fanOut: 500 });
    expect(computeFans([3, 5, 4, 8])).toEqual({ fanIn: 60, fanOut: 120 });
    expect(computeFans([7])).toEqual({ fanIn: 7, fanOut: 7 });
  });
});

describe.each(TEST_BACKENDS)('initializers on %s', (backend) => {
  // Conv shape [3, 3, 20, 40]: fanIn 180, fanOut 360, 7200 draws (variance SE ≈ 1.7%).
  const shape = [3, 3, 20, 40];
  const cases: [InitializerName, number][] = [
    ['glorotUniform', 2 / (180 + 360)],
    ['glorotNormal', 2 / (180 + 360)],
    ['heUniform', 2 / 180],
    ['heNormal', 2 / 180],
    ['lecunUniform', 1 / 180],
    ['lecunNormal', 1 / 180],
  ];

  it.each(cases)('%s has zero mean and variance %f', async (name, variance) => {
    await useBackend(backend);
    const w = expectOnlyReturnedTensors(() => initializer(name)(shape, new Rng(11)));
    expect(w.shape).toEqual(shape);
    const m = moments(w);
    expect(Math.abs(m.mean)).toBeLessThan(4 * Math.sqrt(variance / w.size));
    expect(Math.abs(m.variance / variance - 1)).toBeLessThan(0.08);
    if (name.endsWith('Uniform')) {
      const limit = Math.sqrt(3 * variance);
      expect(m.max).toBeLessThanOrEqual(limit);
      expect(m.min).toBeGreaterThanOrEqual(-limit);
      expect(m.max).toBeGreaterThan(0.95 * limit);
    } else {
      // Truncated at two (widened) standard deviations.
      const cut = (2 * Math.sqrt(variance)) / 0.87962566103423978;
      expect(Math.max(m.max, -m.min)).toBeLessThanOrEqual(cut * 1.0001);
    }
    w.dispose();
  });

  it('the same seed gives the same values, another seed other values', async () => {
    await useBackend(backend);
    const a = initializer('heNormal')([6, 5], new Rng(3));
    const b = initializer('heNormal')([6, 5], new Rng(3));
    const c = initializer('heNormal')([6, 5], new Rng(4));
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    tf.dispose([a, b, c]);
  });

  it('orthogonal gives orthonormal rows for wide and columns for tall matrices', async () => {
    await useBackend(backend);
    for (const [rows, cols] of [
      [4, 16],
      [9, 3],
    ] as const) {
      const w = orthogonal()([rows, cols], new Rng(5)) as tf.Tensor2D;
      const gram = rows < cols ? tf.matMul(w, w, false, true) : tf.matMul(w, w, true, false);
      const n = Math.min(rows, cols);
      expectAllClose(gram, tf.eye(n).dataSync(), 1e-5);
      tf.dispose([w, gram]);
    }
  });

  it('zeros and ones are constant', async () => {
    await useBackend(backend);
    const z = initializer('zeros')([2, 3], new Rng(0));
    const o = initializer('ones')([2, 3], new Rng(0));
    expectAllClose(z, new Array(6).fill(0), 0);
    expectAllClose(o, new Array(6).fill(1), 0);
    tf.dispose([z, o]);
  });
});
