import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {"index":"src/index.ts","node":"src/node.ts","testing":"src/testing.ts"},
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  target: 'es2022',
  // tfjs-core is a peer: bundling it would split the kernel registry.
  external: [/^@tensorflow\/(?!tfjs-core\/dist\/)/, /^@helmholtz\//, '@tensorflow/tfjs-core'],
  // Gradient registration is inlined: see src/gradients.ts.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//],
});
