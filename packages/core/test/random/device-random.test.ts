import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/errors.js';
import {
  createDeviceRandom,
  DEVICE_RANDOM_BITS,
  DEVICE_RANDOM_COMPONENTS,
  type DeviceRandom,
} from '../../src/random/device-random.js';
import { flattenParams } from '../../src/params/tree.js';
import { Rng } from '../../src/random/rng.js';
import { expectNoLeaks, maxRelativeError, TEST_BACKENDS, useBackend } from '../../src/testing.js';

const K = DEVICE_RANDOM_COMPONENTS.length;
const GRID = 2 ** DEVICE_RANDOM_BITS;

// The generator in plain JavaScript: doubles hold every integer exactly, and Math.fround gives
// the one correctly rounded float32 product the tensor version computes.
function referenceAdvance(state: Float64Array): void {
  for (let i = 0; i < state.length; i++) {
    const { multiplier, modulus } = DEVICE_RANDOM_COMPONENTS[i % K]!;
    state[i] = (multiplier * state[i]!) % modulus;
  }
}

function referenceUniform(state: Float64Array): Float32Array {
  const out = new Float32Array(state.length / K);
  for (let e = 0; e < out.length; e++) {
    let z = 0;
    for (let k = 0; k < K; k++) {
      const scale = Math.fround(GRID / DEVICE_RANDOM_COMPONENTS[k]!.modulus);
      z += Math.floor(Math.fround(state[e * K + k]! * scale));
    }
    const s = z / GRID;
    out[e] = s - Math.floor(s);
  }
  return out;
}

function draws(gen: DeviceRandom, count: number): Float32Array[] {
  return Array.from({ length: count }, () => {
    const u = gen.uniform();
    const values = u.dataSync() as Float32Array;
    u.dispose();
    return Float32Array.from(values);
  });
}

// Pearson's statistic of counts against equal expected counts.
function chiSquare(counts: number[]): number {
  const total = counts.reduce((a, b) => a + b, 0);
  const expected = total / counts.length;
  return counts.reduce((acc, c) => acc + (c - expected) ** 2 / expected, 0);
}

// 99.9% quantile of chi-square with 63 degrees of freedom (Wilson–Hilferty): a sound generator
// exceeds it with probability 0.001 per statistic, and the seeds are fixed.
const CHI2_63_999 = 103.4;

function binCounts(values: ArrayLike<number>, bins: number, key: (u: number) => number): number[] {
  const counts = new Array<number>(bins).fill(0);
  for (let i = 0; i < values.length; i++) counts[key(values[i]!)]! += 1;
  return counts;
}

function correlation(pairs: [number, number][]): number {
  let sx = 0;
  let sy = 0;
  for (const [x, y] of pairs) {
    sx += x;
    sy += y;
  }
  const mx = sx / pairs.length;
  const my = sy / pairs.length;
  let cxy = 0;
  let cxx = 0;
  let cyy = 0;
  for (const [x, y] of pairs) {
    cxy += (x - mx) * (y - my);
    cxx += (x - mx) ** 2;
    cyy += (y - my) ** 2;
  }
  return cxy / Math.sqrt(cxx * cyy);
}

describe('device random constants', () => {
  it('every component is a full-period MLCG whose arithmetic float32 holds exactly', () => {
    for (const { multiplier: a, modulus: m } of DEVICE_RANDOM_COMPONENTS) {
      for (let d = 2; d * d <= m; d++) expect(m % d, `${m} is prime`).not.toBe(0);
      // The multiplier's order modulo m is m − 1: a primitive root, so one cycle of all of [1, m − 1].
      let x = a;
      let order = 1;
      while (x !== 1) {
        x = (x * a) % m;
        order++;
      }
      expect(order).toBe(m - 1);
      // a·x, and a·x plus one modulus (a mod computed one multiple off), stay below 2^24.
      expect((a + 1) * m).toBeLessThan(2 ** 24);
    }
    expect(K * GRID).toBeLessThanOrEqual(2 ** 24);
  });
});

