import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@helmholtz/core';
import { importNodeBuiltin } from './loading.js';

export const WASM_PACKAGE = '@tensorflow/tfjs-backend-wasm';

/** The three binaries; tfjs picks one by SIMD and thread support. */
export const WASM_FILES = [
  'tfjs-backend-wasm.wasm',
  'tfjs-backend-wasm-simd.wasm',
  'tfjs-backend-wasm-threaded-simd.wasm',
] as const;

/**
 * Where the wasm binaries are: a directory URL ending in '/' (each file name is appended to it),
 * or the URL of each of the three files (tfjs refuses a map that lacks one).
 */
export type WasmPaths = string | Readonly<Record<(typeof WASM_FILES)[number], string>>;

/** Checks `wasmPaths` before anything is loaded; tfjs would append file names to a prefix without '/'. */
export function validateWasmPaths(value: unknown): WasmPaths | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'string') {
    if (value.endsWith('/')) return value;
    throw new ConfigError('wasmPaths', "a directory URL ending in '/' (tfjs appends the file names to it), e.g. '/wasm/'", value);
  }
  const map = value as Record<string, unknown> | null;
  const missing = typeof map === 'object' && map !== null ? WASM_FILES.filter((f) => typeof map[f] !== 'string') : WASM_FILES;
  if (missing.length === 0) return value as WasmPaths;
  throw new ConfigError(
    'wasmPaths',
    `a directory URL ending in '/', or a map with a URL for each of ${WASM_FILES.map((f) => `'${f}'`).join(', ')} (missing: ${missing.join(', ')})`,
    value,
  );
}

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

/** Threads the wasm backend was asked for in this process, and why fewer run when they do. */
export interface WasmThreading {
  requested: number;
  /** Why the backend runs on fewer threads than requested; null when it runs as asked. */
  fallback: string | null;
}

let threading: WasmThreading | null = null;

export function wasmThreading(): WasmThreading | null {
  return threading;
}

export function recordWasmThreading(value: WasmThreading): void {
  threading = value;
}

/** The wasm backend's XNNPACK thread count once it is running. */
export function wasmThreads(wasm: WasmModule): number | null {
  try {
    return wasm.getThreadsCount?.() ?? null;
  } catch {
    return null;
  }
}

/** Where the binaries are in node_modules, in words that hold for npm's and pnpm's layouts. */
export const WASM_FILES_LOCATION =
  `${WASM_PACKAGE}/dist/*.wasm (under pnpm not in your app's node_modules but next to ` +
  `@helmholtz/backends: node_modules/@helmholtz/backends/../../${WASM_PACKAGE}/dist/); ` +
  'the README\'s "In a browser app" has a Vite config for npm and pnpm';

// What Emscripten and tfjs print when the fetched bytes are not the binary (a 404 page, index.html
// from an SPA fallback) or the file is missing.
const NOT_FOUND =
  /expected magic word|Incorrect response MIME type|both async and sync fetching|failed to load wasm binary|ENOENT|no such file|status of 404|Make sure the server can serve/i;

// The most specific of the printed lines, in this order.
const TELLING = [/Aborted\(/, /failed to (asynchronously prepare|load)/i, /./];

/** The line that says why, from what tfjs and Emscripten printed while the backend started. */
export function tellingLine(printed: readonly string[]): string | null {
  const lines = printed.flatMap((p) => p.split('\n')).map((l) => l.trim()).filter((l) => l && !/^Initialization of backend/.test(l));
  for (const pattern of TELLING) {
    const hit = lines.find((l) => pattern.test(l));
    if (hit) return hit.length > 240 ? `${hit.slice(0, 237)}...` : hit;
  }
  return null;
}

/** Reason and fix for a wasm backend whose tf.setBackend returned false. */
export function wasmStartFailure(
  printed: readonly string[],
  options: { platform: 'node' | 'browser'; wasmPaths?: WasmPaths | undefined },
): { reason: string; fix: string } {
  const said = tellingLine(printed);
  const detail = said ? ` (tfjs: ${said})` : '';
  const notFound = printed.some((p) => NOT_FOUND.test(p));
  const where =
    options.wasmPaths === undefined
      ? options.platform === 'browser'
        ? 'next to the bundled script that loaded it (no wasmPaths was given, and bundlers do not copy .wasm files)'
        : `in ${WASM_PACKAGE}/dist/`
      : typeof options.wasmPaths === 'string'
        ? `under wasmPaths "${options.wasmPaths}"`
        : 'at the URLs given in wasmPaths';
  const reason = notFound
    ? `the wasm backend did not start: its .wasm binary was not found ${where}${detail}`
    : `the wasm backend did not start${detail}`;
  const fix =
    options.platform === 'node'
      ? `In Node leave wasmPaths out (the binaries are found in ${WASM_PACKAGE}/dist/) or point it at a directory holding ${WASM_FILES.join(', ')}`
      : "Serve the .wasm files and pass where they are: initBackend('wasm', { wasmPaths: '/wasm/' }) " +
        `(a URL directory ending in '/', or a map from each of ${WASM_FILES.join(', ')} to its URL). ` +
        `They are ${WASM_FILES_LOCATION}. tfjs-backend-wasm keeps its first paths: reload the page after fixing them`;
  return { reason, fix };
}
