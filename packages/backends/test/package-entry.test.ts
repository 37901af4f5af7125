import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { fileURLToPath } from 'node:url';
import { expectMatchingEntryPoints } from '@helmholtz/core/testing';
import { describe, expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Runs a script in a plain Node process (no vitest resolution) from the package directory. */
function node(args: string[]): Record<string, unknown> {
  const out = execFileSync(process.execPath, args, { cwd: packageDir, encoding: 'utf8', env: { ...process.env, HELMHOLTZ_BACKEND: '' } });
  return JSON.parse(out.trim().split('\n').at(-1)!) as Record<string, unknown>;
}

describe('@helmholtz/backends entry points', () => {
  it('import and require resolve through the exports map to builds with the same names', async () => {
    const esm = (await import('@helmholtz/backends')) as Record<string, unknown>;
    const cjs = createRequire(import.meta.url)('@helmholtz/backends') as Record<string, unknown>;
    expect(expectMatchingEntryPoints(esm, cjs)).toEqual([
      'AUTO_ORDER',
      'BACKEND_CHOICES',
      'BACKEND_ENV_VAR',
      'BACKEND_PACKAGES',
      'describeBackend',
      'initBackend',
      'parseBackendChoice',
    ]);
  });

  // Plain Node, both builds: wasm must find its .wasm files with no setWasmPaths call (the CJS
  // build resolves them through tsup's import.meta.url shim), and a missing tfjs-node must give
  // the documented error.
  it.each([
    ['ESM', `import('@helmholtz/backends')`],
    ['CJS', `Promise.resolve(require('@helmholtz/backends'))`],
  ])('the %s build initialises wasm in plain Node and explains a missing tfjs-node', (_, load) => {
    const script = `
      ${load}.then(async (b) => {
        const d = await b.initBackend('wasm');
        const tf = require('@tensorflow/tfjs-core');
        const sum = Array.from(await tf.add(tf.tensor1d([1, 2]), tf.tensor1d([3, 4])).data());
        let message = '';
        try { await b.initBackend('node'); } catch (e) { message = e.message; }
        console.log(JSON.stringify({ name: d.name, threads: d.threads.count, sum, message }));
      });`;
    const result = node(['--input-type=commonjs', '-e', script]);
    // Threaded wasm on every core by default (one thread, tfjs's own build, on a one-core machine).
    expect(result).toMatchObject({ name: 'wasm', threads: availableParallelism(), sum: [4, 6] });
    expect(result.message).toContain('@tensorflow/tfjs-node is not installed (module not found)');
  });

  it('the webgpu subpath exports the same preloaded module from import and require', () => {
    const script = `
      (async () => {
        const esm = await import('@helmholtz/backends/webgpu');
        const cjs = require('@helmholtz/backends/webgpu');
        const shape = (m) => ({ names: Object.keys(m).filter((k) => k !== 'default' && k !== '__esModule').sort(),
          packageName: m.webgpu.packageName, backendClass: typeof m.webgpu.module.WebGPUBackend });
        console.log(JSON.stringify({ esm: shape(esm), cjs: shape(cjs) }));
      })();`;
    const result = node(['--input-type=commonjs', '-e', script]);
    const expected = { names: ['webgpu'], packageName: '@tensorflow/tfjs-backend-webgpu', backendClass: 'function' };
    expect(result).toEqual({ esm: expected, cjs: expected });
  });

  // Node users without the optional peer must be able to use the main entry: it may not load it.
  it('the main entry, ESM and CJS, works where @tensorflow/tfjs-backend-webgpu cannot be loaded', () => {
    const hook = `export async function resolve(specifier, context, next) {
      if (specifier === '@tensorflow/tfjs-backend-webgpu') {
        throw Object.assign(new Error('Cannot find package ' + specifier), { code: 'ERR_MODULE_NOT_FOUND' });
      }
      return next(specifier, context);
    }`;
    const script = `
      require('node:module').register('data:text/javascript,' + encodeURIComponent(${JSON.stringify(hook)}));
      const loaded = () => Object.keys(require.cache).some((p) => p.includes('tfjs-backend-webgpu'));
      (async () => {
        const esm = await import('@helmholtz/backends');
        const viaImport = (await esm.initBackend('wasm')).name;
        const subpathImport = await import('@helmholtz/backends/webgpu').then(() => 'loaded', (e) => e.code);
        const cjs = require('@helmholtz/backends');
        const viaRequire = (await cjs.initBackend('cpu')).name;
        const before = loaded();
        require('@helmholtz/backends/webgpu');
        console.log(JSON.stringify({ viaImport, subpathImport, viaRequire, before, after: loaded() }));
      })();`;
    // The subpath import failing and require.cache gaining the package show the two checks can fail.
    expect(node(['--input-type=commonjs', '-e', script])).toEqual({
      viaImport: 'wasm',
      subpathImport: 'ERR_MODULE_NOT_FOUND',
      viaRequire: 'cpu',
      before: false,
      after: true,
    });
  });
});

