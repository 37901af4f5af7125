/**
 * One loader per backend. A loader imports what its backend needs and checks that the backend
 * is registered (and, for WebGPU, that an adapter exists); it never switches the engine and
 * never throws: it returns either what is needed to switch, or the reason it cannot.
 */
import * as tf from '@tensorflow/tfjs-core';
import { adapterLabel, describeAdapter, type AdapterDescription, type GpuLike } from './adapter.js';
import type { ConcreteBackend, Platform } from './choice.js';
import { describeFailure, fixFor, tryImport, type Importer, type LoadFailure } from './loading.js';
import {
  configureWasmPaths,
  WASM_FILES,
  WASM_FILES_LOCATION,
  WASM_PACKAGE,
  wasmBackendCreated,
  wasmThreads,
  type WasmModule,
  type WasmPaths,
} from './wasm.js';

export interface LoaderContext {
  importer: Importer;
  platform: Platform;
  /** Where `navigator` is looked up (globalThis unless a test injects one). */
  global: object;
  wasmPaths?: WasmPaths | undefined;
  /** Threads for the wasm backend (undefined: every core in Node, tfjs's choice in a browser). */
  wasmThreads?: number | undefined;
}

export interface Available {
  ok: true;
  /** The name to pass to `tf.setBackend`. */
  tfName: string;
  adapter?: AdapterDescription;
  /** Thread count, read once the backend runs. */
  threads?: () => number | null;
}

export interface Unavailable {
  ok: false;
  reason: string;
  fix: string;
  /** Set when an import failed: which package, and why. */
  failure?: LoadFailure;
}

export type CandidateResult = Available | Unavailable;

export interface LoadOptions {
  /**
   * Only a hardware WebGPU adapter is of use (auto without allowSoftwareAdapter). node-webgpu
   * then asks a child process first, and loads Dawn here only if there is such an adapter.
   */
  hardwareOnly: boolean;
}

export type Loader = (ctx: LoaderContext, options: LoadOptions) => Promise<CandidateResult>;

/** The package each backend needs, for messages and the README table. */
export const BACKEND_PACKAGES: Readonly<Record<ConcreteBackend, readonly string[]>> = {
  'node-gpu': ['@tensorflow/tfjs-node-gpu'],
  node: ['@tensorflow/tfjs-node'],
  'node-webgpu': ['webgpu', '@tensorflow/tfjs-backend-webgpu'],
  webgpu: ['@tensorflow/tfjs-backend-webgpu'],
  webgl: ['@tensorflow/tfjs-backend-webgl'],
  wasm: [WASM_PACKAGE],
  cpu: ['@tensorflow/tfjs-backend-cpu'],
};

const WEBGPU_PACKAGE = '@tensorflow/tfjs-backend-webgpu';

/** Why auto passes over a software WebGPU adapter; null for a hardware one. */
export function softwareSkipReason(adapter: AdapterDescription | undefined): string | null {
  if (!adapter?.software) return null;
  return (
    `its WebGPU adapter is ${adapterLabel(adapter)}, a CPU renderer slower than wasm; ` +
    'auto skips it (choose it explicitly, or pass allowSoftwareAdapter: true)'
  );
}

function fromFailure(failure: LoadFailure): Unavailable {
  return { ok: false, reason: describeFailure(failure), fix: fixFor(failure), failure };
}

