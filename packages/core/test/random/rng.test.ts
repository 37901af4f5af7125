import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ConfigError, Rng } from '../../src/index.js';
import { TEST_BACKENDS, useBackend } from '../../src/testing.js';

describe('Rng', () => {
  it('same seed gives the same stream; different seeds differ', () => {
    const a = new Rng(42);
    const b = new Rng(42);
    const c = new Rng(43);
    const xs = Array.from({ length: 100 }, () => a.nextUint32());
    const ys = Array.from({ length: 100 }, () => b.nextUint32());
    const zs = Array.from({ length: 100 }, () => c.nextUint32());
    expect(xs).toEqual(ys);
    expect(xs).not.toEqual(zs);
  });

  it('negative seeds and seeds beyond 2^32 do not alias the small ones', () => {
    const seeds = [0, 1, -1, -2, 2 ** 32, 2 ** 32 + 1, 2 ** 33, 2 ** 31, -(2 ** 31)];
    const firsts = seeds.map((s) => new Rng(s).nextUint32());
    expect(new Set(firsts).size).toBe(seeds.length);
  });

  it('state round-trips: a restored generator continues the same stream', () => {
    const a = new Rng(9);
    for (let i = 0; i < 17; i++) a.next();
    const b = Rng.fromState(a.state());
    expect(Array.from({ length: 20 }, () => b.next())).toEqual(Array.from({ length: 20 }, () => a.next()));
  });

  it('state round-trips after an odd number of normal draws (the pending Box-Muller value is kept)', () => {
    const a = new Rng(9);
    for (let i = 0; i < 3; i++) a.normal();
    const b = Rng.fromState(JSON.parse(JSON.stringify(a.state())));
    expect(Array.from({ length: 5 }, () => b.normal())).toEqual(Array.from({ length: 5 }, () => a.normal()));
    expect(() => Rng.fromState([1, 2, 3] as never)).toThrow(/four 32-bit integers/);
  });

  it('uniform draws have mean 1/2 and variance 1/12 within 4 standard errors', () => {
    const rng = new Rng(1);
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.next();
      sum += u;
      sumSq += u * u;
    }
    const mean = sum / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(sumSq / n - mean * mean - 1 / 12)).toBeLessThan(0.001);
  });

  it('normal draws have mean 0 and variance 1', () => {
    const rng = new Rng(2);
    const n = 100_000;
    let sum = 0;
    let sumSq = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      sum += z;
      sumSq += z * z;
    }
    expect(Math.abs(sum / n)).toBeLessThan(4 / Math.sqrt(n));
    expect(Math.abs(sumSq / n - 1)).toBeLessThan(0.02);
  });

  it('permutation is a permutation of 0..n-1 for any n and seed', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 300 }), fc.integer(), (n, seed) => {
        const p = Array.from(new Rng(seed).permutation(n)).sort((x, y) => x - y);
        expect(p).toEqual(Array.from({ length: n }, (_, i) => i));
      }),
    );
  });

  it('rejects a non-finite seed with a ConfigError', () => {
    expect(() => new Rng(Number.NaN)).toThrow(ConfigError);
  });

  it.each(TEST_BACKENDS)('tensor draws repeat with the seed on %s', async (backend) => {
    await useBackend(backend);
    const draw = (seed: number) =>
      tf.tidy(() => {
        const rng = new Rng(seed);
        const p = tf.fill([1000], 0.3);
        return [Array.from(rng.uniform([5]).dataSync()), Array.from(rng.bernoulli(p).dataSync())];
      });
    expect(draw(5)).toEqual(draw(5));
    expect(draw(5)).not.toEqual(draw(6));
    const ones = (draw(5)[1] as number[]).reduce((s, v) => s + v, 0);
    expect(ones).toBeGreaterThan(300 - 4 * Math.sqrt(1000 * 0.21));
    expect(ones).toBeLessThan(300 + 4 * Math.sqrt(1000 * 0.21));
  });
});
