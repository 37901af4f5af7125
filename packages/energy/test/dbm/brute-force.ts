import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@helmholtz/core';
import type { DBM } from '../../src/dbm/dbm.js';

/** A DBM's numbers in plain float64 arrays: the oracle side of the tests. */
export interface PlainDbm {
  layers: number[];
  /** weights[l][i][j] joins unit i of layer l and unit j of layer l + 1. */
  weights: number[][][];
  biases: number[][];
  /** The centring offsets, when the DBM has them. */
  offsets?: number[][];
}

export async function readDbm(dbm: DBM): Promise<PlainDbm> {
  const weights = await Promise.all(dbm.params.weights.map((w) => w.array()));
  const biases = await Promise.all(dbm.params.biases.map((b) => b.array()));
  const offsets = dbm.state.offsets ? await Promise.all(dbm.state.offsets.map((o) => o.array())) : undefined;
  return { layers: [...dbm.layers], weights, biases, ...(offsets ? { offsets } : {}) };
}

/** The energy as the model defines it, centred form included: −Σ b·(x − o) − Σ (x − o)ᵀ W (x' − o'). */
export function energyOf(p: PlainDbm, states: number[][]): number {
  const c = (l: number, i: number) => (states[l] as number[])[i]! - (p.offsets ? p.offsets[l]![i]! : 0);
  let e = 0;
  p.layers.forEach((size, l) => {
    for (let i = 0; i < size; i++) e -= p.biases[l]![i]! * c(l, i);
    if (l + 1 < p.layers.length) {
      for (let i = 0; i < size; i++) for (let j = 0; j < p.layers[l + 1]!; j++) e -= c(l, i) * p.weights[l]![i]![j]! * c(l + 1, j);
    }
  });
  return e;
}

function bits(code: number, size: number): number[] {
  return Array.from({ length: size }, (_, i) => (code >> i) & 1);
}

function logSumExp(values: number[]): number {
  const max = Math.max(...values);
  return max + Math.log(values.reduce((s, v) => s + Math.exp(v - max), 0));
}

/**
 * Every joint state, enumerated in float64: log Z and log p(v) for each visible code (v's bits
 * least significant first). Tiny DBMs only (all units together at most ~16).
 */
export function bruteForce(p: PlainDbm): { logZ: number; logMarginal: number[] } {
  const hiddenSizes = p.layers.slice(1);
  const hiddenUnits = hiddenSizes.reduce((s, n) => s + n, 0);
  const visible = p.layers[0]!;
  const logMarginal: number[] = [];
  for (let v = 0; v < 2 ** visible; v++) {
    const terms: number[] = [];
    for (let h = 0; h < 2 ** hiddenUnits; h++) {
      const all = bits(h, hiddenUnits);
      const states = [bits(v, visible)];
      let at = 0;
      for (const size of hiddenSizes) {
        states.push(all.slice(at, at + size));
        at += size;
      }
      terms.push(-energyOf(p, states));
    }
    logMarginal.push(logSumExp(terms));
  }
  const logZ = logSumExp(logMarginal);
  return { logZ, logMarginal: logMarginal.map((m) => m - logZ) };
}

/** All 2^size binary rows, row r holding the bits of r (least significant first). */
export function allRows(size: number): number[][] {
  return Array.from({ length: 2 ** size }, (_, r) => bits(r, size));
}

/** Random weights (N(0, scale²)) and biases (N(0, 0.5²)) in every layer, so tests see them all at work. */
export function randomise(dbm: DBM, seed: number, scale = 1): void {
  const rng = new Rng(seed);
  tf.tidy(() => {
    dbm.params.weights.forEach((w) => w.assign(rng.normalTensor(w.shape, 0, scale) as tf.Tensor2D));
    dbm.params.biases.forEach((b) => b.assign(rng.normalTensor(b.shape, 0, 0.5) as tf.Tensor1D));
    dbm.state.offsets?.forEach((o) => o.assign(rng.uniform(o.shape) as tf.Tensor1D));
  });
}

/** Runs `fn` and checks that the engine gained exactly the tensors `fn` returned (`count(result)`). */
export function expectOnlyReturned<T>(fn: () => T, count: (result: T) => number = (r) => (r instanceof tf.Tensor ? 1 : 0)): T {
  const before = tf.memory().numTensors;
  const result = fn();
  const after = tf.memory().numTensors;
  if (after !== before + count(result)) throw new Error(`expected ${count(result)} new tensors (the result), the engine gained ${after - before}`);
  return result;
}
