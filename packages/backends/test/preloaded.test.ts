import * as tf from '@tensorflow/tfjs-core';
import { MathBackendCPU } from '@tensorflow/tfjs-backend-cpu';
import { BackendUnavailableError } from '@helmholtz/core';
import { describe, expect, it } from 'vitest';
import type { GpuLike } from '../src/adapter.js';
import { initBackend, type Importer, type PreloadedBackend } from '../src/index.js';
import { rejection } from './support/rejection.js';

// A file of its own: the tests below depend on whether a "webgpu" backend factory is registered,
// and registration cannot be undone.

const WEBGPU = '@tensorflow/tfjs-backend-webgpu';

/** A page whose bundle holds no optional peer: every run-time import by name fails as in Chromium. */
const imported: string[] = [];
const bundleWithout: Importer = async (specifier) => {
  imported.push(specifier);
  throw new TypeError(`Failed to resolve module specifier '${specifier}'`);
};

const gpu: GpuLike = {
  requestAdapter: async () => ({ info: { vendor: 'apple', architecture: 'metal-3', device: '', description: '' } }),
};
const page = { navigator: { gpu } };
const inPage = { platform: 'browser' as const, global: page, importer: bundleWithout, env: {} };


describe('webgpu in a bundled page', () => {
  it('without preloaded: "this bundle cannot load it" and the one line to add, never "not installed"', async () => {
    const error = await rejection(initBackend('webgpu', inPage));
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error.message).toContain(`${WEBGPU} is imported at run time, and this bundle cannot load it: `);
    expect(error.message).toContain(`Failed to resolve module specifier '${WEBGPU}'`);
    expect(error.message).toContain("add `import { webgpu } from '@helmholtz/backends/webgpu'` to your app");
    expect(error.message).not.toContain('not installed');
  });

  it('auto records the same reason when it passes over webgpu', async () => {
    // cpu is registered here (this file imports tfjs-backend-cpu), so auto ends there.
    const description = await initBackend('auto', inPage);
    expect(description.name).toBe('cpu');
    expect(description.skipped[0]).toMatchObject({ backend: 'webgpu' });
    expect(description.skipped[0]!.reason).toContain('this bundle cannot load it');
  });

  it('a preloaded module is used instead of the run-time import', async () => {
    imported.length = 0;
    // A module that registered nothing: the loader reports that about the module it was given,
    // which shows it never asked the importer (that would have said "this bundle cannot load it").
    const silent: PreloadedBackend = { packageName: WEBGPU, module: {} };
    const error = await rejection(initBackend('webgpu', { ...inPage, preloaded: [silent] }));
    expect(error.message).toContain(`${WEBGPU} loaded but registered no "webgpu" backend with this copy of @tensorflow/tfjs-core`);
    expect(imported).not.toContain(WEBGPU);
  });

  it("initBackend('webgpu' | 'auto', { preloaded: [webgpu] }) starts it", async () => {
    // What the real package does as it is evaluated in a page with navigator.gpu; a CPU backend
    // stands in for the WebGPU one, which needs a device.
    tf.registerBackend('webgpu', () => new MathBackendCPU());
    const webgpu: PreloadedBackend = { packageName: WEBGPU, module: { registered: true } };
    const explicit = await initBackend('webgpu', { ...inPage, preloaded: [webgpu] });
    expect(explicit).toMatchObject({ name: 'webgpu', tfBackend: 'webgpu', platform: 'browser', adapter: { vendor: 'apple', software: false } });
    await tf.setBackend('cpu');
    const auto = await initBackend('auto', { ...inPage, preloaded: [webgpu] });
    expect(auto).toMatchObject({ name: 'webgpu', requested: 'auto', skipped: [] });
    expect(tf.getBackend()).toBe('webgpu');
  });
});
