import * as tf from '@tensorflow/tfjs-core';
import { HelmholtzError } from '../errors.js';

/** Thrown when code under test leaves tensors behind. */
export class TensorLeakError extends HelmholtzError {
  static override readonly errorName: string = 'TensorLeakError';

  constructor(
    readonly before: number,
    readonly after: number,
    readonly label: string,
  ) {
    super(`${label}: expected tf.memory().numTensors to stay at ${before}, got ${after} (${after - before} leaked)`);
  }
}

/**
 * Runs `fn` (sync or async) and throws {@link TensorLeakError} if the engine holds a
 * different number of tensors afterwards. Returns what `fn` returned.
 */
export async function withNoLeaks<T>(fn: () => T | Promise<T>, label = 'withNoLeaks'): Promise<T> {
  const before = tf.memory().numTensors;
  const result = await fn();
  const after = tf.memory().numTensors;
  if (after !== before) throw new TensorLeakError(before, after, label);
  return result;
}

/** Synchronous form of {@link withNoLeaks}. */
export function expectNoLeaks<T>(fn: () => T, label = 'expectNoLeaks'): T {
  const before = tf.memory().numTensors;
  const result = fn();
  const after = tf.memory().numTensors;
  if (after !== before) throw new TensorLeakError(before, after, label);
  return result;
}
