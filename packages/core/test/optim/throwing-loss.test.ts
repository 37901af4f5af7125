import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { createOptimizer, lossAndGradients, lossAndGradientsOf } from '../../src/optim/index.js';
import { TEST_BACKENDS, useBackend } from '../../src/testing.js';

class Boom extends Error {}

/** The engine's gradient bookkeeping, which a failed gradient used to leave dirty. */
function engineGradientState(): { depth: number; tape: number } {
  const state = tf.engine().state;
  return { depth: state.gradientDepth, tape: state.activeTape?.length ?? 0 };
}

describe.each(TEST_BACKENDS)('a failing loss function leaks nothing on %s', (backend) => {
  /** w = [[1, 2], [3, 4], [5, 6]], x = ones([4, 3]), loss = mean((x·w − 1)²). */
  function setup(name: string) {
    const w = tf.variable(tf.tensor2d([1, 2, 3, 4, 5, 6], [3, 2]), true, `throwing-loss/${backend}/${name}`);
    const x = tf.ones([4, 3]);
    const loss = () => tf.mean(tf.square(tf.sub(tf.matMul(x, w), 1)));
    return { w, x, loss };
  }

  it('50 throwing losses in a row leave tf.memory().numTensors unchanged; a normal step after them is exact', async () => {
    await useBackend(backend);
    const { w, x, loss } = setup('fifty');
    const opt = createOptimizer({ kind: 'sgd', learningRate: 0.01 }, { w });
    const before = tf.memory().numTensors;
    for (let i = 0; i < 50; i++) {
      // Several recorded ops (each with saved tensors on the tape) before the throw.
      expect(() =>
        opt.minimize(() => {
          const l = loss();
          tf.mul(l, 2);
          throw new Boom(`failure ${i}`);
        }),
      ).toThrow(Boom);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(engineGradientState()).toEqual({ depth: 0, tape: 0 });
    expect(opt.iterations).toBe(0);

    // x·w has every entry of column j equal to s_j = 9 and 12; d loss / d w_ij = (2/8)·4·(s_j − 1).
    const value = opt.minimize(loss);
    expect(value.dataSync()[0]).toBeCloseTo((8 ** 2 + 11 ** 2) / 2, 4);
    const step = [0.01 * 8, 0.01 * 11];
    const want = [1, 2, 3, 4, 5, 6].map((v, i) => v - step[i % 2]!);
    Array.from(w.dataSync()).forEach((v, i) => expect(v).toBeCloseTo(want[i]!, 5));
    value.dispose();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    tf.dispose([w, x]);
  });

  it('refused results (non-scalar, non-tensor, NaN number, promise, disposed, bad aux, no connection) leak nothing', async () => {
    await useBackend(backend);
    const { w, x, loss } = setup('refused');
    const other = tf.scalar(3);
    const opt = createOptimizer({ kind: 'adam', learningRate: 0.01 }, { w });
    const cases: [string, () => unknown, new (...args: never[]) => Error][] = [
      ['non-scalar', () => tf.matMul(x, w), ShapeError],
      ['number', () => 3, ConfigError],
      ['NaN number', () => Number.NaN, ConfigError],
      ['null', () => null, ConfigError],
      ['array', () => [loss()], ConfigError],
      ['promise', () => Promise.resolve(loss()), ConfigError],
      ['disposed', () => { const l = loss(); l.dispose(); return l; }, ConfigError],
      ['string aux', () => ({ loss: loss(), note: 'text' }), ConfigError],
      ['disposed aux', () => { const a = tf.mul(w, 2); a.dispose(); return { loss: loss(), a }; }, ConfigError],
      ['non-scalar loss with aux', () => ({ loss: tf.matMul(x, w), a: tf.mul(w, 2) }), ShapeError],
      ['no connection', () => tf.mul(other, 2), ConfigError],
      ['no connection, input returned', () => other, ConfigError],
      ['throw after aux', () => { tf.keep(tf.mul(w, 1)).dispose(); throw new Boom('late'); }, Boom],
    ];
    const before = tf.memory().numTensors;
    for (let round = 0; round < 5; round++) {
      for (const [name, fn, type] of cases) {
        expect(() => opt.minimize(fn as () => tf.Scalar), name).toThrow(type);
        expect(tf.memory().numTensors, name).toBe(before);
        expect(engineGradientState(), name).toEqual({ depth: 0, tape: 0 });
      }
    }
    expect(opt.iterations).toBe(0);
    expect(other.isDisposed).toBe(false);
    // The promise message says why, and names no tensor internals.
    expect(() => opt.minimize(() => Promise.resolve(1) as never)).toThrow(/synchronously.*got an instance of Promise$/);
    expect(() => opt.minimize(() => tf.mul(other, 2))).toThrow(/no connection/);
    opt.dispose();
    tf.dispose([w, x, other]);
  });

  it('a NaN loss is no error here (the training loop guards it) and leaks nothing', async () => {
    await useBackend(backend);
    const { w, x } = setup('nan');
    const opt = createOptimizer({ kind: 'sgd', learningRate: 0.1 }, { w });
    const before = tf.memory().numTensors;
    const value = opt.minimize(() => tf.mul(tf.sum(w), Number.NaN));
    expect(Number.isNaN(value.dataSync()[0])).toBe(true);
    value.dispose();
    expect(tf.memory().numTensors).toBe(before);
    opt.dispose();
    tf.dispose([w, x]);
  });

  it('a gradient function that throws in the backward pass leaks nothing', async () => {
    await useBackend(backend);
    const { w, x } = setup('backward');
    const failing = tf.customGrad(((a: tf.Tensor) => ({
      value: tf.sum(tf.square(a)),
      gradFunc: () => {
        throw new Boom('backward');
      },
    })) as unknown as Parameters<typeof tf.customGrad>[0]);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 10; i++) {
      expect(() => lossAndGradients(() => failing(tf.mul(w, 2)) as tf.Scalar, [w])).toThrow(Boom);
    }
    expect(tf.memory().numTensors).toBe(before);
    expect(engineGradientState()).toEqual({ depth: 0, tape: 0 });
    tf.dispose([w, x]);
  });

  it('lossAndGradients and lossAndGradientsOf: throwing losses and bad arguments leak nothing', async () => {
    await useBackend(backend);
    const { w, x, loss } = setup('direct');
    const frozen = tf.variable(tf.zeros([2]), false, `throwing-loss/${backend}/frozen`);
    const before = tf.memory().numTensors;
    for (let i = 0; i < 20; i++) {
      expect(() => lossAndGradients(() => { loss(); throw new Boom(); }, [w])).toThrow(Boom);
      expect(() => lossAndGradientsOf(() => { loss(); throw new Boom(); }, { w })).toThrow(Boom);
    }
    expect(() => lossAndGradients('loss' as never, [w])).toThrow(ConfigError);
    expect(() => lossAndGradients(loss, [x as never])).toThrow(ConfigError);
    expect(() => lossAndGradients(loss, [])).toThrow(/at least one trainable variable/);
    expect(() => lossAndGradients(() => tf.sum(frozen), [frozen])).toThrow(/at least one trainable variable/);
    expect(() => lossAndGradientsOf(loss, null as never)).toThrow(ConfigError);
    expect(tf.memory().numTensors).toBe(before);
    // A loss that is the caller's own tensor comes back as a copy the caller may dispose.
    const scalarVariable = tf.tidy(() => tf.variable(tf.scalar(2), true, `throwing-loss/${backend}/scalar`));
    const { loss: same, grads } = lossAndGradients(() => scalarVariable, [scalarVariable]);
    expect(same).not.toBe(scalarVariable);
    same.dispose();
    tf.dispose(grads as tf.Tensor[]);
    expect(scalarVariable.isDisposed).toBe(false);
    expect(tf.memory().numTensors).toBe(before + 1);
    tf.dispose([w, x, frozen, scalarVariable]);
  });

  it('a failure inside an enclosing tf.grad removes only its own tape entries; the outer gradient is exact', async () => {
    await useBackend(backend);
    const { w, x, loss } = setup('nested');
    const before = tf.memory().numTensors;
    const at = tf.tensor1d([1, -2, 3]);
    const g = tf.grad((t: tf.Tensor) => {
      const y = tf.sum(tf.square(t));
      expect(() => lossAndGradients(() => { loss(); throw new Boom(); }, [w])).toThrow(Boom);
      return tf.add(y, tf.sum(t));
    })(at);
    expect(Array.from(g.dataSync())).toEqual([3, -3, 7]);
    tf.dispose([g, at]);
    expect(tf.memory().numTensors).toBe(before);
    expect(engineGradientState()).toEqual({ depth: 0, tape: 0 });
    tf.dispose([w, x]);
  });
});
