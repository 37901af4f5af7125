import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { expectMatchingEntryPoints } from '@helmholtz/core/testing';

describe('@helmholtz/energy entry points', () => {
  it('import and require resolve through the exports map to builds with the same names, the public models among them', async () => {
    const esm = (await import('@helmholtz/energy')) as Record<string, unknown>;
    const cjs = createRequire(import.meta.url)('@helmholtz/energy') as Record<string, unknown>;
    const names = expectMatchingEntryPoints(esm, cjs);
    for (const name of ['BernoulliRBM', 'GaussianBernoulliRBM']) expect(names).toContain(name);
  });
});
