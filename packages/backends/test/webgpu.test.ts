import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { describeAdapter, type GpuLike } from '../src/adapter.js';
import { loadCandidate, type LoaderContext } from '../src/candidates.js';
import { dawnMessages, dawnSaid, installNavigatorGpu, quietVulkanEnv } from '../src/node-webgpu.js';

// Dawn and browsers expose GPUAdapterInfo's fields as prototype getters: JSON.stringify and
// spreading see nothing, so the description must read each field.
class FakeInfo {
  constructor(private readonly fields: Record<string, string | boolean>) {}
  get vendor() { return this.fields.vendor; }
  get architecture() { return this.fields.architecture; }
  get device() { return this.fields.device ?? ''; }
  get description() { return this.fields.description ?? ''; }
  get isFallbackAdapter() { return this.fields.isFallbackAdapter ?? false; }
}

function fakeGpu(info: Record<string, string | boolean> | null): GpuLike {
  return { requestAdapter: async () => (info ? { info: new FakeInfo(info) as never } : null) };
}

describe('WebGPU adapters', () => {
  it('reads getter-based adapter info and flags software renderers', async () => {
    const swiftshader = await describeAdapter({ info: new FakeInfo({ vendor: 'google', architecture: 'swiftshader' }) as never });
    expect(swiftshader).toMatchObject({ vendor: 'google', architecture: 'swiftshader', software: true });
    const llvmpipe = await describeAdapter({ info: new FakeInfo({ vendor: 'mesa', architecture: '', description: 'llvmpipe (LLVM 15.0.6, 256 bits)' }) as never });
    expect(llvmpipe.software).toBe(true);
    const fallback = await describeAdapter({ info: new FakeInfo({ vendor: 'x', architecture: 'y', isFallbackAdapter: true }) as never });
    expect(fallback.software).toBe(true);
    const nvidia = await describeAdapter({ info: new FakeInfo({ vendor: 'nvidia', architecture: 'hopper', description: 'NVIDIA H100' }) as never });
    expect(nvidia).toMatchObject({ vendor: 'nvidia', architecture: 'hopper', software: false, isFallbackAdapter: false });
  });

  it('falls back to requestAdapterInfo() on older browsers', async () => {
    const old = await describeAdapter({ requestAdapterInfo: async () => ({ vendor: 'intel', architecture: 'gen-12lp' }) });
    expect(old).toMatchObject({ vendor: 'intel', architecture: 'gen-12lp', software: false });
  });
});

describe('navigator.gpu in Node', () => {
  it('creates navigator where there is none (Node 20)', () => {
    const global = {};
    const gpu = fakeGpu(null);
    installNavigatorGpu(gpu, global);
    expect((global as { navigator: { gpu: unknown } }).navigator.gpu).toBe(gpu);
  });

  it('adds gpu to an existing navigator whose fields are prototype getters (Node 21+)', () => {
    class Navigator {
      get hardwareConcurrency() { return 2; }
    }
    const global = {};
    Object.defineProperty(global, 'navigator', { get: () => nav, configurable: true });
    const nav = new Navigator();
    const gpu = fakeGpu(null);
    installNavigatorGpu(gpu, global);
    const installed = (global as { navigator: { gpu: unknown; hardwareConcurrency: number } }).navigator;
    expect(installed.gpu).toBe(gpu);
    expect(installed.hardwareConcurrency).toBe(2);
  });

  it('replaces a frozen navigator with one that inherits from it', () => {
    const global = {};
    Object.defineProperty(global, 'navigator', { value: Object.freeze({ userAgent: 'node' }), configurable: true });
    const gpu = fakeGpu(null);
    installNavigatorGpu(gpu, global);
    const installed = (global as { navigator: { gpu: unknown; userAgent: string } }).navigator;
    expect(installed.gpu).toBe(gpu);
    expect(installed.userAgent).toBe('node');
  });
});

