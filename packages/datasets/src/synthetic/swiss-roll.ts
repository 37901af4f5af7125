import { Rng } from '@helmholtz/core';
import { Dataset } from '../dataset.js';
import { checkCount, checkNonNegative, checkSeed, syntheticProtocol } from '../checks.js';

export interface SwissRollOptions {
  count: number;
  /** Standard deviation of the isotropic 3-D noise (default 0.05). */
  noise?: number;
  seed: number;
}

export interface SwissRoll {
  /** Points (x, y, z), featureShape `[3]`. */
  dataset: Dataset;
  /** Each point's position along the roll, t ∈ [1.5π, 4.5π]: the usual colouring of plots. */
  t: Float32Array;
}

/**
 * The swiss roll of scikit-learn's make_swiss_roll: t = 1.5π(1 + 2U), x = t cos t,
 * y = 21·U' (U, U' uniform on [0, 1)), z = t sin t, plus noise·N(0, I₃). The draw order
 * differs from scikit-learn's, so the same seed does not give the same points.
 */
export function swissRoll(options: SwissRollOptions): SwissRoll {
  const count = checkCount(options.count);
  const noise = checkNonNegative('noise', options.noise ?? 0.05);
  const seed = checkSeed(options.seed);
  const rng = new Rng(seed);
  const values = new Float32Array(count * 3);
  const t = new Float32Array(count);
  for (let k = 0; k < count; k++) {
    const position = 1.5 * Math.PI * (1 + 2 * rng.next());
    const height = 21 * rng.next();
    t[k] = position;
    values[3 * k] = position * Math.cos(position) + noise * rng.normal();
    values[3 * k + 1] = height + noise * rng.normal();
    values[3 * k + 2] = position * Math.sin(position) + noise * rng.normal();
  }
  const dataset = new Dataset({
    name: 'swiss-roll',
    values,
    featureShape: [3],
    protocol: syntheticProtocol(`swiss roll (noise ${noise}, seed ${seed})`),
  });
  return { dataset, t };
}
