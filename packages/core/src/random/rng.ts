import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { sampleBernoulliWith } from '../fast/sample-bernoulli.js';

/**
 * The position of an {@link Rng}: sfc32's four 32-bit words, then the pending Box-Muller normal
 * (null when none). Plain JSON, so it fits in a checkpoint; four words alone are accepted too.
 */
export type RngState = [number, number, number, number, number | null];

/** MurmurHash3's 32-bit finalizer: a bijection that spreads every input bit over the output. */
function fmix32(x: number): number {
  let h = x | 0;
  h ^= h >>> 16;
  h = Math.imul(h, 0x85ebca6b);
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35);
  h ^= h >>> 16;
  return h >>> 0;
}

// splitmix32 spreads a small integer seed over 32 bits so nearby seeds give unrelated streams.
function splitmix32(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x9e3779b9) >>> 0;
    let z = s;
    z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
    z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
    return (z ^ (z >>> 16)) >>> 0;
  };
}

/** tfjs reports a bad shape with a plain Error (or a TypeError for a non-array). */
function checkShape(shape: unknown): void {
  if (!Array.isArray(shape) || !shape.every((d) => typeof d === 'number' && Number.isInteger(d) && d >= 0)) {
    throw new ConfigError('shape', 'an array of non-negative integers', shape);
  }
}

// Draws are float32: a bound beyond float32's range would come back as Infinity.
function checkFinite(field: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(Math.fround(value))) {
    throw new ConfigError(field, 'a finite number within float32 range (|x| < 3.4e38)', value);
  }
}

function checkNormal(method: string, shape: unknown, mean: unknown, stddev: unknown): void {
  checkShape(shape);
  checkFinite(`${method} mean`, mean);
  // 0 is allowed: every draw is the mean, the limit of a shrinking spread.
  if (typeof stddev !== 'number' || !Number.isFinite(Math.fround(stddev)) || stddev < 0) {
    throw new ConfigError(`${method} stddev`, 'a finite number >= 0 within float32 range', stddev);
  }
}

/** Marks generators made by any copy of this module (ESM and CJS builds in one app). */
const RNG_BRAND = Symbol.for('@helmholtz/core:Rng');

/**
 * A seeded pseudo-random generator (sfc32: small, fast, passes PractRand to 2^40 bytes).
 * Every initialiser, sampler, shuffle and dropout mask in Helmholtz draws from one of these,
 * so one seed reproduces a whole run on a given backend. Tensor samplers hand a fresh
 * integer seed to tfjs's own seeded generators, which run in JavaScript on every backend.
 */
export class Rng {
  private a: number;
  private b: number;
  private c: number;
  private d: number;
  private spareNormal: number | null = null;

  /**
   * Brand check, so a generator from another copy of core (the CJS build next to the ESM one)
   * is still an `Rng`: it has the same methods and state.
   */
  static [Symbol.hasInstance](value: unknown): boolean {
    // A subclass keeps the plain prototype check: the brand says "an Rng", not which subclass.
    if (this !== Rng) return Function.prototype[Symbol.hasInstance].call(this, value);
    return (
      Function.prototype[Symbol.hasInstance].call(this, value) ||
      (value !== null && typeof value === 'object' && (value as Record<symbol, unknown>)[RNG_BRAND] === true)
    );
  }

  constructor(seed: number) {
    Object.defineProperty(this, RNG_BRAND, { value: true, enumerable: false });
    // A fraction used to be floored, so 3.7 silently gave seed 3's stream; beyond 2^53 nearby
    // integers are the same double, so such a seed names no stream of its own.
    if (!Number.isSafeInteger(seed)) {
      throw new ConfigError('seed', 'an integer in [-(2^53 - 1), 2^53 - 1]', seed);
    }
    // Low 32 bits, xored with a hash of the high part: negative seeds and seeds beyond 2^32 get
    // streams of their own, while seeds in [0, 2^32) keep their plain value.
    const high = Math.floor(seed / 2 ** 32);
    const mix = splitmix32(high === 0 ? seed >>> 0 : ((seed >>> 0) ^ fmix32(high ^ 0x5bd1e995)) >>> 0);
    this.a = mix();
    this.b = mix();
    this.c = mix();
    this.d = mix();
    // Discard the first outputs: sfc32 mixes its state over a few rounds.
    for (let i = 0; i < 12; i++) this.nextUint32();
  }

