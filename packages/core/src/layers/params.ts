import { ConfigError } from '../errors.js';
import { createVariable } from '../params/tree.js';
import { toRng, type Rng, type RngLike } from '../random/rng.js';
import { initializer, type Initializer, type InitializerName } from './initializers.js';
import type * as tf from '@tensorflow/tfjs-core';

/** Checks a layer size in a creator's options. */
export function positiveInteger(field: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(field, 'a positive integer', value);
  return value;
}

/** A variable `${layer}/${leaf}` initialised by `init` from `rng`. */
export function initVariable(
  layer: string,
  leaf: string,
  shape: number[],
  init: InitializerName | Initializer,
  rng: Rng,
  trainable = true,
): tf.Variable {
  return createVariable(initializer(init)(shape, rng), `${layer}/${leaf}`, trainable);
}

/** Validates a layer name and turns an {@link RngLike} into a generator. */
export function layerSetup(name: string, rng: RngLike): Rng {
  if (typeof name !== 'string' || name.length === 0) throw new ConfigError('name', 'a non-empty layer name', name);
  return toRng(rng);
}
