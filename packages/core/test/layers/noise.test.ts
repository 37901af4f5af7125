import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.js';
import { dropout, gaussianNoise } from '../../src/layers/index.js';
import type { LayerMode } from '../../src/layers/mode.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from './leak-check.js';

describe.each(TEST_BACKENDS)('dropout and Gaussian noise on %s', (backend) => {
  it('dropout zeroes a fraction ≈ rate and keeps the expected value (inverted scaling)', async () => {
    await useBackend(backend);
    const n = 20000;
    const rate = 0.3;
    const x = tf.fill([100, n / 100], 2);
    const y = expectOnlyReturnedTensors(() => dropout(x, rate, new Rng(5), true));
    const v = y.dataSync();
    let zeros = 0;
    let sum = 0;
    for (const e of v) {
      if (e === 0) zeros++;
      else expect(e).toBeCloseTo(2 / 0.7, 5);
      sum += e;
    }
    // Binomial: the zero fraction has SE sqrt(p(1−p)/n) ≈ 0.0032; allow 4 SE.
    expect(Math.abs(zeros / n - rate)).toBeLessThan(4 * Math.sqrt((rate * (1 - rate)) / n));
    // Mean 2, per-element SD 2·sqrt(p/(1−p)) ≈ 1.31: SE ≈ 0.0093.
    expect(Math.abs(sum / n - 2)).toBeLessThan(4 * ((2 * Math.sqrt(rate / (1 - rate))) / Math.sqrt(n)));
    tf.dispose([x, y]);
  });

  it('dropout with the same seed gives the same mask, and is the identity when not training', async () => {
    await useBackend(backend);
    const x = tf.range(1, 65);
    const a = dropout(x, 0.5, new Rng(17), true);
    const b = dropout(x, 0.5, new Rng(17), true);
    const c = dropout(x, 0.5, new Rng(18), true);
    expect(Array.from(a.dataSync())).toEqual(Array.from(b.dataSync()));
    expect(Array.from(a.dataSync())).not.toEqual(Array.from(c.dataSync()));
    const id = expectOnlyReturnedTensors(() => dropout(x, 0.5, new Rng(17), false));
    expect(id).not.toBe(x);
    expectAllClose(id, x, 0);
    expect(() => dropout(x, 1, new Rng(0), true)).toThrow(ConfigError);
    tf.dispose([x, a, b, c, id]);
  });

  it('successive calls with one generator draw fresh masks; a seed number is refused', async () => {
    await useBackend(backend);
    const x = tf.ones([64]);
    const rng = new Rng(3);
    const first = dropout(x, 0.5, rng, true);
    const second = dropout(x, 0.5, rng, true);
    expect(Array.from(first.dataSync())).not.toEqual(Array.from(second.dataSync()));
    expect(() => dropout(x, 0.5, 3 as never, true)).toThrow(/an Rng \(a number would repeat the same mask every step\)/);
    expect(() => gaussianNoise(x, 0.5, 3 as never, true)).toThrow(ConfigError);
    tf.dispose([x, first, second]);
  });

  it('Gaussian noise has the requested standard deviation and zero mean; identity when not training', async () => {
    await useBackend(backend);
    const n = 20000;
    const x = tf.fill([n], 3);
    const y = expectOnlyReturnedTensors(() => gaussianNoise(x, 0.5, new Rng(2), true));
    const v = y.dataSync();
    let sum = 0;
    let sq = 0;
    for (const e of v) {
      sum += e - 3;
      sq += (e - 3) ** 2;
    }
    expect(Math.abs(sum / n)).toBeLessThan((4 * 0.5) / Math.sqrt(n));
    // SD of the sample SD ≈ σ / sqrt(2n) ≈ 0.0025.
    expect(Math.abs(Math.sqrt(sq / n) - 0.5)).toBeLessThan(0.01);
    const id = gaussianNoise(x, 0.5, new Rng(2), false);
    expectAllClose(id, x, 0);
    tf.dispose([x, y, id]);
  });

  it('accept a LayerMode: { training } acts as the boolean, updateState does not switch the noise off', async () => {
    await useBackend(backend);
    const x = tf.range(1, 65);
    for (const layer of [
      (mode: boolean | LayerMode) => dropout(x, 0.5, new Rng(17), mode),
      (mode: boolean | LayerMode) => gaussianNoise(x, 0.5, new Rng(17), mode),
    ]) {
      const flag = layer(true);
      const noisy = [
        expectOnlyReturnedTensors(() => layer({ training: true })),
        layer({ training: true, updateState: true }),
        layer({ training: true, updateState: false }),
      ];
      for (const y of noisy) expectAllClose(y, flag, 0);
      expect(Array.from(flag.dataSync())).not.toEqual(Array.from(x.dataSync()));
      const quiet = [layer({ training: false }), layer({ training: false, updateState: false })];
      for (const y of quiet) expectAllClose(y, x, 0);
      tf.dispose([flag, ...noisy, ...quiet]);
    }
    x.dispose();
  });

  it('refuse an invalid mode with a ConfigError naming the layer, before drawing', async () => {
    await useBackend(backend);
    const x = tf.ones([8]);
    const rng = new Rng(4);
    const state = rng.state();
    expectNoLeaks(() => {
      for (const [name, layer] of [
        ['dropout', (mode: unknown) => dropout(x, 0.5, rng, mode as LayerMode)],
        ['gaussianNoise', (mode: unknown) => gaussianNoise(x, 0.5, rng, mode as LayerMode)],
      ] as const) {
        expect(() => layer({ training: false, updateState: true })).toThrow(new RegExp(`${name} mode\\.updateState`));
        expect(() => layer({ training: 1 })).toThrow(ConfigError);
        expect(() => layer({ train: true })).toThrow(/mode key": expected one of training, updateState, got "train"/);
        expect(() => layer(undefined)).toThrow(ConfigError);
      }
    });
    expect(rng.state()).toEqual(state);
    x.dispose();
  });
});
