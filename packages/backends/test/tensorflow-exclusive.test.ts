import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BackendUnavailableError } from '@helmholtz/core';
import { afterAll, describe, expect, it } from 'vitest';
import { defaultImporter, type Importer } from '../src/loading.js';
import { initBackend } from '../src/index.js';

// tfjs-node cannot be installed here: a stand-in registers a "tensorflow" backend as it would.
const fakeTfjsNode: Importer = async (specifier) => {
  if (specifier === '@tensorflow/tfjs-node') {
    tf.registerBackend('tensorflow', () => new MathBackendCPU());
    return {};
  }
  return defaultImporter(specifier);
};

describe('the "tensorflow" backend belongs to one package per process', () => {
  afterAll(() => {
    tf.removeBackend('tensorflow');
  });

  it('node-gpu after node is refused, naming the package already loaded', async () => {
    const node = await initBackend('node', { importer: fakeTfjsNode });
    expect(node.name).toBe('node');
    expect(tf.getBackend()).toBe('tensorflow');
    const error = await initBackend('node-gpu', { importer: fakeTfjsNode }).then(
      () => new Error('expected a rejection'),
      (e: unknown) => e as Error,
    );
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error.message).toContain('@tensorflow/tfjs-node is already loaded in this process');
    // Asking for the same package again is fine.
    expect((await initBackend('node', { importer: fakeTfjsNode })).name).toBe('node');
  });
});
