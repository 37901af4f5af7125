import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors.js';

/**
 * The constants and types of the Helmholtz checkpoint format (docs/checkpoints-and-images.md
 * describes it byte by byte). The format is TensorFlow.js's `model.json` + binary shards, so
 * tfjs's own IOHandlers (IndexedDB, downloads, browser files) carry it unchanged.
 */

/** Value of the manifest's top-level `format` field. */
export const CHECKPOINT_FORMAT = 'helmholtz-checkpoint';
/**
 * Version of the layout below; readers refuse versions newer than the one they know.
 * 2 added the CRC-32 of the weight data (`CheckpointRecord.checksum`) and of each shard
 * (`CheckpointJson.checksums`); version 1 checkpoints still load, unverified.
 */
export const CHECKPOINT_FORMAT_VERSION = 2;
/** Value of the manifest's `generatedBy` field. */
export const CHECKPOINT_GENERATED_BY = '@helmholtz/core';
/** Optimizer weights are stored as `optimizers/<key>/<name the optimizer gave it>`. */
export const OPTIMIZER_WEIGHT_PREFIX = 'optimizers/';
/** Shard size tfjs itself uses: small enough for browser caches and IndexedDB records. */
export const DEFAULT_SHARD_BYTES = 4 * 1024 * 1024;

/** A value that survives `JSON.stringify`/`JSON.parse` unchanged. */
export type JsonValue = null | boolean | number | string | JsonValue[] | { [key: string]: JsonValue };

/** Training progress stored with a checkpoint; `epoch` and `step` by convention, anything JSON besides. */
export interface CheckpointMetadata {
  epoch?: number;
  step?: number;
  [key: string]: JsonValue | undefined;
}

/** What Helmholtz stores in `userDefinedMetadata.helmholtz` of the manifest. */
export interface CheckpointRecord {
  formatVersion: number;
  /** ISO 8601 time of the save. */
  createdAt: string;
  /** The model's config, as JSON. */
  config: JsonValue;
  /** Plain JSON state beside the variables (e.g. `Rng.state()` of a sampler); `null` when none. */
  state: JsonValue;
  metadata: CheckpointMetadata;
  /** Keys of the optimizers whose weights the checkpoint holds, in save order. */
  optimizers: string[];
  /** The model's kind, for checkpoints written by `saveModel` (absent otherwise). */
  kind?: string;
  /**
   * CRC-32 of the whole weight data and of the weight list that cuts it into variables,
   * checked by every loader (browser handlers included). Required from format version 2.
   */
  checksum?: { algorithm: 'crc32'; weightData: string; weightSpecs: string };
}

/** The `model.json` of a checkpoint directory (a tfjs `ModelJSON` with a null topology). */
export interface CheckpointJson {
  format: string;
  generatedBy: string;
  convertedBy: null;
  /**
   * Always `{}` when written: Helmholtz models are code, not a layers graph. Not null,
   * because tfjs's `browserFiles` loader refuses a manifest whose topology is null.
   */
  modelTopology: {} | null;
  weightsManifest: tf.io.WeightsManifestConfig;
  userDefinedMetadata: { helmholtz: CheckpointRecord };
  /**
   * CRC-32 of each shard file by name (format version 2), so a corrupt file is named on load.
   * tfjs's own loaders ignore the field.
   */
  checksums?: { algorithm: 'crc32'; shards: Record<string, string> };
}

export type CheckpointDtype = 'float32' | 'int32' | 'bool';

const BYTES_PER_VALUE: Record<CheckpointDtype, number> = { float32: 4, int32: 4, bool: 1 };

export function isCheckpointDtype(dtype: string): dtype is CheckpointDtype {
  return dtype === 'float32' || dtype === 'int32' || dtype === 'bool';
}

/** Bytes one manifest entry occupies in the weight data. */
export function weightByteLength(spec: tf.io.WeightsManifestEntry, location: string): number {
  if (spec === null || typeof spec !== 'object') {
    throw new CheckpointError(location, `expected each weight entry to be an object { name, shape, dtype }, found ${JSON.stringify(spec)}`);
  }
  if (spec.quantization) {
    throw new CheckpointError(location, `weight '${spec.name}' is quantized; Helmholtz checkpoints store full precision`);
  }
  if (!isCheckpointDtype(spec.dtype)) {
    throw new CheckpointError(
      location,
      `weight '${spec.name}' has dtype ${spec.dtype}; expected one of float32, int32, bool`,
    );
  }
  if (!Array.isArray(spec.shape) || !spec.shape.every((d) => Number.isInteger(d) && d >= 0)) {
    throw new CheckpointError(location, `weight '${spec.name}' has shape ${JSON.stringify(spec.shape)}; expected non-negative integers`);
  }
  return spec.shape.reduce((a, b) => a * b, 1) * BYTES_PER_VALUE[spec.dtype];
}

export function describeShape(shape: readonly number[]): string {
  return `[${shape.join(', ')}]`;
}

/** Joins tfjs `WeightData` (one buffer or several) into one buffer. */
export function joinWeightData(data: tf.io.WeightData | undefined): ArrayBuffer {
  if (data === undefined) return new ArrayBuffer(0);
  if (!Array.isArray(data)) return data;
  const total = data.reduce((sum, b) => sum + b.byteLength, 0);
  const out = new Uint8Array(total);
  let offset = 0;
  for (const b of data) {
    out.set(new Uint8Array(b), offset);
    offset += b.byteLength;
  }
  return out.buffer;
}
