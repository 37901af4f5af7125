import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackendUnavailableError, ConfigError } from '@helmholtz/core';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { initBackend } from '../src/index.js';
import { wasmStartFailure } from '../src/wasm.js';
import { rejection } from './support/rejection.js';

// A file of its own: after a failed start, tfjs-backend-wasm refuses new paths for the rest of
// the process, so nothing else here may need wasm.


// What Chromium's console showed for initBackend('wasm') without wasmPaths in a Vite app (dev
// server and built site alike: both answer index.html for the missing file).
const CHROMIUM_PRINTED = [
  "wasm streaming compile failed: TypeError: Failed to execute 'compile' on 'WebAssembly': Incorrect response MIME type. Expected 'application/wasm'.",
  'falling back to ArrayBuffer instantiation',
  'failed to asynchronously prepare wasm: CompileError: WebAssembly.instantiate(): expected magic word 00 61 73 6d, found 3c 21 64 6f @+0',
  'Aborted(CompileError: WebAssembly.instantiate(): expected magic word 00 61 73 6d, found 3c 21 64 6f @+0)',
  'Initialization of backend wasm failed',
  'Make sure the server can serve the `.wasm` file relative to the bundled js file. For more details see https://github.com/tensorflow/tfjs/blob/master/tfjs-backend-wasm/README.md#using-bundlers',
];

describe('wasm binaries that are not served, in a page', () => {
  it('without wasmPaths: says they were looked for next to the bundle, how to pass wasmPaths and where the files are', () => {
    const { reason, fix } = wasmStartFailure(CHROMIUM_PRINTED, { platform: 'browser' });
    expect(reason).toBe(
      'the wasm backend did not start: its .wasm binary was not found next to the bundled script that loaded it ' +
        '(no wasmPaths was given, and bundlers do not copy .wasm files) ' +
        '(tfjs: Aborted(CompileError: WebAssembly.instantiate(): expected magic word 00 61 73 6d, found 3c 21 64 6f @+0))',
    );
    expect(fix).toContain("initBackend('wasm', { wasmPaths: '/wasm/' })");
    expect(fix).toContain("a URL directory ending in '/', or a map from each of tfjs-backend-wasm.wasm");
    expect(fix).toContain('@tensorflow/tfjs-backend-wasm/dist/*.wasm');
    expect(fix).toContain('under pnpm not in your app\'s node_modules but next to @helmholtz/backends');
    expect(fix).toContain('node_modules/@helmholtz/backends/../../@tensorflow/tfjs-backend-wasm/dist/');
    expect(`${reason} ${fix}`).not.toMatch(/read the warning/i);
  });

  it('with wasmPaths: names the place that was tried', () => {
    expect(wasmStartFailure(CHROMIUM_PRINTED, { platform: 'browser', wasmPaths: '/static/wasm/' }).reason).toContain(
      'its .wasm binary was not found under wasmPaths "/static/wasm/"',
    );
  });

  it('a failure that is not a missing file does not claim one', () => {
    const printed = ['Initialization of backend wasm failed', 'CompileError: WebAssembly.Module(): Wasm code generation disallowed by embedder'];
    const { reason } = wasmStartFailure(printed, { platform: 'browser', wasmPaths: '/wasm/' });
    expect(reason).toBe('the wasm backend did not start (tfjs: CompileError: WebAssembly.Module(): Wasm code generation disallowed by embedder)');
  });
});

describe('wasmPaths is checked before anything loads', () => {
  it.each([
    ['/wasm', /expected a directory URL ending in '\/'/],
    [{ 'tfjs-backend-wasm.wasm': '/a.wasm' }, /missing: tfjs-backend-wasm-simd\.wasm, tfjs-backend-wasm-threaded-simd\.wasm/],
  ])('%j is a ConfigError', async (wasmPaths, message) => {
    const error = await rejection(initBackend('wasm', { wasmPaths: wasmPaths as never }));
    expect(error).toBeInstanceOf(ConfigError);
    expect(error.message).toMatch(message);
  });
});

describe('wasm binaries that are not there, in Node', () => {
  const silenced: ReturnType<typeof vi.spyOn>[] = [];
  // tfjs and Emscripten print the failure; initBackend still reads it through the console.
  beforeAll(() => silenced.push(vi.spyOn(console, 'warn').mockImplementation(() => {}), vi.spyOn(console, 'error').mockImplementation(() => {})));
  afterAll(() => silenced.forEach((s) => s.mockRestore()));

  it('names the directory tried and the file the runtime could not open, and says what to do in Node', async () => {
    const empty = `${mkdtempSync(join(tmpdir(), 'helmholtz-wasm-'))}/`;
    const error = await rejection(initBackend('wasm', { wasmPaths: empty }));
    expect(error).toBeInstanceOf(BackendUnavailableError);
    expect(error.message).toContain(`its .wasm binary was not found under wasmPaths "${empty}"`);
    expect(error.message).toMatch(new RegExp(`\\(tfjs: Aborted\\(.*ENOENT.*${empty}tfjs-backend-wasm`));
    expect(error.message).toContain('In Node leave wasmPaths out');
  });

  it('a second attempt in the same process says tfjs keeps its first paths, instead of a bare tfjs error', async () => {
    const error = await rejection(initBackend('wasm'));
    expect(error.message).toContain('an earlier start of the wasm backend failed in this page (or process)');
    expect(error.message).toContain('Pass the right wasmPaths to the first initBackend call that can reach wasm');
  });
});
