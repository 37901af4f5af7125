import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@helmholtz/core';
import { useBackend } from '@helmholtz/core/testing';
import { FullyVisibleBoltzmannMachine } from '../../src/fvbm/model.js';
import { probabilities, randomize } from './brute-force.js';

/** Pearson's statistic of state counts against exact probabilities, and the total-variation distance. */
function compare(samples: tf.Tensor2D, p: Float64Array): { chiSquare: number; tv: number } {
  const n = samples.shape[1];
  const rows = samples.arraySync();
  const counts = new Float64Array(p.length);
  for (const r of rows) counts[r.reduce((code, bit, i) => code + bit * 2 ** i, 0)]! += 1;
  let chiSquare = 0;
  let tv = 0;
  for (let s = 0; s < p.length; s++) {
    const expected = rows.length * (p[s] as number);
    chiSquare += ((counts[s]! - expected) ** 2) / expected;
    tv += Math.abs(counts[s]! / rows.length - (p[s] as number)) / 2;
  }
  expect(n).toBeGreaterThan(0);
  return { chiSquare, tv };
}

// chi-square quantile 0.999 with 31 degrees of freedom (32 states of 5 units).
const CHI2_31_999 = 61.1;

describe.each(['cpu', 'wasm'])('FVBM Gibbs sampling on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(['sequential', 'random'] as const)('frequencies of 4000 chains after 25 %s sweeps match the exact distribution', (order) => {
    const model = new FullyVisibleBoltzmannMachine({ units: 5 });
    const m = randomize(model, 11, 1.2, 0.7);
    const p = probabilities(m);
    const before = tf.memory().numTensors;
    const samples = model.sample(4000, { rng: new Rng(5), sweeps: 25, order });
    expect(tf.memory().numTensors).toBe(before + 1); // the samples, nothing else
    const { chiSquare, tv } = compare(samples, p);
    expect(chiSquare).toBeLessThan(CHI2_31_999);
    expect(tv).toBeLessThan(0.05);
    // The independent-units model with the same marginals is far off: the test sees the couplings.
    const marginals = Array.from({ length: 5 }, (_, i) => p.reduce((a, ps, s) => a + (Math.floor(s / 2 ** i) % 2) * ps, 0));
    const independent = Float64Array.from(p, (_, s) => marginals.reduce((a, q, i) => a * (Math.floor(s / 2 ** i) % 2 ? q : 1 - q), 1));
    expect(compare(samples, independent).chiSquare).toBeGreaterThan(10 * CHI2_31_999);
    samples.dispose();
    model.dispose();
  });

  it('continues chains from given states, and one seed reproduces them', () => {
    const model = new FullyVisibleBoltzmannMachine({ units: 4 });
    randomize(model, 3);
    const start = tf.tensor2d([
      [1, 0, 1, 0],
      [0, 1, 1, 1],
    ]);
    const a = model.sample(2, { rng: 9, sweeps: 3, start, order: 'random' });
    const b = model.sample(2, { rng: 9, sweeps: 3, start, order: 'random' });
    expect(a.arraySync()).toEqual(b.arraySync());
    const none = model.sample(2, { rng: 9, sweeps: 0, start });
    expect(none.arraySync()).toEqual(start.arraySync());
    expect(() => model.sample(3, { rng: 1, start })).toThrow(/sample start/);
    expect(() => model.sample(2, { rng: 1, order: 'backwards' as never })).toThrow(/'sequential' or 'random'/);
    tf.dispose([start, a, b, none]);
    model.dispose();
  });

  it('a sweep holds a few states at a time, not one per unit (memory O(chains·n), not O(chains·n²))', async () => {
    const n = 64;
    const model = new FullyVisibleBoltzmannMachine({ units: n, seed: 1, initialScale: 0.1 });
    const start = tf.zeros([n, n]) as tf.Tensor2D;
    const before = tf.memory().numBytes;
    const reference = model.gibbs(start, 1, new Rng(3));
    const info = await tf.profile(() => model.gibbs(start, 1, new Rng(3)));
    const result = info.result as tf.Tensor2D;
    // One state of 64 chains is 16 KB; holding every site's update until the sweep ends took > 2 MB.
    const state = n * n * 4;
    expect(info.peakBytes - before).toBeLessThan(12 * state);
    expect(result.dtype).toBe('float32');
    expect(Array.from(result.dataSync())).toEqual(Array.from(reference.dataSync()));
    tf.dispose([start, reference, result]);
    model.dispose();
  });
});
