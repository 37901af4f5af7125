import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { BernoulliRBM } from '../src/rbm/bernoulli.js';
import { GaussianBernoulliRBM } from '../src/rbm/gaussian.js';
import type { RestrictedBoltzmannMachine } from '../src/rbm/rbm.js';
import { exactLogPartition } from '../src/partition/exact.js';

// Oracles in float64 JavaScript over every joint state of tiny RBMs, against the float32 tensor
// code on each backend. The parameters are read back first, so both sides use the same numbers.

interface Params {
  W: number[][];
  b: number[];
  c: number[];
  /** σ² per visible unit (Gaussian-Bernoulli only). */
  variance?: number[];
}

async function readParams(rbm: RestrictedBoltzmannMachine): Promise<Params> {
  const p = rbm.params;
  const out: Params = {
    W: (await p.weights.array()) as number[][],
    b: (await p.visibleBias.array()) as number[],
    c: (await p.hiddenBias.array()) as number[],
  };
  if (p.logVariance) out.variance = ((await p.logVariance.array()) as number[]).map(Math.exp);
  return out;
}

/** Every binary vector of length n, row r holding the bits of r. */
function binaryStates(n: number): number[][] {
  return Array.from({ length: 2 ** n }, (_, r) => Array.from({ length: n }, (_, i) => (r >> i) & 1));
}

function logSumExp(values: number[]): number {
  const max = Math.max(...values);
  return max + Math.log(values.reduce((s, v) => s + Math.exp(v - max), 0));
}

/** E(v, h) = −bᵀv − cᵀh − vᵀWh, or Σ(v−b)²/2σ² − cᵀh − (v/σ²)ᵀWh. */
function energy(p: Params, v: number[], h: number[]): number {
  let e = 0;
  for (let j = 0; j < p.c.length; j++) e -= p.c[j]! * h[j]!;
  for (let i = 0; i < p.b.length; i++) {
    const s = p.variance ? v[i]! / p.variance[i]! : v[i]!;
    e += p.variance ? (v[i]! - p.b[i]!) ** 2 / (2 * p.variance[i]!) : -p.b[i]! * v[i]!;
    for (let j = 0; j < p.c.length; j++) e -= s * p.W[i]![j]! * h[j]!;
  }
  return e;
}

function setRandomParams(rbm: RestrictedBoltzmannMachine, seed: number, logVariance?: number[]): void {
  const rng = new Rng(seed);
  tf.tidy(() => {
    rbm.params.weights.assign(rng.normalTensor([rbm.visible, rbm.hidden], 0, 1));
    rbm.params.visibleBias.assign(rng.normalTensor([rbm.visible], 0, 1));
    rbm.params.hiddenBias.assign(rng.normalTensor([rbm.hidden], 0, 1));
    if (logVariance) rbm.params.logVariance!.assign(tf.tensor1d(logVariance));
  });
}

async function values(t: tf.Tensor): Promise<number[]> {
  const out = Array.from(await t.data());
  t.dispose();
  return out;
}

function expectClose(actual: ArrayLike<number>, expected: ArrayLike<number>, tol: number): void {
  expect(actual.length).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    if (!(Math.abs(actual[i]! - expected[i]!) <= tol * Math.max(1, Math.abs(expected[i]!)))) {
      throw new Error(`entry ${i}: expected ${expected[i]}, got ${actual[i]} (tolerance ${tol})`);
    }
  }
}

/** Runs `fn` and checks that the only tensors it leaves are those it returns. */
function onlyItsOutputs<T extends Record<string, tf.Tensor | undefined>>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const out = fn();
  expect(tf.memory().numTensors - before).toBe(Object.values(out).filter((t) => t !== undefined).length);
  return out;
}

/**
 * Σ over the batch of −∂E/∂θ by central differences of the model's own energy(), perturbing one
 * entry of one parameter at a time.
 */
