// Checkpoints: a model's variables, config, state and optimizer state in the tfjs weights format.
export {
  restoreFromArtifacts,
  toCheckpointArtifacts,
  readCheckpointRecord,
  type CheckpointContents,
  type CheckpointOptimizer,
  type RestoreOptions,
  type RestoredCheckpoint,
} from './artifacts.js';
export { configMismatch } from './config-mismatch.js';
export {
  CHECKPOINT_FORMAT,
  CHECKPOINT_FORMAT_VERSION,
  DEFAULT_SHARD_BYTES,
  OPTIMIZER_WEIGHT_PREFIX,
  type CheckpointJson,
  type CheckpointMetadata,
  type CheckpointRecord,
  type JsonValue,
} from './format.js';
export { loadCheckpoint, saveCheckpoint, type CheckpointHandler } from './handlers.js';
export {
  fromCheckpointFiles,
  MANIFEST_FILE,
  parseCheckpointJson,
  toCheckpointFiles,
  type CheckpointShard,
} from './manifest.js';
export { memoryCheckpoint, type MemoryCheckpoint } from './memory.js';
export { downloadCheckpoint, indexedDbCheckpoint } from './browser.js';
