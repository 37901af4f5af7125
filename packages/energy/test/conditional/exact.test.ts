import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@helmholtz/core';
import { expectAllClose, expectNoLeaks, useBackend } from '@helmholtz/core/testing';
import { ConditionalRBM } from '../../src/conditional/model.js';
import { sequenceWindows } from '../../src/conditional/sequences.js';

interface Params {
  V: number;
  H: number;
  M: number;
  w: number[][]; // [V][H]
  b: number[];
  c: number[];
  a: number[][]; // [M·V][V]
  bh: number[][]; // [M·V][H]
}

/** Random parameters of scale 1, assigned to the model and returned as float64 arrays. */
function randomize(model: ConditionalRBM, seed: number): Params {
  const rng = new Rng(seed);
  const V = model.visible;
  const H = model.hidden;
  const MV = model.historySize;
  const matrix = (r: number, c: number) => Array.from({ length: r }, () => Array.from({ length: c }, () => rng.normal()));
  const p: Params = { V, H, M: model.order, w: matrix(V, H), b: matrix(1, V)[0]!, c: matrix(1, H)[0]!, a: matrix(MV, V), bh: matrix(MV, H) };
  tf.tidy(() => {
    model.params.weights.assign(tf.tensor2d(p.w));
    model.params.visibleBias.assign(tf.tensor1d(p.b));
    model.params.hiddenBias.assign(tf.tensor1d(p.c));
    if (MV > 0) {
      model.params.historyToVisible!.assign(tf.tensor2d(p.a));
      model.params.historyToHidden!.assign(tf.tensor2d(p.bh));
    }
  });
  // Read back what float32 holds, so the oracle uses the same numbers.
  const read = (t: tf.Tensor) => t.arraySync() as number[][];
  p.w = read(model.params.weights);
  p.b = model.params.visibleBias.arraySync();
  p.c = model.params.hiddenBias.arraySync();
  if (MV > 0) {
    p.a = read(model.params.historyToVisible!);
    p.bh = read(model.params.historyToHidden!);
  }
  return p;
}

function dynamic(p: Params, u: number[]): { bv: number[]; bh: number[] } {
  const bv = p.b.map((bi, i) => bi + u.reduce((s, uk, k) => s + uk * p.a[k]![i]!, 0));
  const bh = p.c.map((cj, j) => cj + u.reduce((s, uk, k) => s + uk * p.bh[k]![j]!, 0));
  return { bv, bh };
}

function energy(p: Params, v: number[], h: number[], u: number[], gaussian: boolean): number {
  const { bv, bh } = dynamic(p, u);
  let e = 0;
  for (let i = 0; i < p.V; i++) e += gaussian ? 0.5 * (v[i]! - bv[i]!) ** 2 : -bv[i]! * v[i]!;
  for (let j = 0; j < p.H; j++) e -= bh[j]! * h[j]!;
  for (let i = 0; i < p.V; i++) for (let j = 0; j < p.H; j++) e -= v[i]! * p.w[i]![j]! * h[j]!;
  return e;
}

