/**
 * tfjs-core ships its gradient functions but does not register them: the `@tensorflow/tfjs`
 * bundle does, and Helmholtz depends on tfjs-core alone. This module registers them once.
 *
 * The file it imports is ESM with extensionless relative imports, which Node cannot load
 * directly, so the build inlines it (see tsup.config.ts). The inlined code reaches the one
 * shared engine and gradient registry through tfjs-core's global namespace, as the
 * `@tensorflow/tfjs` bundle itself does; registering twice only replaces equal entries.
 */
// The installed tfjs-core must load first: the inlined code calls getOrMakeEngine(), and the
// first engine made becomes the global one. Loaded in this order, the global engine is the
// installed package's, whatever its version, and the inlined copy only registers gradients.
import '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-core/dist/register_all_gradients';

export const GRADIENTS_REGISTERED = true;
