import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {"index":"src/index.ts"},
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // tfjs-core is a peer: bundling it would split the kernel registry.
  external: [/^@tensorflow\//, /^@helmholtz\//],
});
