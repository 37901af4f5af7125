import { Rng } from '@helmholtz/core';
import { Dataset } from '../dataset.js';
import { checkCount, checkIntegerAtLeast, checkNonNegative, checkSeed, syntheticProtocol } from '../checks.js';

export interface NoisySinesOptions {
  count: number;
  /** Steps per sequence (default 50). */
  length?: number;
  /** Standard deviation of the Gaussian noise added to every step (default 0.1). */
  noise?: number;
  seed: number;
}

export interface NoisySines {
  /** Sequences, featureShape `[length, 1]`. */
  dataset: Dataset;
  /** Per sequence: amplitude in [0.5, 1.5]. */
  amplitude: Float32Array;
  /** Per sequence: cycles per sequence, in [0.5, 2]. */
  frequency: Float32Array;
  /** Per sequence: phase in [0, 2π). */
  phase: Float32Array;
}

/**
 * Sequences x[s] = A·sin(2π·f·s / length + φ) + noise·ε[s] for s = 0 … length − 1, with A, f
 * and φ drawn uniformly per sequence. The parameters are rounded to float32 before use, so
 * the returned arrays reproduce the noiseless values exactly.
 */
export function noisySines(options: NoisySinesOptions): NoisySines {
  const count = checkCount(options.count);
  const length = checkIntegerAtLeast('length', options.length ?? 50, 1);
  const noise = checkNonNegative('noise', options.noise ?? 0.1);
  const seed = checkSeed(options.seed);
  const rng = new Rng(seed);
  const values = new Float32Array(count * length);
  const amplitude = new Float32Array(count);
  const frequency = new Float32Array(count);
  const phase = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    amplitude[k] = 0.5 + rng.next();
    frequency[k] = 0.5 + 1.5 * rng.next();
    phase[k] = 2 * Math.PI * rng.next();
    const a = amplitude[k]!;
    const f = frequency[k]!;
    const p = phase[k]!;
    for (let s = 0; s < length; s++) {
      values[k * length + s] = a * Math.sin((2 * Math.PI * f * s) / length + p) + noise * rng.normal();
    }
  }
  const dataset = new Dataset({
    name: 'noisy-sines',
    values,
    featureShape: [length, 1],
    protocol: syntheticProtocol(`noisy sines (length ${length}, noise ${noise}, seed ${seed})`),
  });
  return { dataset, amplitude, frequency, phase };
}
