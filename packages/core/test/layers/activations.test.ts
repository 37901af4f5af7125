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

describe.each(TEST_BACKENDS)('second derivatives of activations on %s (gradient penalties)', (backend) => {
  // f''(x) by autodiff against a central difference of the autodiff first derivative. tfjs 4.22's
  // own sigmoid/tanh/elu gradients drop the curvature term at second order; leakyRelu/selu throw.
  const points = [-1.7, -0.4, 0.3, 1.2];
  it.each(ACTIVATION_NAMES.filter((n) => n !== 'linear'))('%s has the right second derivative, and a third where it is smooth', async (name) => {
    await useBackend(backend);
    const f = activation(name);
    const first = (v: number) => tf.tidy(() => tf.grad((t: tf.Tensor) => tf.sum(f(t)))(tf.scalar(v)).dataSync()[0]!);
    const second = (t: tf.Tensor) => tf.grad(tf.grad((u: tf.Tensor) => tf.sum(f(u))))(t);
    const h = 1e-2;
    const x = tf.tensor1d(points);
    const g2 = expectOnlyReturnedTensors(() => second(x));
    const numeric = points.map((v) => (first(v + h) - first(v - h)) / (2 * h));
    expectAllClose(g2, numeric, 2e-3, 2e-3);
    if (name === 'sigmoid' || name === 'tanh' || name === 'softplus') {
      const third = tf.tidy(() => tf.grad(tf.grad(tf.grad((u: tf.Tensor) => tf.sum(f(u)))))(x));
      const secondAt = (v: number) => tf.tidy(() => second(tf.scalar(v)).dataSync()[0]!);
      expectAllClose(third, points.map((v) => (secondAt(v + h) - secondAt(v - h)) / (2 * h)), 5e-3, 5e-3);
      third.dispose();
    }
    tf.dispose([x, g2]);
  });
});
