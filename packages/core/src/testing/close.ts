import * as tf from '@tensorflow/tfjs-core';

type Values = tf.Tensor | ArrayLike<number> | number;

function toArray(v: Values): Float64Array {
  if (typeof v === 'number') return Float64Array.of(v);
  if (v instanceof tf.Tensor) return Float64Array.from(v.dataSync() as ArrayLike<number>);
  return Float64Array.from(v);
}

/**
 * Largest elementwise |a - b| / max(|a|, |b|, floor): relative error that does not blow up
 * near zero, where it turns into an absolute error scaled by `floor`.
 */
export function maxRelativeError(a: Values, b: Values, floor = 1): number {
  const x = toArray(a);
  const y = toArray(b);
  if (x.length !== y.length) throw new Error(`length mismatch: ${x.length} vs ${y.length}`);
  let worst = 0;
  for (let i = 0; i < x.length; i++) {
    const xi = x[i] as number;
    const yi = y[i] as number;
    if (Number.isNaN(xi) || Number.isNaN(yi)) return Number.NaN;
    const scale = Math.max(Math.abs(xi), Math.abs(yi), floor);
    worst = Math.max(worst, Math.abs(xi - yi) / scale);
  }
  return worst;
}

/** Throws if any element differs by more than `tolerance` in {@link maxRelativeError}. */
export function expectAllClose(actual: Values, expected: Values, tolerance = 1e-5, floor = 1): void {
  const err = maxRelativeError(actual, expected, floor);
  if (!(err <= tolerance)) {
    throw new Error(`expected values to agree to ${tolerance} (relative, floor ${floor}); worst error ${err}`);
  }
}
