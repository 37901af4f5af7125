import type * as tf from '@tensorflow/tfjs-core';
import { readCheckpointRecord, restoreFromArtifacts, toCheckpointArtifacts, type CheckpointOptimizer } from '../checkpoint/artifacts.js';
import { configMismatch } from '../checkpoint/config-mismatch.js';
import { firstNonJson } from '../checkpoint/plain-json.js';
import type { CheckpointMetadata, JsonValue } from '../checkpoint/format.js';
import type { CheckpointHandler } from '../checkpoint/handlers.js';
import { CheckpointError, formatValue } from '../errors.js';
import type { ParamTree } from '../params/tree.js';
import { Rng } from '../random/rng.js';
import { isGenerativeModel, type GenerativeModel, type ModelFactories } from './generative-model.js';

/**
 * How a model's tensors are named in its checkpoint: `params/<path>` and `state/<path>`. Load
 * one part into another tree with `loadCheckpoint(handler, { params, from: 'params' })`.
 */
export const MODEL_PARAMS_PREFIX = 'params';
export const MODEL_STATE_PREFIX = 'state';

export interface SaveModelOptions {
  /** Optimizers whose state to keep, by a key without `/`. */
  optimizers?: Record<string, CheckpointOptimizer>;
  /** A generator whose position to keep, so a resumed run draws the same numbers. */
  rng?: Rng;
  /** Any other plain JSON to keep (a run's settings, a label map). */
  extra?: JsonValue;
  /** Training progress, e.g. `{ epoch: 3, step: 1200 }` (pass `step` back as the loop's `initialStep`). */
  metadata?: CheckpointMetadata;
}

export interface LoadModelOptions<M extends GenerativeModel<unknown> = GenerativeModel<unknown>> {
  /**
   * Builds the optimizers whose state to restore, once the model exists (they need its
   * variables): `(model) => ({ adam: createOptimizer(config, model.params) })`. They are
   * returned restored, or disposed if the checkpoint is refused.
   */
  optimizers?: (model: M) => Record<string, CheckpointOptimizer>;
  /** Where the checkpoint comes from, for error messages (default: the handler's location). */
  location?: string;
}

export interface LoadedModel<M extends GenerativeModel<unknown> = GenerativeModel<unknown>> {
  model: M;
  /** The optimizers built by `options.optimizers`, with their state restored. */
  optimizers: Record<string, CheckpointOptimizer>;
  /** The saved generator, at the position it had when saved; null if none was saved. */
  rng: Rng | null;
  extra: JsonValue;
  metadata: CheckpointMetadata;
  createdAt: string;
}

/** The tensors of a model as one tree: what a model checkpoint holds. */
export function modelTree(model: GenerativeModel<unknown>): ParamTree {
  return model.state === undefined
    ? { [MODEL_PARAMS_PREFIX]: model.params as ParamTree }
    : { [MODEL_PARAMS_PREFIX]: model.params as ParamTree, [MODEL_STATE_PREFIX]: model.state as ParamTree };
}

function locationOf(handler: tf.io.IOHandler | CheckpointHandler, given?: string): string {
  if (given) return given;
  return 'location' in handler && typeof handler.location === 'string' ? handler.location : 'IOHandler';
}

function asCheckpointError(e: unknown, location: string, action: string): CheckpointError {
  if (e instanceof CheckpointError) return e;
  const error = new CheckpointError(location, `${action}: ${e instanceof Error ? e.message : String(e)}`);
  (error as Error & { cause?: unknown }).cause = e;
  return error;
}

/**
 * Saves a whole model: its kind, config, parameters and state, and optionally optimizer state,
 * a generator's position and extra JSON, to any tfjs IOHandler (`directoryCheckpoint`,
 * `memoryCheckpoint`, `indexedDbCheckpoint`, ...). {@link loadModel} rebuilds it.
 *
 * The config must be plain JSON that survives a round trip unchanged (no functions, no
 * undefined fields that matter): a config that does not is refused before anything is written.
 */
