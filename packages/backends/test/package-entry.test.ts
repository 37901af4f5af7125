import { execFileSync } from 'node:child_process';
import { createRequire } from 'node:module';
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
    expect(result).toMatchObject({ name: 'wasm', threads: 1, sum: [4, 6] });
    expect(result.message).toContain('@tensorflow/tfjs-node is not installed (module not found)');
  });
});