async function finiteDifferenceStatistics(rbm: RestrictedBoltzmannMachine, v: tf.Tensor2D, h: tf.Tensor2D, key: keyof typeof rbm.params, eps: number): Promise<number[]> {
  const variable = rbm.params[key] as tf.Variable;
  const original = await variable.data();
  // assign() shares the new tensor's data; the tensor itself is the caller's to dispose.
  const set = (entries: Float32Array): void => tf.tidy(() => variable.assign(tf.tensor(entries, variable.shape)));
  const total = async (): Promise<number> => (await values(tf.tidy(() => tf.sum(rbm.energy(v, h)))))[0]!;
  const out: number[] = [];
  for (let k = 0; k < original.length; k++) {
    const shifted = Float32Array.from(original);
    shifted[k] = original[k]! + eps;
    set(shifted);
    const up = await total();
    shifted[k] = original[k]! - eps;
    set(shifted);
    const down = await total();
    out.push(-(up - down) / (2 * eps));
  }
  set(Float32Array.from(original));
  return out;
}

describe.each(['cpu', 'wasm'])('brute force over all joint states (%s)', (backend) => {
  beforeAll(() => useBackend(backend));

  describe('BernoulliRBM 6x4', () => {
    const V = 6;
    const H = 4;

    it('energy, both conditionals, both free energies and log Z equal their brute-force sums', async () => {
      const rbm = new BernoulliRBM({ visible: V, hidden: H });
      setRandomParams(rbm, 11);
      const p = await readParams(rbm);
      const vs = binaryStates(V);
      const hs = binaryStates(H);
      const pairs = vs.flatMap((v) => hs.map((h) => [v, h] as const));
      const joint = pairs.map(([v, h]) => -energy(p, v, h));
      const logZ = logSumExp(joint);

      await withNoLeaks(async () => {
        const vT = tf.tensor2d(pairs.map(([v]) => v));
        const hT = tf.tensor2d(pairs.map(([, h]) => h));
        expectClose(await values(rbm.energy(vT, hT)), pairs.map(([v, h]) => energy(p, v, h)), 1e-5);
        tf.dispose([vT, hT]);

        const allV = tf.tensor2d(vs);
        const allH = tf.tensor2d(hs);
        // p(h_j = 1 | v) = Σ_h h_j e^{−E(v,h)} / Σ_h e^{−E(v,h)}, and the same way for v given h.
        const hiddenBrute = vs.flatMap((v) => {
          const w = hs.map((h) => Math.exp(-energy(p, v, h)));
          const z = w.reduce((a, b) => a + b, 0);
          return Array.from({ length: H }, (_, j) => hs.reduce((s, h, k) => s + h[j]! * w[k]!, 0) / z);
        });
        expectClose(await values(rbm.hiddenProbabilities(allV)), hiddenBrute, 1e-5);
        const visibleBrute = hs.flatMap((h) => {
          const w = vs.map((v) => Math.exp(-energy(p, v, h)));
          const z = w.reduce((a, b) => a + b, 0);
          return Array.from({ length: V }, (_, i) => vs.reduce((s, v, k) => s + v[i]! * w[k]!, 0) / z);
        });
        expectClose(await values(rbm.visibleMean(allH)), visibleBrute, 1e-5);

        expectClose(await values(rbm.freeEnergy(allV)), vs.map((v) => -logSumExp(hs.map((h) => -energy(p, v, h)))), 1e-5);
        expectClose(await values(rbm.hiddenFreeEnergy(allH)), hs.map((h) => -logSumExp(vs.map((v) => -energy(p, v, h)))), 1e-5);
        tf.dispose([allV, allH]);

        // Over the hidden layer (the smaller one), over the visible layer, and in chunks of 4 states.
        expect(await exactLogPartition(rbm)).toBeCloseTo(logZ, 4);
        expect(await exactLogPartition(rbm, { layer: 'visible' })).toBeCloseTo(logZ, 4);
        expect(await exactLogPartition(rbm, { layer: 'visible', chunkSize: 4 })).toBeCloseTo(logZ, 4);
        expect(await exactLogPartition(rbm, { chunkSize: 2 })).toBeCloseTo(logZ, 4);
      });
      rbm.dispose();
    });

    it('exactLogPartition sums over the visible layer when it is the smaller one (4x6)', async () => {
      const rbm = new BernoulliRBM({ visible: H, hidden: V });
      setRandomParams(rbm, 12);
      const p = await readParams(rbm);
      const logZ = logSumExp(binaryStates(H).flatMap((v) => binaryStates(V).map((h) => -energy(p, v, h))));
      const auto = await withNoLeaks(() => exactLogPartition(rbm));
      expect(auto).toBeCloseTo(logZ, 4);
      expect(await exactLogPartition(rbm, { layer: 'hidden' })).toBeCloseTo(logZ, 4);
      rbm.dispose();
    });

    it('statistics() equals the finite-difference −∂E/∂θ summed over a batch', async () => {
      const rbm = new BernoulliRBM({ visible: V, hidden: H });
      setRandomParams(rbm, 13);
      const rng = new Rng(2);
      const v = rng.bernoulli(tf.fill([5, V], 0.5) as tf.Tensor2D);
      // Probabilities as well as samples: CD uses both.
      const h = rng.uniform([5, H]);
      const stats = onlyItsOutputs(() => rbm.statistics(v, h));
      for (const key of ['weights', 'visibleBias', 'hiddenBias'] as const) {
        // E is linear in these parameters, so central differences are exact up to float32 rounding.
        expectClose(await values(stats[key]!), await finiteDifferenceStatistics(rbm, v, h, key, 0.05), 2e-3);
      }
      tf.dispose([v, h]);
      rbm.dispose();
    });
  });

  describe('GaussianBernoulliRBM', () => {
    it('energy, p(h | v) and F(v) equal sums over the hidden states; p(v | h) has the integrated mean and variance', async () => {
      // Two visible units with different σ, three hidden units.
      const rbm = new GaussianBernoulliRBM({ visible: 2, hidden: 3, learnVariance: true });
      setRandomParams(rbm, 21, [Math.log(0.5), Math.log(1.7)]);
      const p = await readParams(rbm);
      const hs = binaryStates(3);
      const rng = new Rng(4);
      const vRows = Array.from({ length: 7 }, () => [rng.normal() * 2, rng.normal() * 2]);
      await withNoLeaks(async () => {
        const vT = tf.tensor2d(vRows.flatMap((v) => hs.map(() => v)));
        const hT = tf.tensor2d(vRows.flatMap(() => hs));
        expectClose(await values(rbm.energy(vT, hT)), vRows.flatMap((v) => hs.map((h) => energy(p, v, h))), 1e-5);
        tf.dispose([vT, hT]);
        const allV = tf.tensor2d(vRows);
        expectClose(await values(rbm.freeEnergy(allV)), vRows.map((v) => -logSumExp(hs.map((h) => -energy(p, v, h)))), 1e-5);
        const hiddenBrute = vRows.flatMap((v) => {
          const w = hs.map((h) => Math.exp(-energy(p, v, h)));
          const z = w.reduce((a, b) => a + b, 0);
          return [0, 1, 2].map((j) => hs.reduce((s, h, k) => s + h[j]! * w[k]!, 0) / z);
        });
        expectClose(await values(rbm.hiddenProbabilities(allV)), hiddenBrute, 1e-5);
        allV.dispose();

        // ∫ e^{−E(v,h)} dv on a grid of ±10σ around the conditional mean: its log is −F(h), its
        // first two moments are those of p(v | h).
        const allH = tf.tensor2d(hs);
        const means = await values(rbm.visibleMean(allH));
        const freeH = await values(rbm.hiddenFreeEnergy(allH));
        allH.dispose();
        const sd = p.variance!.map(Math.sqrt);
        const steps = 160;
        hs.forEach((h, k) => {
          const grid = [0, 1].map((i) => Array.from({ length: steps + 1 }, (_, s) => means[2 * k + i]! + sd[i]! * (-10 + (20 * s) / steps)));
          const cell = (20 * sd[0]!) / steps * ((20 * sd[1]!) / steps);
          let z = 0;
          let [m1a, m1b, m2a, m2b] = [0, 0, 0, 0];
          for (const a of grid[0]!) {
            for (const b of grid[1]!) {
              const w = Math.exp(-energy(p, [a, b], h)) * cell;
              z += w;
              m1a += a * w;
              m1b += b * w;
              m2a += a * a * w;
              m2b += b * b * w;
            }
          }
          const m1 = [m1a, m1b];
          const m2 = [m2a, m2b];
          expect(freeH[k]).toBeCloseTo(-Math.log(z), 4);
          for (const i of [0, 1]) {
            const mean = m1[i]! / z;
            expect(means[2 * k + i]).toBeCloseTo(mean, 4);
            expect(m2[i]! / z - mean * mean).toBeCloseTo(p.variance![i]!, 3);
          }
        });
      });
      rbm.dispose();
    });

    it('exact log Z over the hidden states equals a numerical integral of exp(−F(v)) (1 visible unit)', async () => {
      const rbm = new GaussianBernoulliRBM({ visible: 1, hidden: 4, learnVariance: true });
      setRandomParams(rbm, 22, [Math.log(0.8)]);
      const p = await readParams(rbm);
      const hs = binaryStates(4);
      // exp(−F(v)) is a mixture of 16 Gaussians with means b + W h: integrate over all of them.
      const centres = hs.map((h) => p.b[0]! + h.reduce((s, hj, j) => s + p.W[0]![j]! * hj, 0));
      const sd = Math.sqrt(p.variance![0]!);
      const low = Math.min(...centres) - 12 * sd;
      const high = Math.max(...centres) + 12 * sd;
      const steps = 20_000;
      const dv = (high - low) / steps;
      const logTerms: number[] = [];
      for (let s = 0; s <= steps; s++) {
        const v = low + s * dv;
        // Trapezoid weights.
        logTerms.push(logSumExp(hs.map((h) => -energy(p, [v], h))) + Math.log(s === 0 || s === steps ? dv / 2 : dv));
      }
      const logZ = logSumExp(logTerms);
      expect(await withNoLeaks(() => exactLogPartition(rbm))).toBeCloseTo(logZ, 4);
      await expect(exactLogPartition(rbm, { layer: 'visible' })).rejects.toThrow(/real-valued/);
      rbm.dispose();
    });

    it('statistics() equals the finite-difference −∂E/∂θ, log-variance included', async () => {
      const rbm = new GaussianBernoulliRBM({ visible: 3, hidden: 2, learnVariance: true });
      setRandomParams(rbm, 23, [Math.log(0.7), 0, Math.log(1.3)]);
      const rng = new Rng(5);
      const v = rng.normalTensor([4, 3]);
      const h = rng.bernoulli(tf.fill([4, 2], 0.5) as tf.Tensor2D);
      const stats = onlyItsOutputs(() => rbm.statistics(v, h));
      expect(Object.keys(stats).sort()).toEqual(['hiddenBias', 'logVariance', 'visibleBias', 'weights']);
      for (const key of ['weights', 'visibleBias', 'hiddenBias', 'logVariance'] as const) {
        // Quadratic in b and exponential in z: eps = 1e-2 keeps the truncation error near 1e-4.
        expectClose(await values(stats[key]!), await finiteDifferenceStatistics(rbm, v, h, key, 1e-2), 5e-3);
      }
      tf.dispose([v, h]);
      rbm.dispose();
    });
  });
});
