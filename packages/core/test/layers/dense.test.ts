import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import { createDense, createTiedDenseBias, dense, tiedDense } from '../../src/layers/index.js';
import { disposeParams, trainableVariables } from '../../src/params/tree.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from './leak-check.js';

describe.each(TEST_BACKENDS)('dense on %s', (backend) => {
  it('equals the hand-computed product x·W + b, then the activation', async () => {
    await useBackend(backend);
    const p = createDense({ name: 'd', inputs: 2, units: 3, rng: 1 });
    p.kernel.assign(tf.tensor2d([[1, 2, -3], [4, -5, 6]]));
    p.bias!.assign(tf.tensor1d([0.5, 0, -1]));
    const x = tf.tensor2d([[1, 1], [2, -1]]);
    // [1+4, 2-5, -3+6] + b = [5.5, -3, 2]; [2-4, 4+5, -6-6] + b = [-1.5, 9, -13]
    const y = expectOnlyReturnedTensors(() => dense(x, p));
    expectAllClose(y, [5.5, -3, 2, -1.5, 9, -13], 1e-6);
    const r = expectOnlyReturnedTensors(() => dense(x, p, 'relu'));
    expectAllClose(r, [5.5, 0, 2, 0, 9, 0], 1e-6);
    tf.dispose([x, y, r]);
    disposeParams(p);
  });

  it('names its variables after the layer and can omit the bias', async () => {
    await useBackend(backend);
    const p = createDense({ name: 'enc/0', inputs: 4, units: 2, useBias: false, rng: new Rng(2) });
    expect(p.kernel.name.startsWith('enc/0/kernel')).toBe(true);
    expect(p.bias).toBeUndefined();
    expect(p.kernel.shape).toEqual([4, 2]);
    disposeParams(p);
  });

  it('rejects a wrong input width with a ShapeError naming the layer and both shapes', async () => {
    await useBackend(backend);
    const p = createDense({ name: 'encoder/1', inputs: 784, units: 2, rng: 0 });
    const x = tf.zeros([32, 785]) as tf.Tensor2D;
    expect(() => dense(x, p)).toThrow(ShapeError);
    expect(() => dense(x, p)).toThrow("dense 'encoder/1' input: expected shape [?, 784], got [32, 785]");
    x.dispose();
    disposeParams(p);
  });

  it('tied dense equals x·Wᵀ + b and its gradient reaches the shared kernel', async () => {
    await useBackend(backend);
    const rng = new Rng(9);
    const enc = createDense({ name: 'tied/enc', inputs: 5, units: 3, rng });
    const bias = createTiedDenseBias({ name: 'tied/dec', tiedTo: enc });
    bias.assign(tf.tensor1d([0.1, 0.2, 0.3, 0.4, 0.5]));
    expect(bias.shape).toEqual([5]);
    const h = rng.normalTensor([4, 3]) as tf.Tensor2D;
    const y = expectOnlyReturnedTensors(() => tiedDense(h, enc, bias));
    const expected = tf.tidy(() => tf.add(tf.matMul(h, tf.transpose(enc.kernel)), bias));
    expectAllClose(y, expected, 1e-5);

    // d/dW Σ (h·Wᵀ)_{bi} c_{bi} = cᵀ·h: the tied layer trains the encoder's kernel.
    const c = rng.normalTensor([4, 5]) as tf.Tensor2D;
    expectNoLeaks(() => {
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(tiedDense(h, enc, bias), c)) as tf.Scalar, [
        enc.kernel,
        bias,
      ]);
      const want = tf.tidy(() => tf.matMul(tf.transpose(c), h));
      expectAllClose(grads[enc.kernel.name]!, want, 1e-5);
      tf.tidy(() => expectAllClose(grads[bias.name]!, tf.sum(c, 0), 1e-5));
      tf.dispose([value, want, ...Object.values(grads)]);
    });
    expect(() => tiedDense(c, enc, bias)).toThrow(/tied dense \(transpose of 'tied\/enc'\) input/);
    tf.dispose([h, y, expected, c, bias]);
    disposeParams(enc);
  });

  it('trainableVariables finds kernel and bias', async () => {
    await useBackend(backend);
    const p = createDense({ name: 'tv', inputs: 2, units: 2, rng: 0 });
    expect(trainableVariables(p)).toEqual([p.kernel, p.bias]);
    disposeParams(p);
  });
});
