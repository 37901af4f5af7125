import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, formatValue } from '../errors.js';
import { flattenParams, type ParamTree } from '../params/tree.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  CHECKPOINT_GENERATED_BY,
  describeShape,
  isCheckpointDtype,
  joinWeightData,
  OPTIMIZER_WEIGHT_PREFIX,
  weightByteLength,
  type CheckpointMetadata,
  type CheckpointRecord,
  type JsonValue,
} from './format.js';

/**
 * The part of an optimizer a checkpoint needs: its state (Adam's moments, the step count) comes
 * out of `getWeights()` in a fixed order and goes back in by position through `setWeights()`.
 * Use core's `ParameterGroupOptimizer` (`createOptimizer`): its `setWeights` checks the slot
 * count and shapes before anything changes and frees the state it replaces. A raw `tf.train`
 * optimizer fits the type, but its `setWeights` does neither, so restoring into one that already
 * has state leaks tensors and a mismatched checkpoint can be assigned to the wrong slots.
 */
export interface CheckpointOptimizer {
  getWeights(): Promise<NamedTensor[]>;
  setWeights(weights: NamedTensor[]): Promise<void>;
}

/** tfjs's `NamedTensor` (not exported from tfjs-core's root). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** Everything a checkpoint holds. */
export interface CheckpointContents {
  /** The model's variables, trainable or not (persistent chains are non-trainable leaves). */
  params: ParamTree;
  /** The model's config; must be JSON. */
  config: unknown;
  /** Plain JSON state that is not a tensor, such as `rng.state()`. */
  state?: JsonValue;
  /** Training progress, e.g. `{ epoch: 3, step: 1200 }`. */
  metadata?: CheckpointMetadata;
  /** Optimizers whose state to keep, by a key without `/` (e.g. `{ generator, discriminator }`). */
  optimizers?: Record<string, CheckpointOptimizer>;
}

export interface RestoreOptions {
  /** The tree to load into; every leaf must be in the checkpoint with the same shape and dtype. */
  params: ParamTree;
  /** Optimizers to restore, by the keys they were saved under. */
  optimizers?: Record<string, CheckpointOptimizer>;
  /**
   * Checks the saved config against the model's before any variable is touched: return a
   * description of the difference (or throw) to refuse the checkpoint, nothing to accept it.
   * {@link configMismatch} is a ready-made deep comparison.
   */
  validateConfig?: (saved: JsonValue) => string | null | undefined | void;
  /** Accept checkpoints holding parameters the tree lacks (they are skipped). Default false. */
  ignoreExtraWeights?: boolean;
  /** Where the artifacts came from, for error messages. */
  location?: string;
}

export interface RestoredCheckpoint {
  config: JsonValue;
  state: JsonValue;
  metadata: CheckpointMetadata;
  createdAt: string;
}

interface Entry {
  name: string;
  tensor: tf.Tensor;
  group: tf.io.WeightGroup;
}

