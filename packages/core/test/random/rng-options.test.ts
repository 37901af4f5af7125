import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { Rng, toRng } from '../../src/random/rng.js';
import { expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';

const draws = (rng: Rng, n: number, k: number) => Array.from({ length: k }, () => rng.int(n));

/** Pearson's chi-square statistic of observed counts against equal expected counts. */
function chiSquare(counts: readonly number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((s, c) => s + (c - expected) ** 2 / expected, 0);
}

describe('Rng seeds', () => {
  it('a fractional, unsafe or non-number seed is a ConfigError, not another stream', () => {
    // 3.7 used to be floored to 3; 2^53 + 2 is the same double as several other integers.
    for (const seed of [3.7, 0.5, -1.5, 2 ** 53, -(2 ** 53), 1e300, Number.NaN, Infinity, '3', null, 5n]) {
      expect(() => new Rng(seed as number), String(seed)).toThrow(ConfigError);
    }
    expect(() => new Rng(3.7)).toThrow(/"seed": expected an integer .*, got 3\.7/);
  });

  it('every safe integer seed is accepted, and the streams of existing seeds are unchanged', () => {
    for (const seed of [0, 1, -1, 2 ** 31, 2 ** 32, 2 ** 53 - 1, -(2 ** 53 - 1)]) expect(() => new Rng(seed)).not.toThrow();
    // Values written down from the generator before seeds were checked.
    expect(new Rng(3).nextUint32()).toBe(1769043412);
    expect(new Rng(5).split().nextUint32()).toBe(1384824683);
    const r = new Rng(99);
    expect(Array.from(r.permutation(10))).toEqual([0, 5, 4, 6, 9, 7, 2, 1, 8, 3]);
    expect(r.nextUint32()).toBe(1473471237);
  });

  it('toRng refuses what is neither a seed nor a generator', () => {
    expect(() => toRng('7' as never)).toThrow(ConfigError);
    expect(() => toRng({ seed: 7 } as never)).toThrow(/"rng": expected a seed \(an integer\) or an Rng/);
    expect(toRng(undefined, 3).nextUint32()).toBe(1769043412);
    const g = new Rng(1);
    expect(toRng(g)).toBe(g);
  });
});

describe('Rng.int', () => {
  it('keeps the exact stream for every bound up to 2^32', () => {
    // Written down from the generator before this change: seeded results must not move.
    const pinned: [number, number, number[]][] = [
      [1, 10, [4, 7, 6, 5, 9, 9]],
      [7, 2 ** 32, [838155491, 1550620431, 3610122010, 3621410451, 1671033217, 2289101469]],
      [123456, 1000003, [457182, 949659, 548942, 516486, 340603, 560225]],
      [-5, 2 ** 31 + 11, [1011175473, 1165565106, 913068523, 1118860544, 1761091411, 1960442713]],
      [2 ** 40 + 3, 6, [1, 3, 4, 5, 5, 0]],
      [0, 1, [0, 0, 0, 0, 0, 0]],
    ];
    for (const [seed, n, want] of pinned) expect(draws(new Rng(seed), n, 6), `seed ${seed}, n ${n}`).toEqual(want);
  });

  it('int(2^33) gives odd numbers too: both parities and all four residues mod 4 equally often', () => {
    const rng = new Rng(1);
    const counts = [0, 0, 0, 0];
    for (let i = 0; i < 20_000; i++) counts[rng.int(2 ** 33) % 4]! += 1;
    // chi-square, 3 degrees of freedom: 16.27 is the 0.1% point. A one-draw int(2^33) hits only
    // multiples of 2, so two counts would be 0 (statistic 20,000).
    expect(chiSquare(counts)).toBeLessThan(16.27);
  });

  it('is uniform above 2^32: 6 equal ranges of 3·2^32 + 1 and the low bits, by chi-square', () => {
    const n = 3 * 2 ** 32 + 1;
    const rng = new Rng(2);
    const ranges = new Array<number>(6).fill(0);
    const low = new Array<number>(8).fill(0);
    const mod3 = [0, 0, 0];
    let outside = 0;
    for (let i = 0; i < 30_000; i++) {
      const x = rng.int(n);
      if (!(Number.isInteger(x) && x >= 0 && x < n)) outside += 1;
      ranges[Math.floor((x * 6) / n)]! += 1;
      low[x % 8]! += 1;
      mod3[x % 3]! += 1;
    }
    expect(outside).toBe(0);
    expect(chiSquare(ranges)).toBeLessThan(20.52); // 5 degrees of freedom, 0.1% point
    expect(chiSquare(low)).toBeLessThan(24.32); // 7 degrees of freedom, 0.1% point
    // One scaled 32-bit draw gives floor(3k + k/2^32) = 3k: only multiples of 3.
    expect(chiSquare(mod3)).toBeLessThan(13.82); // 2 degrees of freedom, 0.1% point
  });

  it('reaches the whole range at 2^53 and rejects the incomplete block at n = (2/3)·2^53', () => {
    const rng = new Rng(3);
    const big = draws(rng, 2 ** 53, 2000);
    expect(Math.max(...big)).toBeGreaterThan(2 ** 52);
    expect(big.some((x) => x % 2 === 1)).toBe(true);
    // 2^53 = 1.5·n: a 53-bit draw taken mod n without rejection gives [0, n/2) twice as often
    // as [n/2, n), so the upper half would get 1/3 of the draws instead of 1/2.
    const n = Math.floor((2 ** 53 * 2) / 3);
    let upperHalf = 0;
    for (let i = 0; i < 4000; i++) if (rng.int(n) >= n / 2) upperHalf += 1;
    expect(Math.abs(upperHalf - 2000)).toBeLessThan(4 * Math.sqrt(1000));
  });

  it('refuses fractions, bounds below 1 or above 2^53, and non-numbers with a ConfigError', () => {
    const rng = new Rng(1);
    for (const n of [2.5, 0, -1, Number.NaN, Infinity, 2 ** 53 + 2, 2 ** 60, '5', null]) {
      expect(() => rng.int(n as number), String(n)).toThrow(ConfigError);
    }
    expect(() => rng.int(2.5)).toThrow(/"maxExclusive": expected an integer in \[1, 2\^53\], got 2\.5/);
  });
});

describe('Rng.permutation and shuffleInPlace', () => {
  it('refuse a length that is not an integer in [0, 2^31] with a ConfigError', () => {
    const rng = new Rng(1);
    // 2.5 used to give a permutation of length 2, -1 a RangeError from Int32Array.
    for (const n of [2.5, -1, Number.NaN, Infinity, 2 ** 31 + 1, '3', undefined]) {
      expect(() => rng.permutation(n as number), String(n)).toThrow(ConfigError);
    }
    expect(() => rng.permutation(-1)).toThrow(/"permutation length": expected an integer in \[0, 2\^31\], got -1/);
    expect(rng.permutation(0)).toHaveLength(0);
  });

  it('shuffleInPlace refuses what has no whole length', () => {
    const rng = new Rng(1);
    for (const items of [null, 'abc', { length: 2.5 }, { length: -1 }, 3]) {
      expect(() => rng.shuffleInPlace(items as never), String(items)).toThrow(ConfigError);
    }
    expect(rng.shuffleInPlace([1])).toEqual([1]);
  });
});

describe('Rng.fromState and state', () => {
  it('refuses words outside 32 bits, fractions and malformed states, saying what came', () => {
    const good = [1, 2, 3, 4];
    const bad: unknown[] = [
      [2 ** 32, 2, 3, 4],
      [1, -(2 ** 31) - 1, 3, 4],
      [1, 2, 3.5, 4],
      [1, 2, 3, Number.NaN],
      [1, 2, '3', 4],
      [1, 2, null, 4],
      [1, 2, 3],
      [1, 2, 3, 4, 0.5, 6],
      [...good, 'x'],
      [...good, Number.NaN],
      [...good, Infinity],
      { 0: 1, 1: 2, 2: 3, 3: 4, length: 4 },
      'state',
      null,
    ];
    for (const state of bad) expect(() => Rng.fromState(state as never), JSON.stringify(state)).toThrow(ConfigError);
    // 2^32 used to be taken as 0, so a corrupt checkpoint resumed another stream.
    expect(() => Rng.fromState([2 ** 32, 2, 3, 4])).toThrow(/"rng state\[0\]".*word 0 is not, got 4294967296/);
    expect(() => Rng.fromState([1, 2, 3, 4, 'x'] as never)).toThrow(/"rng state\[4\]".*got "x"/);
  });

  it('writes every word unsigned, and still reads the signed words earlier versions wrote', () => {
    for (let seed = 0; seed < 200; seed++) {
      const rng = new Rng(seed);
      for (let i = 0; i < 5; i++) rng.nextUint32();
      const words = rng.state().slice(0, 4) as number[];
      for (const w of words) expect(Number.isInteger(w) && w >= 0 && w < 2 ** 32).toBe(true);
      const signed = [...words.map((w) => w | 0), null] as [number, number, number, number, null];
      const a = Rng.fromState(rng.state());
      const b = Rng.fromState(signed);
      expect(b.state()).toEqual(a.state());
      expect(draws(b, 1000, 4)).toEqual(draws(a, 1000, 4));
    }
  });

  it('accepts the all-zero state, which sfc32 leaves at once (its counter word moves)', () => {
    const rng = Rng.fromState([0, 0, 0, 0, null]);
    const out = Array.from({ length: 64 }, () => rng.nextUint32());
    expect(new Set(out.slice(8)).size).toBe(56);
    expect(rng.state().slice(0, 4)).not.toEqual([0, 0, 0, 0]);
  });
});

describe.each(TEST_BACKENDS)('Rng tensor draws refuse what tfjs takes silently, on %s', (backend) => {
  it('uniform: bounds out of order or not finite, a dtype other than float32/int32, a bad shape', async () => {
    await useBackend(backend);
    const rng = new Rng(1);
    expectNoLeaks(() => {
      // tfjs draws from [max, min] for min > max, gives NaN for a NaN bound and zeros for 'bool'.
      expect(() => rng.uniform([4], 1, 0)).toThrow(/"uniform \[min, max\)": expected min <= max, got \[1, 0\]/);
      expect(() => rng.uniform([4], Number.NaN, 1)).toThrow(ConfigError);
      expect(() => rng.uniform([4], 0, Infinity)).toThrow(ConfigError);
      expect(() => rng.uniform([4], 0, 1, 'bool' as never)).toThrow(ConfigError);
      expect(() => rng.uniform([4], 0.5, 3.5, 'int32')).toThrow(ConfigError);
      expect(() => rng.uniform([4], 3, 3, 'int32')).toThrow(ConfigError);
      expect(() => rng.uniform([4], 0, 2 ** 40, 'int32')).toThrow(ConfigError);
      // Finite as a double, Infinity as float32.
      expect(() => rng.uniform([4], 0, 1e39)).toThrow(/within float32 range/);
      expect(() => rng.normalTensor([4], 0, 1e39)).toThrow(ConfigError);
      for (const shape of [[-1], [2.5], [Number.NaN], 'abc', null, [2, '3']]) {
        expect(() => rng.uniform(shape as number[]), JSON.stringify(shape)).toThrow(ConfigError);
      }
    });
    // The limits still work: a zero-width range (a zero-scale initialiser) and int32 draws.
    const flat = rng.uniform([3], 0.25, 0.25);
    const ints = rng.uniform([200], -2, 3, 'int32');
    expect(Array.from(flat.dataSync())).toEqual([0.25, 0.25, 0.25]);
    const seen = new Set(ints.dataSync());
    expect([...seen].every((v) => Number.isInteger(v) && v >= -2 && v < 3)).toBe(true);
    tf.dispose([flat, ints]);
  });

  it('normalTensor and truncatedNormal: a negative or non-finite spread, a non-finite mean', async () => {
    await useBackend(backend);
    const rng = new Rng(1);
    expectNoLeaks(() => {
      // A negative stddev made tfjs's truncated normal redraw forever (|x - mean| > 2·stddev < 0).
      expect(() => rng.truncatedNormal([4], 0, -1)).toThrow(/"truncatedNormal stddev": expected a finite number >= 0 within float32 range, got -1/);
      expect(() => rng.normalTensor([4], 0, -1)).toThrow(ConfigError);
      expect(() => rng.normalTensor([4], Number.NaN, 1)).toThrow(ConfigError);
      expect(() => rng.truncatedNormal([4], 0, Infinity)).toThrow(ConfigError);
      expect(() => rng.normalTensor([-2])).toThrow(ConfigError);
      expect(() => rng.bernoulli([0.5] as never)).toThrow(/"bernoulli probs": expected a tensor/);
    });
    const still = rng.truncatedNormal([3], 2, 0);
    expect(Array.from(still.dataSync())).toEqual([2, 2, 2]);
    still.dispose();
  });
});
