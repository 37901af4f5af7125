import { ConfigError } from '@helmholtz/core';
import { describe, expect, it } from 'vitest';
import {
  barsAndStripes,
  gridOfGaussians,
  isBarsOrStripes,
  noisySines,
  planeIn3d,
  ringOfGaussians,
  swissRoll,
} from '../src/synthetic/index.js';

const key = (p: ArrayLike<number>): string => Array.from(p).join('');

describe('barsAndStripes', () => {
  it.each([
    [2, 6],
    [3, 14],
    [4, 30],
  ])('n=%i has 2^(n+1) - 2 = %i distinct valid patterns', (n, expected) => {
    const { allPatterns, patternProbability } = barsAndStripes(n, { count: 1, seed: 0 });
    expect(allPatterns).toHaveLength(expected);
    expect(new Set(allPatterns.map(key)).size).toBe(expected);
    for (const p of allPatterns) {
      expect(p).toHaveLength(n * n);
      expect(isBarsOrStripes(p, n)).toBe(true);
    }
    expect(patternProbability).toBeCloseTo(1 / expected, 15);
  });

  it('enumeration equals brute force over all 2^(n*n) binary images for n=3', () => {
    const n = 3;
    const valid: string[] = [];
    for (let bits = 0; bits < 2 ** (n * n); bits++) {
      const p = Array.from({ length: n * n }, (_, i) => (bits >>> i) & 1);
      if (isBarsOrStripes(p, n)) valid.push(key(p));
    }
    const { allPatterns } = barsAndStripes(n, { count: 1, seed: 0 });
    expect(allPatterns.map(key).sort()).toEqual(valid.sort());
  });

  it('isBarsOrStripes rejects mixed, non-binary and checkerboard patterns', () => {
    expect(isBarsOrStripes([1, 1, 0, 0], 2)).toBe(true);
    expect(isBarsOrStripes([1, 0, 1, 0], 2)).toBe(true);
    expect(isBarsOrStripes([1, 0, 0, 1], 2)).toBe(false);
    expect(isBarsOrStripes([1, 1, 1, 0], 2)).toBe(false);
    expect(isBarsOrStripes([2, 2, 2, 2], 2)).toBe(false);
    expect(() => isBarsOrStripes([1, 1, 1], 2)).toThrow(ConfigError);
  });

  it('every sample is a valid pattern with shape [n, n, 1] and 0/1 values', () => {
    const { dataset } = barsAndStripes(4, { count: 500, seed: 3 });
    expect(dataset.size).toBe(500);
    expect(dataset.featureShape).toEqual([4, 4, 1]);
    expect(dataset.protocol.split).toBe('generated');
    expect(dataset.protocol.source).toContain('seed 3');
    for (let k = 0; k < dataset.size; k++) expect(isBarsOrStripes(dataset.values.subarray(k * 16, (k + 1) * 16), 4)).toBe(true);
  });

  it('samples are uniform over distinct patterns (chi-square, 13 dof, below 40)', () => {
    const { dataset, allPatterns } = barsAndStripes(3, { count: 14_000, seed: 11 });
    const index = new Map(allPatterns.map((p, i) => [key(p), i]));
    const counts = new Array<number>(allPatterns.length).fill(0);
    for (let k = 0; k < dataset.size; k++) counts[index.get(key(dataset.values.subarray(k * 9, (k + 1) * 9)))!]!++;
    const expected = dataset.size / allPatterns.length;
    const chiSquare = counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
    // p(chi2_13 > 40) is about 1e-4; sampling bars-or-stripes first would give about 1300.
    expect(chiSquare).toBeLessThan(40);
  });

  it('the same seed gives the same samples and another seed different ones', () => {
    const a = barsAndStripes(4, { count: 200, seed: 5 }).dataset.values;
    const b = barsAndStripes(4, { count: 200, seed: 5 }).dataset.values;
    const c = barsAndStripes(4, { count: 200, seed: 6 }).dataset.values;
    expect(Array.from(a)).toEqual(Array.from(b));
    expect(Array.from(a)).not.toEqual(Array.from(c));
  });

  it('rejects n that is not an integer >= 2 and counts that are not positive integers', () => {
    expect(() => barsAndStripes(1, { count: 1, seed: 0 })).toThrow(ConfigError);
    expect(() => barsAndStripes(2.5, { count: 1, seed: 0 })).toThrow(ConfigError);
    expect(() => barsAndStripes(3, { count: 0, seed: 0 })).toThrow(ConfigError);
    expect(() => barsAndStripes(3, { count: -4, seed: 0 })).toThrow(ConfigError);
    expect(() => barsAndStripes(3, { count: 1.5, seed: 0 })).toThrow(ConfigError);
  });
});

