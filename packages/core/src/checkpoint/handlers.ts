import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors.js';
import {
  checkConfigChoice,
  restoreFromArtifacts,
  toCheckpointArtifacts,
  type CheckpointContents,
  type RestoreOptions,
  type RestoredCheckpoint,
} from './artifacts.js';

/** A tfjs IOHandler that knows where it points, for error messages. */
export interface CheckpointHandler extends tf.io.IOHandler {
  readonly location: string;
}

function locationOf(handler: tf.io.IOHandler | CheckpointHandler): string {
  return 'location' in handler && typeof handler.location === 'string' ? handler.location : 'IOHandler';
}

function handlerMethods(handler: object): string {
  const keys = Object.keys(handler ?? {}).filter((k) => typeof (handler as Record<string, unknown>)[k] === 'function');
  return keys.length ? `methods ${keys.join(', ')}` : 'no methods';
}

function asCheckpointError(e: unknown, location: string, action: string): CheckpointError {
  if (e instanceof CheckpointError) return e;
  const error = new CheckpointError(location, `${action} failed: ${e instanceof Error ? e.message : String(e)}`);
  (error as Error & { cause?: unknown }).cause = e;
  return error;
}

/**
 * Saves a model's parameters, config, state, metadata and optimizer state to any tfjs
 * IOHandler: {@link memoryCheckpoint}, {@link indexedDbCheckpoint}, {@link downloadCheckpoint},
 * `directoryCheckpoint` (Node), or tfjs's own (`tf.io.withSaveHandler`, `tf.io.browserFiles`...).
 */
export async function saveCheckpoint(
  target: tf.io.IOHandler | CheckpointHandler,
  contents: CheckpointContents,
): Promise<tf.io.SaveResult> {
  const location = locationOf(target);
  if (typeof target.save !== 'function') throw new CheckpointError(location, `expected a tfjs IOHandler with a save() method, got one with ${handlerMethods(target)}`);
  const artifacts = await toCheckpointArtifacts(contents, location);
  try {
    return await target.save(artifacts);
  } catch (e) {
    throw asCheckpointError(e, location, 'saving');
  }
}

/**
 * Loads a checkpoint from any tfjs IOHandler into a model's parameters and optimizers;
 * see {@link restoreFromArtifacts} for the checks made before anything is assigned.
 */
export async function loadCheckpoint(
  source: tf.io.IOHandler | CheckpointHandler,
  options: RestoreOptions,
): Promise<RestoredCheckpoint> {
  const location = options.location ?? locationOf(source);
  checkConfigChoice(options);
  if (typeof source.load !== 'function') throw new CheckpointError(location, `expected a tfjs IOHandler with a load() method, got one with ${handlerMethods(source)}`);
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await source.load();
  } catch (e) {
    throw asCheckpointError(e, location, 'loading');
  }
  return restoreFromArtifacts(artifacts, { ...options, location });
}
