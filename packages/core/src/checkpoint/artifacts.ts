import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, formatValue } from '../errors.js';
import { configMismatch } from './config-mismatch.js';
import { checksumOf } from './checksum.js';
import { firstNonJson } from './plain-json.js';
import { flattenParams, paramPaths, subtreeAt, type ParamContainer } from '../params/tree.js';
import {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  CHECKPOINT_GENERATED_BY,
  describeShape,
  isCheckpointDtype,
  joinWeightData,
  OPTIMIZER_WEIGHT_PREFIX,
  weightByteLength,
  type CheckpointDtype,
  type CheckpointMetadata,
  type CheckpointRecord,
  type JsonValue,
} from './format.js';

/**
 * The part of an optimizer a checkpoint needs: its state comes out of `getWeights()` as named
 * tensors and goes back in through `setWeights()`.
 *
 * Use core's `ParameterGroupOptimizer` (`createOptimizer`): its state is keyed by parameter
 * path and step counter, matched by name on restore, and it has `validateWeights`, so a
 * checkpoint holding several optimizers is checked whole before any of them (or any variable)
 * changes. A raw `tf.train` optimizer fits the type, but it restores by position, frees nothing
 * it replaces, and cannot be checked beforehand.
 */
export interface CheckpointOptimizer {
  getWeights(): Promise<NamedTensor[]>;
  setWeights(weights: NamedTensor[]): Promise<void>;
  /** Throws if `setWeights(weights)` would refuse them; changes nothing. */
  validateWeights?(weights: NamedTensor[]): void;
}

/** tfjs's `NamedTensor` (not exported from tfjs-core's root). */
export interface NamedTensor {
  name: string;
  tensor: tf.Tensor;
}

/** Everything a checkpoint holds. */
export interface CheckpointContents {
  /** The model's variables, trainable or not (persistent chains are non-trainable leaves). */
  params: ParamContainer;
  /** The model's config; must be JSON. */
  config: unknown;
  /** The model's kind (`'bernoulli-rbm'`), when the checkpoint is a whole model (see `saveModel`). */
  kind?: string;
  /** Plain JSON state that is not a tensor, such as `rng.state()`. */
  state?: JsonValue;
  /** Training progress, e.g. `{ epoch: 3, step: 1200 }`. */
  metadata?: CheckpointMetadata;
  /** Optimizers whose state to keep, by a key without `/` (e.g. `{ generator, discriminator }`). */
  optimizers?: Record<string, CheckpointOptimizer>;
}

export interface RestoreOptions {
  /**
   * The tree to load into: every leaf (under `into`, when given) must be in the checkpoint
   * (under `from`) with the same shape and dtype, unless `allowMissing`.
   */
  params: ParamContainer;
  /** Optimizers to restore, by the keys they were saved under. */
  optimizers?: Record<string, CheckpointOptimizer>;
  /**
   * The model's config. The saved config must equal it ({@link configMismatch}), or nothing is
   * loaded: a checkpoint of another config can have weights of the same shapes (a different
   * activation, noise level or temperature) and would load silently otherwise.
   *
   * One of `config`, `validateConfig` or `ignoreConfig: true` is required.
   */
  config?: unknown;
  /**
   * Checks the saved config against the model's before any variable is touched: return a
   * description of the difference (or throw) to refuse the checkpoint, nothing to accept it.
   * For partial comparisons (loading one layer of a checkpoint with `from`).
   */
  validateConfig?: (saved: JsonValue) => string | null | undefined | void;
  /** Load whatever config the checkpoint was saved with. Use with care: see `config`. */
  ignoreConfig?: boolean;
  /**
   * Read only the checkpoint's weights under this path (`'layers/0'`), named relative to it;
   * the weights elsewhere are not extras. Default: the whole checkpoint.
   */
  from?: string;
  /**
   * Load only into the tree's leaves under this path (`'layers/0'`), named relative to it; the
   * other leaves are left alone. Default: every leaf.
   */
  into?: string;
  /**
   * Leaves the checkpoint lacks keep their current values instead of refusing the checkpoint
   * (a DBN loading the RBM of its first layer). Default false. Shapes and dtypes of the leaves
   * it has are still checked.
   */
  allowMissing?: boolean;
  /** Accept checkpoints holding parameters the tree lacks (they are skipped). Default false. */
  ignoreExtraWeights?: boolean;
  /** Where the artifacts came from, for error messages. */
  location?: string;
}

