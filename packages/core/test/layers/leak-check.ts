import * as tf from '@tensorflow/tfjs-core';
import { expect } from 'vitest';

function collect(value: unknown, into: Set<tf.Tensor>): void {
  if (value instanceof tf.Tensor) into.add(value);
  else if (Array.isArray(value)) for (const v of value) collect(v, into);
  else if (value && typeof value === 'object') for (const v of Object.values(value)) collect(v, into);
}

/**
 * Runs `fn` and asserts that the only tensors it left in the engine are the ones it returned:
 * the contract of every layer and loss ("functions return tensors the caller owns").
 */
export function expectOnlyReturnedTensors<T>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const result = fn();
  const returned = new Set<tf.Tensor>();
  collect(result, returned);
  expect(tf.memory().numTensors - before).toBe(returned.size);
  return result;
}