export async function saveModel(
  handler: tf.io.IOHandler | CheckpointHandler,
  model: GenerativeModel<unknown>,
  options: SaveModelOptions = {},
): Promise<tf.io.SaveResult> {
  const location = locationOf(handler);
  if (!isGenerativeModel(model)) {
    throw new CheckpointError(location, `expected a GenerativeModel (kind, config, params, dispose), got ${formatValue(model)}`);
  }
  if (typeof handler.save !== 'function') throw new CheckpointError(location, 'expected a tfjs IOHandler with a save() method');
  const lossy = firstNonJson(model.config, 'config');
  if (lossy) throw new CheckpointError(location, `the config of '${model.kind}' is not plain JSON: ${lossy}; its factory could not rebuild the model`);
  if (options.rng !== undefined && !(options.rng instanceof Rng)) {
    throw new CheckpointError(location, `expected options.rng to be an Rng, got ${formatValue(options.rng)}`);
  }
  const artifacts = await toCheckpointArtifacts(
    {
      params: modelTree(model),
      config: model.config,
      kind: model.kind,
      state: { rng: options.rng ? options.rng.state() : null, extra: options.extra ?? null },
      metadata: options.metadata ?? {},
      optimizers: options.optimizers ?? {},
    },
    location,
  );
  try {
    return await handler.save(artifacts);
  } catch (e) {
    throw asCheckpointError(e, location, 'saving failed');
  }
}

/**
 * Rebuilds a model saved by {@link saveModel}: reads the checkpoint's kind, builds the model
 * with `factories[kind](config)`, checks that the rebuilt model has the saved config, then
 * loads its parameters, state and (with `options.optimizers`) optimizer state, all checked
 * before anything is assigned. On any error the model and optimizers built here are disposed
 * and a {@link CheckpointError} says what did not match.
 *
 * `factories` is an explicit `{ kind: factory }` map (e.g. `{ ...energyModels, ...vaeModels }`).
 */
export async function loadModel<M extends GenerativeModel<unknown> = GenerativeModel<unknown>>(
  handler: tf.io.IOHandler | CheckpointHandler,
  factories: ModelFactories,
  options: LoadModelOptions<M> = {},
): Promise<LoadedModel<M>> {
  const location = locationOf(handler, options.location);
  if (typeof handler.load !== 'function') throw new CheckpointError(location, 'expected a tfjs IOHandler with a load() method');
  if (factories === null || typeof factories !== 'object') {
    throw new CheckpointError(location, `expected a { kind: factory } map, got ${formatValue(factories)}`);
  }
  let artifacts: tf.io.ModelArtifacts;
  try {
    artifacts = await handler.load();
  } catch (e) {
    throw asCheckpointError(e, location, 'loading failed');
  }
  const record = readCheckpointRecord(artifacts, location);
  const kind = record.kind;
  if (kind === undefined) {
    throw new CheckpointError(location, 'it holds no model kind: it was written by saveCheckpoint, not saveModel; load it with loadCheckpoint into a model you build');
  }
  const known = Object.keys(factories);
  const factory = Object.prototype.hasOwnProperty.call(factories, kind) ? factories[kind] : undefined;
  if (typeof factory !== 'function') {
    throw new CheckpointError(
      location,
      `it holds a '${kind}' model, and the factories given know ${known.length ? known.map((k) => `'${k}'`).join(', ') : 'no kind'}; ` +
        'pass the factory map of the package that defines it',
    );
  }
  let model: M;
  try {
    model = factory(record.config) as M;
  } catch (e) {
    throw asCheckpointError(e, location, `rebuilding the '${kind}' model from its saved config failed`);
  }
  let optimizers: Record<string, CheckpointOptimizer> = {};
  try {
    if (!isGenerativeModel(model)) throw new CheckpointError(location, `the factory for '${kind}' returned ${formatValue(model)}, not a GenerativeModel`);
    if (model.kind !== kind) throw new CheckpointError(location, `the factory for '${kind}' built a '${model.kind}' model`);
    optimizers = options.optimizers?.(model) ?? {};
    const restored = await restoreFromArtifacts(artifacts, {
      params: modelTree(model),
      optimizers,
      location,
      validateConfig: (saved) => configMismatch(model.config, saved),
    });
    const saved = (restored.state ?? {}) as { rng?: unknown; extra?: JsonValue };
    let rng: Rng | null = null;
    if (Array.isArray(saved.rng)) {
      try {
        rng = Rng.fromState(saved.rng as [number, number, number, number]);
      } catch (e) {
        throw asCheckpointError(e, location, 'the saved generator state is invalid');
      }
    }
    return {
      model,
      optimizers,
      rng,
      extra: saved.extra ?? null,
      metadata: restored.metadata,
      createdAt: restored.createdAt,
    };
  } catch (e) {
    for (const o of Object.values(optimizers)) (o as { dispose?: () => void }).dispose?.();
    (model as Partial<GenerativeModel<unknown>>).dispose?.();
    throw asCheckpointError(e, location, `loading the '${kind}' model failed`);
  }
}
