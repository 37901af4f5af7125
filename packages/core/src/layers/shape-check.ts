import type * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';

/**
 * Throws a {@link ShapeError} unless `x` has exactly the rank of `expected` and every
 * non-null entry matches (null means "any size", e.g. the batch).
 */
export function expectShape(what: string, x: tf.Tensor, expected: readonly (number | null)[], hint?: string): void {
  const ok = x.rank === expected.length && expected.every((d, i) => d === null || d === x.shape[i]);
  if (!ok) throw new ShapeError(what, expected, x.shape, hint);
}

/** Throws unless `b` has the same shape as `a` (predictions against targets, means against samples). */
export function expectSameShape(what: string, a: tf.Tensor, b: tf.Tensor, hint?: string): void {
  if (a.rank !== b.rank || a.shape.some((d, i) => d !== b.shape[i])) throw new ShapeError(what, a.shape, b.shape, hint);
}

/**
 * The layer name for error messages, taken from a parameter's engine name
 * (`encoder/1/kernel` or `encoder/1/kernel_2` gives `encoder/1`): params hold only
 * variables, so the variable names are where a layer's name lives.
 */
export function layerNameOf(v: tf.Variable): string {
  const cut = v.name.lastIndexOf('/');
  return cut > 0 ? v.name.slice(0, cut) : v.name;
}
