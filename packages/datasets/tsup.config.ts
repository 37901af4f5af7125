import { defineConfig } from 'tsup';

export default defineConfig({
  entry: { index: 'src/index.ts', node: 'src/node.ts' },
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // import.meta.url locates the data packages; the CJS build needs it shimmed.
  shims: true,
  // tfjs-core is a peer: bundling it would split the kernel registry.
  external: [/^@tensorflow\//, /^@helmholtz\//],
});
