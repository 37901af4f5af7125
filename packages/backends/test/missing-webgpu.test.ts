import { BackendUnavailableError } from '@helmholtz/core';
import { describe, expect, it } from 'vitest';
import { defaultImporter, type Importer } from '../src/loading.js';
import { initBackend } from '../src/index.js';

// A file of its own: Dawn is set up once per process, so this must run before anything loads it.
describe('node-webgpu without its optional packages', () => {
  const notFound = (pkg: string) =>
    Object.assign(new Error(`Cannot find package '${pkg}' imported from /app/index.js`), { code: 'ERR_MODULE_NOT_FOUND' });
  const without =
    (pkg: string): Importer =>
    async (specifier) => {
      if (specifier === pkg) throw notFound(pkg);
      return defaultImporter(specifier);
    };

  it.each(['webgpu', '@tensorflow/tfjs-backend-webgpu'])(
    'a missing %s is named, with "not installed" and what auto would pick',
    async (pkg) => {
      const error = await initBackend('node-webgpu', { importer: without(pkg) }).then(
        () => new Error('expected a rejection'),
        (e: unknown) => e as Error,
      );
      expect(error).toBeInstanceOf(BackendUnavailableError);
      expect(error.message).toContain(`${pkg} is not installed (module not found)`);
      expect(error.message).toContain(`npm install ${pkg}`);
      expect(error.message).toContain(`which would pick "wasm" here`);
    },
  );
});
