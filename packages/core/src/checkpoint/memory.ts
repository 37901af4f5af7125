import type * as tf from '@tensorflow/tfjs-core';
import { CheckpointError } from '../errors.js';
import type { CheckpointHandler } from './handlers.js';

/** A checkpoint kept in an object: for tests, EMA snapshots and "best so far" copies. */
export interface MemoryCheckpoint extends CheckpointHandler {
  /** The last saved artifacts, `null` before the first save. */
  readonly artifacts: tf.io.ModelArtifacts | null;
  save(artifacts: tf.io.ModelArtifacts): Promise<tf.io.SaveResult>;
  load(): Promise<tf.io.ModelArtifacts>;
}

/** An IOHandler that keeps the last saved checkpoint in memory (each save replaces it). */
export function memoryCheckpoint(): MemoryCheckpoint {
  let stored: tf.io.ModelArtifacts | null = null;
  return {
    location: 'memory',
    get artifacts() {
      return stored;
    },
    async save(artifacts) {
      stored = artifacts;
      const specs = JSON.stringify(artifacts.weightSpecs ?? []).length;
      const data = artifacts.weightData;
      const bytes = data === undefined ? 0 : Array.isArray(data) ? data.reduce((s, b) => s + b.byteLength, 0) : data.byteLength;
      return {
        modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightSpecsBytes: specs, weightDataBytes: bytes },
      };
    },
    async load() {
      if (!stored) throw new CheckpointError('memory', 'nothing has been saved to this memory checkpoint yet');
      return stored;
    },
  };
}
