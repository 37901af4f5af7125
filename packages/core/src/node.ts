// Node-only parts of @helmholtz/core (file system, terminal). The main entry stays browser-safe.
export * from './checkpoint/node/index.js';
export * from './train/node/index.js';
export * from './image/node/index.js';
