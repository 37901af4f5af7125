import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { toRng, type RngLike } from '../random/rng.js';

/**
 * Adds zero-mean Gaussian noise of standard deviation `stddev` in training (denoising
 * autoencoders, instance noise for GANs); returns a copy of `x` when not training.
 */
export function gaussianNoise<T extends tf.Tensor>(x: T, stddev: number, rng: RngLike, training: boolean): T {
  if (!(stddev >= 0 && Number.isFinite(stddev))) throw new ConfigError('stddev', 'a finite number >= 0', stddev);
  if (!training || stddev === 0) return tf.clone(x);
  const gen = toRng(rng);
  return tf.tidy(() => tf.add(x, gen.normalTensor(x.shape, 0, stddev)) as T);
}
