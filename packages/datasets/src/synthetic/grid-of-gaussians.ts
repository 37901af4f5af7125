import { checkCount, checkIntegerAtLeast, checkNonNegative, checkSeed } from '../checks.js';
import { sampleGaussianMixture, type GaussianMixture } from './gaussian-mixture.js';

export interface GridOfGaussiansOptions {
  /** Modes per side: side² modes in all (default 5). */
  side?: number;
  /** Distance between neighbouring modes (default 2). */
  spacing?: number;
  /** Standard deviation of each mode (default 0.05). */
  std?: number;
  count: number;
  seed: number;
}

/**
 * side × side Gaussians on a square grid centred on the origin: mode i·side + j at
 * ((i − (side − 1)/2)·spacing, (j − (side − 1)/2)·spacing).
 */
export function gridOfGaussians(options: GridOfGaussiansOptions): GaussianMixture {
  const side = checkIntegerAtLeast('side', options.side ?? 5, 1);
  const spacing = checkNonNegative('spacing', options.spacing ?? 2);
  const std = checkNonNegative('std', options.std ?? 0.05);
  const count = checkCount(options.count);
  const seed = checkSeed(options.seed);
  const centres = new Float32Array(side * side * 2);
  const middle = (side - 1) / 2;
  for (let i = 0; i < side; i++) {
    for (let j = 0; j < side; j++) {
      centres[2 * (i * side + j)] = (i - middle) * spacing;
      centres[2 * (i * side + j) + 1] = (j - middle) * spacing;
    }
  }
  return sampleGaussianMixture(
    'grid-of-gaussians',
    `${side}x${side} grid of Gaussians (spacing ${spacing}, std ${std}, seed ${seed})`,
    centres,
    std,
    count,
    seed,
  );
}
