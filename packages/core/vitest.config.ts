import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

export default defineConfig({
  resolve: {
    alias: {
      // Node cannot load tfjs-core's gradient file from source (see src/gradients.ts); tests take
      // the registration from the built bundle instead, which `turbo test` builds first.
      '@tensorflow/tfjs-core/dist/register_all_gradients': fileURLToPath(
        new URL('./test/support/gradients-from-build.ts', import.meta.url),
      ),
    },
  },
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['./test/support/setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
  },
});
