import { ConfigError } from '../errors.js';

/**
 * How a layer call runs: the one convention for every layer whose behaviour differs between
 * training and inference, or that keeps non-trainable state.
 *
 * - `training` picks the computation: batch statistics in batch norm, active dropout, active
 *   noise when true; moving statistics and the identity when false.
 * - `updateState` says whether this call may assign the layer's non-trainable state (batch
 *   norm's moving mean and variance). It defaults to `training`. Set it to false to train
 *   *through* a layer without moving its statistics: a GAN's generator step runs the
 *   discriminator on batch statistics, `{ training: true, updateState: false }`, so only the
 *   discriminator's own step moves them.
 *
 * `{ training: false, updateState: true }` is refused: inference reads the moving statistics,
 * so there would be nothing consistent to update them with.
 *
 * Layers without state (dropout, Gaussian noise) accept the same object and read `training`
 * only; the generator they draw from is the caller's, and advances whenever they draw.
 */
export interface LayerMode {
  readonly training: boolean;
  readonly updateState?: boolean;
}

/** A {@link LayerMode} with its default filled in, as layers use it. */
export interface ResolvedLayerMode {
  readonly training: boolean;
  readonly updateState: boolean;
}

const MODE_KEYS = ['training', 'updateState'] as const;

/**
 * Validates a layer mode and fills in `updateState`. A bare boolean is the training flag (the
 * form dropout and noise took before this convention). `layer` names the caller in error
 * messages; `otherKeys` lists options that may travel in the same object (batch norm's
 * `momentum`, `epsilon`), so that a misspelt key such as `updatestate` is an error instead of
 * a silent state update.
 */
export function resolveLayerMode(
  mode: boolean | LayerMode,
  layer: string,
  otherKeys: readonly string[] = [],
): ResolvedLayerMode {
  if (typeof mode === 'boolean') return { training: mode, updateState: mode };
  if (mode === null || typeof mode !== 'object' || Array.isArray(mode)) {
    throw new ConfigError(`${layer} mode`, 'a boolean or { training: boolean, updateState?: boolean }', mode);
  }
  const allowed = [...MODE_KEYS, ...otherKeys];
  for (const key of Object.keys(mode)) {
    if (!allowed.includes(key)) {
      throw new ConfigError(`${layer} mode key`, `one of ${allowed.join(', ')}`, key);
    }
  }
  const { training, updateState } = mode;
  if (typeof training !== 'boolean') throw new ConfigError(`${layer} mode.training`, 'a boolean', training);
  if (updateState !== undefined && typeof updateState !== 'boolean') {
    throw new ConfigError(`${layer} mode.updateState`, 'a boolean or undefined (defaults to training)', updateState);
  }
  if (updateState === true && !training) {
    throw new ConfigError(
      `${layer} mode.updateState`,
      'false or undefined when training is false (inference reads the moving statistics, it cannot update them)',
      updateState,
    );
  }
  return { training, updateState: updateState ?? training };
}
