import { readFileSync, readdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { defineConfig, type Plugin } from 'vite';

/**
 * The directory of tfjs-backend-wasm's `.wasm` files. The app does not depend on the package
 * itself (@helmholtz/backends does), so under pnpm it is not in this app's node_modules:
 * resolve it from @helmholtz/backends, as Node does at run time.
 */
function wasmDirectory(): string {
  const app = createRequire(import.meta.url);
  const backends = createRequire(app.resolve('@helmholtz/backends/package.json'));
  return dirname(backends.resolve('@tensorflow/tfjs-backend-wasm'));
}

/**
 * Bundlers do not follow tfjs-backend-wasm's binaries (it fetches them at run time from the
 * `wasmPaths` prefix): copy them to `wasm/` in the build and serve them there in dev, which is
 * where src/main.ts points `initBackend('wasm', { wasmPaths })`.
 */
function wasmBinaries(): Plugin {
  const dir = wasmDirectory();
  const files = readdirSync(dir).filter((name) => name.endsWith('.wasm'));
  if (files.length === 0) throw new Error(`no .wasm files in ${dir}: reinstall @tensorflow/tfjs-backend-wasm (pnpm install)`);
  return {
    name: 'helmholtz-wasm-binaries',
    generateBundle() {
      for (const name of files) this.emitFile({ type: 'asset', fileName: `wasm/${name}`, source: readFileSync(join(dir, name)) });
    },
    configureServer(server) {
      server.middlewares.use('/wasm', (req, res, next) => {
        const name = (req.url ?? '').replace(/^\//, '').split('?')[0];
        if (!name || !files.includes(name)) return next();
        res.setHeader('Content-Type', 'application/wasm');
        res.end(readFileSync(join(dir, name)));
      });
    },
  };
}

export default defineConfig({
  plugins: [wasmBinaries()],
  build: {
    // tfjs-core and its backends are large by nature; the warning would only be noise here.
    chunkSizeWarningLimit: 4096,
    reportCompressedSize: false,
  },
});
