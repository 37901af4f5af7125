import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@helmholtz/core';

/** The largest machine whose states the exact methods enumerate unless told otherwise (2^20 states). */
export const FVBM_DEFAULT_MAX_UNITS = 20;
/** The hard ceiling of `maxUnits`: 2^26 energies per call already take minutes on cpu. */
export const FVBM_MAX_UNITS = 26;

/** Options of the methods that sum over all 2^n states. */
export interface FvbmEnumerationOptions {
  /** States per chunk (rounded down to a power of two; default: about 4M floats of intermediates, at most 65,536). */
  chunkSize?: number;
  /** The largest n it will enumerate (default 20, at most 26). */
  maxUnits?: number;
}

/** The chunking of an enumeration: 2^bits states per chunk, `chunks` chunks. */
export interface EnumerationPlan {
  units: number;
  bits: number;
  chunks: number;
}

/** Checks the options against the machine's size; a ConfigError says what to use instead. */
export function planEnumeration(units: number, options: FvbmEnumerationOptions, what: string): EnumerationPlan {
  if (options === null || typeof options !== 'object') throw new ConfigError(`${what} options`, 'an object { chunkSize?, maxUnits? }', options);
  const maxUnits = options.maxUnits ?? FVBM_DEFAULT_MAX_UNITS;
  if (!Number.isInteger(maxUnits) || maxUnits < 1 || maxUnits > FVBM_MAX_UNITS) {
    throw new ConfigError('maxUnits', `an integer from 1 to ${FVBM_MAX_UNITS} (default ${FVBM_DEFAULT_MAX_UNITS})`, maxUnits);
  }
  if (units > maxUnits) {
    throw new ConfigError(
      what,
      `a machine of at most ${maxUnits} units (2^${units} states would be summed). Train it with method 'pseudo-likelihood' or 'pcd', ` +
        `compare models with pseudoLogLikelihood, or raise maxUnits (up to ${FVBM_MAX_UNITS}) if you can wait`,
      `${units} units`,
    );
  }
  let bits: number;
  if (options.chunkSize !== undefined) {
    const size = options.chunkSize;
    if (!Number.isInteger(size) || size < 1) throw new ConfigError('chunkSize', 'a positive integer number of states per chunk', size);
    bits = Math.min(units, Math.floor(Math.log2(size)));
  } else {
    // A chunk's largest intermediates are [states, units] (the states and their total inputs).
    bits = Math.min(units, 16, Math.max(0, Math.floor(Math.log2(2 ** 22 / units))));
  }
  return { units, bits, chunks: 2 ** (units - bits) };
}

/** All 2^bits binary rows, row r holding the bits of r, least significant first: `[2^bits, bits]`. */
export function lowStates(bits: number): tf.Tensor2D {
  return tf.tidy(() => {
    if (bits === 0) return tf.zeros([1, 0]) as tf.Tensor2D;
    const codes = tf.expandDims(tf.range(0, 2 ** bits, 1, 'int32'), 1);
    const powers = tf.tensor1d(Array.from({ length: bits }, (_, i) => 2 ** i), 'int32');
    return tf.cast(tf.mod(tf.floorDiv(codes, powers), 2), 'float32') as tf.Tensor2D;
  });
}

/**
 * The states of chunk `c`: `low` (the low bits enumerated) beside the high bits of c, constant
 * over the chunk, so that state index = row + c·2^bits. A new tensor the caller owns.
 */
export function chunkStates(plan: EnumerationPlan, low: tf.Tensor2D, c: number): tf.Tensor2D {
  const { units, bits } = plan;
  if (units === bits) return tf.clone(low);
  return tf.tidy(() => {
    const high = Array.from({ length: units - bits }, (_, i) => Math.floor(c / 2 ** i) % 2);
    const rows = 2 ** bits;
    const tail = tf.tile(tf.tensor2d([high], [1, units - bits]), [rows, 1]);
    return (bits === 0 ? tail : tf.concat([low, tail], 1)) as tf.Tensor2D;
  });
}