describe('the browser webgpu loader (injected navigator and importer)', () => {
  const imported: string[] = [];
  // Registers a stand-in factory instead of loading tfjs-backend-webgpu (which needs a real GPU).
  const importer = async (specifier: string) => {
    imported.push(specifier);
    if (specifier === '@tensorflow/tfjs-backend-webgpu' && !tf.findBackendFactory('webgpu')) {
      tf.registerBackend('webgpu', () => {
        throw new Error('stand-in: never initialised in this test');
      });
    }
    return {};
  };
  const context = (global: object): LoaderContext => ({ importer, platform: 'browser', global });

  it('no navigator.gpu: unavailable, saying why', async () => {
    const result = await loadCandidate('webgpu', context({ navigator: {} }));
    expect(result.ok).toBe(false);
    expect(!result.ok && result.reason).toContain('no navigator.gpu');
  });

  it('no adapter: unavailable, saying why', async () => {
    const result = await loadCandidate('webgpu', context({ navigator: { gpu: fakeGpu(null) } }));
    expect(!result.ok && result.reason).toBe('no WebGPU adapter was found');
  });

  it('an adapter: available with its description, the backend package imported', async () => {
    const gpu = fakeGpu({ vendor: 'apple', architecture: 'metal-3' });
    const result = await loadCandidate('webgpu', context({ navigator: { gpu } }));
    expect(result).toMatchObject({ ok: true, tfName: 'webgpu', adapter: { vendor: 'apple', software: false } });
    expect(imported).toContain('@tensorflow/tfjs-backend-webgpu');
  });

  it('node-webgpu and the tfjs-node backends refuse to run in a browser', async () => {
    for (const name of ['node-webgpu', 'node', 'node-gpu'] as const) {
      const result = await loadCandidate(name, context({ navigator: {} }));
      expect(!result.ok && result.reason).toMatch(/only in Node/);
    }
  });
});

describe('keeping Dawn quiet', () => {
  it('turns off Mesa\'s device-select layer only without a session and when the user does not steer it', () => {
    expect(quietVulkanEnv({})).toEqual({ NODEVICE_SELECT: '1' });
    expect(quietVulkanEnv({ XDG_RUNTIME_DIR: '' })).toEqual({ NODEVICE_SELECT: '1' });
    expect(quietVulkanEnv({ XDG_RUNTIME_DIR: '/run/user/1000' })).toEqual({});
    expect(quietVulkanEnv({ MESA_VK_DEVICE_SELECT: '10de:2330' })).toEqual({});
    expect(quietVulkanEnv({ DRI_PRIME: '1' })).toEqual({});
    expect(quietVulkanEnv({ NODEVICE_SELECT: '0' })).toEqual({});
  });

  it("reads Dawn's stderr into one message per warning, without locations or the Wayland line", () => {
    // Captured from a child probe with lavapipe as the only driver, and with no driver at all.
    const stderr = [
      'error: XDG_RUNTIME_DIR is invalid or not set in the environment.',
      'Warning: Vulkan shaderUniform*ArrayDynamicIndexing required.',
      ' - While initializing adapter (backend=BackendType::Vulkan)',
      '    at InitializeImpl (/home/runner/work/node-webgpu/node-webgpu/third_party/dawn/src/dawn/native/vulkan/PhysicalDeviceVk.cpp:257)',
      '',
      'Warning: vkCreateInstance: Found no drivers!',
      'Warning: vkCreateInstance: Found no drivers!',
    ].join('\n');
    const messages = dawnMessages(stderr);
    expect(messages).toEqual(['Vulkan shaderUniform*ArrayDynamicIndexing required.', 'vkCreateInstance: Found no drivers!']);
    expect(dawnSaid(messages)).toBe(' (Dawn: Vulkan shaderUniform*ArrayDynamicIndexing required.; vkCreateInstance: Found no drivers!)');
    expect(dawnSaid([])).toBe('');
  });
});
