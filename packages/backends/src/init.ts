import * as tf from '@tensorflow/tfjs-core';
import { BackendUnavailableError } from '@helmholtz/core';
import { adapterLabel } from './adapter.js';
import { pickFirstAvailable, type AttemptResult } from './auto.js';
import { loadCandidate, type Available, type LoaderContext } from './candidates.js';
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
import { defaultImporter, type Importer } from './loading.js';
import type { WasmPaths } from './wasm.js';

export interface InitBackendOptions {
  /**
   * Let `auto` pick a software WebGPU adapter (SwiftShader, llvmpipe). Without it `auto` skips
   * them, being slower than wasm; an explicit 'node-webgpu' or 'webgpu' accepts them either way
   * and describeBackend flags them as software.
   */
  allowSoftwareAdapter?: boolean;
  /** Where the wasm binaries are: a directory URL/path ending in '/', or a map per file. */
  wasmPaths?: WasmPaths;
  /** Environment to read HELMHOLTZ_BACKEND from (default: process.env where it exists). */
  env?: Readonly<Record<string, string | undefined>>;
  /** Overrides platform detection (default: Node when `process.versions.node` exists and there is no window). */
  platform?: Platform;
  /** Loads backend packages (default: dynamic import). For tests. */
  importer?: Importer;
  /** Where `navigator.gpu` is looked up in a browser (default: globalThis). For tests. */
  global?: object;
}

interface Activated {
  candidate: Available;
}

function contextOf(options: InitBackendOptions): LoaderContext {
  return {
    importer: options.importer ?? defaultImporter,
    platform: options.platform ?? detectPlatform(options.global ?? globalThis),
    global: options.global ?? globalThis,
    wasmPaths: options.wasmPaths,
  };
}

function softwareSkipReason(candidate: Available): string | null {
  if (!candidate.adapter?.software) return null;
  return (
    `its WebGPU adapter is ${adapterLabel(candidate.adapter)}, a CPU renderer slower than wasm; ` +
    'auto skips it (choose it explicitly, or pass allowSoftwareAdapter: true)'
  );
}

/** Loads a backend and switches the engine to it. */
async function activate(
  name: ConcreteBackend,
  ctx: LoaderContext,
  skipSoftware: boolean,
): Promise<AttemptResult<Activated> & { fix?: string }> {
  const candidate = await loadCandidate(name, ctx);
  if (!candidate.ok) return { ok: false, reason: candidate.reason, fix: candidate.fix };
  const software = skipSoftware ? softwareSkipReason(candidate) : null;
  if (software) return { ok: false, reason: software };
  let switched = false;
  try {
    switched = await tf.setBackend(candidate.tfName);
    if (switched) await tf.ready();
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    return { ok: false, reason: `tf.setBackend("${candidate.tfName}") threw (${detail})`, fix: 'See the error above' };
  }
  if (!switched) {
    return {
      ok: false,
      reason: `tf.setBackend("${candidate.tfName}") returned false: the backend's initialisation failed (tfjs logged why)`,
      fix: 'Read the warning tfjs printed above this error',
    };
  }
  return { ok: true, value: { candidate } };
}

/** What `auto` would choose, by loading (not switching to) candidates after `failed`. */
async function autoAlternative(ctx: LoaderContext, failed: ConcreteBackend, allowSoftware: boolean): Promise<string> {
  for (const name of AUTO_ORDER[ctx.platform]) {
    if (name === failed) continue;
    const candidate = await loadCandidate(name, ctx);
    if (candidate.ok && (allowSoftware || !softwareSkipReason(candidate))) return `"${name}"`;
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
export async function initBackend(
  choice: BackendChoice = 'auto',
  options: InitBackendOptions = {},
): Promise<BackendDescription> {
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
