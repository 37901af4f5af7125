// Float64 oracles for a fully-visible Boltzmann machine, by enumeration in plain JavaScript.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@helmholtz/core';
import type { FullyVisibleBoltzmannMachine } from '../../src/fvbm/model.js';

export interface Machine {
  n: number;
  /** Symmetric couplings with a zero diagonal, row-major [n * n]. */
  u: Float64Array;
  b: Float64Array;
}

/** The machine a model's parameters define: (W + Wᵀ)/2 off the diagonal. */
export function machineOf(model: FullyVisibleBoltzmannMachine): Machine {
  const n = model.units;
  const w = model.params.weights.dataSync();
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) u[i * n + j] = i === j ? 0 : ((w[i * n + j] as number) + (w[j * n + i] as number)) / 2;
  return { n, u, b: Float64Array.from(model.params.bias.dataSync()) };
}

/** Random symmetric couplings N(0, scale²) with a zero diagonal and biases N(0, biasScale²), assigned to the model. */
export function randomize(model: FullyVisibleBoltzmannMachine, seed: number, scale = 1, biasScale = 0.5): Machine {
  const n = model.units;
  const rng = new Rng(seed);
  const u = new Float64Array(n * n);
  for (let i = 0; i < n; i++) for (let j = i + 1; j < n; j++) u[i * n + j] = u[j * n + i] = rng.normal() * scale;
  const b = Float64Array.from({ length: n }, () => rng.normal() * biasScale);
  tf.tidy(() => {
    model.params.weights.assign(tf.tensor2d(Array.from(u), [n, n]));
    model.params.bias.assign(tf.tensor1d(Array.from(b)));
  });
  return machineOf(model);
}

/** The bits of state s, least significant first (the enumeration's order). */
export function bits(s: number, n: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(s / 2 ** i) % 2);
}

export function negEnergy(m: Machine, x: ArrayLike<number>): number {
  let e = 0;
  for (let i = 0; i < m.n; i++) {
    if (!x[i]) continue;
    e += m.b[i] as number;
    for (let j = i + 1; j < m.n; j++) if (x[j]) e += m.u[i * m.n + j] as number;
  }
  return e;
}

export function logPartition(m: Machine): number {
  const values = Array.from({ length: 2 ** m.n }, (_, s) => negEnergy(m, bits(s, m.n)));
  const max = Math.max(...values);
  return max + Math.log(values.reduce((a, v) => a + Math.exp(v - max), 0));
}

/** p(x) for every state, in the enumeration's order. */
export function probabilities(m: Machine): Float64Array {
  const logZ = logPartition(m);
  return Float64Array.from({ length: 2 ** m.n }, (_, s) => Math.exp(negEnergy(m, bits(s, m.n)) - logZ));
}

/** E[x] and E[x xᵀ] (row-major). */
export function moments(m: Machine): { mean: Float64Array; second: Float64Array } {
  const p = probabilities(m);
  const mean = new Float64Array(m.n);
  const second = new Float64Array(m.n * m.n);
  p.forEach((ps, s) => {
    const x = bits(s, m.n);
    for (let i = 0; i < m.n; i++) {
      if (!x[i]) continue;
      mean[i] = mean[i]! + ps;
      for (let j = 0; j < m.n; j++) if (x[j]) second[i * m.n + j] = second[i * m.n + j]! + ps;
    }
  });
  return { mean, second };
}

/** Moments of a data set given as rows of bits. */
export function dataMoments(rows: number[][], n: number): { mean: Float64Array; second: Float64Array } {
  const mean = new Float64Array(n);
  const second = new Float64Array(n * n);
  for (const x of rows) {
    for (let i = 0; i < n; i++) {
      if (!x[i]) continue;
      mean[i] = mean[i]! + 1 / rows.length;
      for (let j = 0; j < n; j++) if (x[j]) second[i * n + j] = second[i * n + j]! + 1 / rows.length;
    }
  }
  return { mean, second };
}

/** p(x_i = 1 | x_−i) by the ratio of two joint probabilities. */
export function conditional(m: Machine, x: number[], i: number): number {
  const on = [...x];
  on[i] = 1;
  const off = [...x];
  off[i] = 0;
  const a = negEnergy(m, on);
  const c = negEnergy(m, off);
  return 1 / (1 + Math.exp(c - a));
}

/** `count` exact draws from the machine, by inverse CDF over its enumerated states. */
export function exactDraws(m: Machine, count: number, seed: number): number[][] {
  const p = probabilities(m);
  const rng = new Rng(seed);
  const rows: number[][] = [];
  for (let k = 0; k < count; k++) {
    let u = rng.next();
    let s = 0;
    while (s < p.length - 1 && u >= (p[s] as number)) u -= p[s++] as number;
    rows.push(bits(s, m.n));
  }
  return rows;
}

/** The mean log-likelihood of rows under the machine. */
export function meanLogLikelihood(m: Machine, rows: number[][]): number {
  const logZ = logPartition(m);
  return rows.reduce((a, x) => a + negEnergy(m, x) - logZ, 0) / rows.length;
}
