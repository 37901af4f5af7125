import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { flatten, reshape, unflatten, upsampleNearest } from '../../src/layers/index.js';
import { expectAllClose, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from './leak-check.js';

describe.each(TEST_BACKENDS)('upsampling and reshapes on %s', (backend) => {
  it('nearest upsampling repeats each pixel into a factor×factor block', async () => {
    await useBackend(backend);
    // One image 2x2, two channels: (1,10) (2,20) / (3,30) (4,40).
    const x = tf.tensor4d([1, 10, 2, 20, 3, 30, 4, 40], [1, 2, 2, 2]);
    const y = expectOnlyReturnedTensors(() => upsampleNearest(x, 2));
    expect(y.shape).toEqual([1, 4, 4, 2]);
    const ch0 = [1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4];
    const want = ch0.flatMap((v) => [v, v * 10]);
    expectAllClose(y, want, 0);
    const z = upsampleNearest(x, [1, 3]);
    expect(z.shape).toEqual([1, 2, 6, 2]);
    expectAllClose(tf.tidy(() => tf.slice(z, [0, 1, 0, 0], [1, 1, 6, 1])), [3, 3, 3, 4, 4, 4], 0);
    tf.dispose([x, y, z]);
  });

  it('upsampling passes gradients back as block sums', async () => {
    await useBackend(backend);
    const x = tf.ones([1, 2, 2, 1]) as tf.Tensor4D;
    const w = tf.reshape(tf.range(0, 16), [1, 4, 4, 1]);
    const g = tf.grad((t: tf.Tensor) => tf.sum(tf.mul(upsampleNearest(t as tf.Tensor4D, 2), w)))(x);
    // Blocks of w: {0,1,4,5}, {2,3,6,7}, {8,9,12,13}, {10,11,14,15}.
    expectAllClose(g, [10, 18, 42, 50], 1e-6);
    tf.dispose([x, w, g]);
  });

  it('flatten, unflatten and reshape round-trip and reject bad sizes with a ShapeError', async () => {
    await useBackend(backend);
    const x = tf.zeros([2, 3, 4, 5]);
    const f = flatten(x);
    expect(f.shape).toEqual([2, 60]);
    const u = unflatten(f, [3, 4, 5]);
    expect(u.shape).toEqual([2, 3, 4, 5]);
    const r = reshape(x, [-1, 20]);
    expect(r.shape).toEqual([6, 20]);
    expect(() => reshape(x, [7, -1], 'decoder input')).toThrow(ShapeError);
    expect(() => reshape(x, [7, -1], 'decoder input')).toThrow(/decoder input input/);
    expect(() => reshape(x, [-1, -1])).toThrow(ShapeError);
    expect(() => unflatten(f, [7, 7, 64])).toThrow('unflatten input: expected shape [?, 3136], got [2, 60]');
    tf.dispose([x, f, u, r]);
  });

  it('reshape errors say what size would fit, without "expected shape a shape"', async () => {
    await useBackend(backend);
    const x = tf.zeros([2, 3, 4, 5]);
    expect(() => reshape(x, [7, -1])).toThrow(
      'reshape input: expected a multiple of 7 elements to fill [7, ?], got shape [2, 3, 4, 5]. It has 120 elements',
    );
    expect(() => reshape(x, [6, 7])).toThrow('reshape input: expected 42 elements to fill [6, 7], got shape [2, 3, 4, 5]. It has 120 elements');
    expect(() => reshape(x, [-1, -1])).toThrow('reshape target shape: expected non-negative integer sizes and at most one -1, got shape [-1, -1]');
    expect(() => reshape(x, [2.5, -1])).toThrow(ShapeError);
    expect(() => reshape(x, [0, -1])).toThrow(/ambiguous/);
    expect(() => reshape(x, 'abc' as never)).toThrow(ConfigError);
    for (const shape of [[7, -1], [6, 7], [-1, -1], [0, -1]]) {
      expect(() => reshape(x, shape)).not.toThrow(/expected shape a shape/);
    }
    const empty = reshape(tf.zeros([0, 4]), [-1, 2]);
    expect(empty.shape).toEqual([0, 2]);
    tf.dispose([x, empty]);
  });
});
