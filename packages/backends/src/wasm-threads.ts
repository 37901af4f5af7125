/**
 * tfjs-backend-wasm's threaded SIMD build in Node.
 *
 * tfjs turns wasm threads off in Node (its WASM_HAS_MULTITHREAD_SUPPORT flag says false there):
 * it would start Emscripten's workers from a Blob URL, which worker_threads refuse. The package
 * ships everything else the threaded build needs, so this module starts it the way Node can:
 *
 * - the Emscripten factory (`wasm-out/tfjs-backend-wasm-threaded-simd.js`) is compiled here with
 *   its own `require`, `global` and `Worker`, so nothing it sets leaks into the process globals;
 * - its workers start from a file, dist/wasm-thread-worker.cjs, which runs tfjs's worker source;
 * - XNNPACK sizes its thread pool from the core count when the module starts (half the logical
 *   cores), so the factory is shown a core count of twice the threads wanted, and tfjs's
 *   `setThreadsCount` asks for exactly that many; the build's Emscripten worker pool holds 8,
 *   so at most 8 run (describeBackend says so when more were asked for);
 * - the module is wrapped like tfjs's own start-up does and handed to tfjs's `BackendWasm`,
 *   registered under the name 'wasm', so every wasm kernel tfjs registered runs on it;
 * - its workers are unreferenced, so a script that is done exits by itself.
 *
 * Anything that fails falls back to tfjs's single-threaded start-up, and the reason is kept for
 * describeBackend().
 */
import * as tf from '@tensorflow/tfjs-core';
import { importNodeBuiltin } from './loading.js';
import {
  recordWasmThreading,
  WASM_PACKAGE,
  wasmBackendCreated,
  type WasmModule,
  type WasmPaths,
  type WasmThreading,
} from './wasm.js';

/** What the threaded start-up uses from tfjs-backend-wasm's exports. */
export interface ThreadedWasmPackage extends WasmModule {
  BackendWasm?: new (module: unknown) => tf.KernelBackend;
  setThreadsCount?: (threads: number) => void;
  version_wasm?: string;
}

/** Longest wait for the workers to load the module; past it the backend starts single-threaded. */
export const THREADED_START_TIMEOUT_MS = 30_000;

const WORKER_FILE = 'wasm-thread-worker.cjs';
const FACTORY = 'wasm-out/tfjs-backend-wasm-threaded-simd.js';
const WORKER_SOURCE = 'wasm-out/tfjs-backend-wasm-threaded-simd.worker.js';
const BINARY = 'tfjs-backend-wasm-threaded-simd.wasm';

// The smallest module with a shared memory: it validates only where wasm threads are supported.
const SHARED_MEMORY_MODULE = new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, 0x05, 0x04, 0x01, 0x03, 0x01, 0x01]);

interface Files {
  /** The package's root directory. */
  root: string;
  factory: string;
  binary: string;
  worker: string;
}

type NodeModules = {
  fs: typeof import('node:fs');
  path: typeof import('node:path');
  url: typeof import('node:url');
  module: typeof import('node:module');
  os: typeof import('node:os');
  vm: typeof import('node:vm');
  workers: typeof import('node:worker_threads');
};

async function nodeModules(): Promise<NodeModules> {
  const [fs, path, url, module, os, vm, workers] = await Promise.all(
    ['node:fs', 'node:path', 'node:url', 'node:module', 'node:os', 'node:vm', 'node:worker_threads'].map((m) => importNodeBuiltin(m)),
  );
  return { fs, path, url, module, os, vm, workers } as NodeModules;
}

/** The machine's cores, as Node counts them for this process. */
export async function defaultWasmThreads(): Promise<number> {
  const os = (await importNodeBuiltin('node:os')) as typeof import('node:os');
  return Math.max(1, os.availableParallelism?.() ?? os.cpus().length);
}

/** The threaded binary that `wasmPaths` names: a directory path or file URL ending in '/', or the map's entry. */
function binaryIn(node: NodeModules, wasmPaths: WasmPaths): string {
  const location = typeof wasmPaths === 'string' ? `${wasmPaths}${BINARY}` : wasmPaths[BINARY];
  return location.startsWith('file:') ? node.url.fileURLToPath(location) : location;
}