describe.each(TEST_BACKENDS)('device random on %s', (backend) => {
  it('matches the scalar reference implementation bit for bit (state and draws)', async () => {
    await useBackend(backend);
    const gen = createDeviceRandom([3, 5], new Rng(11));
    const state = Float64Array.from(gen.state.streams.dataSync());
    for (let t = 0; t < 5; t++) {
      referenceAdvance(state);
      const u: tf.Tensor2D = gen.uniform();
      expect(u.dataSync()).toEqual(referenceUniform(state));
      u.dispose();
      expect(Float64Array.from(gen.state.streams.dataSync())).toEqual(state);
    }
    gen.dispose();
  });

  it('seeds every element with its own streams, inside [1, m − 1]', async () => {
    await useBackend(backend);
    const gen = createDeviceRandom([40, 25], new Rng(12));
    expect(gen.state.streams.shape).toEqual([40, 25, K]);
    expect(gen.state.streams.trainable).toBe(false);
    // The state is a parameter tree: a model keeps it under its own key and checkpoints it by path.
    expect([...flattenParams({ gibbs: gen.state }).keys()]).toEqual(['gibbs/streams']);
    const s = gen.state.streams.dataSync();
    const rows = new Set<string>();
    for (let e = 0; e < s.length / K; e++) {
      for (let k = 0; k < K; k++) {
        const x = s[e * K + k]!;
        expect(Number.isInteger(x) && x >= 1 && x <= DEVICE_RANDOM_COMPONENTS[k]!.modulus - 1).toBe(true);
      }
      rows.add(Array.from(s.subarray(e * K, e * K + K)).join(','));
    }
    expect(rows.size).toBe(1000);
    gen.dispose();
  });

  it('draws are uniform on [0, 1): range, grid, mean, variance, bins, low bits and pairs', async () => {
    await useBackend(backend);
    const [rows, cols, steps] = [64, 64, 16];
    const gen = createDeviceRandom([rows, cols], new Rng(13));
    const d = draws(gen, steps);
    gen.dispose();
    const all = new Float64Array(rows * cols * steps);
    d.forEach((x, t) => all.set(x, t * rows * cols));
    const n = all.length;
    let sum = 0;
    let sumSq = 0;
    for (const u of all) {
      expect(u >= 0 && u < 1 && Number.isInteger(u * GRID)).toBe(true);
      sum += u;
      sumSq += u * u;
    }
    const mean = sum / n;
    expect(Math.abs(mean - 0.5)).toBeLessThan(4 * Math.sqrt(1 / 12 / n));
    // The sample variance's standard error for a uniform is √((1/80 − 1/144)/n).
    expect(Math.abs(sumSq / n - mean * mean - 1 / 12)).toBeLessThan(4 * Math.sqrt((1 / 80 - 1 / 144) / n));
    expect(chiSquare(binCounts(all, 64, (u) => Math.floor(u * 64)))).toBeLessThan(CHI2_63_999);
    // The six lowest of the 21 bits: a sum that lost exactness, or a truncation bias, shows here.
    expect(chiSquare(binCounts(all, 64, (u) => (u * GRID) % 64))).toBeLessThan(CHI2_63_999);
    // Consecutive draws of one stream, on an 8×8 grid of the unit square.
    const pairCounts = new Array<number>(64).fill(0);
    for (let t = 0; t + 1 < steps; t++) {
      for (let e = 0; e < rows * cols; e++) {
        pairCounts[Math.floor(d[t]![e]! * 8) * 8 + Math.floor(d[t + 1]![e]! * 8)]! += 1;
      }
    }
    expect(chiSquare(pairCounts)).toBeLessThan(CHI2_63_999);
  });

  it('adjacent elements and consecutive draws are uncorrelated', async () => {
    await useBackend(backend);
    const [rows, cols, steps] = [64, 64, 16];
    const gen = createDeviceRandom([rows, cols], new Rng(14));
    const d = draws(gen, steps);
    gen.dispose();
    const neighbours: [number, number][] = [];
    const below: [number, number][] = [];
    const nextDraw: [number, number][] = [];
    for (let t = 0; t < steps; t++) {
      for (let r = 0; r < rows; r++) {
        for (let c = 0; c < cols; c++) {
          const e = r * cols + c;
          if (c + 1 < cols) neighbours.push([d[t]![e]!, d[t]![e + 1]!]);
          if (r + 1 < rows) below.push([d[t]![e]!, d[t]![e + cols]!]);
          if (t + 1 < steps) nextDraw.push([d[t]![e]!, d[t + 1]![e]!]);
        }
      }
    }
    // About 60,000 pairs each: the standard error of a correlation is about 0.004.
    expect(Math.abs(correlation(neighbours))).toBeLessThan(0.02);
    expect(Math.abs(correlation(below))).toBeLessThan(0.02);
    expect(Math.abs(correlation(nextDraw))).toBeLessThan(0.02);
  });

  it('one seed reproduces the stream; another seed gives another', async () => {
    await useBackend(backend);
    const a = createDeviceRandom([4, 7], new Rng(15));
    const b = createDeviceRandom([4, 7], 15);
    const c = createDeviceRandom([4, 7], new Rng(16));
    const [da, db, dc] = [draws(a, 3), draws(b, 3), draws(c, 3)];
    expect(db).toEqual(da);
    expect(dc[0]).not.toEqual(da[0]);
    [a, b, c].forEach((g) => g.dispose());
  });

  it('the state round-trips: restoring the variable replays the same draws, in this or a new generator', async () => {
    await useBackend(backend);
    const gen = createDeviceRandom([5, 6], new Rng(17));
    draws(gen, 2);
    const saved = tf.clone(gen.state.streams);
    const first = draws(gen, 3);
    gen.state.streams.assign(saved);
    expect(draws(gen, 3)).toEqual(first);
    // A checkpoint restores into a generator made with another seed.
    const resumed = createDeviceRandom([5, 6], new Rng(999));
    resumed.state.streams.assign(saved);
    expect(draws(resumed, 3)).toEqual(first);
    tf.dispose(saved);
    gen.dispose();
    resumed.dispose();
  });

  it('bernoulli frequencies match the probabilities, and the draw is u < p on the same stream', async () => {
    await useBackend(backend);
    const ps = [0, 0.1, 0.5, 0.9, 1, 0.3];
    const [rows, steps] = [200, 20];
    const probs = tf.tidy(() => tf.tile(tf.tensor2d([ps]), [rows, 1]));
    const gen = createDeviceRandom([rows, ps.length], new Rng(18));
    const twin = createDeviceRandom([rows, ps.length], new Rng(18));
    const ones = new Array<number>(ps.length).fill(0);
    for (let t = 0; t < steps; t++) {
      const b = gen.bernoulli(probs);
      const u = twin.uniform();
      const bv = b.dataSync();
      const uv = u.dataSync();
      for (let i = 0; i < bv.length; i++) {
        expect(bv[i]).toBe(uv[i]! < ps[i % ps.length]! ? 1 : 0);
        ones[i % ps.length]! += bv[i]!;
      }
      tf.dispose([b, u]);
    }
    const n = rows * steps;
    ps.forEach((p, j) => {
      expect(Math.abs(ones[j]! / n - p)).toBeLessThanOrEqual(5 * Math.sqrt((p * (1 - p)) / n));
    });
    tf.dispose(probs);
    gen.dispose();
    twin.dispose();
  });

  it('normal draws have mean 0, variance 1 and bounded tails, two steps per draw', async () => {
    await useBackend(backend);
    const gen = createDeviceRandom([64, 64], new Rng(19));
    const twin = createDeviceRandom([64, 64], new Rng(19));
    let sum = 0;
    let sumSq = 0;
    let n = 0;
    for (let t = 0; t < 8; t++) {
      const z = gen.normal();
      for (const v of z.dataSync()) {
        expect(Math.abs(v)).toBeLessThan(5.4);
        sum += v;
        sumSq += v * v;
        n++;
      }
      z.dispose();
    }
    draws(twin, 16);
    expect(gen.state.streams.dataSync()).toEqual(twin.state.streams.dataSync());
    expect(Math.abs(sum / n)).toBeLessThan(4 / Math.sqrt(n));
    // Var of the sample variance of a normal is 2/n.
    expect(Math.abs(sumSq / n - (sum / n) ** 2 - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    gen.dispose();
    twin.dispose();
  });

  it('leaks no tensor per draw, and dispose frees everything it made', async () => {
    await useBackend(backend);
    const baseline = tf.memory().numTensors;
    const gen = createDeviceRandom([8, 9], new Rng(20));
    const probs = tf.fill([8, 9], 0.4);
    tf.dispose([gen.uniform(), gen.bernoulli(probs), gen.normal()]);
    expectNoLeaks(() => {
      for (let i = 0; i < 5; i++) tf.dispose([gen.uniform(), gen.bernoulli(probs), gen.normal()]);
    }, 'device random draws');
    tf.dispose(probs);
    gen.dispose();
    expect(tf.memory().numTensors).toBe(baseline);
  });

  it('refuses bad shapes with typed errors', async () => {
    await useBackend(backend);
    for (const bad of [[2, 0], [2.5], [-1], [3, Number.NaN], 'x'] as unknown as number[][]) {
      expect(() => createDeviceRandom(bad, 1)).toThrow(ConfigError);
    }
    expect(() => createDeviceRandom([2], 1, { name: '' })).toThrow(ConfigError);
    const gen = createDeviceRandom([2, 3], new Rng(21));
    const wrong = tf.fill([3, 2], 0.5);
    expect(() => gen.bernoulli(wrong)).toThrow(ShapeError);
    expect(() => gen.bernoulli(wrong)).toThrow(/expected shape \[2, 3\], got \[3, 2\]/);
    tf.dispose(wrong);
    gen.dispose();
    expect(() => gen.uniform()).toThrow(ConfigError);
  });
});

describe('device random across backends', () => {
  it('cpu and wasm give bit-identical uniform and bernoulli streams; normals agree to float32 rounding', async () => {
    const results: Record<string, { u: Float32Array[]; b: Float32Array; z: Float32Array }> = {};
    for (const backend of TEST_BACKENDS) {
      await useBackend(backend);
      const gen = createDeviceRandom([16, 24], new Rng(22));
      const probs = tf.fill([16, 24], 0.37);
      const u = draws(gen, 4);
      const b = gen.bernoulli(probs);
      const z = gen.normal();
      results[backend] = { u, b: Float32Array.from(b.dataSync()), z: Float32Array.from(z.dataSync()) };
      tf.dispose([probs, b, z]);
      gen.dispose();
    }
    const [first, second] = TEST_BACKENDS.map((b) => results[b]!);
    expect(second!.u).toEqual(first!.u);
    expect(second!.b).toEqual(first!.b);
    expect(maxRelativeError(first!.z, second!.z, 1)).toBeLessThan(1e-5);
  });
});

describe('the statistics above reject broken generators', () => {
  it('chi-square flags a 2% bias and lost low bits; correlation flags copied streams', () => {
    const rng = new Rng(23);
    const good = Float64Array.from({ length: 65536 }, () => Math.floor(rng.next() * GRID) / GRID);
    expect(chiSquare(binCounts(good, 64, (u) => Math.floor(u * 64)))).toBeLessThan(CHI2_63_999);
    expect(chiSquare(binCounts(good, 64, (u) => (u * GRID) % 64))).toBeLessThan(CHI2_63_999);
    const biased = good.map((u) => u * 0.98);
    expect(chiSquare(binCounts(biased, 64, (u) => Math.floor(u * 64)))).toBeGreaterThan(CHI2_63_999);
    // A float sum that rounded off the lowest bit: only even grid points.
    const coarse = good.map((u) => Math.floor(u * GRID / 2) * 2 / GRID);
    expect(chiSquare(binCounts(coarse, 64, (u) => (u * GRID) % 64))).toBeGreaterThan(CHI2_63_999);
    const pairs = Array.from(good.subarray(0, 60000), (u, i) => [u, i % 2 === 0 ? u : good[i + 1]!] as [number, number]);
    expect(Math.abs(correlation(pairs))).toBeGreaterThan(0.2);
  });
});