export interface RestoredCheckpoint {
  config: JsonValue;
  /** The model kind recorded by `saveModel`, or null. */
  kind: string | null;
  state: JsonValue;
  metadata: CheckpointMetadata;
  createdAt: string;
  /** Model paths that were assigned (relative to the tree passed in). */
  loaded: string[];
  /** Model paths left alone because the checkpoint lacks them (only with `allowMissing`). */
  missing: string[];
}

interface Entry {
  name: string;
  tensor: tf.Tensor;
  group: tf.io.WeightGroup;
}

function toJson(value: unknown, field: string, location: string): JsonValue {
  const lossy = firstNonJson(value, field);
  if (lossy) throw new CheckpointError(location, `${field} is not plain JSON: ${lossy}, which JSON cannot keep`);
  const text = JSON.stringify(value);
  return text === undefined ? null : (JSON.parse(text) as JsonValue);
}

function checkKey(key: string, location: string): void {
  if (key.length === 0 || key.includes('/')) {
    throw new CheckpointError(location, `optimizer key ${formatValue(key)} must be non-empty and contain no "/"`);
  }
}

/**
 * The values as the typed array their declared dtype is stored as. tfjs's cpu backend keeps the
 * source buffer when a tensor is cast (a float32 variable made from a bool tensor hands back a
 * Uint8Array, one from an int32 tensor an Int32Array), so the bytes of `data()` cannot be
 * trusted to match `tensor.dtype`.
 */
function asDeclaredDtype(values: tf.TypedArray | string[], dtype: CheckpointDtype): Float32Array | Int32Array | Uint8Array {
  if (dtype === 'float32') return values instanceof Float32Array ? values : Float32Array.from(values as ArrayLike<number>);
  if (dtype === 'int32') return values instanceof Int32Array ? values : Int32Array.from(values as ArrayLike<number>);
  return values instanceof Uint8Array ? values : Uint8Array.from(values as ArrayLike<number>, (x) => (x ? 1 : 0));
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
      const values = asDeclaredDtype(await tensor.data(), tensor.dtype);
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
      ...(contents.kind === undefined ? {} : { kind: contents.kind }),
      checksum: { algorithm: 'crc32', weightData: checksumOf(data), weightSpecs: specsChecksum(specs) },
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
  if (!Number.isInteger(record.formatVersion) || record.formatVersion! < 1 || record.formatVersion! > CHECKPOINT_FORMAT_VERSION) {
    throw new CheckpointError(
      location,
      `expected formatVersion <= ${CHECKPOINT_FORMAT_VERSION}, found ${formatValue(record.formatVersion)}; ` +
        'upgrade @helmholtz/core to read it',
    );
  }
  return {
    formatVersion: record.formatVersion as number,
    createdAt: typeof record.createdAt === 'string' ? record.createdAt : '',
    config: record.config ?? null,
    state: record.state ?? null,
    metadata: record.metadata ?? {},
    optimizers: Array.isArray(record.optimizers) ? record.optimizers : [],
    ...(typeof record.kind === 'string' ? { kind: record.kind } : {}),
    ...(record.checksum === undefined ? {} : { checksum: record.checksum }),
  };
}

/**
 * CRC-32 of the list that cuts the weight data into variables, in order: the UTF-8 JSON of
 * `[[name, shape, dtype, group], ...]` (group `"model"` when absent). Without it, swapping the
 * names of two weights of one shape, or reordering the list, would load every byte intact
 * into the wrong variable.
 */
export function specsChecksum(specs: readonly tf.io.WeightsManifestEntry[]): string {
  const key = JSON.stringify(specs.map((w) => [w.name, w.shape, w.dtype, w.group ?? 'model']));
  return checksumOf(new TextEncoder().encode(key));
}

/**
 * Checks the weight data against the CRC-32 the record holds. Version 1 checkpoints carry
 * none and load unverified; from version 2 a missing or malformed checksum is refused, since
 * only an edited manifest lacks it.
 */
