import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import { createLstm, lstm, type LstmParams } from '../../src/layers/index.js';
import { disposeParams } from '../../src/params/tree.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from './leak-check.js';

const sigmoid = (v: number) => 1 / (1 + Math.exp(-v));

/** A plain-JS LSTM, one scalar at a time, gates in Keras order (i, f, c, o). */
function referenceLstm(
  x: number[][][],
  p: { W: number[][]; U: number[][]; b: number[] },
  h0: number[][],
  c0: number[][],
): { hs: number[][][]; h: number[][]; c: number[][] } {
  const u = p.b.length / 4;
  const hs: number[][][] = [];
  let h = h0.map((r) => r.slice());
  let c = c0.map((r) => r.slice());
  for (let t = 0; t < x[0]!.length; t++) {
    const nh: number[][] = [];
    const nc: number[][] = [];
    for (let b = 0; b < x.length; b++) {
      const z = p.b.map((bias, k) => {
        let s = bias;
        for (let f = 0; f < p.W.length; f++) s += x[b]![t]![f]! * p.W[f]![k]!;
        for (let j = 0; j < u; j++) s += h[b]![j]! * p.U[j]![k]!;
        return s;
      });
      const cb: number[] = [];
      const hb: number[] = [];
      for (let j = 0; j < u; j++) {
        const i = sigmoid(z[j]!);
        const f = sigmoid(z[u + j]!);
        const g = Math.tanh(z[2 * u + j]!);
        const o = sigmoid(z[3 * u + j]!);
        cb.push(f * c[b]![j]! + i * g);
        hb.push(o * Math.tanh(cb[j]!));
      }
      nh.push(hb);
      nc.push(cb);
    }
    h = nh;
    c = nc;
    hs.push(h);
  }
  // hs is [time][batch][units]; return [batch][time][units].
  return { hs: x.map((_, b) => hs.map((step) => step[b]!)), h, c };
}

function asArrays(p: LstmParams) {
  return {
    W: p.kernel.arraySync() as number[][],
    U: p.recurrentKernel.arraySync() as number[][],
    b: p.bias.arraySync() as number[],
  };
}

describe.each(TEST_BACKENDS)('lstm on %s', (backend) => {
  it('creates kernels [in, 4u], [u, 4u] and a bias with forget-gate entries 1', async () => {
    await useBackend(backend);
    const before = tf.memory().numTensors;
    const p = createLstm({ name: 'rnn', inputs: 3, units: 2, rng: 1 });
    // Only the three variables remain: initial values and scratch tensors are disposed.
    expect(tf.memory().numTensors - before).toBe(3);
    expect(p.kernel.shape).toEqual([3, 8]);
    expect(p.recurrentKernel.shape).toEqual([2, 8]);
    expectAllClose(p.bias, [0, 0, 1, 1, 0, 0, 0, 0], 0);
    disposeParams(p);
  });

  it('matches a scalar plain-JS LSTM over three steps, from zero and from a given state', async () => {
    await useBackend(backend);
    const rng = new Rng(4);
    const p = createLstm({ name: 'rnn', inputs: 3, units: 2, rng });
    p.bias.assign(rng.normalTensor([8]));
    const x = rng.normalTensor([2, 3, 3]) as tf.Tensor3D;
    const ref = referenceLstm(x.arraySync(), asArrays(p), [[0, 0], [0, 0]], [[0, 0], [0, 0]]);
    const out = expectOnlyReturnedTensors(() => lstm(x, p, { returnSequences: true }));
    expect(out.output.shape).toEqual([2, 3, 2]);
    expectAllClose(out.output, ref.hs.flat(2), 1e-5);
    expectAllClose(out.h, ref.h.flat(), 1e-5);
    expectAllClose(out.c, ref.c.flat(), 1e-5);

    const h0 = [[0.5, -0.2], [0.1, 0.3]];
    const c0 = [[-1, 2], [0.4, 0]];
    const initialState = { h: tf.tensor2d(h0), c: tf.tensor2d(c0) };
    const ref2 = referenceLstm(x.arraySync(), asArrays(p), h0, c0);
    const last = expectOnlyReturnedTensors(() => lstm(x, p, { initialState }));
    expect(last.output.shape).toEqual([2, 2]);
    expectAllClose(last.output, ref2.h.flat(), 1e-5);
    expectAllClose(last.c, ref2.c.flat(), 1e-5);
    tf.dispose([x, out, last, initialState]);
    disposeParams(p);
  });

  it('gradients reach every parameter and are finite', async () => {
    await useBackend(backend);
    const rng = new Rng(6);
    const p = createLstm({ name: 'rnn', inputs: 2, units: 3, rng });
    const x = rng.normalTensor([2, 4, 2]) as tf.Tensor3D;
    expectNoLeaks(() => {
      const { value, grads } = tf.variableGrads(
        () => tf.sum(tf.square(lstm(x, p, { returnSequences: true }).output)) as tf.Scalar,
        [p.kernel, p.recurrentKernel, p.bias],
      );
      for (const v of [p.kernel, p.recurrentKernel, p.bias]) {
        const g = grads[v.name]!.dataSync();
        expect(g.every(Number.isFinite)).toBe(true);
        expect(g.some((e) => e !== 0)).toBe(true);
      }
      tf.dispose([value, ...Object.values(grads)]);
    });
    x.dispose();
    disposeParams(p);
  });

  it('rejects inputs with the wrong feature count or state shape', async () => {
    await useBackend(backend);
    const p = createLstm({ name: 'seq/enc', inputs: 2, units: 3, rng: 0 });
    const x = tf.zeros([2, 4, 5]) as tf.Tensor3D;
    expect(() => lstm(x, p)).toThrow(ShapeError);
    expect(() => lstm(x, p)).toThrow("lstm 'seq/enc' input: expected shape [?, ?, 2], got [2, 4, 5]");
    const ok = tf.zeros([2, 4, 2]) as tf.Tensor3D;
    const bad = { h: tf.zeros([2, 2]) as tf.Tensor2D, c: tf.zeros([2, 3]) as tf.Tensor2D };
    expect(() => lstm(ok, p, { initialState: bad })).toThrow(/initial h/);
    tf.dispose([x, ok, bad]);
    disposeParams(p);
  });
});
