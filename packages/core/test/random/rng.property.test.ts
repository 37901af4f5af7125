import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { Rng } from '../../src/random/rng.js';
import { useBackend } from '../../src/testing.js';

/** Numbers a seed, a bound or a length could be, sensible or not, and things that are no numbers. */
const anyNumber = fc.oneof(
  fc.integer({ min: -1000, max: 1000 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(0, -0, 1, -1, 0.5, 2.5, Number.NaN, Infinity, -Infinity, 2 ** 31, 2 ** 31 + 1, 2 ** 32, 2 ** 32 + 1),
  fc.constantFrom(2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, -(2 ** 53), 1e300, Number.MAX_VALUE, Number.MIN_VALUE),
  fc.maxSafeInteger(),
);
const notANumber = fc.oneof(fc.string({ maxLength: 3 }), fc.boolean(), fc.constantFrom(null, undefined), fc.array(fc.integer(), { maxLength: 2 }), fc.bigInt({ min: -5n, max: 5n }), fc.object({ maxDepth: 0 }));
const anything = fc.oneof({ weight: 4, arbitrary: anyNumber }, { weight: 1, arbitrary: notANumber });

/** Runs `f`; a ConfigError is a refusal, any other exception fails the property. */
function refusedOr<T>(f: () => T): T | 'refused' {
  try {
    return f();
  } catch (e) {
    if (e instanceof ConfigError) return 'refused';
    throw e;
  }
}

const isWord = (w: unknown) => typeof w === 'number' && Number.isInteger(w) && w >= 0 && w < 2 ** 32;

describe('Rng arguments, generated: a result or a ConfigError, nothing else', () => {
  it('new Rng(seed): safe integers give a generator with 32-bit words, everything else is refused', () => {
    fc.assert(
      fc.property(anything, (seed) => {
        const rng = refusedOr(() => new Rng(seed as number));
        expect(rng === 'refused').toBe(!Number.isSafeInteger(seed));
        if (rng === 'refused') return;
        expect(isWord(rng.nextUint32())).toBe(true);
        expect(rng.state().slice(0, 4).every(isWord)).toBe(true);
      }),
      { numRuns: 600, seed: 1 },
    );
  });

  it('int(n): an integer in [0, n) for every integer n in [1, 2^53], a refusal otherwise', () => {
    const rng = new Rng(11);
    fc.assert(
      fc.property(fc.oneof(anything, fc.integer({ min: 1, max: 2 ** 40 }), fc.constantFrom(2 ** 53, 2 ** 32 + 1, 3 * 2 ** 32)), (n) => {
        const valid = typeof n === 'number' && Number.isInteger(n) && n >= 1 && n <= 2 ** 53;
        const x = refusedOr(() => rng.int(n as number));
        expect(x === 'refused').toBe(!valid);
        if (x !== 'refused') expect(Number.isInteger(x) && x >= 0 && x < (n as number)).toBe(true);
      }),
      { numRuns: 600, seed: 2 },
    );
  });

  it('permutation(n): a permutation of 0..n-1 for integers in [0, 2^31], a refusal otherwise', () => {
    const rng = new Rng(12);
    // Valid lengths are kept small; the huge ones generated are all invalid, so nothing big is made.
    const length = fc.oneof(fc.integer({ min: 0, max: 40 }), anything.filter((n) => !(typeof n === 'number' && Number.isInteger(n) && n > 40 && n <= 2 ** 31)));
    fc.assert(
      fc.property(length, (n) => {
        const valid = typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= 2 ** 31;
        const p = refusedOr(() => rng.permutation(n as number));
        expect(p === 'refused').toBe(!valid);
        if (p !== 'refused') expect(Array.from(p).sort((a, b) => a - b)).toEqual(Array.from({ length: n as number }, (_, i) => i));
      }),
      { numRuns: 600, seed: 3 },
    );
  });

  it('fromState: four 32-bit words and an optional finite normal restore a generator, anything else is refused', () => {
    const word = fc.oneof(fc.integer({ min: 0, max: 2 ** 32 - 1 }), fc.integer({ min: -(2 ** 31), max: -1 }), anything);
    const spare = fc.oneof(fc.constant(null), fc.double({ min: -7, max: 7, noNaN: true }), anything);
    const state = fc.oneof(
      { weight: 3, arbitrary: fc.tuple(word, word, word, word).map((w) => [...w]) },
      { weight: 3, arbitrary: fc.tuple(word, word, word, word, spare).map((w) => [...w]) },
      { weight: 1, arbitrary: fc.array(word, { maxLength: 7 }) },
      { weight: 1, arbitrary: anything },
    );
    fc.assert(
      fc.property(state, (s) => {
        const valid =
          Array.isArray(s) &&
          (s.length === 4 || s.length === 5) &&
          s.slice(0, 4).every((w) => typeof w === 'number' && Number.isInteger(w) && w >= -(2 ** 31) && w < 2 ** 32) &&
          (s.length === 4 || s[4] === null || (typeof s[4] === 'number' && Number.isFinite(s[4])));
        const rng = refusedOr(() => Rng.fromState(s as never));
        expect(rng === 'refused').toBe(!valid);
        if (rng === 'refused') return;
        // The restored words are the given ones, read as unsigned 32-bit words.
        expect(rng.state().slice(0, 4)).toEqual((s as number[]).slice(0, 4).map((w) => w >>> 0));
        const twin = Rng.fromState(rng.state());
        expect([rng.normal(), rng.nextUint32(), rng.int(1000)]).toEqual([twin.normal(), twin.nextUint32(), twin.int(1000)]);
      }),
      { numRuns: 600, seed: 4 },
    );
  });

  describe('tensor draws', () => {
    beforeAll(async () => {
      await useBackend('cpu');
    });

    // Small dimensions only when valid, so no generated case allocates much.
    const dim = fc.oneof({ weight: 4, arbitrary: fc.integer({ min: 0, max: 3 }) }, { weight: 1, arbitrary: anything.filter((d) => !(typeof d === 'number' && Number.isInteger(d) && d > 3)) });
    // Not notANumber: its arrays of integers would be valid shapes of any size.
    const shape = fc.oneof({ weight: 5, arbitrary: fc.array(dim, { maxLength: 3 }) }, { weight: 1, arbitrary: fc.oneof(fc.string({ maxLength: 3 }), fc.constantFrom(null, undefined, 3, {})) });
    const bound = fc.oneof({ weight: 3, arbitrary: fc.integer({ min: -3, max: 3 }) }, { weight: 1, arbitrary: anything });

    it('uniform, normalTensor, truncatedNormal: a tensor of the shape or a refusal, never a leak', () => {
      const rng = new Rng(5);
      fc.assert(
        fc.property(
          fc.constantFrom('uniform', 'normalTensor', 'truncatedNormal'),
          shape,
          bound,
          bound,
          fc.option(fc.constantFrom('float32', 'int32', 'bool', 'float16'), { nil: undefined }),
          (method, s, a, b, dtype) => {
            const before = tf.memory().numTensors;
            const t = refusedOr(() =>
              method === 'uniform'
                ? rng.uniform(s as number[], a as number, b as number, dtype as 'float32')
                : rng[method](s as number[], a as number, b as number),
            );
            if (t !== 'refused') {
              expect(t.shape).toEqual(s);
              const values = t.dataSync();
              // Only an enormous spread may overflow float32 in the tails.
              if (Math.abs((a ?? 0) as number) < 1e30 && Math.abs((b ?? 1) as number) < 1e30) {
                expect(Array.from(values).every(Number.isFinite)).toBe(true);
              }
              if (method === 'truncatedNormal') {
                const [mean, stddev] = [(a ?? 0) as number, (b ?? 1) as number];
                // float32 rounding of the mean and of the spread, relative to their size.
                const slack = 1e-6 * (Math.abs(mean) + 2 * stddev) + 1e-5;
                expect(Array.from(values).every((v) => Math.abs(v - mean) <= 2 * stddev + slack)).toBe(true);
              }
              t.dispose();
            }
            expect(tf.memory().numTensors).toBe(before);
          },
        ),
        { numRuns: 600, seed: 6 },
      );
    });
  });
});
