import { ConfigError } from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, positiveNumber, rejectUnknownKeys } from '../rbm/config.js';

export const DBN_KIND = 'dbn';

/** What the bottom layer of a DBN (and of the networks unrolled from it) holds. */
export type VisibleType = 'binary' | 'gaussian';

/** Config of a {@link DBN}. Plain JSON: it is saved with the model and rebuilds it. */
export interface DbnConfig {
  /**
   * Layer sizes from the data up, `[visible, h1, ..., hk]`: one RBM per adjacent pair, the
   * last pair being the undirected top RBM. At least two entries (two make a single RBM).
   */
  layers: number[];
  /** `'binary'` (default): Bernoulli visible units; `'gaussian'`: a Gaussian-Bernoulli RBM at the bottom. */
  visibleType?: VisibleType;
  /** Seed of the initial weights of every layer (default 0); each RBM gets its own seed drawn from it. */
  seed?: number;
  /** Standard deviation of every RBM's initial weights (default 0.01, Hinton 2010 sec. 8). */
  initialScale?: number;
  /** Shape of one visible vector as an image, for pictures only (see `RbmConfigBase.imageShape`). */
  imageShape?: number[];
  /** Gaussian bottom only: learn the visible variances (see `GaussianBernoulliRbmConfig.learnVariance`). */
  learnVariance?: boolean;
  /** Gaussian bottom only: the initial visible standard deviation (default 1: standardise the data). */
  initialStd?: number;
}

const DBN_KEYS = ['layers', 'visibleType', 'seed', 'initialScale', 'imageShape', 'learnVariance', 'initialStd'];

/** Checks a `[visible, h1, ..., hk]` list of layer sizes, naming the field in its errors. */
export function validateLayers(field: string, layers: unknown, minimum: number): number[] {
  if (!Array.isArray(layers) || layers.length < minimum) {
    throw new ConfigError(field, `an array of at least ${minimum} layer sizes [visible, h1, ...], e.g. [784, 500, 500]`, layers);
  }
  return layers.map((size, i) => positiveInteger(`${field}[${i}]`, size));
}

/** Checks an image shape `[height, width]` or `[height, width, channels]` with `size` elements. */
export function validateImageShape(field: string, shape: unknown, size: number): number[] {
  const ok =
    Array.isArray(shape) &&
    (shape.length === 2 || shape.length === 3) &&
    shape.every((d) => Number.isInteger(d) && d > 0) &&
    (shape as number[]).reduce((a, b) => a * b, 1) === size;
  if (!ok) throw new ConfigError(field, `[height, width] or [height, width, channels] with ${size} elements in all`, shape);
  return [...(shape as number[])];
}

export function validateVisibleType(field: string, value: unknown): VisibleType {
  if (value !== 'binary' && value !== 'gaussian') throw new ConfigError(field, "'binary' or 'gaussian'", value);
  return value;
}

/** Validates a DBN config; returns a copy with only the fields given. */
export function validateDbnConfig(config: DbnConfig): DbnConfig {
  if (config === null || typeof config !== 'object') throw new ConfigError(DBN_KIND, 'a config object { layers: [visible, h1, ...] }', config);
  rejectUnknownKeys(DBN_KIND, config, DBN_KEYS);
  const out: DbnConfig = { layers: validateLayers(`${DBN_KIND}.layers`, config.layers, 2) };
  if (config.visibleType !== undefined) out.visibleType = validateVisibleType(`${DBN_KIND}.visibleType`, config.visibleType);
  if (config.seed !== undefined) out.seed = nonNegativeInteger(`${DBN_KIND}.seed`, config.seed);
  if (config.initialScale !== undefined) {
    const s = config.initialScale;
    if (typeof s !== 'number' || !Number.isFinite(s) || s < 0) throw new ConfigError(`${DBN_KIND}.initialScale`, 'a finite number >= 0', s);
    out.initialScale = s;
  }
  if (config.imageShape !== undefined) out.imageShape = validateImageShape(`${DBN_KIND}.imageShape`, config.imageShape, out.layers[0] as number);
  const gaussian = out.visibleType === 'gaussian';
  for (const key of ['learnVariance', 'initialStd'] as const) {
    if (config[key] !== undefined && !gaussian) {
      throw new ConfigError(`${DBN_KIND}.${key}`, "no value unless visibleType is 'gaussian' (binary visible units have no variance)", config[key]);
    }
  }
  if (config.learnVariance !== undefined) {
    if (typeof config.learnVariance !== 'boolean') throw new ConfigError(`${DBN_KIND}.learnVariance`, 'true or false', config.learnVariance);
    out.learnVariance = config.learnVariance;
  }
  if (config.initialStd !== undefined) out.initialStd = positiveNumber(`${DBN_KIND}.initialStd`, config.initialStd);
  return out;
}
