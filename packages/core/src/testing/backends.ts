import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from '../errors.js';

/** The backends every package's unit tests run on. */
export const TEST_BACKENDS = ['cpu', 'wasm'] as const;
export type TestBackend = (typeof TEST_BACKENDS)[number] | 'webgpu';

/**
 * Switches the engine to an already registered backend for a test. The test file (or its
 * setup) imports the backend package; core never does.
 */
export async function useBackend(name: TestBackend | string): Promise<void> {
  if (!tf.findBackendFactory(name)) {
    throw new BackendUnavailableError(
      name,
      'no backend of that name is registered',
      `Import its package in the test setup (e.g. "@tensorflow/tfjs-backend-${name}").`,
    );
  }
  const ok = await tf.setBackend(name);
  if (!ok) throw new BackendUnavailableError(name, 'its initialisation failed', 'See the console for the reason.');
  await tf.ready();
}
