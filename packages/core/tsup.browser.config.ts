import { defineConfig } from 'tsup';

/**
 * The browser build of the main entry (the `browser` condition of the exports map). It differs
 * from the ESM build in one import: tfjs-core's gradient registration stays an import of the
 * installed package, which every bundler resolves, instead of being inlined (the inlining exists
 * only because Node cannot load that file's extensionless imports). A bundle then holds one copy
 * of tfjs-core's modules, the app's, instead of a second partial copy with its own io registry.
 */
export default defineConfig({
  entry: { index: 'src/index.ts' },
  outDir: 'dist/browser',
  format: ['esm'],
  dts: false,
  sourcemap: true,
  clean: true,
  splitting: true,
  target: 'es2022',
  external: [/^@tensorflow\//, /^@helmholtz\//],
  noExternal: ['fast-png', 'iobuffer'],
});