const bitsOf = (s: number, n: number) => Array.from({ length: n }, (_, i) => Math.floor(s / 2 ** i) % 2);
const logSumExp = (xs: number[]) => {
  const m = Math.max(...xs);
  return m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
};
const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe.each(['cpu', 'wasm'])('conditional RBM against brute force on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('binary units: energy, both conditionals, free energy, log Z(history) and log p(v | history) agree with enumeration of all (v, h)', () => {
    const model = new ConditionalRBM({ visible: 3, hidden: 2, order: 2 });
    const p = randomize(model, 1);
    const rng = new Rng(2);
    const histories = Array.from({ length: 4 }, () => Array.from({ length: 6 }, () => (rng.next() < 0.5 ? 1 : 0)));
    // Every visible state under every history: 4 x 8 rows.
    const rows = histories.flatMap((u) => Array.from({ length: 8 }, (_, s) => ({ u, v: bitsOf(s, 3), h: bitsOf(s % 4, 2) })));
    const u = tf.tensor2d(rows.map((r) => r.u));
    const v = tf.tensor2d(rows.map((r) => r.v));
    const h = tf.tensor2d(rows.map((r) => r.h));
    expectNoLeaks(() => {
      const e = model.energy(v, h, u);
      const ph = model.hiddenProbabilities(v, u);
      const pv = model.visibleMean(h, u);
      const f = model.freeEnergy(v, u);
      const logZ = model.logPartitions(u);
      const logP = model.conditionalLogProbability(v, u);
      expectAllClose(e, rows.map((r) => energy(p, r.v, r.h, r.u, false)), 1e-5);
      // p(h_j = 1 | v, u) by the ratio of joint probabilities with h_j on and off.
      const phExpected = rows.flatMap((r) =>
        [0, 1].map((j) => {
          const on = [...r.h];
          on[j] = 1;
          const off = [...r.h];
          off[j] = 0;
          return sigmoid(energy(p, r.v, off, r.u, false) - energy(p, r.v, on, r.u, false));
        }),
      );
      expectAllClose(ph, phExpected, 1e-5);
      const pvExpected = rows.flatMap((r) =>
        [0, 1, 2].map((i) => {
          const on = [...r.v];
          on[i] = 1;
          const off = [...r.v];
          off[i] = 0;
          return sigmoid(energy(p, off, r.h, r.u, false) - energy(p, on, r.h, r.u, false));
        }),
      );
      expectAllClose(pv, pvExpected, 1e-5);
      const fExpected = rows.map((r) => -logSumExp([0, 1, 2, 3].map((s) => -energy(p, r.v, bitsOf(s, 2), r.u, false))));
      expectAllClose(f, fExpected, 1e-5);
      const zExpected = rows.map((r) => logSumExp(Array.from({ length: 32 }, (_, s) => -energy(p, bitsOf(s, 3), bitsOf(s >> 3, 2), r.u, false))));
      expectAllClose(logZ, zExpected, 1e-5);
      expectAllClose(logP, fExpected.map((fe, i) => -fe - zExpected[i]!), 1e-5);
      // Each history's conditional distribution over the 8 frames sums to one.
      const probs = logP.arraySync().map(Math.exp);
      for (let k = 0; k < 4; k++) expect(probs.slice(8 * k, 8 * k + 8).reduce((a, x) => a + x, 0)).toBeCloseTo(1, 5);
      tf.dispose([e, ph, pv, f, logZ, logP]);
    });
    tf.dispose([u, v, h]);
    model.dispose();
  });

  it('Gaussian units: energy, conditionals and free energy match the formulas, and p(v | history) integrates to one', () => {
    const model = new ConditionalRBM({ visible: 2, hidden: 3, order: 1, visibleType: 'gaussian' });
    const p = randomize(model, 3);
    tf.tidy(() => model.params.weights.assign(tf.mul(model.params.weights, 0.5) as tf.Tensor2D));
    p.w = model.params.weights.arraySync();
    const history = [0.3, -1.2];
    const { bv } = dynamic(p, history);
    const v = tf.tensor2d([
      [0.1, 2],
      [-1, 0.5],
    ]);
    const h = tf.tensor2d([
      [1, 0, 1],
      [0, 1, 1],
    ]);
    const u = tf.tensor2d([history, history]);
    const e = model.energy(v, h, u);
    expectAllClose(e, [energy(p, [0.1, 2], [1, 0, 1], history, true), energy(p, [-1, 0.5], [0, 1, 1], history, true)], 1e-5);
    const mean = model.visibleMean(h, u);
    const meanExpected = [[1, 0, 1], [0, 1, 1]].flatMap((hh) => [0, 1].map((i) => bv[i]! + hh.reduce((s, hj, j) => s + hj * p.w[i]![j]!, 0)));
    expectAllClose(mean, meanExpected, 1e-5);
    const f = model.freeEnergy(v, u);
    const fExpected = [[0.1, 2], [-1, 0.5]].map((vv) => -logSumExp(Array.from({ length: 8 }, (_, s) => -energy(p, vv, bitsOf(s, 3), history, true))));
    expectAllClose(f, fExpected, 1e-5);
    // ∫∫ p(v | u) dv by the midpoint rule on a grid wide enough for every mixture component.
    const step = 0.1;
    const grid: number[][] = [];
    for (let i = 0; i < 180; i++) for (let j = 0; j < 180; j++) grid.push([-9 + (i + 0.5) * step, -9 + (j + 0.5) * step]);
    const gv = tf.tensor2d(grid);
    const gu = tf.tidy(() => tf.tile(tf.tensor2d([history]), [grid.length, 1])) as tf.Tensor2D;
    const logP = model.conditionalLogProbability(gv, gu);
    const total = tf.tidy(() => tf.mul(tf.sum(tf.exp(logP)), step * step));
    expect(total.dataSync()[0]).toBeCloseTo(1, 3);
    tf.dispose([v, h, u, e, mean, f, gv, gu, logP, total]);
    model.dispose();
  });

  it('log Z(history) over 2^14 hidden states in 4 chunks matches a float64 sum', () => {
    const model = new ConditionalRBM({ visible: 2, hidden: 14, order: 1 });
    const p = randomize(model, 4);
    const histories = [
      [0, 1],
      [1, 1],
      [1, 0],
    ];
    const u = tf.tensor2d(histories);
    const before = tf.memory().numTensors;
    const logZ = model.logPartitions(u);
    expect(tf.memory().numTensors).toBe(before + 1); // log Z, nothing else
    const expected = histories.map((hist) => {
      const { bv, bh } = dynamic(p, hist);
      const terms = Array.from({ length: 2 ** 14 }, (_, s) => {
        const hh = bitsOf(s, 14);
        let t = hh.reduce((a, hj, j) => a + hj * bh[j]!, 0);
        for (let i = 0; i < 2; i++) t += Math.log1p(Math.exp(bv[i]! + hh.reduce((a, hj, j) => a + hj * p.w[i]![j]!, 0)));
        return t;
      });
      return logSumExp(terms);
    });
    expectAllClose(logZ, expected, 2e-5);
    expect(() => model.logPartitions(u, { maxHidden: 12 })).toThrow(/at most 12 hidden units/);
    tf.dispose([u, logZ]);
    model.dispose();
  });
});

