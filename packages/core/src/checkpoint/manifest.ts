import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, formatValue } from '../errors.js';
import { CHECKSUM_ALGORITHM, checksumOf } from './checksum.js';
import {
  DEFAULT_SHARD_BYTES,
  joinWeightData,
  weightByteLength,
  type CheckpointJson,
  type CheckpointRecord,
} from './format.js';

/** One binary file of a checkpoint: its name in `weightsManifest[0].paths` and its bytes. */
export interface CheckpointShard {
  path: string;
  bytes: Uint8Array;
}

/** File name of the manifest in a checkpoint directory. */
export const MANIFEST_FILE = 'model.json';

/** tfjs's converter names shards this way; numbering starts at 1. */
export function shardFileName(index: number, count: number): string {
  return `group1-shard${index + 1}of${count}.bin`;
}

/**
 * Turns checkpoint artifacts into the files of a checkpoint: `model.json` (returned as an
 * object) and the weight data cut into shards of at most `shardBytes`. Shards are cut at
 * byte boundaries, not weight boundaries, as tfjs does: a reader concatenates them.
 */
export function toCheckpointFiles(
  artifacts: tf.io.ModelArtifacts,
  shardBytes = DEFAULT_SHARD_BYTES,
): { manifest: CheckpointJson; shards: CheckpointShard[] } {
  if (!Number.isInteger(shardBytes) || shardBytes <= 0) {
    throw new CheckpointError('shardBytes', `expected a positive integer, got ${formatValue(shardBytes)}`);
  }
  const data = new Uint8Array(joinWeightData(artifacts.weightData));
  const count = Math.max(1, Math.ceil(data.byteLength / shardBytes));
  const shards: CheckpointShard[] = [];
  for (let i = 0; i < count; i++) {
    shards.push({ path: shardFileName(i, count), bytes: data.subarray(i * shardBytes, (i + 1) * shardBytes) });
  }
  const meta = (artifacts.userDefinedMetadata ?? {}) as { helmholtz: CheckpointRecord };
  const manifest: CheckpointJson = {
    format: artifacts.format ?? '',
    generatedBy: artifacts.generatedBy ?? '',
    convertedBy: null,
    modelTopology: {},
    weightsManifest: [{ paths: shards.map((s) => s.path), weights: artifacts.weightSpecs ?? [] }],
    userDefinedMetadata: meta,
    checksums: { algorithm: 'crc32', shards: Object.fromEntries(shards.map((s) => [s.path, checksumOf(s.bytes)])) },
  };
  return { manifest, shards };
}

/** Parses and checks the structure of a `model.json`. */
export function parseCheckpointJson(text: string, location: string): CheckpointJson {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    throw new CheckpointError(location, `${MANIFEST_FILE} is not valid JSON (${(e as Error).message})`);
  }
  const json = parsed as Partial<CheckpointJson> | null;
  if (json === null || typeof json !== 'object' || !Array.isArray(json.weightsManifest)) {
    throw new CheckpointError(location, `expected ${MANIFEST_FILE} to be an object with a weightsManifest array`);
  }
  for (const group of json.weightsManifest) {
    if (!group || !Array.isArray(group.paths) || !Array.isArray(group.weights)) {
      throw new CheckpointError(location, `expected each weightsManifest group to have paths and weights arrays`);
    }
    for (const path of group.paths) safeShardName(path, location);
  }
  if (json.checksums !== undefined) {
    const c = json.checksums as Partial<NonNullable<CheckpointJson['checksums']>> | null;
    const shards = c?.shards as Record<string, unknown> | undefined;
    if (
      c === null ||
      typeof c !== 'object' ||
      c.algorithm !== CHECKSUM_ALGORITHM ||
      shards === null ||
      typeof shards !== 'object' ||
      Object.values(shards).some((v) => typeof v !== 'string')
    ) {
      throw new CheckpointError(
        location,
        `expected checksums in ${MANIFEST_FILE} to be { algorithm: "crc32", shards: { <file>: "<hex>" } }, found ${formatValue(c)}`,
      );
    }
  }
  return json as CheckpointJson;
}

/**
 * A shard path as a plain file name inside the checkpoint: tfjs writes `./x.bin` in some
 * handlers; anything that climbs out of the directory is refused.
 */
export function safeShardName(path: unknown, location: string): string {
  const name = typeof path === 'string' ? path.replace(/^\.\//, '') : '';
  if (!name || name === '.' || name === '..' || name.includes('/') || name.includes('\\')) {
    throw new CheckpointError(location, `expected a shard file name in the same directory, found ${formatValue(path)}`);
  }
  return name;
}

/**
 * Rebuilds artifacts from a parsed `model.json` and its shards' bytes, checking that each
 * group's shards hold exactly the bytes its weights need.
 */
export function fromCheckpointFiles(
  manifest: CheckpointJson,
  shards: Map<string, Uint8Array>,
  location: string,
): tf.io.ModelArtifacts {
  const specs: tf.io.WeightsManifestEntry[] = [];
  const buffers: ArrayBuffer[] = [];
  for (const group of manifest.weightsManifest) {
    const expected = group.weights.reduce((sum, spec) => sum + weightByteLength(spec, location), 0);
    let found = 0;
    for (const path of group.paths) {
      const bytes = shards.get(safeShardName(path, location));
      if (!bytes) throw new CheckpointError(location, `shard '${path}' listed in ${MANIFEST_FILE} is missing`);
      found += bytes.byteLength;
      buffers.push(bytes.slice().buffer);
    }
    if (found !== expected) {
      throw new CheckpointError(
        location,
        `shards ${group.paths.join(', ')} hold ${found} bytes, but ${MANIFEST_FILE} lists ${expected} bytes ` +
          `for weights ${group.weights.map((w) => `${w.name} [${w.shape.join(', ')}] ${w.dtype}`).join(', ')}`,
      );
    }
    specs.push(...group.weights);
  }
  return {
    format: manifest.format,
    generatedBy: manifest.generatedBy,
    convertedBy: manifest.convertedBy,
    modelTopology: manifest.modelTopology ?? {},
    weightSpecs: specs,
    weightData: joinWeightData(buffers),
    userDefinedMetadata: manifest.userDefinedMetadata as unknown as { [key: string]: {} },
  };
}
