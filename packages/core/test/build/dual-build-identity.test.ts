import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

// An ESM app that requires a CJS dependency loads both builds of core: two copies of every class.
function runEsm(code: string): string {
  return execFileSync(process.execPath, ['--input-type=module', '-e', code], {
    cwd: fileURLToPath(new URL('../..', import.meta.url)),
    encoding: 'utf8',
  }).trim();
}

describe('the ESM and CJS builds loaded in one process (bug 10)', () => {
  it('accept each other\'s Rng and recognise each other\'s errors, with literal names', () => {
    const out = runEsm(`
      import { createRequire } from 'node:module';
      import * as esm from '@helmholtz/core';
      import '@tensorflow/tfjs-backend-cpu';
      const cjs = createRequire(import.meta.url)('@helmholtz/core');
      const fromCjs = new cjs.Rng(5);
      const expected = new esm.Rng(5).next();
      const taken = esm.toRng(fromCjs);
      const error = new cjs.BackendUnavailableError('webgpu', 'absent', 'install it');
      const shape = new esm.ShapeError('x', [1], [2]);
      console.log(JSON.stringify({
        distinctClasses: esm.Rng !== cjs.Rng,
        rngAccepted: taken === fromCjs && fromCjs instanceof esm.Rng,
        sameStream: taken.next() === expected,
        crossInstanceof: error instanceof esm.BackendUnavailableError && error instanceof esm.HelmholtzError,
        reverse: shape instanceof cjs.ShapeError && shape instanceof cjs.HelmholtzError,
        notOther: !(error instanceof esm.ShapeError) && !(shape instanceof cjs.ConfigError) && !({} instanceof esm.Rng),
        names: [error.name, shape.name, String(new cjs.ConfigError('f', 'x', 1)).split(':')[0]],
      }));
    `);
    expect(JSON.parse(out)).toEqual({
      distinctClasses: true,
      rngAccepted: true,
      sameStream: true,
      crossInstanceof: true,
      reverse: true,
      notOther: true,
      names: ['BackendUnavailableError', 'ShapeError', 'ConfigError'],
    });
  });
});
