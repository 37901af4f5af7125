import { ConfigError } from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, rejectUnknownKeys } from '../rbm/config.js';

export const FVBM_KIND = 'fvbm';

/** Config of a {@link FullyVisibleBoltzmannMachine}. Plain JSON: it is saved with the model and rebuilds it. */
export interface FvbmConfig {
  /** Number of binary units n. */
  units: number;
  /** Seed of the initial couplings (default 0). */
  seed?: number;
  /** Standard deviation of the initial couplings, N(0, initialScale²) (default 0.01). */
  initialScale?: number;
  /** Shape of one state as an image `[height, width]` (pictures only). Optional. */
  imageShape?: number[];
}

/** A validated config, every default filled in (what the model saves). */
export interface ResolvedFvbmConfig {
  units: number;
  seed: number;
  initialScale: number;
  imageShape?: number[];
}

const KEYS = ['units', 'seed', 'initialScale', 'imageShape'];

/** Checks a config and fills in its defaults; a ConfigError names the first field that is wrong. */
export function resolveFvbmConfig(config: FvbmConfig): ResolvedFvbmConfig {
  const kind = FVBM_KIND;
  if (config === null || typeof config !== 'object') throw new ConfigError(kind, 'a config object { units }', config);
  rejectUnknownKeys(kind, config, KEYS);
  const units = positiveInteger(`${kind}.units`, config.units);
  const seed = nonNegativeInteger(`${kind}.seed`, config.seed ?? 0);
  const initialScale = config.initialScale ?? 0.01;
  if (typeof initialScale !== 'number' || !Number.isFinite(initialScale) || initialScale < 0) {
    throw new ConfigError(`${kind}.initialScale`, 'a finite number >= 0', initialScale);
  }
  const resolved: ResolvedFvbmConfig = { units, seed, initialScale };
  if (config.imageShape !== undefined) {
    const shape = config.imageShape;
    const ok =
      Array.isArray(shape) &&
      (shape.length === 2 || shape.length === 3) &&
      shape.every((d) => Number.isInteger(d) && d > 0) &&
      shape.reduce((a, b) => a * b, 1) === units;
    if (!ok) throw new ConfigError(`${kind}.imageShape`, `[height, width] or [height, width, channels] with ${units} elements in all`, shape);
    resolved.imageShape = [...shape];
  }
  return resolved;
}
