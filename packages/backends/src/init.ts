import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError, ConfigError } from '@helmholtz/core';
import { pickFirstAvailable, type AttemptResult } from './auto.js';
import { loadCandidate, softwareSkipReason, type Available, type LoaderContext } from './candidates.js';
import {
  AUTO_ORDER,
  detectPlatform,
  parseBackendChoice,
  processEnv,
  resolveChoice,
  type BackendChoice,
  type ConcreteBackend,
  type Platform,
} from './choice.js';
import { float32Of, recordDescription, threadsOf, type BackendDescription } from './describe.js';
import { defaultImporter, validatePreloaded, withPreloaded, type Importer, type PreloadedBackend } from './loading.js';
import { tellingLine, validateWasmPaths, wasmStartFailure, type WasmPaths } from './wasm.js';

export interface InitBackendOptions {
  /**
   * Let `auto` pick a software WebGPU adapter (SwiftShader, llvmpipe). Without it `auto` skips
   * them, being slower than wasm; an explicit 'node-webgpu' or 'webgpu' accepts them either way
   * and describeBackend flags them as software.
   */
  allowSoftwareAdapter?: boolean;
  /**
   * Where the wasm binaries are: a directory URL/path ending in '/', or a map from each of the
   * three file names to its URL. Needed in a browser app, whose bundler does not copy them.
   */
  wasmPaths?: WasmPaths;
  /**
   * Threads for the wasm backend. In Node the default is every core (`os.availableParallelism()`):
   * the threaded SIMD build runs with that many XNNPACK threads, and 1 keeps tfjs's
   * single-threaded build. In a browser tfjs runs threads only on a cross-origin isolated page;
   * this sets how many. Fixed once the backend has started in a process or page.
   */
  threads?: number;
  /**
   * Backend packages the app imported itself, used instead of a dynamic import. A browser bundle
   * contains an optional peer only when the app imports it by name: for WebGPU,
   * `import { webgpu } from '@helmholtz/backends/webgpu'` and pass `[webgpu]`.
   */
  preloaded?: readonly PreloadedBackend[];
  /** Environment to read HELMHOLTZ_BACKEND from (default: process.env where it exists). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides platform detection (default: Node when `process.versions.node` exists and there is no window). */
  platform?: Platform;
  /** Loads backend packages (default: dynamic import). For tests. */
  importer?: Importer;
  /** Where `navigator.gpu` is looked up in a browser (default: globalThis). For tests. */
  global?: object;
}

function validateThreads(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number' && Number.isInteger(value) && value >= 1 && value <= 256) return value;
  throw new ConfigError('threads', 'a whole number of threads from 1 to 256 (or leave it out for every core)', value);
}

interface Activated {
  candidate: Available;
}

function contextOf(options: InitBackendOptions): LoaderContext {
  const preloaded = validatePreloaded(options.preloaded);
  return {
    importer: withPreloaded(options.importer ?? defaultImporter, preloaded),
    platform: options.platform ?? detectPlatform(options.global ?? globalThis),
    global: options.global ?? globalThis,
    wasmPaths: validateWasmPaths(options.wasmPaths),
    wasmThreads: validateThreads(options.threads),
  };
}

/**
 * Runs `fn` while keeping a copy of what is printed through console.warn and console.error: a
 * backend that fails to start says why only there (tfjs catches the error and warns). Everything
 * is still printed.
 */
async function recordingConsole<T>(fn: () => Promise<T>): Promise<{ value: T; printed: string[] }> {
  const printed: string[] = [];
  const originals = { warn: console.warn, error: console.error };
  const wrap =
    (original: (...args: unknown[]) => void) =>
    (...args: unknown[]): void => {
      printed.push(args.map((a) => (a instanceof Error ? (a.stack ?? a.message) : String(a))).join(' '));
      original.apply(console, args);
    };
  const wrappers = { warn: wrap(originals.warn), error: wrap(originals.error) };
  console.warn = wrappers.warn;
  console.error = wrappers.error;
  try {
    return { value: await fn(), printed };
  } finally {
    // Someone else may have replaced them meanwhile: leave theirs in place.
    if (console.warn === wrappers.warn) console.warn = originals.warn;
    if (console.error === wrappers.error) console.error = originals.error;
  }
}

