import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { BERNOULLI_KERNEL, sampleBernoulliWith } from '../../src/fast/sample-bernoulli.js';
import { laneSeeds, scratchKernels } from '../../src/fast/wasm/kernels.js';
import { Rng } from '../../src/random/rng.js';
import { TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from '../layers/leak-check.js';

// A third backend with tfjs-backend-cpu's kernels under another name: sampleBernoulliWith has
// no kernel for it, so it takes the path GPU backends take (uniforms made in WebAssembly,
// compared with tf.less on the backend). Node has no GPU backend to run that path on.
const GENERIC = 'cpu-without-helmholtz-kernels';
const BACKENDS = [...TEST_BACKENDS, GENERIC];

beforeAll(() => {
  tf.registerBackend(GENERIC, () => new MathBackendCPU());
  tf.copyRegisteredKernels('cpu', GENERIC);
});

afterAll(() => {
  tf.removeBackend(GENERIC);
});

/**
 * What the samples must be: u < p, with u the lane uniforms of the next 16 words of a twin
 * generator. The uniform kernel is checked against a plain-JS xoshiro128+ in wasm-kernels.test.ts.
 */
function expectedSamples(twin: Rng, probs: Float32Array): number[] {
  const seeds = laneSeeds(() => twin.nextUint32());
  const n = probs.length;
  const kernels = scratchKernels(4 * n)!;
  kernels.uniform(0, n, seeds);
  const u = new Float32Array(kernels.memory.buffer, 0, n);
  return Array.from(probs, (p, k) => (u[k]! < p ? 1 : 0));
}

function randomProbs(seed: number, n: number): Float32Array {
  const rng = new Rng(seed);
  return Float32Array.from({ length: n }, () => rng.next());
}

/** Index of the first element where the arrays differ (-1 if none), so a failure names it. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

const SHAPES: number[][] = [[1000], [2, 3, 5], [7], [4, 4], [3, 1, 1], [0], [2, 0, 3], []];

async function kernelNames(fn: () => tf.Tensor): Promise<string[]> {
  const info = await tf.profile(fn);
  tf.dispose(info.result as tf.Tensor);
  // Every kernel run, in order (kernelNames lists each name once).
  return info.kernels.map((k) => k.name);
}

describe.each(BACKENDS)('sampleBernoulliWith on %s', (backend) => {
  it.each(SHAPES.map((s) => [JSON.stringify(s), s] as const))(
    'rng.bernoulli over shape %s is exactly u < p for the lane uniforms of its next 16 words',
    async (_, shape) => {
      await useBackend(backend);
      const values = randomProbs(shape.length * 31 + tf.util.sizeFromShape(shape), tf.util.sizeFromShape(shape));
      const probs = tf.tensor(values, shape);
      const rng = new Rng(7);
      const twin = new Rng(7);
      const samples = expectOnlyReturnedTensors(() => rng.bernoulli(probs));
      expect(samples.shape).toEqual(shape);
      expect(samples.dtype).toBe('float32');
      expect(Array.from(samples.dataSync())).toEqual(expectedSamples(twin, values));
      expect(rng.state()).toEqual(twin.state());
      tf.dispose([probs, samples]);
    },
  );

  it(backend === GENERIC ? 'composes the draw from tfjs ops (no kernel of its own)' : `runs the ${BERNOULLI_KERNEL} kernel`, async () => {
    await useBackend(backend);
    const probs = tf.fill([9], 0.5);
    const rng = new Rng(1);
    const names = await kernelNames(() => rng.bernoulli(probs));
    if (backend === GENERIC) {
      expect(names).not.toContain(BERNOULLI_KERNEL);
      expect(names).toContain('Less');
    } else {
      expect(names).toEqual([BERNOULLI_KERNEL]);
    }
    probs.dispose();
  });

  it('frequencies of 1e6 draws are within 5 standard errors of p, per lane and jointly for neighbours; p = 0 and 1 are exact', async () => {
    await useBackend(backend);
    const n = 1_000_000;
    const rng = new Rng(2024);
    for (const p of [0, 1, 0.3, 0.999]) {
      const probs = tf.fill([n], p);
      const samples = rng.bernoulli(probs);
      const x = samples.dataSync();
      tf.dispose([probs, samples]);
      const pf = Math.fround(p);
      let ones = 0;
      const laneOnes = [0, 0, 0, 0];
      // Pairs k, k + lag: lags 1-3 pair different lanes, lag 4 consecutive draws of one lane.
      const both = [0, 0, 0, 0, 0];
      for (let k = 0; k < n; k++) {
        const xk = x[k]!;
        if (xk !== 0 && xk !== 1) throw new Error(`sample ${k} is ${xk}, not 0 or 1`);
        ones += xk;
        laneOnes[k % 4]! += xk;
        for (let lag = 1; lag <= 4; lag++) if (k + lag < n) both[lag]! += xk * x[k + lag]!;
      }
      if (p === 0 || p === 1) {
        expect(ones).toBe(p * n);
        continue;
      }
      const within = (count: number, trials: number, q: number) =>
        expect(Math.abs(count / trials - q)).toBeLessThanOrEqual(5 * Math.sqrt((q * (1 - q)) / trials));
      within(ones, n, pf);
      for (const count of laneOnes) within(count, n / 4, pf);
      for (let lag = 1; lag <= 4; lag++) within(both[lag]!, n - lag, pf * pf);
    }
  });

  it('gives 0 where p is NaN, casts int32 probabilities, and samples a rank-0 tensor', async () => {
    await useBackend(backend);
    const rng = new Rng(3);
    const withNaN = tf.tensor1d([Number.NaN, 1, Number.NaN, 1, Number.NaN]);
    const a = rng.bernoulli(withNaN);
    expect(Array.from(a.dataSync())).toEqual([0, 1, 0, 1, 0]);

    const ints = tf.tensor2d([0, 1, 2, -1, 1, 0], [2, 3], 'int32');
    const b = expectOnlyReturnedTensors(() => rng.bernoulli(ints));
    expect(b.dtype).toBe('float32');
    expect(b.shape).toEqual([2, 3]);
    expect(Array.from(b.dataSync())).toEqual([0, 1, 1, 0, 1, 0]);

    const one = tf.scalar(1);
    const zero = tf.scalar(0);
    const c = rng.bernoulli(one);
    const d = rng.bernoulli(zero);
    expect(c.shape).toEqual([]);
    expect([c.dataSync()[0], d.dataSync()[0]]).toEqual([1, 0]);
    const half = tf.scalar(0.5);
    const twin = Rng.fromState(rng.state());
    const e = rng.bernoulli(half);
    expect(Array.from(e.dataSync())).toEqual(expectedSamples(twin, Float32Array.of(0.5)));
    tf.dispose([withNaN, a, ints, b, one, zero, c, d, half, e]);
  });

  it('consecutive calls differ, the same seed repeats, and each call draws 16 words', async () => {
    await useBackend(backend);
    const probs = tf.fill([257], 0.5);
    const draw = (rng: Rng) => {
      const s = rng.bernoulli(probs);
      const values = Array.from(s.dataSync());
      s.dispose();
      return values;
    };
    const a = new Rng(11);
    const b = new Rng(11);
    const first = draw(a);
    const second = draw(a);
    expect(second).not.toEqual(first);
    expect([draw(b), draw(b)]).toEqual([first, second]);

    const c = new Rng(12);
    const twin = new Rng(12);
    draw(c);
    for (let i = 0; i < 16; i++) twin.nextUint32();
    expect(c.state()).toEqual(twin.state());
    const empty = tf.zeros([0]);
    c.bernoulli(empty).dispose();
    for (let i = 0; i < 16; i++) twin.nextUint32();
    expect(c.state()).toEqual(twin.state());
    tf.dispose([probs, empty]);
  });

  it('leaves only the returned tensor behind (float32, int32, rank 0, size 0)', async () => {
    await useBackend(backend);
    const rng = new Rng(4);
    const inputs = [tf.fill([3, 5], 0.25), tf.tensor1d([0, 1, 1], 'int32'), tf.scalar(0.5), tf.zeros([0, 4])];
    for (const probs of inputs) {
      const before = tf.memory().numTensors;
      expectOnlyReturnedTensors(() => rng.bernoulli(probs)).dispose();
      expectOnlyReturnedTensors(() => sampleBernoulliWith(probs, () => rng.nextUint32())).dispose();
      expect(tf.memory().numTensors).toBe(before);
    }
    tf.dispose(inputs);
  });
});

describe('the same seed gives the same samples on every backend', () => {
  it.each(SHAPES.map((s) => [JSON.stringify(s), s] as const))('shape %s: cpu, wasm and the generic path agree bit for bit', async (_, shape) => {
    const values = randomProbs(99, tf.util.sizeFromShape(shape));
    const results: number[][] = [];
    for (const backend of BACKENDS) {
      await useBackend(backend);
      const probs = tf.tensor(values, shape);
      const samples = new Rng(123).bernoulli(probs);
      results.push(Array.from(samples.dataSync()));
      tf.dispose([probs, samples]);
    }
    expect(results[1]).toEqual(results[0]);
    expect(results[2]).toEqual(results[0]);
    // Not all zeros or all ones (for shapes large enough to tell).
    if (values.length >= 16) expect(new Set(results[0]).size).toBe(2);
  });
});

describe('without WebAssembly SIMD (kernels unavailable)', () => {
  type Module = typeof import('../../src/fast/sample-bernoulli.js');
  let fallback: Module['sampleBernoulliWith'];

  beforeAll(async () => {
    vi.resetModules();
    vi.doMock('../../src/fast/wasm/kernels.js', async (importOriginal) => ({
      ...(await importOriginal<typeof import('../../src/fast/wasm/kernels.js')>()),
      kernelsOn: () => null,
      scratchKernels: () => null,
    }));
    fallback = ((await import('../../src/fast/sample-bernoulli.js')) as Module).sampleBernoulliWith;
  });

  afterAll(() => {
    vi.doUnmock('../../src/fast/wasm/kernels.js');
    vi.resetModules();
  });

  it.each(TEST_BACKENDS)('on %s falls back to tfjs uniforms: valid, reproducible, right frequencies, no leaks', async (backend) => {
    await useBackend(backend);
    const n = 100_000;
    const probs = tf.fill([n], 0.3);
    const rng = new Rng(8);
    const names = await kernelNames(() => fallback(probs, () => rng.nextUint32()));
    expect(names).not.toContain(BERNOULLI_KERNEL);
    const [first, again] = [new Rng(9), new Rng(9)];
    const a = expectOnlyReturnedTensors(() => fallback(probs, () => first.nextUint32()));
    const b = fallback(probs, () => again.nextUint32());
    const x = Float32Array.from(a.dataSync());
    expect(firstDifference(x, b.dataSync())).toBe(-1);
    const ones = x.reduce((s, v) => s + v, 0);
    expect(x.every((v) => v === 0 || v === 1)).toBe(true);
    expect(Math.abs(ones / n - 0.3)).toBeLessThanOrEqual(5 * Math.sqrt((0.3 * 0.7) / n));
    // Documented: tfjs's generator seeded with the first of the 16 words, on [0, 1 - 2^-24).
    const [source, twin] = [new Rng(10), new Rng(10)];
    const drawn = fallback(probs, () => source.nextUint32());
    const u = tf.randomUniform([n], 0, 1 - 2 ** -24, 'float32', laneSeeds(() => twin.nextUint32())[0]! >>> 0);
    const uv = u.dataSync();
    expect(firstDifference(drawn.dataSync(), Array.from(uv, (v) => (v < Math.fround(0.3) ? 1 : 0)))).toBe(-1);
    tf.dispose([drawn, u]);
    const edges = tf.tensor1d([0, 0, Number.NaN, 1, 1]);
    const c = fallback(edges, () => rng.nextUint32());
    expect(Array.from(c.dataSync())).toEqual([0, 0, 0, 1, 1]);
    tf.dispose([probs, a, b, edges, c]);
  });

  // tfjs's float32 uniforms can be exactly 1 (a double in [1 - 2^-25, 1) rounds up), so u < 1
  // would fail there; with tfjs seed 1 the first such draw is element 8,165,288.
  it('p = 1 always gives 1, even where tfjs rounds a uniform up to 1', async () => {
    await useBackend('cpu');
    const probs = tf.ones([8_165_289]);
    // Every word 1: tfjs's generator gets seed 1.
    const samples = fallback(probs, () => 1);
    try {
      let zeros = 0;
      for (const x of samples.dataSync()) zeros += 1 - x;
      expect(zeros).toBe(0);
    } finally {
      tf.dispose([probs, samples]);
    }
  });
});
