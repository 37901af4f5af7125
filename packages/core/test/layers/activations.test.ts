import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { ACTIVATION_NAMES, activation, leakyRelu, type ActivationName } from '../../src/layers/index.js';
import { expectAllClose, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from './leak-check.js';

const SELU_ALPHA = 1.6732632423543772848170429916717;
const SELU_SCALE = 1.0507009873554804934193349852946;
const FORMULAS: Record<ActivationName, (x: number) => number> = {
  linear: (x) => x,
  relu: (x) => Math.max(x, 0),
  leakyRelu: (x) => (x > 0 ? x : 0.2 * x),
  elu: (x) => (x > 0 ? x : Math.expm1(x)),
  selu: (x) => SELU_SCALE * (x > 0 ? x : SELU_ALPHA * Math.expm1(x)),
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  tanh: (x) => Math.tanh(x),
  softplus: (x) => Math.max(x, 0) + Math.log1p(Math.exp(-Math.abs(x))),
};
const XS = [-30, -5, -1.5, -0.3, 0, 0.2, 1, 2.5, 7, 30];

describe.each(TEST_BACKENDS)('activations on %s', (backend) => {
  it.each(ACTIVATION_NAMES)('%s matches its Math formula, including large |x|', async (name) => {
    await useBackend(backend);
    const x = tf.tensor1d(XS);
    const y = expectOnlyReturnedTensors(() => activation(name)(x));
    expectAllClose(y, XS.map(FORMULAS[name]), 1e-5, 1e-3);
    tf.dispose([x, y]);
  });

  it('every activation returns a tensor the caller owns (linear included)', async () => {
    await useBackend(backend);
    const x = tf.tensor1d([1, -1]);
    for (const name of ACTIVATION_NAMES) {
      const y = activation(name)(x);
      expect(y).not.toBe(x);
      y.dispose();
    }
    expect(x.isDisposed).toBe(false);
    x.dispose();
  });

  it('leakyRelu takes a configurable slope', async () => {
    await useBackend(backend);
    const x = tf.tensor1d([-2, 3]);
    const y = leakyRelu(x, 0.1);
    expectAllClose(y, [-0.2, 3], 1e-6);
    tf.dispose([x, y]);
  });
});

describe('activation lookup', () => {
  it('passes functions through and rejects unknown names with a ConfigError', () => {
    const fn = (x: tf.Tensor) => tf.neg(x);
    expect(activation(fn)).toBe(fn);
    expect(() => activation('swish' as ActivationName)).toThrow(ConfigError);
  });
});
