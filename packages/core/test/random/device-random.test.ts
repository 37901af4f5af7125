import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
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

// CI runs cpu and wasm. By hand, HELMHOLTZ_WEBGPU=1 adds webgpu through Dawn (on SwiftShader
// without a GPU), set up as packages/backends does; core does not depend on Dawn, so both
// packages are resolved from packages/backends.
const BACKENDS: string[] = process.env.HELMHOLTZ_WEBGPU === '1' ? [...TEST_BACKENDS, 'webgpu'] : [...TEST_BACKENDS];

async function installNodeWebgpu(): Promise<void> {
  if (tf.findBackendFactory('webgpu')) return;
  const icd = '/usr/lib/chromium/vk_swiftshader_icd.json';
  if (!process.env.VK_ICD_FILENAMES && existsSync(icd)) process.env.VK_ICD_FILENAMES = icd;
  const fromBackends = createRequire(new URL('../../../backends/package.json', import.meta.url));
  const dawn = (await import(pathToFileURL(fromBackends.resolve('webgpu')).href)) as { create(o: string[]): unknown; globals: object };
  Object.assign(globalThis, dawn.globals);
  Object.defineProperty(globalThis, 'navigator', { value: { gpu: dawn.create([]) }, configurable: true, writable: true });
  await import(pathToFileURL(fromBackends.resolve('@tensorflow/tfjs-backend-webgpu')).href);
}

beforeAll(async () => {
  if (BACKENDS.includes('webgpu')) await installNodeWebgpu();
});

const K = DEVICE_RANDOM_COMPONENTS.length;
const GRID = 2 ** DEVICE_RANDOM_BITS;

// The generator in plain JavaScript, on the same layout (component k of element e at k·n + e):
// doubles hold every integer exactly, and Math.fround gives the one correctly rounded float32
// product the tensor version computes.
function referenceAdvance(state: Float64Array): void {
  const n = state.length / K;
  for (let i = 0; i < state.length; i++) {
    const { multiplier, modulus } = DEVICE_RANDOM_COMPONENTS[Math.floor(i / n)]!;
    state[i] = (multiplier * state[i]!) % modulus;
  }
}

function referenceUniform(state: Float64Array): Float32Array {
  const n = state.length / K;
  const out = new Float32Array(n);
  for (let e = 0; e < n; e++) {
    let z = 0;
    for (let k = 0; k < K; k++) {
      const scale = Math.fround(GRID / DEVICE_RANDOM_COMPONENTS[k]!.modulus);
      z += Math.floor(Math.fround(state[k * n + e]! * scale));
    }
    const s = z / GRID;
    out[e] = s - Math.floor(s);
  }
  return out;
}

// Asynchronous reads: webgpu in Node has no synchronous read back.
async function read(t: tf.Tensor): Promise<Float32Array> {
  return Float32Array.from((await t.data()) as Float32Array);
}

async function draws(gen: DeviceRandom, count: number): Promise<Float32Array[]> {
  const out: Float32Array[] = [];
  for (let i = 0; i < count; i++) {
    const u = gen.uniform();
    out.push(await read(u));
    u.dispose();
  }
  return out;
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
      // a·m < 2^23: products exact, and floor(a·x·fl(1/m)) off by less than 1/m, so exact.
      expect(a * m).toBeLessThan(2 ** 23);
      // Exhaustively: the quotient from the float32 product is the true one for every state.
      const inverse = Math.fround(1 / m);
      let wrong = 0;
      for (let x = 1; x < m; x++) if (Math.floor(Math.fround(a * x * inverse)) !== Math.floor((a * x) / m)) wrong++;
      expect(wrong).toBe(0);
    }
    expect(K * GRID).toBeLessThanOrEqual(2 ** 24);
  });
});