/**
 * Where the threaded build's files are, or why they cannot be used. The binary comes from
 * `wasmPaths` when given, as tfjs's own start-up takes it from there.
 */
function locateFiles(node: NodeModules, pkg: ThreadedWasmPackage, wasmPaths: WasmPaths | undefined): Files | string {
  const { fs, path, url, module } = node;
  const here = path.dirname(url.fileURLToPath(import.meta.url));
  const worker = path.join(here, WORKER_FILE);
  if (!fs.existsSync(worker)) {
    return `its worker file ${worker} is missing (a bundled copy of @helmholtz/backends? keep dist/${WORKER_FILE} next to it)`;
  }
  // Resolved from this directory, as the worker resolves its source: both get the same copy.
  const require = module.createRequire(worker);
  let root: string;
  try {
    root = path.dirname(path.dirname(require.resolve(WASM_PACKAGE)));
    require.resolve(`${WASM_PACKAGE}/${WORKER_SOURCE}`);
  } catch (error) {
    return `${WASM_PACKAGE} could not be resolved from ${here} (${error instanceof Error ? error.message : String(error)})`;
  }
  const binary = wasmPaths === undefined ? path.join(root, 'dist', BINARY) : binaryIn(node, wasmPaths);
  const files = { root, factory: path.join(root, FACTORY), binary, worker };
  if (!fs.existsSync(files.factory)) return `${WASM_PACKAGE} lacks ${files.factory}`;
  if (!fs.existsSync(files.binary)) {
    return wasmPaths === undefined ? `${WASM_PACKAGE} lacks ${files.binary}` : `wasmPaths has no ${BINARY} (looked for ${files.binary})`;
  }
  const version = (JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8')) as { version?: string }).version;
  if (pkg.version_wasm !== undefined && version !== pkg.version_wasm) {
    return `the ${WASM_PACKAGE} loaded (${pkg.version_wasm}) is not the one next to @helmholtz/backends (${version}); keep one version`;
  }
  return files;
}

/** Why this Node cannot run wasm threads, or null when it can. */
function threadSupportProblem(): string | null {
  if (typeof SharedArrayBuffer === 'undefined' || typeof Atomics === 'undefined') {
    return 'this Node has no SharedArrayBuffer/Atomics';
  }
  try {
    if (!WebAssembly.validate(SHARED_MEMORY_MODULE)) return "this Node's WebAssembly has no shared memory (threads)";
  } catch {
    return "this Node's WebAssembly cannot validate a shared memory";
  }
  return null;
}

type Factory = (config: Record<string, unknown>) => Promise<EmscriptenModule>;

interface EmscriptenWorker {
  on(event: 'message', listener: (message: unknown) => void): void;
  ref(): void;
  unref(): void;
}

interface EmscriptenModule {
  cwrap(name: string, returnType: string | null, argTypes: string[]): (...args: number[]) => number | void;
  PThread?: {
    unusedWorkers: EmscriptenWorker[];
    runningWorkers: EmscriptenWorker[];
    allocateUnusedWorker(): void;
    terminateAllThreads(): void;
  };
  tfjs?: Record<string, unknown>;
}

/**
 * Compiles the Emscripten factory with a `require` whose `os.cpus()` counts twice `threads`,
 * its own `global` (it sets `global.Worker`) and `Worker` bound to worker_threads'.
 */
function compileFactory(node: NodeModules, file: string, threads: number): Factory {
  const { fs, path, module, os, vm, workers } = node;
  const realRequire = module.createRequire(file);
  const cpus = os.cpus();
  const shownCpus = Array.from({ length: 2 * threads }, (_, i) => cpus[i % Math.max(cpus.length, 1)]);
  const osView = { ...os, cpus: () => shownCpus };
  const factoryRequire = Object.assign((id: string) => (id === 'os' || id === 'node:os' ? osView : realRequire(id)), realRequire);
  const ownGlobal = Object.create(globalThis) as Record<string, unknown>;
  const exported = { exports: {} as unknown };
  const run = vm.compileFunction(
    fs.readFileSync(file, 'utf8'),
    ['exports', 'require', 'module', '__filename', '__dirname', 'global', 'Worker'],
    { filename: file },
  );
  run(exported.exports, factoryRequire, exported, file, path.dirname(file), ownGlobal, workers.Worker);
  if (typeof exported.exports !== 'function') throw new Error(`${file} did not export the Emscripten factory`);
  return exported.exports as Factory;
}

// A worker must not keep the process alive: Emscripten refs a worker while it runs a thread, and
// XNNPACK's threads run for the module's life.
function neverRef(worker: EmscriptenWorker): void {
  worker.unref();
  worker.ref = () => {};
}

/**
 * Emscripten's Node start-up adds `uncaughtException` and `unhandledRejection` listeners that
 * rethrow, which would override an application's own handling; tfjs removes them only when the
 * backend is disposed. Returns the function that removes the ones added since this call.
 */
function keepProcessListeners(): () => void {
  const events = ['uncaughtException', 'unhandledRejection'] as const;
  const before = events.map((event) => process.listeners(event as 'uncaughtException') as unknown[]);
  return () => {
    events.forEach((event, i) => {
      for (const listener of process.listeners(event as 'uncaughtException')) {
        if (!before[i]!.includes(listener)) process.removeListener(event as 'uncaughtException', listener);
      }
    });
  };
}

/** Runs tfjs's own start-up of the backend without leaving Emscripten's process listeners behind. */
async function startQuietly(factory: () => tf.KernelBackend | Promise<tf.KernelBackend>): Promise<tf.KernelBackend> {
  const restoreListeners = keepProcessListeners();
  try {
    return await factory();
  } finally {
    restoreListeners();
  }
}

/** Starts the threaded module and wraps it as tfjs's init does. */
async function startThreaded(node: NodeModules, pkg: ThreadedWasmPackage, files: Files, threads: number): Promise<tf.KernelBackend> {
  const factory = compileFactory(node, files.factory, threads);
  const config: Record<string, unknown> & Partial<EmscriptenModule> = {
    locateFile: (name: string, prefix: string) =>
      name.endsWith('.worker.js') ? files.worker : name.endsWith('.wasm') ? files.binary : prefix + name,
    mainScriptUrlOrBlob: files.factory,
  };
  const restoreListeners = keepProcessListeners();
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const started = factory(config);
    // The module object is `config` itself: its worker pool exists once the factory returns.
    const pool = config.PThread;
    const failed = new Promise<never>((_, reject) => {
      for (const worker of pool?.unusedWorkers ?? []) {
        worker.on('message', (message) => {
          const m = message as { cmd?: string; message?: string } | null;
          if (m?.cmd === 'helmholtzWorkerFailed') reject(new Error(`a worker could not start: ${m.message}`));
        });
      }
      timer = setTimeout(
        () => reject(new Error(`its workers did not start within ${THREADED_START_TIMEOUT_MS / 1000} s`)),
        THREADED_START_TIMEOUT_MS,
      );
      (timer as { unref?: () => void }).unref?.();
    });
    const module = await Promise.race([started, failed]);
    const wrap = (name: string, returns: string | null, args: string[]) => module.cwrap(name, returns, args);
    module.tfjs = {
      init: wrap('init', null, []),
      initWithThreadsCount: wrap('init_with_threads_count', null, ['number']),
      getThreadsCount: wrap('get_threads_count', 'number', []),
      registerTensor: wrap('register_tensor', null, ['number', 'number', 'number']),
      disposeData: wrap('dispose_data', null, ['number']),
      dispose: wrap('dispose', null, []),
    };
    pkg.setThreadsCount?.(threads);
    const backend = new pkg.BackendWasm!(module);
    const threadPool = module.PThread!;
    [...threadPool.unusedWorkers, ...threadPool.runningWorkers].forEach(neverRef);
    const allocate = threadPool.allocateUnusedWorker.bind(threadPool);
    threadPool.allocateUnusedWorker = () => {
      allocate();
      threadPool.unusedWorkers.forEach(neverRef);
    };
    return backend;
  } catch (error) {
    config.PThread?.terminateAllThreads();
    throw error;
  } finally {
    clearTimeout(timer);
    restoreListeners();
  }
}

function reasonOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

type Registration = { factory: () => tf.KernelBackend | Promise<tf.KernelBackend>; priority: number };

function registry(): Record<string, Registration | undefined> {
  return (tf.engine() as unknown as { registryFactory: Record<string, Registration | undefined> }).registryFactory;
}

/** The factories this module registered: never taken for tfjs's own. */
const ownFactories = new WeakSet<Registration['factory']>();
/** tfjs-backend-wasm's own registration of 'wasm', kept when this module first replaces it. */
let tfjsRegistration: Registration | null = null;
/** What the backend starts with: the record of the last preparation before it started. */
let atStart: WasmThreading | null = null;

function register(factory: Registration['factory'], priority: number): void {
  tf.removeBackend('wasm');
  tf.registerBackend('wasm', factory, priority);
}

/**
 * Makes the next start of the 'wasm' backend use `requested` threads: replaces tfjs's factory
 * with one that starts the threaded build, falling back to tfjs's own (one thread) on any
 * failure. Each call replaces what an earlier one (auto looking at candidates, a failed explicit
 * choice) registered. Does nothing to a backend that already started; the reason is recorded
 * instead.
 */
export async function prepareWasmThreads(pkg: ThreadedWasmPackage, requested: number, wasmPaths?: WasmPaths): Promise<void> {
  if (wasmBackendCreated()) {
    if (atStart === null) {
      recordWasmThreading({
        requested,
        fallback: 'the wasm backend had already been started in this process (by tf.setBackend or tf.ready), with one thread',
      });
    } else if (atStart.requested !== requested) {
      recordWasmThreading({
        requested,
        fallback: `the wasm backend had already started in this process with ${atStart.requested} requested; threads are fixed when it starts`,
      });
    } else {
      recordWasmThreading(atStart);
    }
    return;
  }
  const current = registry().wasm;
  if (current && !ownFactories.has(current.factory)) tfjsRegistration = current;
  // Runs tfjs's own start-up, one thread, and says why.
  const single = (fallback: string | null): void => {
    const tfjs = tfjsRegistration;
    if (tfjs) {
      const quiet = (): Promise<tf.KernelBackend> => startQuietly(tfjs.factory);
      ownFactories.add(quiet);
      register(quiet, tfjs.priority);
    }
    atStart = { requested, fallback };
    recordWasmThreading(atStart);
  };
  if (requested === 1) return single(null);
  const unsupported = threadSupportProblem();
  if (unsupported) return single(unsupported);
  if (typeof pkg.BackendWasm !== 'function' || typeof pkg.setThreadsCount !== 'function') {
    return single(`${WASM_PACKAGE} does not export BackendWasm and setThreadsCount`);
  }
  let node: NodeModules;
  let files: Files | string;
  try {
    node = await nodeModules();
    files = locateFiles(node, pkg, wasmPaths);
  } catch (error) {
    // E.g. the ESM build bundled into a CommonJS file, where import.meta.url is undefined: a reason
    // to run one thread, not a failure of the whole backend.
    return single(`the threaded build's files could not be located (${reasonOf(error)})`);
  }
  if (typeof files === 'string') return single(files);
  const original = tfjsRegistration;
  if (!original) return single(`${WASM_PACKAGE} registered no "wasm" backend`);
  const state: WasmThreading = { requested, fallback: null };
  atStart = state;
  recordWasmThreading(state);
  const threaded = async (): Promise<tf.KernelBackend> => {
    try {
      return await startThreaded(node, pkg, files, requested);
    } catch (error) {
      state.fallback = `the threaded build did not start (${reasonOf(error)}); running tfjs's single-threaded build`;
      pkg.setThreadsCount?.(1);
      return startQuietly(original.factory);
    }
  };
  ownFactories.add(threaded);
  register(threaded, original.priority);
}
