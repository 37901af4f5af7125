import { ConfigError } from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, positiveNumber, rejectUnknownKeys } from '../rbm/config.js';

export const CONVOLUTIONAL_RBM_KIND = 'convolutional-rbm';

/**
 * Config of a {@link ConvolutionalRBM}. Plain JSON: it is saved with the model and rebuilds it.
 *
 * The detection layer of filter k is the 'valid' correlation of the image with it, of size
 * (height − filterSize + 1) × (width − filterSize + 1), which `poolSize` must divide in both
 * directions: each pooling unit looks at a disjoint poolSize × poolSize block of it.
 */
export interface ConvolutionalRbmConfig {
  /** The visible image `[height, width]` or `[height, width, channels]` (saved as the latter). */
  imageShape: number[];
  /** Number of filters K, each with its own detection and pooling layer. */
  filters: number;
  /** Side f of the square f × f filters. */
  filterSize: number;
  /** Side p of the square pooling blocks (the paper's C; default 2; 1 turns pooling off). */
  poolSize?: number;
  /** `'binary'` (default) or `'gaussian'` visible units (real-valued, with a fixed standard deviation). */
  visibleUnits?: 'binary' | 'gaussian';
  /** Standard deviation σ of Gaussian visible units (default 1: standardise or whiten the images first). */
  visibleStd?: number;
  /** Seed of the initial filters (default 0). */
  seed?: number;
  /** Standard deviation of the initial filter weights, N(0, initialScale²) (default 0.01). */
  initialScale?: number;
}

/** A validated config, every default filled in. */
export interface ResolvedConvolutionalRbmConfig {
  imageShape: [number, number, number];
  filters: number;
  filterSize: number;
  poolSize: number;
  visibleUnits: 'binary' | 'gaussian';
  /** Present for Gaussian units only. */
  visibleStd?: number;
  seed: number;
  initialScale: number;
}

const KEYS = ['imageShape', 'filters', 'filterSize', 'poolSize', 'visibleUnits', 'visibleStd', 'seed', 'initialScale'];

/** Checks a config and fills in its defaults; a ConfigError names the first field that is wrong. */
export function resolveConvolutionalRbmConfig(config: ConvolutionalRbmConfig): ResolvedConvolutionalRbmConfig {
  const kind = CONVOLUTIONAL_RBM_KIND;
  if (config === null || typeof config !== 'object') throw new ConfigError(kind, 'a config object { imageShape, filters, filterSize }', config);
  rejectUnknownKeys(kind, config, KEYS);
  const shape = config.imageShape;
  if (!Array.isArray(shape) || (shape.length !== 2 && shape.length !== 3) || !shape.every((d) => Number.isInteger(d) && d > 0)) {
    throw new ConfigError(`${kind}.imageShape`, '[height, width] or [height, width, channels] of positive integers', shape);
  }
  const [height, width, channels = 1] = shape as number[];
  const filters = positiveInteger(`${kind}.filters`, config.filters);
  const filterSize = positiveInteger(`${kind}.filterSize`, config.filterSize);
  if (filterSize > height! || filterSize > width!) {
    throw new ConfigError(`${kind}.filterSize`, `at most the image's height and width (${height} x ${width}): the convolution is 'valid'`, filterSize);
  }
  const poolSize = positiveInteger(`${kind}.poolSize`, config.poolSize ?? 2);
  const detectionHeight = height! - filterSize + 1;
  const detectionWidth = width! - filterSize + 1;
  if (detectionHeight % poolSize !== 0 || detectionWidth % poolSize !== 0) {
    throw new ConfigError(
      `${kind}.poolSize`,
      `a divisor of the detection layer's height and width (${detectionHeight} x ${detectionWidth} = image − filterSize + 1); change poolSize, filterSize or crop the images`,
      poolSize,
    );
  }
  const visibleUnits = config.visibleUnits ?? 'binary';
  if (visibleUnits !== 'binary' && visibleUnits !== 'gaussian') throw new ConfigError(`${kind}.visibleUnits`, "'binary' or 'gaussian'", visibleUnits);
  if (config.visibleStd !== undefined && visibleUnits !== 'gaussian') {
    throw new ConfigError(`${kind}.visibleStd`, "no value for binary visible units (set visibleUnits: 'gaussian' to use it)", config.visibleStd);
  }
  const seed = nonNegativeInteger(`${kind}.seed`, config.seed ?? 0);
  const initialScale = config.initialScale ?? 0.01;
  if (typeof initialScale !== 'number' || !Number.isFinite(initialScale) || initialScale < 0) {
    throw new ConfigError(`${kind}.initialScale`, 'a finite number >= 0', initialScale);
  }
  const resolved: ResolvedConvolutionalRbmConfig = { imageShape: [height!, width!, channels], filters, filterSize, poolSize, visibleUnits, seed, initialScale };
  if (visibleUnits === 'gaussian') resolved.visibleStd = positiveNumber(`${kind}.visibleStd`, config.visibleStd ?? 1);
  return resolved;
}