/** Loads a backend and switches the engine to it. */
async function activate(
  name: ConcreteBackend,
  ctx: LoaderContext,
  skipSoftware: boolean,
): Promise<AttemptResult<Activated> & { fix?: string }> {
  const candidate = await loadCandidate(name, ctx, { hardwareOnly: skipSoftware });
  if (!candidate.ok) return { ok: false, reason: candidate.reason, fix: candidate.fix };
  const software = skipSoftware ? softwareSkipReason(candidate.adapter) : null;
  if (software) return { ok: false, reason: software };
  const started = await recordingConsole(async () => {
    try {
      const switched = await tf.setBackend(candidate.tfName);
      if (switched) await tf.ready();
      return { switched, error: null };
    } catch (error) {
      return { switched: false, error: error instanceof Error ? error.message : String(error) };
    }
  });
  const { switched, error } = started.value;
  if (switched) return { ok: true, value: { candidate } };
  if (name === 'wasm') {
    return { ok: false, ...wasmStartFailure(error ? [...started.printed, error] : started.printed, ctx) };
  }
  const said = tellingLine(started.printed);
  return {
    ok: false,
    reason: error
      ? `tf.setBackend("${candidate.tfName}") threw (${error})`
      : `tf.setBackend("${candidate.tfName}") returned false: the backend's initialisation failed` +
        (said ? ` (tfjs: ${said})` : ''),
    fix: 'Choose another backend',
  };
}

/** What `auto` would choose, by loading (not switching to) candidates after `failed`. */
async function autoAlternative(ctx: LoaderContext, failed: ConcreteBackend, allowSoftware: boolean): Promise<string> {
  for (const name of AUTO_ORDER[ctx.platform]) {
    if (name === failed) continue;
    const candidate = await loadCandidate(name, ctx, { hardwareOnly: !allowSoftware });
    if (candidate.ok && (allowSoftware || !softwareSkipReason(candidate.adapter))) return `"${name}"`;
  }
  return 'nothing (no backend loads here)';
}

function describe(
  name: ConcreteBackend,
  candidate: Available,
  requested: BackendChoice,
  fromEnv: boolean,
  platform: Platform,
  skipped: BackendDescription['skipped'],
): BackendDescription {
  return {
    name,
    tfBackend: tf.getBackend(),
    requested,
    fromEnv,
    platform,
    adapter: candidate.adapter ?? null,
    software: candidate.adapter?.software ?? false,
    float32: float32Of(name),
    threads: threadsOf(name, candidate.threads),
    skipped,
  };
}

/**
 * Chooses, loads and activates a tfjs backend, then returns its description.
 *
 * `'auto'` (replaced by HELMHOLTZ_BACKEND when that is set) tries, in Node: node-gpu, node,
 * node-webgpu (hardware adapters only), wasm, cpu; in a browser: webgpu (hardware adapters
 * only), webgl, wasm, cpu. An explicit choice that cannot be used rejects with
 * BackendUnavailableError naming the package to install, why it failed and what `auto` would
 * pick instead. An unknown choice rejects with ConfigError.
 */
export function initBackend(choice: BackendChoice = 'auto', options: InitBackendOptions = {}): Promise<BackendDescription> {
  // One call at a time: tf.setBackend started twice before the first finishes discards the first
  // start (tfjs counts pending starts and keeps only the last), so one caller would reject with a
  // wrong reason and a threaded wasm module (its workers and heap) would be left running unused.
  const run = initQueue.then(
    () => initBackendNow(choice, options),
    () => initBackendNow(choice, options),
  );
  initQueue = run.catch(() => undefined);
  return run;
}

let initQueue: Promise<unknown> = Promise.resolve();

async function initBackendNow(choice: BackendChoice, options: InitBackendOptions): Promise<BackendDescription> {
  const asked = parseBackendChoice(choice, 'choice');
  const { choice: effective, fromEnv } = resolveChoice(asked, options.env ?? processEnv());
  const ctx = contextOf(options);
  const allowSoftware = options.allowSoftwareAdapter ?? false;

  if (effective === 'auto') {
    const { picked, skipped } = await pickFirstAvailable(
      AUTO_ORDER[ctx.platform].map((name) => ({ name, run: () => activate(name, ctx, !allowSoftware) })),
    );
    if (!picked) {
      throw new BackendUnavailableError(
        'auto',
        `no backend could be initialised (${skipped.map((s) => `${s.backend}: ${s.reason}`).join('; ')})`,
        'Install @tensorflow/tfjs-backend-cpu and @tensorflow/tfjs-core of the same version',
      );
    }
    const description = describe(picked.name, picked.value.candidate, effective, fromEnv, ctx.platform, skipped);
    return recordDescription(description);
  }

  const result = await activate(effective, ctx, false);
  if (!result.ok) {
    const alternative = await autoAlternative(ctx, effective, allowSoftware);
    const fix = `${result.fix ?? 'Choose another backend'}; or call initBackend('auto'), which would pick ${alternative} here.`;
    throw new BackendUnavailableError(effective, result.reason, fix);
  }
  return recordDescription(describe(effective, result.value.candidate, effective, fromEnv, ctx.platform, []));
}
