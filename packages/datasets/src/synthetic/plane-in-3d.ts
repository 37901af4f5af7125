import { Rng } from '@helmholtz/core';
import { Dataset } from '../dataset.js';
import { checkCount, checkNonNegative, checkSeed, syntheticProtocol } from '../checks.js';

export interface PlaneIn3dOptions {
  count: number;
  /** Standard deviation of the isotropic 3-D noise added to each point (default 0.05). */
  noise?: number;
  seed: number;
}

export interface PlaneIn3d {
  /** Points, featureShape `[3]`. */
  dataset: Dataset;
  /** `[2 * 3]`: two orthonormal rows spanning the plane, row 0 the direction of larger spread. */
  basis: Float32Array;
  /** `[3]`: the plane's unit normal. */
  normal: Float32Array;
}

// Unequal spreads along the two basis rows make the principal directions unique, so a linear
// autoencoder or PCA can be checked against `basis` row by row, not only as a subspace.
const IN_PLANE_STD = [1, 0.5] as const;

type Vec3 = [number, number, number];

function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

function normalise(a: Vec3): Vec3 {
  const length = Math.sqrt(dot(a, a));
  return [a[0] / length, a[1] / length, a[2] / length];
}

/**
 * Points near a random plane through the origin in 3-D (the linear-autoencoder-as-PCA
 * example): x = u·b₀ + v·b₁ + noise·ε with u ~ N(0, 1), v ~ N(0, 0.5²), ε ~ N(0, I₃), so the
 * mean squared distance to the plane is noise². The plane is drawn from the same seed
 * (Gram–Schmidt on two Gaussian vectors).
 */
export function planeIn3d(options: PlaneIn3dOptions): PlaneIn3d {
  const count = checkCount(options.count);
  const noise = checkNonNegative('noise', options.noise ?? 0.05);
  const seed = checkSeed(options.seed);
  const rng = new Rng(seed);
  const gaussian = (): Vec3 => [rng.normal(), rng.normal(), rng.normal()];
  const b0 = normalise(gaussian());
  const raw = gaussian();
  const along = dot(raw, b0);
  const b1 = normalise([raw[0] - along * b0[0], raw[1] - along * b0[1], raw[2] - along * b0[2]]);
  const n = normalise([b0[1] * b1[2] - b0[2] * b1[1], b0[2] * b1[0] - b0[0] * b1[2], b0[0] * b1[1] - b0[1] * b1[0]]);
  const values = new Float32Array(count * 3);
  for (let k = 0; k < count; k++) {
    const u = IN_PLANE_STD[0] * rng.normal();
    const v = IN_PLANE_STD[1] * rng.normal();
    for (let d = 0; d < 3; d++) values[3 * k + d] = u * b0[d]! + v * b1[d]! + noise * rng.normal();
  }
  const dataset = new Dataset({
    name: 'plane-in-3d',
    values,
    featureShape: [3],
    protocol: syntheticProtocol(`plane in 3-D (in-plane std ${IN_PLANE_STD.join(' and ')}, noise ${noise}, seed ${seed})`),
  });
  return { dataset, basis: Float32Array.from([...b0, ...b1]), normal: Float32Array.from(n) };
}