  /**
   * Restores a generator from {@link Rng.state}. Every word must be an integer in [0, 2^32), as
   * `state()` writes them, or its signed form in [-2^31, 0), which earlier versions wrote for
   * some words: a word out of range used to be wrapped, so a corrupted checkpoint resumed some
   * other stream without a word of warning. All-zero words are accepted: sfc32's counter word
   * moves the generator off that state at the first draw.
   */
  static fromState(state: RngState | [number, number, number, number]): Rng {
    const expected = 'an array of four 32-bit integers (each in [0, 2^32)) and an optional pending normal (a finite number or null)';
    if (!Array.isArray(state) || (state.length !== 4 && state.length !== 5)) {
      throw new ConfigError('rng state', expected, state);
    }
    for (let i = 0; i < 4; i++) {
      const w: unknown = state[i];
      if (typeof w !== 'number' || !Number.isInteger(w) || w < -(2 ** 31) || w >= 2 ** 32) {
        throw new ConfigError(`rng state[${i}]`, `${expected}; word ${i} is not`, w);
      }
    }
    const spare: unknown = state.length === 5 ? state[4] : null;
    if (spare !== null && (typeof spare !== 'number' || !Number.isFinite(spare))) {
      throw new ConfigError('rng state[4]', `${expected}; the pending normal is not`, spare);
    }
    const rng = new Rng(0);
    [rng.a, rng.b, rng.c, rng.d] = (state.slice(0, 4) as number[]).map((w) => w >>> 0) as [number, number, number, number];
    rng.spareNormal = spare as number | null;
    return rng;
  }

  /**
   * The generator's position, to save with a checkpoint and resume the same stream. Plain JSON:
   * the four words of sfc32 and the second Box-Muller normal held for the next `normal()`.
   */
  state(): RngState {
    // Unsigned: the xor-shift leaves `a` as a signed 32-bit integer, which is the same word.
    return [this.a >>> 0, this.b >>> 0, this.c >>> 0, this.d >>> 0, this.spareNormal];
  }