describe('sequence windows', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('pair each frame with its m predecessors, oldest first, and skip sequences too short to give a pair', () => {
    const a = tf.tensor2d([[0, 1], [2, 3], [4, 5], [6, 7]]);
    const b = tf.tensor2d([[10, 11], [12, 13]]); // 2 frames: no pair at order 2
    const c = tf.tensor2d([[20, 21], [22, 23], [24, 25]]);
    const w = sequenceWindows([a, b, c], 2, 2);
    expect(w.frames.arraySync()).toEqual([[4, 5], [6, 7], [24, 25]]);
    expect(w.histories.arraySync()).toEqual([[0, 1, 2, 3], [2, 3, 4, 5], [20, 21, 22, 23]]);
    const zero = sequenceWindows(tf.stack([a, a]) as tf.Tensor3D, 0, 2);
    expect(zero.frames.shape).toEqual([8, 2]);
    expect(zero.histories.shape).toEqual([8, 0]);
    expect(() => sequenceWindows([b], 2, 2)).toThrow(/longer than the order/);
    expect(() => sequenceWindows([a], 1, 3)).toThrow(/\[\?, 3\]/);
    tf.dispose([a, b, c, w.frames, w.histories, zero.frames, zero.histories]);
  });
});

describe('conditional RBM exact likelihood on many rows (wasm)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('log Z(history) of rows in several blocks matches float64 and holds one block of intermediates at a time', async () => {
    // 2^12 hidden states x 64 visible units: 16 rows make a block of 4M floats, so 64 rows are 4 blocks.
    const model = new ConditionalRBM({ visible: 64, hidden: 12, order: 1 });
    const p = randomize(model, 5);
    tf.tidy(() => {
      for (const w of [model.params.weights, model.params.historyToVisible!, model.params.historyToHidden!]) w.assign(tf.mul(w, 0.15));
    });
    p.w = model.params.weights.arraySync();
    p.a = model.params.historyToVisible!.arraySync();
    p.bh = model.params.historyToHidden!.arraySync();
    const rng = new Rng(6);
    const histories = Array.from({ length: 64 }, () => Array.from({ length: 64 }, () => (rng.next() < 0.5 ? 1 : 0)));
    const u = tf.tensor2d(histories);
    const before = tf.memory().numBytes;
    const info = await tf.profile(() => model.logPartitions(u));
    const logZ = info.result as tf.Tensor1D;
    // One block's [16, 4096, 64] sum and softplus are 32 MB; keeping all four blocks' took 128 MB.
    expect(info.peakBytes - before).toBeLessThan(64 * 2 ** 20);
    const states = Array.from({ length: 2 ** 12 }, (_, s) => bitsOf(s, 12));
    const wh = states.map((hh) => Array.from({ length: 64 }, (_, i) => hh.reduce((a, hj, j) => a + hj * p.w[i]![j]!, 0)));
    const expected = histories.map((hist) => {
      const { bv, bh } = dynamic(p, hist);
      return logSumExp(states.map((hh, s) => hh.reduce((a, hj, j) => a + hj * bh[j]!, 0) + bv.reduce((a, bi, i) => a + Math.log1p(Math.exp(bi + wh[s]![i]!)), 0)));
    });
    expectAllClose(logZ, expected, 2e-5);
    tf.dispose([u, logZ]);
    model.dispose();
  });
});