describe.each([
  ['ringOfGaussians', () => ringOfGaussians({ count: 8000, seed: 1 }), 8, 0.02],
  ['gridOfGaussians', () => gridOfGaussians({ count: 25_000, seed: 1 }), 25, 0.05],
] as const)('%s', (_name, make, modes, std) => {
  const { dataset, centres } = make();

  it('labels each point with its mode and every point lies within 6 std of that mode', () => {
    expect(dataset.featureShape).toEqual([2]);
    expect(dataset.numClasses).toBe(modes);
    expect(centres).toHaveLength(modes * 2);
    let farthest = 0;
    for (let k = 0; k < dataset.size; k++) {
      const m = dataset.labels![k]!;
      const dx = dataset.values[2 * k]! - centres[2 * m]!;
      const dy = dataset.values[2 * k + 1]! - centres[2 * m + 1]!;
      farthest = Math.max(farthest, Math.hypot(dx, dy));
    }
    expect(farthest).toBeLessThan(6 * std);
    // The noise is really there: some point is more than 2 std away from its centre.
    expect(farthest).toBeGreaterThan(2 * std);
  });

  it('chooses modes uniformly (every count within 15% of count/modes)', () => {
    const expected = dataset.size / modes;
    for (const c of dataset.classCounts()) expect(Math.abs(c - expected)).toBeLessThan(0.15 * expected);
  });

  it('has mode standard deviation std per coordinate', () => {
    let sum = 0;
    for (let k = 0; k < dataset.size; k++) {
      const m = dataset.labels![k]!;
      sum += (dataset.values[2 * k]! - centres[2 * m]!) ** 2 + (dataset.values[2 * k + 1]! - centres[2 * m + 1]!) ** 2;
    }
    expect(Math.sqrt(sum / (2 * dataset.size))).toBeCloseTo(std, 3);
  });
});

describe('mixture centres', () => {
  it('ring centres are radius (cos 2πi/m, sin 2πi/m)', () => {
    const { centres, dataset } = ringOfGaussians({ modes: 6, radius: 3, std: 0.1, count: 10, seed: 2 });
    const want = Array.from({ length: 6 }, (_, i) => [3 * Math.cos((2 * Math.PI * i) / 6), 3 * Math.sin((2 * Math.PI * i) / 6)]).flat();
    expect(Array.from(centres)).toEqual(want.map(Math.fround));
    expect(dataset.protocol.source).toBe('synthetic: ring of 6 Gaussians (radius 3, std 0.1, seed 2)');
  });

  it('grid centres are (i - (side-1)/2)·spacing, centred on the origin', () => {
    const { centres } = gridOfGaussians({ side: 3, spacing: 1.5, count: 10, seed: 2 });
    expect(Array.from(centres)).toEqual([-1.5, -1.5, -1.5, 0, -1.5, 1.5, 0, -1.5, 0, 0, 0, 1.5, 1.5, -1.5, 1.5, 0, 1.5, 1.5]);
  });

  it('rejects negative std, non-positive counts and zero modes', () => {
    expect(() => ringOfGaussians({ std: -0.1, count: 10, seed: 0 })).toThrow(ConfigError);
    expect(() => gridOfGaussians({ std: -1, count: 10, seed: 0 })).toThrow(ConfigError);
    expect(() => ringOfGaussians({ count: 0, seed: 0 })).toThrow(ConfigError);
    expect(() => gridOfGaussians({ count: -1, seed: 0 })).toThrow(ConfigError);
    expect(() => ringOfGaussians({ modes: 0, count: 10, seed: 0 })).toThrow(ConfigError);
  });

  it('the same seed gives the same points', () => {
    const a = ringOfGaussians({ count: 100, seed: 9 }).dataset;
    const b = ringOfGaussians({ count: 100, seed: 9 }).dataset;
    expect(Array.from(a.values)).toEqual(Array.from(b.values));
    expect(Array.from(a.labels!)).toEqual(Array.from(b.labels!));
  });
});

describe('planeIn3d', () => {
  const noise = 0.05;
  const { dataset, basis, normal } = planeIn3d({ count: 5000, noise, seed: 4 });
  const row = (i: number): number[] => Array.from(basis.subarray(3 * i, 3 * i + 3));
  const dot = (a: ArrayLike<number>, b: ArrayLike<number>): number => a[0]! * b[0]! + a[1]! * b[1]! + a[2]! * b[2]!;

  it('returns orthonormal basis rows and a unit normal orthogonal to both', () => {
    expect(dot(row(0), row(0))).toBeCloseTo(1, 6);
    expect(dot(row(1), row(1))).toBeCloseTo(1, 6);
    expect(dot(row(0), row(1))).toBeCloseTo(0, 6);
    expect(dot(normal, normal)).toBeCloseTo(1, 6);
    expect(dot(normal, row(0))).toBeCloseTo(0, 6);
    expect(dot(normal, row(1))).toBeCloseTo(0, 6);
  });

  it('has mean squared distance to the plane noise² (within 10%)', () => {
    expect(dataset.featureShape).toEqual([3]);
    let sum = 0;
    for (let k = 0; k < dataset.size; k++) sum += dot(dataset.values.subarray(3 * k, 3 * k + 3), normal) ** 2;
    expect(sum / dataset.size / noise ** 2).toBeGreaterThan(0.9);
    expect(sum / dataset.size / noise ** 2).toBeLessThan(1.1);
  });

  it('spreads more along basis row 0 than row 1 (std 1 and 0.5)', () => {
    let s0 = 0;
    let s1 = 0;
    for (let k = 0; k < dataset.size; k++) {
      const x = dataset.values.subarray(3 * k, 3 * k + 3);
      s0 += dot(x, row(0)) ** 2;
      s1 += dot(x, row(1)) ** 2;
    }
    expect(Math.sqrt(s0 / dataset.size)).toBeCloseTo(1, 1);
    expect(Math.sqrt(s1 / dataset.size)).toBeCloseTo(0.5, 1);
  });

  it('rejects negative noise', () => {
    expect(() => planeIn3d({ count: 10, noise: -0.01, seed: 0 })).toThrow(ConfigError);
  });
});

