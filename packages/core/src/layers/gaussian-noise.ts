import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { Rng } from '../random/rng.js';
import { resolveLayerMode, type LayerMode } from './mode.js';

/**
 * Adds zero-mean Gaussian noise of standard deviation `stddev` in training (denoising
 * autoencoders, instance noise for GANs); returns a copy of `x` when not training. `mode` is
 * the training flag or a {@link LayerMode}; the layer has no state, so only `training` matters.
 */
export function gaussianNoise<T extends tf.Tensor>(x: T, stddev: number, rng: Rng, mode: boolean | LayerMode): T {
  const { training } = resolveLayerMode(mode, 'gaussianNoise');
  if (!(stddev >= 0 && Number.isFinite(stddev))) throw new ConfigError('stddev', 'a finite number >= 0', stddev);
  if (!training || stddev === 0) return tf.clone(x);
  // Only a generator: a seed number here would give the same noise at every call, a silent bug.
  if (!(rng instanceof Rng)) throw new ConfigError('rng', 'an Rng (a number would repeat the same noise every step)', rng);
  const gen = rng;
  return tf.tidy(() => tf.add(x, gen.normalTensor(x.shape, 0, stddev)) as T);
}
