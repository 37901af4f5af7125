// Test helpers for packages built on @helmholtz/core. Not part of the model API.
export { withNoLeaks, expectNoLeaks } from './testing/leaks.js';
export { useBackend, TEST_BACKENDS, type TestBackend } from './testing/backends.js';
export { expectAllClose, maxRelativeError } from './testing/close.js';
export { expectMatchingEntryPoints } from './testing/entry-points.js';
