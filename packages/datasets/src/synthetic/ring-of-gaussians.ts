import { checkCount, checkIntegerAtLeast, checkNonNegative, checkSeed } from '../checks.js';
import { sampleGaussianMixture, type GaussianMixture } from './gaussian-mixture.js';

export interface RingOfGaussiansOptions {
  /** Number of modes (default 8). */
  modes?: number;
  /** Radius of the ring (default 2). */
  radius?: number;
  /** Standard deviation of each mode (default 0.02). */
  std?: number;
  count: number;
  seed: number;
}

/** `modes` Gaussians evenly spaced on a circle: mode i at radius·(cos 2πi/modes, sin 2πi/modes). */
export function ringOfGaussians(options: RingOfGaussiansOptions): GaussianMixture {
  const modes = checkIntegerAtLeast('modes', options.modes ?? 8, 1);
  const radius = checkNonNegative('radius', options.radius ?? 2);
  const std = checkNonNegative('std', options.std ?? 0.02);
  const count = checkCount(options.count);
  const seed = checkSeed(options.seed);
  const centres = new Float32Array(modes * 2);
  for (let i = 0; i < modes; i++) {
    const angle = (2 * Math.PI * i) / modes;
    centres[2 * i] = radius * Math.cos(angle);
    centres[2 * i + 1] = radius * Math.sin(angle);
  }
  return sampleGaussianMixture(
    'ring-of-gaussians',
    `ring of ${modes} Gaussians (radius ${radius}, std ${std}, seed ${seed})`,
    centres,
    std,
    count,
    seed,
  );
}
