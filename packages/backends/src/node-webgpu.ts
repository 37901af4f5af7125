/**
 * WebGPU in Node through Dawn (the npm package `webgpu`): Dawn's WebGPU globals and
 * `navigator.gpu` are installed once per process, before @tensorflow/tfjs-backend-webgpu is
 * imported, because that package registers its backend only if `navigator.gpu` exists then.
 */
import type { GpuLike } from './adapter.js';
import { tryImport, type Importer, type LoadFailure } from './loading.js';

export const DAWN_PACKAGE = 'webgpu';

interface DawnModule {
  create(options: string[]): GpuLike;
  globals: object;
}

export type DawnResult = { ok: true; gpu: GpuLike } | { ok: false; failure: LoadFailure };

// One Dawn instance per process: each one enumerates adapters and holds driver state.
let dawn: Promise<DawnResult> | undefined;

/**
 * Gives `globalThis.navigator.gpu` a value. Node 20 has no `navigator`; Node 21+ has one whose
 * properties are getters on its prototype, so `gpu` is defined on the object itself, and if that
 * is refused, `navigator` is replaced by an object that inherits from the original.
 */
export function installNavigatorGpu(gpu: GpuLike, global: object = globalThis): void {
  const g = global as { navigator?: { gpu?: unknown } };
  const nav = g.navigator;
  if (nav?.gpu === gpu) return;
  if (nav == null) {
    Object.defineProperty(global, 'navigator', { value: { gpu }, configurable: true, writable: true });
    return;
  }
  try {
    Object.defineProperty(nav, 'gpu', { value: gpu, configurable: true, writable: true, enumerable: true });
  } catch {
    // fall through to replacing navigator
  }
  if (g.navigator?.gpu === gpu) return;
  const replacement = Object.create(nav, { gpu: { value: gpu, enumerable: true } }) as object;
  Object.defineProperty(global, 'navigator', { value: replacement, configurable: true, writable: true });
}

/** Loads Dawn and installs its WebGPU implementation as the process's `navigator.gpu` (once). */
export function installDawn(importer: Importer): Promise<DawnResult> {
  dawn ??= (async (): Promise<DawnResult> => {
    const imported = await tryImport<DawnModule>(importer, DAWN_PACKAGE);
    if (!imported.ok) return imported;
    try {
      const { create, globals } = imported.module;
      // GPUBufferUsage, GPUMapMode, ... : tfjs-backend-webgpu reads them as globals.
      Object.assign(globalThis, globals);
      const gpu = create([]);
      installNavigatorGpu(gpu);
      return { ok: true, gpu };
    } catch (error) {
      const detail = error instanceof Error ? error.message : String(error);
      return { ok: false, failure: { kind: 'native', pkg: DAWN_PACKAGE, detail } };
    }
  })();
  const pending = dawn;
  // A failed load may succeed later (after an install, or with another importer in tests).
  void pending.then((r) => {
    if (!r.ok && dawn === pending) dawn = undefined;
  });
  return pending;
}

/** What to do when Dawn finds no adapter: the Vulkan pieces it needs on Linux. */
export const NO_ADAPTER_FIX =
  'Dawn needs a Vulkan loader (libvulkan.so.1, Debian package libvulkan1) and a Vulkan driver. ' +
  'With a GPU, install its Vulkan driver; without one, use SwiftShader: ' +
  'VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json (Debian package chromium, which also ' +
  'ships a loader: LD_LIBRARY_PATH=/usr/lib/chromium when libvulkan1 is not installed)';
