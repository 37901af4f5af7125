import os from 'node:os';
import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, ConfigError } from '@helmholtz/core';
import { describe, expect, it } from 'vitest';
import { defaultImporter, type Importer } from '../src/loading.js';
import { describeBackend, initBackend, type BackendChoice } from '../src/index.js';
import { rejection } from './support/rejection.js';


/** Delegates to the real importer except for `pkg`, which throws `error`. */
function failing(pkg: string, error: Error): Importer {
  return async (specifier) => {
    if (specifier === pkg) throw error;
    return defaultImporter(specifier);
  };
}

describe('initBackend in Node', () => {
  it.each([
    ['node', '@tensorflow/tfjs-node'],
    ['node-gpu', '@tensorflow/tfjs-node-gpu'],
  ] as const)('a missing %s backend names %s, says "not installed" and what auto would pick', async (choice, pkg) => {
    const error = await rejection(initBackend(choice));
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error.message).toContain(`backend "${choice}" is unavailable`);
    expect(error.message).toContain(`${pkg} is not installed (module not found)`);
    expect(error.message).toContain(`npm install ${pkg}`);
    // Here no tfjs-node loads and WebGPU is SwiftShader at best, which auto skips: wasm.
    expect(error.message).toContain(`initBackend('auto'), which would pick "wasm" here`);
    const auto = await initBackend('auto', { env: {} });
    expect(auto.name).toBe('wasm');
  });

  it('a native library that fails to load is reported as such, not as "not installed"', async () => {
    const dlopen = Object.assign(
      new Error('libtensorflow.so.2: cannot open shared object file: No such file or directory'),
      { code: 'ERR_DLOPEN_FAILED' },
    );
    const error = await rejection(initBackend('node', { importer: failing('@tensorflow/tfjs-node', dlopen) }));
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error.message).toContain('@tensorflow/tfjs-node is installed but its native library failed to load');
    expect(error.message).toContain('libtensorflow.so.2: cannot open shared object file');
    expect(error.message).not.toContain('not installed');
    expect(error.message).toContain('would pick "wasm"');
  });

  it('auto skips the missing native backends and records why', async () => {
    const description = await initBackend('auto', { env: {} });
    expect(description.name).toBe('wasm');
    expect(description.requested).toBe('auto');
    expect(description.skipped.map((s) => s.backend)).toEqual(['node-gpu', 'node', 'node-webgpu']);
    expect(description.skipped[0]!.reason).toContain('@tensorflow/tfjs-node-gpu is not installed');
    expect(description.skipped[1]!.reason).toContain('@tensorflow/tfjs-node is not installed');
    // Software adapter (SwiftShader) where its ICD is present, no adapter at all otherwise.
    expect(description.skipped[2]!.reason).toMatch(/software|no WebGPU adapter/);
    expect(describeBackend()).toEqual(description);
  });

  it('auto takes a software WebGPU adapter only with allowSoftwareAdapter', async () => {
    // Needs the SwiftShader ICD that scripts/setup installs (as the parity test does): it fails without it.
    const description = await initBackend('auto', { env: {}, allowSoftwareAdapter: true });
    expect(description.name).toBe('node-webgpu');
    expect(description.software).toBe(true);
    expect(description.adapter?.architecture).toBe('swiftshader');
  });

  it('HELMHOLTZ_BACKEND overrides auto, not an explicit choice', async () => {
    const fromEnv = await initBackend('auto', { env: { HELMHOLTZ_BACKEND: 'cpu' } });
    expect(fromEnv).toMatchObject({ name: 'cpu', requested: 'cpu', fromEnv: true });
    expect(tf.getBackend()).toBe('cpu');
    const explicit = await initBackend('wasm', { env: { HELMHOLTZ_BACKEND: 'cpu' } });
    expect(explicit).toMatchObject({ name: 'wasm', fromEnv: false });
    expect(tf.getBackend()).toBe('wasm');
  });

  it('reads HELMHOLTZ_BACKEND from process.env by default', async () => {
    const saved = process.env.HELMHOLTZ_BACKEND;
    process.env.HELMHOLTZ_BACKEND = 'cpu';
    try {
      expect((await initBackend()).name).toBe('cpu');
    } finally {
      if (saved === undefined) delete process.env.HELMHOLTZ_BACKEND;
      else process.env.HELMHOLTZ_BACKEND = saved;
    }
  });

  it('an unknown choice is a ConfigError listing the valid ones', async () => {
    const error = await rejection(initBackend('gpu' as BackendChoice));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toContain('"node-webgpu"');
  });

  it('wasm finds its binaries in Node without setWasmPaths, runs a thread per core by default, exact float32', async () => {
    const description = await initBackend('wasm');
    expect(tf.getBackend()).toBe('wasm');
    expect(description).toMatchObject({ name: 'wasm', platform: 'node', adapter: null, software: false });
    // The default is os.availableParallelism(); on one core that is tfjs's single-threaded build.
    const cores = os.availableParallelism();
    expect(description.threads).toMatchObject({ count: cores, requested: cores, fallback: null });
    expect(description.float32.exact).toBe(true);
    const product = tf.matMul(tf.tensor2d([1, 2, 3, 4], [2, 2]), tf.tensor2d([1, 0, 0, 1], [2, 2]));
    expect(Array.from(await product.data())).toEqual([1, 2, 3, 4]);
  });

  it('cpu reports one thread and exact float32', async () => {
    const description = await initBackend('cpu');
    expect(description.threads.count).toBe(1);
    expect(description.float32).toMatchObject({ exact: true });
  });

  it('webgl and webgpu explain that they need a browser', async () => {
    const webgl = await rejection(initBackend('webgl'));
    expect(webgl).toBeInstanceOf(BackendUnavailableError);
    expect(webgl.message).toContain('webgl needs a browser');
    const webgpu = await rejection(initBackend('webgpu'));
    expect(webgpu.message).toContain('navigator.gpu');
    expect(webgpu.message).toContain('"node-webgpu"');
  });

  it('describeBackend follows the engine when it was switched behind its back', async () => {
    await initBackend('wasm');
    await tf.setBackend('cpu');
    expect(describeBackend()).toMatchObject({ name: 'cpu', tfBackend: 'cpu', skipped: [] });
  });
});
