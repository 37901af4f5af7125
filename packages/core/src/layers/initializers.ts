import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { type Rng } from '../random/rng.js';

/** Makes an initial value of `shape`, drawing any randomness from `rng`. Returns a tensor the caller owns. */
export type Initializer = (shape: number[], rng: Rng) => tf.Tensor;

export type InitializerName =
  | 'glorotUniform'
  | 'glorotNormal'
  | 'heUniform'
  | 'heNormal'
  | 'lecunUniform'
  | 'lecunNormal'
  | 'orthogonal'
  | 'zeros'
  | 'ones';

/**
 * Fan-in and fan-out of a weight shape: a dense kernel is [in, out]; a conv kernel
 * [kh, kw, in, out] counts each input (output) channel once per kernel position, as Keras does.
 */
export function computeFans(shape: readonly number[]): { fanIn: number; fanOut: number } {
  if (shape.length === 0) return { fanIn: 1, fanOut: 1 };
  if (shape.length === 1) return { fanIn: shape[0]!, fanOut: shape[0]! };
  let receptive = 1;
  for (let i = 0; i < shape.length - 2; i++) receptive *= shape[i]!;
  return { fanIn: shape[shape.length - 2]! * receptive, fanOut: shape[shape.length - 1]! * receptive };
}

// Standard deviation of a unit normal truncated at ±2: dividing by it restores the intended
// variance after truncation (Keras VarianceScaling uses the same constant).
const TRUNCATED_NORMAL_STD = 0.87962566103423978;

type Fan = 'fanIn' | 'fanOut' | 'fanAvg';

/**
 * Variance scaling (Keras' VarianceScaling): weights with variance `scale / n`, where n is
 * fan-in, fan-out or their mean. The normal form draws from a normal truncated at two
 * standard deviations, widened so the variance is still `scale / n`.
 */
export function varianceScaling(scale: number, mode: Fan, distribution: 'uniform' | 'normal'): Initializer {
  return (shape, rng) => {
    const { fanIn, fanOut } = computeFans(shape);
    const n = mode === 'fanIn' ? fanIn : mode === 'fanOut' ? fanOut : (fanIn + fanOut) / 2;
    const variance = scale / Math.max(1, n);
    if (distribution === 'uniform') {
      // Uniform on [-l, l] has variance l²/3.
      const limit = Math.sqrt(3 * variance);
      return rng.uniform(shape, -limit, limit);
    }
    return rng.truncatedNormal(shape, 0, Math.sqrt(variance) / TRUNCATED_NORMAL_STD);
  };
}

/**
 * A matrix with orthonormal rows or columns (Saxe et al. 2014), the usual start for
 * recurrent kernels: the shape is flattened to [prod(shape[:-1]), shape[-1]] and the
 * Gram-Schmidt orthonormalisation of a Gaussian matrix is taken along the longer side.
 */
export function orthogonal(gain = 1): Initializer {
  return (shape, rng) => {
    const cols = shape[shape.length - 1] ?? 1;
    const rows = shape.length === 0 ? 1 : shape.reduce((a, b) => a * b, 1) / cols;
    const long = Math.max(rows, cols);
    const short = Math.min(rows, cols);
    // `short` vectors of length `long`, made orthonormal one after another.
    const basis: Float64Array[] = [];
    while (basis.length < short) {
      const v = new Float64Array(long);
      for (let i = 0; i < long; i++) v[i] = rng.normal();
      for (let pass = 0; pass < 2; pass++) {
        // Two passes of modified Gram-Schmidt keep the result orthogonal to float precision.
        for (const q of basis) {
          let dot = 0;
          for (let i = 0; i < long; i++) dot += v[i]! * q[i]!;
          for (let i = 0; i < long; i++) v[i]! -= dot * q[i]!;
        }
      }
      let norm = 0;
      for (let i = 0; i < long; i++) norm += v[i]! * v[i]!;
      norm = Math.sqrt(norm);
      if (norm < 1e-6) continue; // a degenerate draw: draw again
      for (let i = 0; i < long; i++) v[i]! /= norm;
      basis.push(v);
    }
    const values = new Float32Array(rows * cols);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        // rows >= cols: basis vectors are the columns; otherwise they are the rows.
        values[r * cols + c] = gain * (rows >= cols ? basis[c]![r]! : basis[r]![c]!);
      }
    }
    return tf.tensor(values, shape, 'float32');
  };
}

const INITIALIZERS: Record<InitializerName, Initializer> = {
  // Glorot & Bengio 2010: variance 2 / (fanIn + fanOut).
  glorotUniform: varianceScaling(1, 'fanAvg', 'uniform'),
  glorotNormal: varianceScaling(1, 'fanAvg', 'normal'),
  // He et al. 2015: variance 2 / fanIn, for ReLU layers.
  heUniform: varianceScaling(2, 'fanIn', 'uniform'),
  heNormal: varianceScaling(2, 'fanIn', 'normal'),
  // LeCun et al. 1998: variance 1 / fanIn, for SELU layers.
  lecunUniform: varianceScaling(1, 'fanIn', 'uniform'),
  lecunNormal: varianceScaling(1, 'fanIn', 'normal'),
  orthogonal: orthogonal(1),
  zeros: (shape) => tf.zeros(shape),
  ones: (shape) => tf.ones(shape),
};

/** Every initializer name, in a fixed order. */
export const INITIALIZER_NAMES = Object.keys(INITIALIZERS) as InitializerName[];

/** The initializer for a name, or `init` itself when given a function. */
export function initializer(init: InitializerName | Initializer): Initializer {
  if (typeof init === 'function') return init;
  const fn = INITIALIZERS[init];
  if (!fn) throw new ConfigError('init', `one of ${INITIALIZER_NAMES.join(', ')} or a function`, init);
  return fn;
}
