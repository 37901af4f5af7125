import * as tf from '@tensorflow/tfjs-core';
import { importNodeBuiltin } from './loading.js';

export const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** The wasm binaries' names, as `setWasmPaths` takes them in its map form. */
export type WasmPaths =
  | string
  | Partial<
      Record<'tfjs-backend-wasm.wasm' | 'tfjs-backend-wasm-simd.wasm' | 'tfjs-backend-wasm-threaded-simd.wasm', string>
    >;

/** The part of @tensorflow/tfjs-backend-wasm used here. */
export interface WasmModule {
  setWasmPaths(prefixOrFileMap: WasmPaths, usePlatformFetch?: boolean): void;
  getThreadsCount?: () => number;
}

/**
 * In Node, the directory that holds the `.wasm` files, with a trailing slash: resolved from the
 * package's main file, so it is right wherever the package manager put it (pnpm's store,
 * hoisted or not). `import.meta.url` is the ESM build's own URL; tsup's `shims` turn it into the
 * CJS file's URL in the CJS build.
 */
export async function nodeWasmDirectory(): Promise<string> {
  const { createRequire } = (await importNodeBuiltin('node:module')) as typeof import('node:module');
  const { dirname } = (await importNodeBuiltin('node:path')) as typeof import('node:path');
  const require = createRequire(import.meta.url);
  const main = require.resolve(WASM_PACKAGE);
  return `${dirname(main)}/`;
}

/** Whether the wasm backend has already been created (its binary paths can no longer change). */
export function wasmBackendCreated(): boolean {
  const registry = (tf.engine() as unknown as { registry?: Record<string, unknown> }).registry;
  return registry?.wasm != null;
}

/**
 * Points the wasm backend at its binaries before it starts: the caller's `wasmPaths` when
 * given, else in Node the package's own dist directory. In a browser without `wasmPaths` the
 * backend looks next to the script that loaded it (see README for bundlers).
 */
export async function configureWasmPaths(
  wasm: WasmModule,
  options: { platform: 'node' | 'browser'; wasmPaths?: WasmPaths | undefined },
): Promise<string | undefined> {
  if (wasmBackendCreated()) return undefined;
  const paths = options.wasmPaths ?? (options.platform === 'node' ? await nodeWasmDirectory() : undefined);
  if (paths !== undefined) wasm.setWasmPaths(paths);
  return typeof paths === 'string' ? paths : paths === undefined ? undefined : JSON.stringify(paths);
}

/** The wasm backend's XNNPACK thread count once it is running (1 in Node: threads are off there). */
export function wasmThreads(wasm: WasmModule): number | null {
  try {
    return wasm.getThreadsCount?.() ?? null;
  } catch {
    return null;
  }
}