describe.each(BACKENDS)('device random on %s', (backend) => {
  it('matches the scalar reference implementation bit for bit (state and draws)', async () => {
    await useBackend(backend);
    const gen = createDeviceRandom([3, 5], new Rng(11));
    const state = Float64Array.from(await read(gen.state.streams));
    for (let t = 0; t < 5; t++) {
      referenceAdvance(state);
      const u: tf.Tensor2D = gen.uniform();
      expect(await read(u)).toEqual(referenceUniform(state));
      u.dispose();
      expect(Float64Array.from(await read(gen.state.streams))).toEqual(state);
    }
    gen.dispose();
  });

  it('both ways of adding the components give the same bits', async () => {
    await useBackend(backend);
    const a = createDeviceRandom([7, 9], new Rng(24));
    const b = createDeviceRandom([7, 9], new Rng(24));
    const state = Float64Array.from(await read(a.state.streams));
    for (let t = 0; t < 3; t++) {
      referenceAdvance(state);
      const [ua, ub] = tf.tidy(() => [a.step('reduce'), b.step('slices')]);
      expect(await read(ua!)).toEqual(referenceUniform(state));
      expect(await read(ub!)).toEqual(referenceUniform(state));
      tf.dispose([ua!, ub!]);
    }
    a.dispose();
    b.dispose();
  });

  it('seeds every element with its own streams, inside [1, m − 1]', async () => {
    await useBackend(backend);
    const gen = createDeviceRandom([40, 25], new Rng(12));
    expect(gen.state.streams.shape).toEqual([K, 40, 25]);
    expect(gen.state.streams.trainable).toBe(false);
    // The state is a parameter tree: a model keeps it under its own key and checkpoints it by path.
    expect([...flattenParams({ gibbs: gen.state }).keys()]).toEqual(['gibbs/streams']);
    const s = await read(gen.state.streams);
    const n = 1000;
    const starts = new Set<string>();
    for (let e = 0; e < n; e++) {
      const x = DEVICE_RANDOM_COMPONENTS.map((_, k) => s[k * n + e]!);
      x.forEach((v, k) => expect(Number.isInteger(v) && v >= 1 && v <= DEVICE_RANDOM_COMPONENTS[k]!.modulus - 1).toBe(true));
      starts.add(x.join(','));
    }
    expect(starts.size).toBe(n);
    gen.dispose();
  });

  it('draws are uniform on [0, 1): range, grid, mean, variance, bins, low bits and pairs', async () => {
    await useBackend(backend);
    const [rows, cols, steps] = [64, 64, 16];
    const gen = createDeviceRandom([rows, cols], new Rng(13));
    const d = await draws(gen, steps);
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
    const d = await draws(gen, steps);
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
    const [da, db, dc] = [await draws(a, 3), await draws(b, 3), await draws(c, 3)];
    expect(db).toEqual(da);
    expect(dc[0]).not.toEqual(da[0]);
    [a, b, c].forEach((g) => g.dispose());
  });

  it('the state round-trips: restoring the variable replays the same draws, in this or a new generator', async () => {
    await useBackend(backend);
    const gen = createDeviceRandom([5, 6], new Rng(17));
    await draws(gen, 2);
    const saved = tf.clone(gen.state.streams);
    const first = await draws(gen, 3);
    gen.state.streams.assign(saved);
    expect(await draws(gen, 3)).toEqual(first);
    // A checkpoint restores into a generator made with another seed.
    const resumed = createDeviceRandom([5, 6], new Rng(999));
    resumed.state.streams.assign(saved);
    expect(await draws(resumed, 3)).toEqual(first);
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
      const bv = await read(b);
      const uv = await read(u);
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
      for (const v of await read(z)) {
        expect(Math.abs(v)).toBeLessThan(5.4);
        sum += v;
        sumSq += v * v;
        n++;
      }
      z.dispose();
    }
    await draws(twin, 16);
    expect(await read(gen.state.streams)).toEqual(await read(twin.state.streams));
    expect(Math.abs(sum / n)).toBeLessThan(4 / Math.sqrt(n));
    // Var of the sample variance of a normal is 2/n.
    expect(Math.abs(sumSq / n - (sum / n) ** 2 - 1)).toBeLessThan(4 * Math.sqrt(2 / n));
    gen.dispose();
    twin.dispose();
  });

  it('block Gibbs on a 2x2 RBM driven by device draws matches the exact visible marginal', async () => {
    await useBackend(backend);
    const W = [
      [1.5, -1],
      [0.5, 2],
    ];
    const b = [-0.5, 0.3];
    const c = [0.2, -0.7];
    // Exact p(v) by enumerating the 16 joint states.
    const exact = [0, 0, 0, 0];
    for (let s = 0; s < 16; s++) {
      const v = [(s >> 3) & 1, (s >> 2) & 1];
      const h = [(s >> 1) & 1, s & 1];
      let e = 0;
      for (let i = 0; i < 2; i++) {
        e += b[i]! * v[i]! + c[i]! * h[i]!;
        for (let j = 0; j < 2; j++) e += v[i]! * W[i]![j]! * h[j]!;
      }
      exact[v[0]! * 2 + v[1]!]! += Math.exp(e);
    }
    const z = exact.reduce((x, y) => x + y, 0);
    const chains = 512;
    const [burnIn, steps] = [20, 200];
    const gen = createDeviceRandom([chains, 2], new Rng(25));
    const [w, bv, ch, weights] = [tf.tensor2d(W), tf.tensor1d(b), tf.tensor1d(c), tf.tensor1d([2, 1])];
    let v: tf.Tensor2D = tf.zeros([chains, 2]);
    let counts: tf.Tensor = tf.zeros([4]);
    for (let t = 0; t < burnIn + steps; t++) {
      const next = tf.tidy(() => {
        const h = gen.bernoulli(tf.sigmoid(tf.add(tf.matMul(v, w), ch)) as tf.Tensor2D);
        return gen.bernoulli(tf.sigmoid(tf.add(tf.matMul(h, tf.transpose(w)), bv)) as tf.Tensor2D);
      });
      v.dispose();
      v = next;
      if (t >= burnIn) {
        const updated = tf.tidy(() => tf.add(counts, tf.sum(tf.oneHot(tf.cast(tf.sum(tf.mul(v, weights), 1), 'int32'), 4), 0)));
        counts.dispose();
        counts = updated;
      }
    }
    const freq = Array.from(await read(counts), (x) => x / (chains * steps));
    // Chains mix in a few steps here; 0.012 is about four standard errors of 10^5 correlated draws.
    freq.forEach((f, i) => expect(Math.abs(f - exact[i]! / z)).toBeLessThan(0.012));
    tf.dispose([w, bv, ch, weights, v, counts]);
    gen.dispose();
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
  it('every backend gives the same bits for uniform and bernoulli draws; normals agree to the accuracy of cos', async () => {
    const results: Record<string, { u: Float32Array[]; b: Float32Array; z: Float32Array }> = {};
    for (const backend of BACKENDS) {
      await useBackend(backend);
      const gen = createDeviceRandom([16, 24], new Rng(22));
      const probs = tf.fill([16, 24], 0.37);
      const u = await draws(gen, 4);
      const b = gen.bernoulli(probs);
      const z = gen.normal();
      results[backend] = { u, b: await read(b), z: await read(z) };
      tf.dispose([probs, b, z]);
      gen.dispose();
    }
    const first = results[BACKENDS[0]!]!;
    for (const backend of BACKENDS.slice(1)) {
      const other = results[backend]!;
      expect(other.u).toEqual(first.u);
      expect(other.b).toEqual(first.b);
      // WGSL lets cos err by 2^-11 (absolute), times a radius below 5.4; SwiftShader's errs by 2e-4.
      expect(maxRelativeError(first.z, other.z, 1)).toBeLessThan(backend === 'webgpu' ? 5.4 * 2 ** -11 : 1e-5);
    }
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