  nextUint32(): number {
    const t = (((this.a + this.b) >>> 0) + this.d) >>> 0;
    this.d = (this.d + 1) >>> 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) >>> 0;
    this.c = ((this.c << 21) | (this.c >>> 11)) >>> 0;
    this.c = (this.c + t) >>> 0;
    this.spareNormal = null;
    return t;
  }

  /** Uniform on [0, 1) with 32 bits of resolution. */
  next(): number {
    return this.nextUint32() / 4294967296;
  }

  /**
   * Uniform integer on [0, maxExclusive), for any integer maxExclusive in [1, 2^53].
   *
   * Up to 2^32 it is one draw scaled down, as it always was (seeded results do not change):
   * each outcome then has probability within 2^-32 of 1/maxExclusive. Above 2^32 one 32-bit
   * draw cannot reach every outcome (2^33 gave only even numbers), so two draws make a 53-bit
   * integer, and draws in the incomplete last block of maxExclusive values are rejected,
   * which makes every outcome exactly equally likely (fewer than 2 tries on average).
   */
  int(maxExclusive: number): number {
    if (typeof maxExclusive !== 'number' || !Number.isInteger(maxExclusive) || maxExclusive < 1 || maxExclusive > 2 ** 53) {
      throw new ConfigError('maxExclusive', 'an integer in [1, 2^53]', maxExclusive);
    }
    if (maxExclusive <= 2 ** 32) return Math.floor(this.next() * maxExclusive);
    // 2^53 % n and x % n are exact in doubles: every operand is an integer below 2^53 + 1.
    const limit = 2 ** 53 - (2 ** 53 % maxExclusive);
    for (;;) {
      const x = (this.nextUint32() >>> 11) * 2 ** 32 + this.nextUint32();
      if (x < limit) return x % maxExclusive;
    }
  }

  /** Standard normal draw (Box-Muller; the second value of each pair is kept for the next call). */
  normal(): number {
    if (this.spareNormal !== null) {
      const z = this.spareNormal;
      this.spareNormal = null;
      return z;
    }
    let u = 0;
    while (u === 0) u = this.next();
    const v = this.next();
    const r = Math.sqrt(-2 * Math.log(u));
    const z0 = r * Math.cos(2 * Math.PI * v);
    this.spareNormal = r * Math.sin(2 * Math.PI * v);
    return z0;
  }

  /** An integer seed for one tfjs random op; each call advances the stream. */
  nextSeed(): number {
    return this.nextUint32();
  }

  /** An independent child generator, for handing one stream to each component. */
  split(): Rng {
    return new Rng(this.nextUint32() * 2 ** 21 + (this.nextUint32() >>> 11));
  }

  /** A uniformly random permutation of 0..n-1 (Fisher-Yates), for an integer n in [0, 2^31]. */
  permutation(n: number): Int32Array {
    // 2^31 - 1 is the largest index an Int32Array holds.
    if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n > 2 ** 31) {
      throw new ConfigError('permutation length', 'an integer in [0, 2^31]', n);
    }
    const out = new Int32Array(n);
    for (let i = 0; i < n; i++) out[i] = i;
    this.shuffleInPlace(out);
    return out;
  }

  /** Shuffles an array or typed array in place (Fisher-Yates) and returns it. */
  shuffleInPlace<T extends { length: number; [i: number]: unknown }>(items: T): T {
    const length = (items as { length?: unknown } | null)?.length;
    if (items === null || typeof items !== 'object' || typeof length !== 'number' || !Number.isSafeInteger(length) || length < 0) {
      throw new ConfigError('items', 'an array or typed array to shuffle', items);
    }
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      const tmp = items[i];
      items[i] = items[j];
      items[j] = tmp;
    }
    return items;
  }

  /** A tensor of uniform draws on [min, max). */
  // Overloads type the result by the rank of a tuple shape, so `dense(rng.uniform([b, n]), ...)`
  // compiles without a cast; a `number[]` shape gives tf.Tensor.
  uniform(shape: [], min?: number, max?: number, dtype?: 'float32' | 'int32'): tf.Scalar;
  uniform(shape: [number], min?: number, max?: number, dtype?: 'float32' | 'int32'): tf.Tensor1D;
  uniform(shape: [number, number], min?: number, max?: number, dtype?: 'float32' | 'int32'): tf.Tensor2D;
  uniform(shape: [number, number, number], min?: number, max?: number, dtype?: 'float32' | 'int32'): tf.Tensor3D;
  uniform(shape: [number, number, number, number], min?: number, max?: number, dtype?: 'float32' | 'int32'): tf.Tensor4D;
  uniform(shape: number[], min?: number, max?: number, dtype?: 'float32' | 'int32'): tf.Tensor;
  uniform(shape: number[], min = 0, max = 1, dtype: 'float32' | 'int32' = 'float32'): tf.Tensor {
    checkShape(shape);
    // tfjs takes any of these silently: min > max draws from [max, min], a NaN bound gives NaN
    // everywhere, 'bool' gives zeros.
    if (dtype !== 'float32' && dtype !== 'int32') throw new ConfigError('uniform dtype', "'float32' or 'int32'", dtype);
    checkFinite('uniform min', min);
    checkFinite('uniform max', max);
    if (dtype === 'int32') {
      if (!Number.isInteger(min) || !Number.isInteger(max) || min >= max || min < -(2 ** 31) || max > 2 ** 31) {
        throw new ConfigError('uniform [min, max)', 'int32 bounds: integers with -2^31 <= min < max <= 2^31', [min, max]);
      }
    } else if (min > max) {
      // min === max is allowed: it is the limit of a shrinking range (a zero-scale initialiser).
      throw new ConfigError('uniform [min, max)', 'min <= max', [min, max]);
    }
    return tf.randomUniform(shape, min, max, dtype, this.nextSeed());
  }

  /** A tensor of normal draws. */
  normalTensor(shape: [], mean?: number, stddev?: number): tf.Scalar;
  normalTensor(shape: [number], mean?: number, stddev?: number): tf.Tensor1D;
  normalTensor(shape: [number, number], mean?: number, stddev?: number): tf.Tensor2D;
  normalTensor(shape: [number, number, number], mean?: number, stddev?: number): tf.Tensor3D;
  normalTensor(shape: [number, number, number, number], mean?: number, stddev?: number): tf.Tensor4D;
  normalTensor(shape: number[], mean?: number, stddev?: number): tf.Tensor;
  normalTensor(shape: number[], mean = 0, stddev = 1): tf.Tensor {
    checkNormal('normalTensor', shape, mean, stddev);
    return tf.randomNormal(shape, mean, stddev, 'float32', this.nextSeed());
  }

  /** A tensor of normal draws cut at two standard deviations (redrawn, not clipped). */
  truncatedNormal(shape: [], mean?: number, stddev?: number): tf.Scalar;
  truncatedNormal(shape: [number], mean?: number, stddev?: number): tf.Tensor1D;
  truncatedNormal(shape: [number, number], mean?: number, stddev?: number): tf.Tensor2D;
  truncatedNormal(shape: [number, number, number], mean?: number, stddev?: number): tf.Tensor3D;
  truncatedNormal(shape: [number, number, number, number], mean?: number, stddev?: number): tf.Tensor4D;
  truncatedNormal(shape: number[], mean?: number, stddev?: number): tf.Tensor;
  truncatedNormal(shape: number[], mean = 0, stddev = 1): tf.Tensor {
    // A negative stddev never ends: tfjs redraws while |x - mean| > 2 stddev, always true then.
    checkNormal('truncatedNormal', shape, mean, stddev);
    return tf.truncatedNormal(shape, mean, stddev, 'float32', this.nextSeed());
  }

  /**
   * Bernoulli samples (0 or 1, float32) with success probabilities `probs`: one fused kernel on
   * wasm and cpu (see {@link sampleBernoulliWith}); the same samples on every backend for the
   * same generator state. Draws 16 words from this generator per call.
   */
  bernoulli<T extends tf.Tensor>(probs: T): T {
    return sampleBernoulliWith(probs, () => this.nextUint32());
  }
}

/** Accepts either a seed or an existing generator, as every Helmholtz API that samples does. */
export type RngLike = number | Rng;

export function toRng(source: RngLike | undefined, fallbackSeed = 0): Rng {
  if (source instanceof Rng) return source;
  if (source !== undefined && source !== null && typeof source !== 'number') {
    throw new ConfigError('rng', 'a seed (an integer) or an Rng', source);
  }
  return new Rng(source ?? fallbackSeed);
}
