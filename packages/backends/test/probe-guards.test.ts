import { describe, expect, it } from 'vitest';
import { probeAdapterInChild } from '../src/node-webgpu.js';

describe('the child-process WebGPU probe', () => {
  it('is never started from a probe (or from an app that restarts itself instead of running -e)', async () => {
    process.env['HELMHOLTZ_DAWN_PROBE'] = '1';
    try {
      // null: no child here, so the caller probes in-process instead of recursing.
      await expect(probeAdapterInChild()).resolves.toBeNull();
    } finally {
      delete process.env['HELMHOLTZ_DAWN_PROBE'];
    }
  });

  it('is not started in a packaged (vercel/pkg) app, whose execPath runs the app, not -e', async () => {
    (process as { pkg?: unknown }).pkg = { entrypoint: '/snapshot/app.js' };
    try {
      await expect(probeAdapterInChild()).resolves.toBeNull();
    } finally {
      delete (process as { pkg?: unknown }).pkg;
    }
  });
});
