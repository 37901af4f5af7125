import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { reparameterize } from '../../src/probability/reparameterize.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from '../layers/leak-check.js';

/** The ε that `reparameterize` will draw next from `rng`, read from a copy of the generator. */
function nextNoise(rng: Rng, shape: number[]): Float32Array {
  const eps = Rng.fromState(rng.state()).normalTensor(shape);
  const values = eps.dataSync() as Float32Array;
  eps.dispose();
  return values;
}

describe.each(TEST_BACKENDS)('reparameterize on %s', (backend) => {
  it('is mean + e^(½ logVar)·ε with ε the next normal draw of the generator, logVar broadcast', async () => {
    await useBackend(backend);
    const means = [0.5, -1, 2, 0, 3, -0.25];
    const logVars = [0.2, -1, 1.5];
    const mean = tf.tensor2d(means, [2, 3]);
    const logVar = tf.tensor1d(logVars);
    const rng = new Rng(11);
    const eps = nextNoise(rng, [2, 3]);
    const z = expectOnlyReturnedTensors(() => reparameterize(mean, logVar, rng));
    expect(z.shape).toEqual([2, 3]);
    const want = means.map((m, i) => m + Math.exp(0.5 * logVars[i % 3]!) * eps[i]!);
    expectAllClose(z, want, 1e-6);
    // The generator moved on: the next call draws fresh noise.
    const again = reparameterize(mean, logVar, rng);
    expect(Array.from(again.dataSync())).not.toEqual(Array.from(z.dataSync()));
    tf.dispose([mean, logVar, z, again]);
  });

  it('draws k samples on a new leading axis, with the right mean and variance per coordinate', async () => {
    await useBackend(backend);
    const means = [1, -2];
    const logVars = [Math.log(0.25), Math.log(4)];
    const mean = tf.tensor2d([means], [1, 2]);
    const logVar = tf.tensor2d([logVars], [1, 2]);
    const k = 20_000;
    const z = expectOnlyReturnedTensors(() => reparameterize(mean, logVar, new Rng(3), { samples: k }));
    expect(z.shape).toEqual([k, 1, 2]);
    const values = z.dataSync();
    for (let d = 0; d < 2; d++) {
      let sum = 0;
      let sumSq = 0;
      for (let i = 0; i < k; i++) {
        const v = values[2 * i + d]!;
        sum += v;
        sumSq += v * v;
      }
      const m = sum / k;
      const variance = sumSq / k - m * m;
      const trueVar = Math.exp(logVars[d]!);
      expect(Math.abs(m - means[d]!)).toBeLessThan(4 * Math.sqrt(trueVar / k));
      // The sample variance of a normal has standard deviation σ²·√(2/k).
      expect(Math.abs(variance - trueVar)).toBeLessThan(4 * trueVar * Math.sqrt(2 / k));
    }
    const one = reparameterize(mean, logVar, new Rng(3), { samples: 1 });
    expect(one.shape).toEqual([1, 1, 2]);
    tf.dispose([mean, logVar, z, one]);
  });

  it('gradients are the closed forms ∂z/∂mean = 1 and ∂z/∂logVar = ½ ε σ, summed over broadcast axes', async () => {
    await useBackend(backend);
    const k = 3;
    const means = [0.3, -0.7, 1.1, 0.0];
    const logVars = [0.4, -0.6];
    const weights = [1, -2, 0.5, 3, -1, 0.25, 2, 1.5, -0.5, 1, 0.75, -3];
    const mean = tf.tensor2d(means, [2, 2]);
    const logVar = tf.tensor1d(logVars);
    const c = tf.tensor3d(weights, [k, 2, 2]);
    const rng = new Rng(5);
    const eps = nextNoise(rng, [k, 2, 2]);
    const [dMean, dLogVar] = expectOnlyReturnedTensors(() =>
      tf.grads((m: tf.Tensor, lv: tf.Tensor) => tf.sum(tf.mul(c, reparameterize(m, lv, rng, { samples: k }))))([mean, logVar]),
    ) as [tf.Tensor, tf.Tensor];
    const wantMean = [0, 0, 0, 0];
    const wantLogVar = [0, 0];
    for (let s = 0; s < k; s++) {
      for (let i = 0; i < 4; i++) {
        const flat = s * 4 + i;
        const sigma = Math.exp(0.5 * logVars[i % 2]!);
        wantMean[i]! += weights[flat]!;
        wantLogVar[i % 2]! += weights[flat]! * 0.5 * eps[flat]! * sigma;
      }
    }
    expect(dMean.shape).toEqual([2, 2]);
    expect(dLogVar.shape).toEqual([2]);
    expectAllClose(dMean, wantMean, 1e-6);
    expectAllClose(dLogVar, wantLogVar, 1e-5);
    tf.dispose([mean, logVar, c, dMean, dLogVar]);
  });

  it('refuses a seed number, which would repeat the same noise at every call', async () => {
    await useBackend(backend);
    const mean = tf.zeros([2]);
    expect(() => reparameterize(mean, mean, 3 as never)).toThrow(/an Rng/);
    mean.dispose();
  });

  it('rejects a log-variance that does not broadcast to the mean and a sample count that is not a positive integer', async () => {
    await useBackend(backend);
    const mean = tf.zeros([2, 3]);
    const wide = tf.zeros([2, 4]);
    const bigger = tf.zeros([5, 2, 3]);
    const rng = new Rng(0);
    expectNoLeaks(() => {
      expect(() => reparameterize(mean, wide, rng)).toThrow(ShapeError);
      expect(() => reparameterize(mean, bigger, rng)).toThrow(/reparameterize logVar: expected mean's shape \[2, 3\]/);
      expect(() => reparameterize(mean, mean, rng, { samples: 0 })).toThrow(ConfigError);
      expect(() => reparameterize(mean, mean, rng, { samples: 2.5 })).toThrow(/positive integer/);
    });
    tf.dispose([mean, wide, bigger]);
  });
});
