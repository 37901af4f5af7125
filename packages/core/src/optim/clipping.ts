import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';

/** Gradients as a list or keyed by name; clipping returns the same kind it was given. */
export type GradientSet = tf.Tensor[] | Record<string, tf.Tensor>;

function entries(grads: GradientSet): [string, tf.Tensor][] {
  return Array.isArray(grads) ? grads.map((g, i) => [String(i), g]) : Object.entries(grads);
}

function rebuild<T extends GradientSet>(like: T, values: tf.Tensor[]): T {
  if (Array.isArray(like)) return values as T;
  const keys = Object.keys(like);
  return Object.fromEntries(keys.map((k, i) => [k, values[i] as tf.Tensor])) as T;
}

/** The global L2 norm `sqrt(Σ_i ||g_i||²)` over every gradient, as a scalar the caller owns. */
export function globalNorm(grads: GradientSet): tf.Scalar {
  return tf.tidy(() => {
    const squares = entries(grads).map(([, g]) => tf.sum(tf.square(g)));
    if (squares.length === 0) return tf.scalar(0);
    return tf.sqrt(tf.addN(squares)) as tf.Scalar;
  });
}

/**
 * Scales every gradient by `maxNorm / max(norm, maxNorm)`, where `norm` is the global norm of
 * all of them together (Pascanu et al. 2013): the direction of the joint update is kept, only
 * its length is capped. Returns new tensors and the norm before clipping, all owned by the
 * caller; the inputs are left alone. Runs without reading anything back from the device.
 */
export function clipByGlobalNorm<T extends GradientSet>(grads: T, maxNorm: number): { grads: T; norm: tf.Scalar } {
  if (!(maxNorm > 0) || !Number.isFinite(maxNorm)) throw new ConfigError('clipNorm', 'a positive finite number', maxNorm);
  const list = entries(grads).map(([, g]) => g);
  const norm = globalNorm(grads);
  const clipped = tf.tidy(() => {
    const scale = tf.div(maxNorm, tf.maximum(norm, maxNorm));
    return list.map((g) => tf.mul(g, scale));
  });
  return { grads: rebuild(grads, clipped), norm };
}

/** Clips every gradient element to `[-clipValue, clipValue]`; returns new tensors the caller owns. */
export function clipByValue<T extends GradientSet>(grads: T, clipValue: number): T {
  if (!(clipValue > 0) || !Number.isFinite(clipValue)) {
    throw new ConfigError('clipValue', 'a positive finite number', clipValue);
  }
  const list = entries(grads).map(([, g]) => tf.clipByValue(g, -clipValue, clipValue));
  return rebuild(grads, list);
}
