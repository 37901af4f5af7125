import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { Rng } from '../random/rng.js';
import { resolveLayerMode, type LayerMode } from './mode.js';

/**
 * Inverted dropout (Srivastava et al. 2014): in training, zeroes each element with
 * probability `rate` and scales the survivors by 1 / (1 − rate), so the expected value is
 * unchanged and inference needs no rescaling. Masks come from `rng`, which advances: each
 * call draws a fresh mask, and one seed reproduces the sequence.
 * When not training (or rate = 0) it returns a copy of `x`. `mode` is the training flag or a
 * {@link LayerMode}; dropout has no state, so only `training` matters.
 */
export function dropout<T extends tf.Tensor>(x: T, rate: number, rng: Rng, mode: boolean | LayerMode): T {
  const { training } = resolveLayerMode(mode, 'dropout');
  if (!(rate >= 0 && rate < 1)) throw new ConfigError('dropout rate', 'a number in [0, 1)', rate);
  if (!training || rate === 0) return tf.clone(x);
  // Only a generator: a seed number here would give the same mask at every call, a silent bug.
  if (!(rng instanceof Rng)) throw new ConfigError('rng', 'an Rng (a number would repeat the same mask every step)', rng);
  const gen = rng;
  return tf.tidy(() => {
    const keep = tf.cast(tf.greaterEqual(gen.uniform(x.shape), rate), x.dtype);
    return tf.mul(x, tf.mul(keep, 1 / (1 - rate))) as T;
  });
}