function message(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/** Imports `pkg` unless `tfName` is already registered, then requires the registration. */
async function importRegistering(ctx: LoaderContext, pkg: string, tfName: string): Promise<Unavailable | null> {
  if (tf.findBackendFactory(tfName)) return null;
  const imported = await tryImport(ctx.importer, pkg, ctx.platform);
  if (!imported.ok) return fromFailure(imported.failure);
  if (tf.findBackendFactory(tfName)) return null;
  return {
    ok: false,
    reason: `${pkg} loaded but registered no "${tfName}" backend with this copy of @tensorflow/tfjs-core`,
    fix: `Keep a single @tensorflow/tfjs-core (check "npm ls @tensorflow/tfjs-core") at the version ${pkg} expects`,
  };
}

// tfjs-node and tfjs-node-gpu both register a backend named "tensorflow", and only one can be
// loaded in a process. Which one this package loaded is kept here, so a later request for the
// other is refused instead of silently running on the first.
let tensorflowPackage: string | null = null;

const tensorflowLoader =
  (pkg: string): Loader =>
  async (ctx) => {
    if (ctx.platform !== 'node') {
      return { ok: false, reason: `${pkg} runs only in Node`, fix: 'In a browser choose "webgpu", "webgl" or "wasm"' };
    }
    if (tensorflowPackage !== null && tensorflowPackage !== pkg) {
      return {
        ok: false,
        reason: `${tensorflowPackage} is already loaded in this process and owns the "tensorflow" backend`,
        fix: `Load one of @tensorflow/tfjs-node and @tensorflow/tfjs-node-gpu per process: start a new process for ${pkg}`,
      };
    }
    const registeredBefore = tf.findBackendFactory('tensorflow') != null;
    const missing = await importRegistering(ctx, pkg, 'tensorflow');
    if (missing) return missing;
    if (!registeredBefore) tensorflowPackage = pkg;
    return { ok: true, tfName: 'tensorflow' };
  };

/** Adapter probe plus backend import, shared by the browser and the Dawn path. */
async function webgpuWith(ctx: LoaderContext, gpu: GpuLike, noAdapterFix: string): Promise<CandidateResult> {
  let adapter;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (error) {
    return { ok: false, reason: `requesting a WebGPU adapter failed (${message(error)})`, fix: noAdapterFix };
  }
  if (!adapter) return { ok: false, reason: 'no WebGPU adapter was found', fix: noAdapterFix };
  const description = await describeAdapter(adapter);
  const missing = await importRegistering(ctx, WEBGPU_PACKAGE, 'webgpu');
  if (missing) {
    // In a browser navigator.gpu existed (checked above), so a silent package means two tfjs-cores.
    if (missing.failure || ctx.platform === 'browser') return missing;
    return {
      ...missing,
      reason: `${WEBGPU_PACKAGE} was imported before navigator.gpu existed, so it registered no "webgpu" backend`,
      fix:
        `In Node do not import ${WEBGPU_PACKAGE} (or @helmholtz/backends/webgpu, which is for browser bundles) ` +
        "before initBackend('node-webgpu'): it imports the package itself after installing Dawn",
    };
  }
  return { ok: true, tfName: 'webgpu', adapter: description };
}

const nodeWebgpu: Loader = async (ctx, options) => {
  if (ctx.platform !== 'node') {
    return { ok: false, reason: 'node-webgpu (Dawn) runs only in Node', fix: 'In a browser choose "webgpu"' };
  }
  // Node-only code (Dawn set-up, the child-process probe): a lazy chunk, out of browser bundles' main file.
  const dawnSetup = await import('./node-webgpu.js');
  const { dawnSaid, NO_ADAPTER_FIX } = dawnSetup;
  if (options.hardwareOnly && !dawnSetup.dawnInstalled()) {
    // Importing the package loads dawn.node but starts no driver: quiet, and it tells "not installed" apart.
    const imported = await tryImport(ctx.importer, dawnSetup.DAWN_PACKAGE, 'node');
    if (!imported.ok) return fromFailure(imported.failure);
    const probe = await dawnSetup.probeAdapterInChild();
    if (probe && !probe.ok) return { ok: false, reason: `${probe.reason}${dawnSaid(probe.messages)}`, fix: NO_ADAPTER_FIX };
    if (probe?.ok && probe.adapter === null) {
      return { ok: false, reason: `no WebGPU adapter was found${dawnSaid(probe.messages)}`, fix: NO_ADAPTER_FIX };
    }
    const software = probe?.ok ? softwareSkipReason(probe.adapter ?? undefined) : null;
    if (software) return { ok: false, reason: software, fix: 'Choose "node-webgpu" explicitly to use it' };
  }
  const dawn = await dawnSetup.installDawn(ctx.importer);
  if (!dawn.ok) return fromFailure(dawn.failure);
  return webgpuWith(ctx, dawn.gpu, NO_ADAPTER_FIX);
};

const browserWebgpu: Loader = async (ctx) => {
  if (ctx.platform !== 'browser') {
    return { ok: false, reason: 'webgpu needs a browser\'s navigator.gpu', fix: 'In Node choose "node-webgpu" (Dawn)' };
  }
  const gpu = (ctx.global as { navigator?: { gpu?: GpuLike } }).navigator?.gpu;
  if (!gpu) {
    return {
      ok: false,
      reason: 'this browser has no navigator.gpu (WebGPU unsupported, disabled, or not a secure context)',
      fix: 'Use a browser with WebGPU over https or localhost, or choose "webgl"',
    };
  }
  return webgpuWith(ctx, gpu, 'Enable hardware acceleration in the browser, or choose "webgl"');
};

const webgl: Loader = async (ctx) => {
  if (ctx.platform !== 'browser') {
    return { ok: false, reason: 'webgl needs a browser (a WebGL canvas)', fix: 'In Node choose "wasm", "node" or "node-webgpu"' };
  }
  return (await importRegistering(ctx, '@tensorflow/tfjs-backend-webgl', 'webgl')) ?? { ok: true, tfName: 'webgl' };
};

const wasm: Loader = async (ctx) => {
  const imported = await tryImport<WasmModule>(ctx.importer, WASM_PACKAGE, ctx.platform);
  if (!imported.ok) return fromFailure(imported.failure);
  try {
    await configureWasmPaths(imported.module, { platform: ctx.platform, wasmPaths: ctx.wasmPaths });
  } catch (error) {
    if (/already initialized/i.test(message(error))) {
      return {
        ok: false,
        reason:
          'an earlier start of the wasm backend failed in this page (or process), and tfjs-backend-wasm keeps the binary ' +
          'paths it tried first (setWasmPaths throws "already initialized")',
        fix: 'Pass the right wasmPaths to the first initBackend call that can reach wasm (auto included), and reload',
      };
    }
    return {
      ok: false,
      reason: `the wasm binaries could not be located (${message(error)})`,
      fix: `Pass initBackend(choice, { wasmPaths }) pointing to where ${WASM_FILES.join(', ')} are served; they are ${WASM_FILES_LOCATION}`,
    };
  }
  if (!tf.findBackendFactory('wasm')) {
    return {
      ok: false,
      reason: `${WASM_PACKAGE} loaded but registered no "wasm" backend with this copy of @tensorflow/tfjs-core`,
      fix: 'Keep a single @tensorflow/tfjs-core (check "npm ls @tensorflow/tfjs-core")',
    };
  }
  const module = imported.module;
  if (ctx.platform === 'node') {
    // Node-only code (worker_threads, vm): a lazy chunk, out of browser bundles' main file.
    const threaded = await import('./wasm-threads.js');
    await threaded.prepareWasmThreads(module, ctx.wasmThreads ?? (await threaded.defaultWasmThreads()), ctx.wasmPaths);
  } else if (ctx.wasmThreads !== undefined && !wasmBackendCreated()) {
    // In a page tfjs decides whether threads run (cross-origin isolation); this sets how many.
    (module as { setThreadsCount?: (n: number) => void }).setThreadsCount?.(ctx.wasmThreads);
  }
  return { ok: true, tfName: 'wasm', threads: () => wasmThreads(module) };
};

const cpu: Loader = async (ctx) =>
  (await importRegistering(ctx, '@tensorflow/tfjs-backend-cpu', 'cpu')) ?? { ok: true, tfName: 'cpu', threads: () => 1 };

const LOADERS: Readonly<Record<ConcreteBackend, Loader>> = {
  'node-gpu': tensorflowLoader('@tensorflow/tfjs-node-gpu'),
  node: tensorflowLoader('@tensorflow/tfjs-node'),
  'node-webgpu': nodeWebgpu,
  webgpu: browserWebgpu,
  webgl,
  wasm,
  cpu,
};

/** Runs one backend's loader; an unexpected throw becomes an Unavailable result. */
export async function loadCandidate(
  name: ConcreteBackend,
  ctx: LoaderContext,
  options: LoadOptions = { hardwareOnly: false },
): Promise<CandidateResult> {
  try {
    return await LOADERS[name](ctx, options);
  } catch (error) {
    return { ok: false, reason: `loading failed unexpectedly (${message(error)})`, fix: 'Report this with the stack trace' };
  }
}
