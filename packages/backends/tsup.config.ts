import { copyFileSync } from 'node:fs';
import { defineConfig } from 'tsup';

export default defineConfig({
  // webgpu: the subpath that imports @tensorflow/tfjs-backend-webgpu statically, for browser bundles.
  entry: { index: 'src/index.ts', webgpu: 'src/webgpu.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // import.meta.url (wasm.ts resolves the .wasm directory from it) becomes the file's URL in CJS.
  shims: true,
  // tfjs-core is a peer: bundling it would split the kernel registry. Backend packages and Dawn
  // stay imports so each loads only when chosen.
  external: [/^@tensorflow\//, /^@helmholtz\//, 'webgpu'],
  // The file wasm threads start their workers from (src/wasm-threads.ts): plain CommonJS, copied
  // as it is so it sits next to the chunk that resolves it.
  onSuccess: async () => copyFileSync('src/wasm-thread-worker.cjs', 'dist/wasm-thread-worker.cjs'),
});
