import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';

/** An elementwise nonlinearity; returns a new tensor the caller owns. */
export type Activation = (x: tf.Tensor) => tf.Tensor;

export type ActivationName = 'linear' | 'relu' | 'leakyRelu' | 'elu' | 'selu' | 'sigmoid' | 'tanh' | 'softplus';

/** Default negative slope of {@link leakyRelu}: 0.2, the DCGAN convention (Radford et al. 2016, sec. 3). */
export const LEAKY_RELU_ALPHA = 0.2;

/** max(x, alpha·x). */
export function leakyRelu<T extends tf.Tensor>(x: T, alpha = LEAKY_RELU_ALPHA): T {
  return tf.leakyRelu(x, alpha);
}

// tfjs's selu uses the constants of Klambauer et al. 2017 (alpha ≈ 1.6733, scale ≈ 1.0507);
// elu uses alpha = 1. linear clones so that every activation returns a tensor the caller owns.
const TABLE: Record<ActivationName, Activation> = {
  linear: (x) => tf.clone(x),
  relu: (x) => tf.relu(x),
  leakyRelu: (x) => leakyRelu(x),
  elu: (x) => tf.elu(x),
  selu: (x) => tf.selu(x),
  sigmoid: (x) => tf.sigmoid(x),
  tanh: (x) => tf.tanh(x),
  softplus: (x) => tf.softplus(x),
};

/** Every activation name, in a fixed order. */
export const ACTIVATION_NAMES = Object.keys(TABLE) as ActivationName[];

/**
 * The activation function for a name, or `fn` itself when given a function (so layers accept
 * `'leakyRelu'` or `(x) => leakyRelu(x, 0.1)` alike).
 */
export function activation(nameOrFn: ActivationName | Activation = 'linear'): Activation {
  if (typeof nameOrFn === 'function') return nameOrFn;
  const fn = TABLE[nameOrFn];
  if (!fn) throw new ConfigError('activation', `one of ${ACTIVATION_NAMES.join(', ')} or a function`, nameOrFn);
  return fn;
}

/** Applies `act` to `x`; 'linear' returns `x` unchanged (for use inside a tidy, not a clone). */
export function applyActivation<T extends tf.Tensor>(x: T, act: ActivationName | Activation | undefined): T {
  if (act === undefined || act === 'linear') return x;
  return activation(act)(x) as T;
}
