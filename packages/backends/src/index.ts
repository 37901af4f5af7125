// The public surface of @helmholtz/backends.
export { initBackend, type InitBackendOptions } from './init.js';
export { describeBackend, type BackendDescription } from './describe.js';
export {
  AUTO_ORDER,
  BACKEND_CHOICES,
  BACKEND_ENV_VAR,
  parseBackendChoice,
  type BackendChoice,
  type ConcreteBackend,
  type Platform,
} from './choice.js';
export { BACKEND_PACKAGES } from './candidates.js';
export type { AdapterDescription } from './adapter.js';
export type { SkippedBackend } from './auto.js';
export type { Importer, PreloadedBackend } from './loading.js';
export type { WasmPaths } from './wasm.js';
