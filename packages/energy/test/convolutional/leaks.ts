import * as tf from '@tensorflow/tfjs-core';

function countTensors(value: unknown): number {
  if (value instanceof tf.Tensor) return 1;
  if (Array.isArray(value)) return value.reduce((n: number, v) => n + countTensors(v), 0);
  if (value !== null && typeof value === 'object') return Object.values(value).reduce((n: number, v) => n + countTensors(v), 0);
  return 0;
}

/** Runs `fn` and throws unless the engine gained exactly the tensors `fn` returned (owned by the caller). */
export function expectOnlyReturned<T>(fn: () => T, label = 'expectOnlyReturned'): T {
  const before = tf.memory().numTensors;
  const result = fn();
  const after = tf.memory().numTensors - countTensors(result);
  if (after !== before) throw new Error(`${label}: ${after - before} tensors left behind besides the ${countTensors(result)} returned`);
  return result;
}
