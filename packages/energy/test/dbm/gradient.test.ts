import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { useBackend } from '@helmholtz/core/testing';
import { DBM } from '../../src/dbm/dbm.js';
import { createDbmTrainer } from '../../src/dbm/trainer.js';
import { allRows, energyOf, readDbm, randomise, type PlainDbm } from './brute-force.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

/** The mean-field fixed point of one data row, in float64, by sweeps from 0.5 until nothing moves. */
function meanField64(p: PlainDbm, v: number[]): number[][] {
  const c = (l: number, i: number, x: number) => x - (p.offsets ? p.offsets[l]![i]! : 0);
  const mu: number[][] = [v, ...p.layers.slice(1).map((n) => Array<number>(n).fill(0.5))];
  const top = p.layers.length - 1;
  for (let sweep = 0; sweep < 2000; sweep++) {
    let change = 0;
    for (const parity of [1, 0]) {
      for (let l = 1; l <= top; l++) {
        if (l % 2 !== parity) continue;
        for (let j = 0; j < p.layers[l]!; j++) {
          // −∂E/∂x_lj of the centred energy, with the neighbours at their means.
          let input = p.biases[l]![j]!;
          for (let i = 0; i < p.layers[l - 1]!; i++) input += c(l - 1, i, mu[l - 1]![i]!) * p.weights[l - 1]![i]![j]!;
          if (l < top) for (let k = 0; k < p.layers[l + 1]!; k++) input += p.weights[l]![j]![k]! * c(l + 1, k, mu[l + 1]![k]!);
          const next = sigmoid(input);
          change = Math.max(change, Math.abs(next - mu[l]![j]!));
          mu[l]![j] = next;
        }
      }
    }
    if (change < 1e-12) break;
  }
  return mu;
}

/** Every joint state of the DBM with its probability, in float64. */
function jointStates(p: PlainDbm): { states: number[][]; prob: number }[] {
  const total = p.layers.reduce((s, n) => s + n, 0);
  const out = allRows(total).map((bits) => {
    const states: number[][] = [];
    let at = 0;
    for (const n of p.layers) {
      states.push(bits.slice(at, at + n));
      at += n;
    }
    return { states, logWeight: -energyOf(p, states) };
  });
  const max = Math.max(...out.map((s) => s.logWeight));
  const z = out.reduce((s, x) => s + Math.exp(x.logWeight - max), 0);
  return out.map((s) => ({ states: s.states, prob: Math.exp(s.logWeight - max) / z }));
}

/**
 * The variational SML gradient in float64: for W_l, ⟨(μ_l − o_l)(μ_{l+1} − o_{l+1})ᵀ⟩ over the
 * batch's mean-field means minus the exact model expectation of the same product; for b_l,
 * ⟨μ_l⟩ − E[x_l] (the offsets cancel). Offsets are 0 for a plain DBM.
 */
function exactAscent(p: PlainDbm, batch: number[][]): { weights: number[][][]; biases: number[][] } {
  const o = (l: number, i: number) => (p.offsets ? p.offsets[l]![i]! : 0);
  const top = p.layers.length - 1;
  const weights = p.weights.map((w) => w.map((row) => row.map(() => 0)));
  const biases = p.biases.map((b) => b.map(() => 0));
  const accumulate = (states: number[][], weight: number) => {
    for (let l = 0; l <= top; l++) {
      for (let i = 0; i < p.layers[l]!; i++) {
        biases[l]![i]! += weight * states[l]![i]!;
        if (l < top) {
          for (let j = 0; j < p.layers[l + 1]!; j++) weights[l]![i]![j]! += weight * (states[l]![i]! - o(l, i)) * (states[l + 1]![j]! - o(l + 1, j));
        }
      }
    }
  };
  for (const v of batch) accumulate(meanField64(p, v), 1 / batch.length);
  for (const { states, prob } of jointStates(p)) accumulate(states, -prob);
  return { weights, biases };
}

describe('DBM trainer update against the exact gradient (cpu)', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([
    ['plain', false],
    ['centred', true],
  ])('a %s 3-2-2 DBM: one SGD update is lr × (mean-field data statistics − exact model statistics)', async (_name, centering) => {
    // Many persistent chains, well mixed by 30 sweeps at these weights, make the negative phase
    // a near-exact model expectation (its error is about 0.5/√20000 per entry).
    const dbm = new DBM({ layers: [3, 2, 2], seed: 1, chains: 20000, centering });
    randomise(dbm, 31, 0.6);
    const before = await readDbm(dbm);
    const rows = [
      [1, 0, 1],
      [0, 0, 1],
      [1, 1, 0],
      [1, 1, 1],
      [0, 1, 0],
    ];
    const expected = exactAscent(before, rows);
    const lr = 0.01;
    const trainer = createDbmTrainer(dbm, {
      optimizer: 'sgd',
      learningRate: lr,
      weightDecay: 0,
      gibbsSteps: 30,
      meanFieldIterations: 60,
      rng: 2,
      ...(centering ? { offsetRate: 0 } : {}),
    });
    const batch = tf.tensor2d(rows);
    trainer.step(batch).reconstructionError.dispose();
    const after = await readDbm(dbm);
    let worst = 0;
    let largest = 0;
    after.weights.forEach((w, l) =>
      w.forEach((row, i) =>
        row.forEach((value, j) => {
          const ascent = (value - before.weights[l]![i]![j]!) / lr;
          worst = Math.max(worst, Math.abs(ascent - expected.weights[l]![i]![j]!));
          largest = Math.max(largest, Math.abs(expected.weights[l]![i]![j]!));
        }),
      ),
    );
    after.biases.forEach((b, l) =>
      b.forEach((value, i) => {
        const ascent = (value - before.biases[l]![i]!) / lr;
        worst = Math.max(worst, Math.abs(ascent - expected.biases[l]![i]!));
        largest = Math.max(largest, Math.abs(expected.biases[l]![i]!));
      }),
    );
    // The gradient is far from zero, so a wrong statistic cannot hide in the tolerance.
    expect(largest).toBeGreaterThan(0.1);
    expect(worst).toBeLessThan(0.02);
    batch.dispose();
    trainer.dispose();
    dbm.dispose();
  });
});