function verifyChecksum(
  record: CheckpointRecord,
  specs: readonly tf.io.WeightsManifestEntry[],
  buffer: ArrayBuffer,
  location: string,
): void {
  if (record.formatVersion < 2 && record.checksum === undefined) return;
  const c = record.checksum as Partial<NonNullable<CheckpointRecord['checksum']>> | undefined;
  if (
    c === null ||
    typeof c !== 'object' ||
    c.algorithm !== 'crc32' ||
    typeof c.weightData !== 'string' ||
    typeof c.weightSpecs !== 'string'
  ) {
    throw new CheckpointError(
      location,
      `expected userDefinedMetadata.helmholtz.checksum to be { algorithm: "crc32", weightData: "<8 hex digits>", ` +
        `weightSpecs: "<8 hex digits>" } in a format version ${record.formatVersion} checkpoint, found ${formatValue(c)}`,
    );
  }
  const listed = specsChecksum(specs);
  if (listed !== c.weightSpecs.toLowerCase()) {
    throw new CheckpointError(
      location,
      `the list of weights was changed: its CRC-32 is ${listed}, the manifest recorded ${formatValue(c.weightSpecs)} ` +
        '(weights renamed, reordered, reshaped or dropped); nothing was loaded',
    );
  }
  const actual = checksumOf(new Uint8Array(buffer));
  if (actual !== c.weightData.toLowerCase()) {
    throw new CheckpointError(
      location,
      `the weight data is corrupt: its CRC-32 is ${actual}, the manifest recorded ${formatValue(c.weightData)} ` +
        '(a changed, truncated or swapped shard); nothing was loaded',
    );
  }
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
  checkConfigChoice(options);
  const record = readCheckpointRecord(artifacts, location);
  const specs = artifacts.weightSpecs ?? [];
  if (!Array.isArray(specs)) throw new CheckpointError(location, `expected weightSpecs to be an array, found ${formatValue(specs)}`);
  const wd = artifacts.weightData;
  if (!(wd === undefined || wd instanceof ArrayBuffer || (Array.isArray(wd) && wd.every((b) => b instanceof ArrayBuffer)))) {
    throw new CheckpointError(location, `expected weightData to be an ArrayBuffer or an array of them, found ${formatValue(wd)}`);
  }
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
  verifyChecksum(record, specs, buffer, location);

  const validate =
    options.validateConfig ?? (options.ignoreConfig ? undefined : (saved: JsonValue) => configMismatch(options.config, saved));
  if (validate) {
    let problem: string | null | undefined | void;
    try {
      problem = validate(record.config);
    } catch (e) {
      if (e instanceof CheckpointError) throw e;
      problem = (e as Error).message;
    }
    if (problem) throw new CheckpointError(location, `saved config does not match the model's: ${problem}`);
  }

  const allWeights = new Map<string, Located>();
  for (const l of located) {
    if ((l.spec.group ?? 'model') !== 'model') continue;
    if (allWeights.has(l.spec.name)) throw new CheckpointError(location, `weight '${l.spec.name}' appears twice`);
    allWeights.set(l.spec.name, l);
  }
  const from = trimPath(options.from);
  const into = trimPath(options.into);
  // Checkpoint weights under `from`, keyed by their name below it.
  const modelWeights = new Map<string, Located>();
  for (const [name, l] of allWeights) {
    if (!from) modelWeights.set(name, l);
    else if (name.startsWith(`${from}/`)) modelWeights.set(name.slice(from.length + 1), l);
  }
  if (from && modelWeights.size === 0) {
    throw new CheckpointError(location, `no weights under '${from}/'; the checkpoint has ${listNames([...allWeights.keys()])}`);
  }
  const subtree = into ? subtreeAt(options.params, into) : options.params;
  if (subtree === undefined || subtree instanceof tf.Variable) {
    const what = subtree === undefined ? 'no subtree' : 'a leaf, not a subtree, at';
    throw new CheckpointError(location, `the model has ${what} '${into}'; its leaves are ${listNames([...flattenParams(options.params).keys()])}`);
  }
  // Every path of every leaf under `into`: a tied variable may be saved under any of its paths
  // (its first path depends on the order of the tree's keys).
  const leaves = paramPaths(subtree);
  const modelPath = (relative: string) => (into ? `${into}/${relative}` : relative);
  const checkpointPath = (relative: string) => (from ? `${from}/${relative}` : relative);
  const problems: string[] = [];
  const loaded: [string, tf.Variable, Located][] = [];
  const missing: string[] = [];
  const matched = new Set<string>();
  for (const [v, paths] of leaves) {
    const path = paths[0]!;
    for (const p of paths) if (modelWeights.has(p)) matched.add(p);
    const found = paths.find((p) => modelWeights.has(p));
    const l = found === undefined ? undefined : modelWeights.get(found);
    const want = `shape ${describeShape(v.shape)} ${v.dtype}`;
    if (!l) {
      if (options.allowMissing) missing.push(modelPath(path));
      else {
        problems.push(
          `weight '${checkpointPath(path)}' (${want}) is missing; the checkpoint has ${listNames([...allWeights.keys()])}` +
            ' (pass allowMissing to keep the values the model has)',
        );
      }
    } else if (l.spec.shape.join(',') !== v.shape.join(',') || l.spec.dtype !== v.dtype) {
      problems.push(
        `weight '${checkpointPath(found!)}': the model expects ${want}, the checkpoint has shape ${describeShape(l.spec.shape)} ${l.spec.dtype}`,
      );
    } else loaded.push([modelPath(path), v, l]);
  }
  if (options.allowMissing && loaded.length === 0 && problems.length === 0) {
    problems.push(`none of the model's weights is in the checkpoint (it has ${listNames([...allWeights.keys()])})`);
  }
  if (!options.ignoreExtraWeights) {
    const extra = [...modelWeights.keys()].filter((name) => !matched.has(name)).map(checkpointPath);
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

  // Every optimizer's state is decoded and checked before any optimizer or variable changes:
  // a checkpoint refused by the second optimizer must not have restored the first.
  const decoded = new Map<string, NamedTensor[]>();
  try {
    for (const [key, list] of optimizerWeights) {
      const prefix = `${OPTIMIZER_WEIGHT_PREFIX}${key}/`;
      decoded.set(key, list.map((l) => ({ name: l.spec.name.slice(prefix.length), tensor: decode(buffer, l) })));
    }
    for (const [key, named] of decoded) {
      const optimizer = options.optimizers![key]!;
      try {
        optimizer.validateWeights?.(named);
      } catch (e) {
        throw new CheckpointError(location, `optimizer '${key}': ${problemOf(e)}; nothing was changed`);
      }
    }
    for (const [key, named] of decoded) {
      try {
        // Optimizers copy what they are given into variables of their own.
        await options.optimizers![key]!.setWeights(named);
      } catch (e) {
        // Only an optimizer without validateWeights can fail here.
        throw new CheckpointError(location, `optimizer '${key}': ${problemOf(e)}; no model variable was changed`);
      }
    }
  } finally {
    for (const named of decoded.values()) tf.dispose(named.map((n) => n.tensor));
  }
  for (const [, v, l] of loaded) {
    const t = decode(buffer, l);
    v.assign(t);
    t.dispose();
  }
  return {
    config: record.config,
    kind: record.kind ?? null,
    state: record.state,
    metadata: record.metadata,
    createdAt: record.createdAt,
    loaded: loaded.map(([path]) => path),
    missing,
  };
}

/**
 * The caller says how the saved config is checked: by equality with `config`, by its own
 * `validateConfig`, or not at all (`ignoreConfig: true`); never by silence.
 */
export function checkConfigChoice(options: Pick<RestoreOptions, 'config' | 'validateConfig' | 'ignoreConfig'>): void {
  const given = [
    options.config !== undefined && 'config',
    options.validateConfig !== undefined && 'validateConfig',
    options.ignoreConfig === true && 'ignoreConfig',
  ].filter(Boolean);
  if (options.validateConfig !== undefined && typeof options.validateConfig !== 'function') {
    throw new ConfigError('validateConfig', 'a function (savedConfig) => problem or nothing', options.validateConfig);
  }
  if (options.ignoreConfig !== undefined && typeof options.ignoreConfig !== 'boolean') {
    throw new ConfigError('ignoreConfig', 'true or false', options.ignoreConfig);
  }
  if (given.length !== 1) {
    throw new ConfigError(
      'config',
      "exactly one of: the model's config (`config`, compared with the saved one), a `validateConfig` function, " +
        'or `ignoreConfig: true` to load whatever config the checkpoint was saved with',
      given.length === 0 ? 'none of them' : `${given.join(' and ')}`,
    );
  }
}

function trimPath(path: string | undefined): string {
  return (path ?? '').replace(/^\/+|\/+$/g, '');
}

function problemOf(e: unknown): string {
  return e instanceof CheckpointError ? e.problem : e instanceof Error ? e.message : String(e);
}