describe('swissRoll', () => {
  it('with noise 0 satisfies x² + z² = t² and t in [1.5π, 4.5π], y in [0, 21)', () => {
    const { dataset, t } = swissRoll({ count: 2000, noise: 0, seed: 8 });
    expect(dataset.featureShape).toEqual([3]);
    expect(t).toHaveLength(2000);
    for (let k = 0; k < dataset.size; k++) {
      const [x, y, z] = dataset.values.subarray(3 * k, 3 * k + 3) as unknown as [number, number, number];
      expect(Math.hypot(x, z)).toBeCloseTo(t[k]!, 4);
      expect(t[k]!).toBeGreaterThanOrEqual(Math.fround(1.5 * Math.PI));
      expect(t[k]!).toBeLessThanOrEqual(Math.fround(4.5 * Math.PI));
      expect(y).toBeGreaterThanOrEqual(0);
      expect(y).toBeLessThan(21);
      // The angle of (x, z) is t itself: the roll winds once per 2π of t.
      expect(Math.cos(t[k]!) * x + Math.sin(t[k]!) * z).toBeCloseTo(t[k]!, 4);
    }
  });

  it('with noise adds deviations of that size', () => {
    const { dataset, t } = swissRoll({ count: 2000, noise: 0.5, seed: 8 });
    let sum = 0;
    for (let k = 0; k < dataset.size; k++) {
      sum += (dataset.values[3 * k]! - t[k]! * Math.cos(t[k]!)) ** 2 + (dataset.values[3 * k + 2]! - t[k]! * Math.sin(t[k]!)) ** 2;
    }
    expect(Math.sqrt(sum / (2 * dataset.size))).toBeCloseTo(0.5, 1);
  });
});

describe('noisySines', () => {
  it('has shape [length, 1] and parameters in their ranges', () => {
    const { dataset, amplitude, frequency, phase } = noisySines({ count: 300, length: 20, seed: 1 });
    expect(dataset.featureShape).toEqual([20, 1]);
    expect(dataset.size).toBe(300);
    for (let k = 0; k < 300; k++) {
      expect(amplitude[k]!).toBeGreaterThanOrEqual(0.5);
      expect(amplitude[k]!).toBeLessThanOrEqual(1.5);
      expect(frequency[k]!).toBeGreaterThanOrEqual(0.5);
      expect(frequency[k]!).toBeLessThanOrEqual(2);
      expect(phase[k]!).toBeGreaterThanOrEqual(0);
      expect(phase[k]!).toBeLessThanOrEqual(Math.fround(2 * Math.PI));
    }
  });

  it('with noise 0 equals A·sin(2π f s / length + φ) exactly', () => {
    const length = 30;
    const { dataset, amplitude, frequency, phase } = noisySines({ count: 50, length, noise: 0, seed: 2 });
    for (let k = 0; k < 50; k++) {
      for (let s = 0; s < length; s++) {
        const want = Math.fround(amplitude[k]! * Math.sin((2 * Math.PI * frequency[k]! * s) / length + phase[k]!));
        expect(dataset.values[k * length + s]).toBe(want);
      }
    }
  });

  it('with noise adds Gaussian noise of that std', () => {
    const length = 40;
    const noisy = noisySines({ count: 200, length, noise: 0.1, seed: 3 });
    let sum = 0;
    for (let k = 0; k < 200; k++) {
      for (let s = 0; s < length; s++) {
        const clean = noisy.amplitude[k]! * Math.sin((2 * Math.PI * noisy.frequency[k]! * s) / length + noisy.phase[k]!);
        sum += (noisy.dataset.values[k * length + s]! - clean) ** 2;
      }
    }
    expect(Math.sqrt(sum / (200 * length))).toBeCloseTo(0.1, 2);
  });

  it('rejects negative noise, zero count and zero length', () => {
    expect(() => noisySines({ count: 5, noise: -1, seed: 0 })).toThrow(ConfigError);
    expect(() => noisySines({ count: 0, seed: 0 })).toThrow(ConfigError);
    expect(() => noisySines({ count: 5, length: 0, seed: 0 })).toThrow(ConfigError);
  });
});
