import { ConfigError } from '@helmholtz/core';

/** What every RBM's config has. Plain JSON: it is saved with the model and rebuilds it. */
export interface RbmConfigBase {
  /** Number of visible units. */
  visible: number;
  /** Number of hidden units. */
  hidden: number;
  /** Seed of the initial weights (default 0). */
  seed?: number;
  /** Standard deviation of the initial weights, N(0, initialScale²) (default 0.01, Hinton 2010 sec. 8). */
  initialScale?: number;
  /**
   * Shape of one visible vector as an image `[height, width]` or `[height, width, channels]`,
   * used only to picture filters and samples (e.g. `[28, 28]` for MNIST). Optional.
   */
  imageShape?: number[];
}

export function positiveInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new ConfigError(field, 'a positive integer', value);
  return value;
}

export function nonNegativeInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) throw new ConfigError(field, 'an integer >= 0', value);
  return value;
}

export function finiteNumber(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ConfigError(field, 'a finite number', value);
  return value;
}

export function positiveNumber(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) throw new ConfigError(field, 'a finite number > 0', value);
  return value;
}

/** Rejects keys a config does not know, naming the first one (a misspelt option would be ignored). */
export function rejectUnknownKeys(what: string, value: object, known: readonly string[]): void {
  for (const key of Object.keys(value)) {
    if (!known.includes(key)) throw new ConfigError(`${what}.${key}`, `one of the known fields (${known.join(', ')})`, (value as Record<string, unknown>)[key]);
  }
}

/** Validates the fields every RBM config shares; returns a copy with only the fields given. */
export function validateRbmConfigBase(config: RbmConfigBase, kind: string, extraKeys: readonly string[] = []): RbmConfigBase {
  if (config === null || typeof config !== 'object') throw new ConfigError(kind, 'a config object { visible, hidden }', config);
  rejectUnknownKeys(kind, config, ['visible', 'hidden', 'seed', 'initialScale', 'imageShape', ...extraKeys]);
  const out: RbmConfigBase = {
    visible: positiveInteger(`${kind}.visible`, config.visible),
    hidden: positiveInteger(`${kind}.hidden`, config.hidden),
  };
  if (config.seed !== undefined) out.seed = nonNegativeInteger(`${kind}.seed`, config.seed);
  if (config.initialScale !== undefined) {
    const s = config.initialScale;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) throw new ConfigError(`${kind}.initialScale`, 'a finite number >= 0', s);
    out.initialScale = s;
  }
  if (config.imageShape !== undefined) {
    const shape = config.imageShape;
    const ok =
      Array.isArray(shape) &&
      (shape.length === 2 || shape.length === 3) &&
      shape.every((d) => Number.isInteger(d) && d > 0) &&
      shape.reduce((a, b) => a * b, 1) === out.visible;
    if (!ok) throw new ConfigError(`${kind}.imageShape`, `[height, width] or [height, width, channels] with ${out.visible} elements in all`, shape);
    out.imageShape = [...shape];
  }
  return out;
}
