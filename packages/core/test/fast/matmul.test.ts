import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { matMul, prefersExplicitTranspose, Rng, ShapeError } from '../../src/index.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';

const FLAGS: [boolean, boolean][] = [
  [false, false],
  [true, false],
  [false, true],
  [true, true],
];

describe.each(TEST_BACKENDS)('fast matMul on %s', (backend) => {
  it.each(FLAGS)('equals tf.matMul with transposeA=%s transposeB=%s, value and gradients', async (ta, tb) => {
    await useBackend(backend);
    const rng = new Rng(7);
    const a = rng.normalTensor(ta ? [5, 3] : [3, 5]) as tf.Tensor2D;
    const b = rng.normalTensor(tb ? [4, 5] : [5, 4]) as tf.Tensor2D;
    const weights = rng.normalTensor([3, 4]);
    expectNoLeaks(() => {
      tf.tidy(() => {
        expectAllClose(matMul(a, b, ta, tb), tf.matMul(a, b, ta, tb), 1e-5);
        // A weighted sum makes each output element's gradient distinct.
        const ours = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb), weights)),
        )([a, b]);
        const reference = tf.grads((x: tf.Tensor, y: tf.Tensor) =>
          tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb), weights)),
        )([a, b]);
        expectAllClose(ours[0]!, reference[0]!, 1e-5);
        expectAllClose(ours[1]!, reference[1]!, 1e-5);
      });
    });
    tf.dispose([a, b, weights]);
  });

  it('rejects operands whose inner dimensions differ, naming both shapes', async () => {
    await useBackend(backend);
    const a = tf.zeros([3, 5]) as tf.Tensor2D;
    const b = tf.zeros([4, 4]) as tf.Tensor2D;
    expect(() => matMul(a, b)).toThrow(ShapeError);
    expect(() => matMul(a, b)).toThrow(/\[5, \?\], got \[4, 4\]/);
    tf.dispose([a, b]);
  });
});

describe('fast path policy', () => {
  it('transposes explicitly on wasm only', () => {
    expect(prefersExplicitTranspose('wasm')).toBe(true);
    expect(prefersExplicitTranspose('cpu')).toBe(false);
    expect(prefersExplicitTranspose('webgl')).toBe(false);
    expect(prefersExplicitTranspose('webgpu')).toBe(false);
  });
});
