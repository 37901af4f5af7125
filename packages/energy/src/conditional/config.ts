import { ConfigError } from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, rejectUnknownKeys } from '../rbm/config.js';

export const CONDITIONAL_RBM_KIND = 'conditional-rbm';

/** Config of a {@link ConditionalRBM}. Plain JSON: it is saved with the model and rebuilds it. */
export interface ConditionalRbmConfig {
  /** Units per frame, V. */
  visible: number;
  /** Binary hidden units, H. */
  hidden: number;
  /** Frames of history m that drive the biases (0 makes it an ordinary RBM of single frames). */
  order: number;
  /**
   * `'binary'` (default) or `'gaussian'`: real-valued units of unit variance, as Taylor, Hinton &
   * Roweis (2007) use for motion capture; standardise each dimension of the data first.
   */
  visibleType?: 'binary' | 'gaussian';
  /** Seed of the initial weights (default 0). */
  seed?: number;
  /** Standard deviation of the initial weights, N(0, initialScale²), all three matrices (default 0.01). */
  initialScale?: number;
}

/** A validated config, every default filled in (what the model saves). */
export interface ResolvedConditionalRbmConfig {
  visible: number;
  hidden: number;
  order: number;
  visibleType: 'binary' | 'gaussian';
  seed: number;
  initialScale: number;
}

const KEYS = ['visible', 'hidden', 'order', 'visibleType', 'seed', 'initialScale'];

/** Checks a config and fills in its defaults; a ConfigError names the first field that is wrong. */
export function resolveConditionalRbmConfig(config: ConditionalRbmConfig): ResolvedConditionalRbmConfig {
  const kind = CONDITIONAL_RBM_KIND;
  if (config === null || typeof config !== 'object') throw new ConfigError(kind, 'a config object { visible, hidden, order }', config);
  rejectUnknownKeys(kind, config, KEYS);
  const visible = positiveInteger(`${kind}.visible`, config.visible);
  const hidden = positiveInteger(`${kind}.hidden`, config.hidden);
  if (config.order === undefined) throw new ConfigError(`${kind}.order`, 'the number of past frames that drive the biases, an integer >= 0 (Taylor et al. 2007 used 3 for motion capture)', undefined);
  const order = nonNegativeInteger(`${kind}.order`, config.order);
  const visibleType = config.visibleType ?? 'binary';
  if (visibleType !== 'binary' && visibleType !== 'gaussian') throw new ConfigError(`${kind}.visibleType`, "'binary' or 'gaussian'", visibleType);
  const seed = nonNegativeInteger(`${kind}.seed`, config.seed ?? 0);
  const initialScale = config.initialScale ?? 0.01;
  if (typeof initialScale !== 'number' || !Number.isFinite(initialScale) || initialScale < 0) {
    throw new ConfigError(`${kind}.initialScale`, 'a finite number >= 0', initialScale);
  }
  return { visible, hidden, order, visibleType, seed, initialScale };
}