function toJson(value: unknown, field: string, location: string): JsonValue {
  let text: string | undefined;
  try {
    text = JSON.stringify(value);
  } catch (e) {
    throw new CheckpointError(location, `${field} is not JSON-serialisable (${(e as Error).message})`);
  }
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

function checkKey(key: string, location: string): void {
  if (key.length === 0 || key.includes('/')) {
    throw new CheckpointError(location, `optimizer key ${formatValue(key)} must be non-empty and contain no "/"`);
  }
}

/**
 * Reads a model's variables, config, state and optimizer state into tfjs `ModelArtifacts`
 * (one weight buffer; the directory handler shards it). Weights are named by their
 * ParamTree path, not the engine's variable names, so the checkpoint loads into a fresh
 * instance of the model. Creates no lasting tensors.
 */
export async function toCheckpointArtifacts(
  contents: CheckpointContents,
  location = 'checkpoint',
): Promise<tf.io.ModelArtifacts> {
  const entries: Entry[] = [];
  for (const [path, v] of flattenParams(contents.params)) entries.push({ name: path, tensor: v, group: 'model' });
  // getWeights() hands back the optimizer's own variables plus fresh tensors (Adam's step
  // count); the fresh ones are ours to dispose.
  const owned: tf.Tensor[] = [];
  const optimizerKeys = Object.keys(contents.optimizers ?? {});
  try {
    for (const key of optimizerKeys) {
      checkKey(key, location);
      const weights = await contents.optimizers![key]!.getWeights();
      for (const w of weights) {
        if (!(w.tensor instanceof tf.Variable)) owned.push(w.tensor);
        entries.push({ name: `${OPTIMIZER_WEIGHT_PREFIX}${key}/${w.name}`, tensor: w.tensor, group: 'optimizer' });
      }
    }
    const specs: tf.io.WeightsManifestEntry[] = [];
    const chunks: Uint8Array[] = [];
    for (const { name, tensor, group } of entries) {
      if (!isCheckpointDtype(tensor.dtype)) {
        throw new CheckpointError(location, `weight '${name}' has dtype ${tensor.dtype}; expected float32, int32 or bool`);
      }
      const values = (await tensor.data()) as Float32Array | Int32Array | Uint8Array;
      chunks.push(new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
      specs.push({ name, shape: [...tensor.shape], dtype: tensor.dtype, group });
    }
    const total = chunks.reduce((s, c) => s + c.byteLength, 0);
    const data = new Uint8Array(total);
    let offset = 0;
    for (const c of chunks) {
      data.set(c, offset);
      offset += c.byteLength;
    }
    const record: CheckpointRecord = {
      formatVersion: CHECKPOINT_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      config: toJson(contents.config, 'config', location),
      state: toJson(contents.state ?? null, 'state', location),
      metadata: toJson(contents.metadata ?? {}, 'metadata', location) as CheckpointMetadata,
      optimizers: optimizerKeys,
    };
    return {
      format: CHECKPOINT_FORMAT,
      generatedBy: CHECKPOINT_GENERATED_BY,
      convertedBy: null,
      // See CheckpointJson.modelTopology: empty, but present for tfjs's browserFiles loader.
      modelTopology: {},
      weightSpecs: specs,
      weightData: data.buffer,
      userDefinedMetadata: { helmholtz: record as unknown as {} },
    };
  } finally {
    tf.dispose(owned);
  }
}

/** Reads and checks the Helmholtz record of artifacts loaded by any handler. */
export function readCheckpointRecord(artifacts: tf.io.ModelArtifacts, location: string): CheckpointRecord {
  if (artifacts.format !== CHECKPOINT_FORMAT) {
    throw new CheckpointError(
      location,
      `expected format ${formatValue(CHECKPOINT_FORMAT)}, found ${formatValue(artifacts.format)} (not a Helmholtz checkpoint)`,
    );
  }
  const record = (artifacts.userDefinedMetadata as Record<string, unknown> | undefined)?.['helmholtz'] as
    | Partial<CheckpointRecord>
    | undefined;
  if (record === null || typeof record !== 'object') {
    throw new CheckpointError(location, 'expected userDefinedMetadata.helmholtz to be an object, found nothing');
  }
  if (typeof record.formatVersion !== 'number' || record.formatVersion > CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      location,
      `expected formatVersion <= ${CHECKPOINT_FORMAT_VERSION}, found ${formatValue(record.formatVersion)}; ` +
        'upgrade @helmholtz/core to read it',
    );
  }
  return {
    formatVersion: record.formatVersion,
    createdAt: typeof record.createdAt === 'string' ? record.createdAt : '',
    config: record.config ?? null,
    state: record.state ?? null,
    metadata: record.metadata ?? {},
    optimizers: Array.isArray(record.optimizers) ? record.optimizers : [],
  };
}

interface Located {
  spec: tf.io.WeightsManifestEntry;
  offset: number;
  bytes: number;
}

function decode(buffer: ArrayBuffer, { spec, offset, bytes }: Located): tf.Tensor {
  // slice() copies, so the typed array is aligned whatever the offset.
  const raw = buffer.slice(offset, offset + bytes);
  const values =
    spec.dtype === 'float32' ? new Float32Array(raw) : spec.dtype === 'int32' ? new Int32Array(raw) : new Uint8Array(raw);
  return tf.tensor(values, spec.shape, spec.dtype);
}

function listNames(names: string[]): string {
  const shown = names.slice(0, 8).join(', ');
  return names.length > 8 ? `${shown}, ... (${names.length} in all)` : shown || '(none)';
}

/**
 * Loads checkpoint artifacts into a model's variables (by ParamTree path) and optimizers,
 * and returns the saved config, state and metadata. Everything is checked first: on any
 * {@link CheckpointError} no variable has been changed. Creates no lasting tensors apart
 * from the optimizers' own new state.
 */
export async function restoreFromArtifacts(
  artifacts: tf.io.ModelArtifacts,
  options: RestoreOptions,
): Promise<RestoredCheckpoint> {
  const location = options.location ?? 'checkpoint';
  const record = readCheckpointRecord(artifacts, location);
  const specs = artifacts.weightSpecs ?? [];
  const buffer = joinWeightData(artifacts.weightData);

  const located: Located[] = [];
  let offset = 0;
  for (const spec of specs) {
    const bytes = weightByteLength(spec, location);
    located.push({ spec, offset, bytes });
    offset += bytes;
  }
  if (offset !== buffer.byteLength) {
    throw new CheckpointError(
      location,
      `the manifest lists ${offset} bytes of weights, but the weight data holds ${buffer.byteLength} bytes ` +
        '(a truncated or mismatched shard)',
    );
  }

  if (options.validateConfig) {
    let problem: string | null | undefined | void;
    try {
      problem = options.validateConfig(record.config);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      problem = (e as Error).message;
    }
    if (problem) throw new CheckpointError(location, `saved config does not match the model's: ${problem}`);
  }

  const modelWeights = new Map<string, Located>();
  for (const l of located) {
    if ((l.spec.group ?? 'model') !== 'model') continue;
    if (modelWeights.has(l.spec.name)) throw new CheckpointError(location, `weight '${l.spec.name}' appears twice`);
    modelWeights.set(l.spec.name, l);
  }
  const leaves = flattenParams(options.params);
  const problems: string[] = [];
  for (const [path, v] of leaves) {
    const l = modelWeights.get(path);
    const want = `shape ${describeShape(v.shape)} ${v.dtype}`;
    if (!l) {
      problems.push(`weight '${path}' (${want}) is missing; the checkpoint has ${listNames([...modelWeights.keys()])}`);
    } else if (l.spec.shape.join(',') !== v.shape.join(',') || l.spec.dtype !== v.dtype) {
      problems.push(
        `weight '${path}': the model expects ${want}, the checkpoint has shape ${describeShape(l.spec.shape)} ${l.spec.dtype}`,
      );
    }
  }
  if (!options.ignoreExtraWeights) {
    const extra = [...modelWeights.keys()].filter((name) => !leaves.has(name));
    if (extra.length) {
      problems.push(
        `the checkpoint has weights the model lacks: ${listNames(extra)} (pass ignoreExtraWeights to skip them)`,
      );
    }
  }

  const optimizerWeights = new Map<string, Located[]>();
  for (const key of Object.keys(options.optimizers ?? {})) {
    checkKey(key, location);
    if (!record.optimizers.includes(key)) {
      problems.push(`optimizer '${key}' is missing; the checkpoint has optimizers ${listNames(record.optimizers)}`);
      continue;
    }
    const prefix = `${OPTIMIZER_WEIGHT_PREFIX}${key}/`;
    optimizerWeights.set(
      key,
      located.filter((l) => l.spec.group === 'optimizer' && l.spec.name.startsWith(prefix)),
    );
  }
  if (problems.length) throw new CheckpointError(location, problems.join('; '));

  // Optimizers first: their setWeights makes the last checks (slot counts, shapes), so a
  // checkpoint they reject leaves the model's variables untouched.
  for (const [key, list] of optimizerWeights) {
    const prefix = `${OPTIMIZER_WEIGHT_PREFIX}${key}/`;
    const named = list.map((l) => ({ name: l.spec.name.slice(prefix.length), tensor: decode(buffer, l) }));
    try {
      // tfjs optimizers copy what they are given into variables of their own.
      await options.optimizers![key]!.setWeights(named);
    } catch (e) {
      const problem = e instanceof CheckpointError ? e.problem : e instanceof Error ? e.message : String(e);
      throw new CheckpointError(location, `optimizer '${key}': ${problem}; no model variable was changed`);
    } finally {
      tf.dispose(named.map((n) => n.tensor));
    }
  }
  for (const [path, v] of leaves) {
    const t = decode(buffer, modelWeights.get(path)!);
    v.assign(t);
    t.dispose();
  }
  return { config: record.config, state: record.state, metadata: record.metadata, createdAt: record.createdAt };
}
