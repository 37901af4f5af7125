import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { expectMatchingEntryPoints } from '@helmholtz/core/testing';

describe('@helmholtz/autoencoders entry points', () => {
  it('import and require resolve through the exports map to builds with the same names', async () => {
    const esm = (await import('@helmholtz/autoencoders')) as Record<string, unknown>;
    const cjs = createRequire(import.meta.url)('@helmholtz/autoencoders') as Record<string, unknown>;
    // Nothing is exported until the package's models land; a stray placeholder would show here.
    expect(expectMatchingEntryPoints(esm, cjs)).toEqual([]);
  });
});
