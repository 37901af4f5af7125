// Node-only checkpoint targets (file system).
export { directoryCheckpoint, type DirectoryCheckpointOptions } from './directory.js';
export { nodeFileSystem, type CheckpointFileSystem } from './file-system.js';
