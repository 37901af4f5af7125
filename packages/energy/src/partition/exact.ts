import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, logSumExp } from '@helmholtz/core';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';

/** The enumerated layer's size above which {@link exactLogPartition} refuses unless told otherwise. */
export const DEFAULT_MAX_ENUMERATED_UNITS = 25;
/** The hard ceiling: 2^30 states take minutes even on a fast backend, and int32 codes end at 2^31. */
export const MAX_ENUMERATED_UNITS = 30;

/** Options of {@link exactLogPartition}. */
export interface ExactLogPartitionOptions {
  /**
   * States per chunk (rounded down to a power of two; default: as many as keep a chunk's
   * intermediate tensors near 4M floats, at most 65,536). Memory stays bounded by this whatever
   * the layer's size.
   */
  chunkSize?: number;
  /** The largest layer it will enumerate (default 25; at most 30). */
  maxUnits?: number;
  /**
   * Which layer to sum over: `'auto'` (default) the smaller one that can be summed over (the
   * hidden layer for real-valued visible units, whose states cannot be enumerated).
   */
  layer?: 'auto' | 'hidden' | 'visible';
}

/** Which layer {@link exactLogPartition} sums over for this model, or null if it cannot. */
export function enumerableLayer(rbm: RestrictedBoltzmannMachine, layer: 'auto' | 'hidden' | 'visible' = 'auto'): 'hidden' | 'visible' {
  if (layer === 'visible' && !rbm.binaryVisible) {
    throw new ConfigError('layer', `'hidden' or 'auto' for ${rbm.kind} (its visible units are real-valued: only the hidden states can be enumerated)`, layer);
  }
  if (layer !== 'auto') return layer;
  return rbm.binaryVisible && rbm.visible < rbm.hidden ? 'visible' : 'hidden';
}

function chunkBits(units: number, otherUnits: number, chunkSize: number | undefined): number {
  if (chunkSize !== undefined) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new ConfigError('chunkSize', 'a positive integer number of states per chunk', chunkSize);
    return Math.min(units, Math.floor(Math.log2(chunkSize)));
  }
  // A chunk's largest intermediate is [states, other layer] (the other layer's total input).
  const budget = 2 ** 22;
  return Math.min(units, 16, Math.max(0, Math.floor(Math.log2(budget / Math.max(1, otherUnits + units)))));
}

/**
 * All 2^bits binary rows, row r holding the bits of r (least significant first): `[2^bits, bits]`.
 */
function allStates(bits: number): tf.Tensor2D {
  return tf.tidy(() => {
    if (bits === 0) return tf.zeros([1, 0]) as tf.Tensor2D;
    const codes = tf.expandDims(tf.range(0, 2 ** bits, 1, 'int32'), 1);
    const powers = tf.tensor1d(Array.from({ length: bits }, (_, i) => 2 ** i), 'int32');
    return tf.cast(tf.mod(tf.floorDiv(codes, powers), 2), 'float32') as tf.Tensor2D;
  });
}

/**
 * The exact log partition function log Z of an RBM, summing exp(−F) over every state of one
 * layer: log Z = log Σ_h exp(−F(h)) with F(h) = `hiddenFreeEnergy(h)` (Bernoulli and
 * Gaussian-Bernoulli RBMs, the visible units being summed or integrated out in closed form), or
 * log Σ_v exp(−F(v)) over binary visible units when they are the smaller layer.
 *
 * The states are made on the device in chunks of 2^m (the low m bits enumerated once, the high
 * bits fixed per chunk), so memory stays bounded; each chunk's log-sum-exp is computed in float32
 * with its maximum subtracted (about 1e-7 relative error), read back, and the chunks are combined
 * by a streaming log-sum-exp in float64 in JavaScript.
 *
 * Practical up to about 25 units in the enumerated layer (2^25 free energies; seconds to minutes
 * with 784 units on the other side): above `maxUnits` (default 25, at most 30) it throws a
 * ConfigError; use `ais` then.
 */
export async function exactLogPartition(rbm: RestrictedBoltzmannMachine, options: ExactLogPartitionOptions = {}): Promise<number> {
  const maxUnits = options.maxUnits ?? DEFAULT_MAX_ENUMERATED_UNITS;
  if (!Number.isInteger(maxUnits) || maxUnits < 1 || maxUnits > MAX_ENUMERATED_UNITS) {
    throw new ConfigError('maxUnits', `an integer from 1 to ${MAX_ENUMERATED_UNITS} (default ${DEFAULT_MAX_ENUMERATED_UNITS})`, maxUnits);
  }
  const layer = options.layer ?? 'auto';
  if (layer !== 'auto' && layer !== 'hidden' && layer !== 'visible') throw new ConfigError('layer', "'auto', 'hidden' or 'visible'", layer);
  const which = enumerableLayer(rbm, layer);
  const units = which === 'hidden' ? rbm.hidden : rbm.visible;
  const other = which === 'hidden' ? rbm.visible : rbm.hidden;
  if (units > maxUnits) {
    throw new ConfigError(
      'exactLogPartition',
      `an RBM with at most ${maxUnits} units in the layer summed over (${which}; 2^${units} states would be needed for this ` +
        `${rbm.visible}x${rbm.hidden} ${rbm.kind}). Use ais(rbm, { baseRateFrom: data }) for log Z, or raise maxUnits (up to ${MAX_ENUMERATED_UNITS}) if you can wait`,
      `${units} ${which} units`,
    );
  }
  const bits = chunkBits(units, other, options.chunkSize);
  const free = (states: tf.Tensor2D): tf.Tensor1D => (which === 'hidden' ? rbm.hiddenFreeEnergy(states) : rbm.freeEnergy(states));
  const low = allStates(bits);
  const chunks = 2 ** (units - bits);
  let max = -Infinity;
  let sum = 0;
  try {
    for (let c = 0; c < chunks; c++) {
      const lse = tf.tidy(() => {
        let states = low;
        if (units > bits) {
          const high = Array.from({ length: units - bits }, (_, i) => Math.floor(c / 2 ** i) % 2);
          const rows = 2 ** bits;
          states = tf.concat([low, tf.tile(tf.tensor2d([high], [1, units - bits]), [rows, 1])], 1) as tf.Tensor2D;
        }
        return logSumExp(tf.neg(free(states)), 0);
      });
      const value = (await lse.data())[0] as number;
      lse.dispose();
      if (Number.isNaN(value) || value === Infinity) {
        throw new ConfigError('rbm parameters', 'finite weights and biases (the free energy of a state came out NaN or infinite)', value);
      }
      // Streaming log-sum-exp in float64: rescale the running sum when a larger chunk arrives.
      if (value === -Infinity) continue;
      if (value > max) {
        sum = sum * Math.exp(max - value) + 1;
        max = value;
      } else {
        sum += Math.exp(value - max);
      }
    }
  } finally {
    low.dispose();
  }
  return max + Math.log(sum);
}
