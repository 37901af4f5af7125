import { ConfigError } from '@helmholtz/core';
import type { DatasetProtocol } from './protocol.js';

/** A whole number of examples to generate, at least one. */
export function checkCount(count: number): number {
  if (!Number.isInteger(count) || count <= 0) throw new ConfigError('count', 'a positive integer', count);
  return count;
}

/** Seeds are integers so the protocol string reproduces the data exactly. */
export function checkSeed(seed: number): number {
  if (!Number.isSafeInteger(seed)) throw new ConfigError('seed', 'an integer below 2^53 in size', seed);
  return seed;
}

export function checkIntegerAtLeast(field: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) throw new ConfigError(field, `an integer >= ${min} (and below 2^53)`, value);
  return value;
}

/** Standard deviations, noise levels and distances: finite and not negative (zero allowed). */
export function checkNonNegative(field: string, value: number): number {
  if (!Number.isFinite(value) || value < 0) throw new ConfigError(field, 'a finite number >= 0', value);
  return value;
}

/** Synthetic data is in its own units, never binarized, and its "split" is the generator. */
export function syntheticProtocol(description: string): DatasetProtocol {
  return { source: `synthetic: ${description}`, split: 'generated', range: '[0,1]', binarization: { kind: 'none' } };
}
