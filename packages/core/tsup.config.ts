import { defineConfig } from 'tsup';

export default defineConfig({
  entry: {"index":"src/index.ts","node":"src/node.ts","testing":"src/testing.ts"},
  format: ['esm', 'cjs'],
  dts: true,
  sourcemap: true,
  clean: true,
  // Shared chunks in the CJS build too: one copy of each error class across index, node and
  // testing, so `instanceof` holds whichever entry threw.
  splitting: true,
  target: 'es2022',
  // tfjs-core is a peer: bundling it would split the kernel registry.
  external: [/^@tensorflow\/(?!tfjs-core\/dist\/)/, /^@helmholtz\//, '@tensorflow/tfjs-core'],
  // Gradient registration is inlined: see src/gradients.ts. fast-png and iobuffer are ESM-only;
  // bundling them keeps the CJS build loadable on every Node 20, not only >= 20.19. fflate stays
  // external: it ships CJS and picks its node or browser build through its own exports map.
  noExternal: [/^@tensorflow\/tfjs-core\/dist\//, 'fast-png', 'iobuffer'],
});
