/**
 * WebGPU in Node through Dawn (the npm package `webgpu`): Dawn's WebGPU globals and
 * `navigator.gpu` are installed once per process, before @tensorflow/tfjs-backend-webgpu is
 * imported, because that package registers its backend only if `navigator.gpu` exists then.
 *
 * Dawn and the Vulkan loader write warnings straight to file descriptor 2 while they enumerate
 * drivers (a driver Dawn rejects, no driver at all, Mesa's device-select layer without a Wayland
 * session). Node cannot redirect its own fd 2, so `auto`, which only wants a hardware adapter,
 * asks a child process first (probeAdapterInChild) and reads its stderr into the skip reason;
 * Dawn is loaded in this process only when there is an adapter to use.
 */
import { describeAdapter, type AdapterDescription, type GpuAdapterInfoLike, type GpuLike } from './adapter.js';
import { importNodeBuiltin, tryImport, type Importer, type LoadFailure } from './loading.js';

export const DAWN_PACKAGE = 'webgpu';

interface DawnModule {
  create(options: string[]): GpuLike;
  globals: object;
}

export type DawnResult = { ok: true; gpu: GpuLike } | { ok: false; failure: LoadFailure };

type Env = Record<string, string | undefined>;

// One Dawn instance per process: each one enumerates adapters and holds driver state.
let dawn: Promise<DawnResult> | undefined;
let dawnReady = false;

/** Whether Dawn is already set up in this process (probing it again prints nothing new). */
export function dawnInstalled(): boolean {
  return dawnReady;
}

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

/**
 * Environment entries that keep the Vulkan loader from printing
 * "error: XDG_RUNTIME_DIR is invalid or not set in the environment." Mesa's implicit layer
 * VK_LAYER_MESA_device_select asks the Wayland compositor which GPU drives the display, and
 * libwayland-client prints that line when there is no session directory. Without a session there
 * is no display GPU to prefer, and Dawn orders adapters by powerPreference itself, so the layer
 * is switched off with its own variable, NODEVICE_SELECT=1. Nothing is changed when a session
 * exists or when the user steers the layer (MESA_VK_DEVICE_SELECT, DRI_PRIME, NODEVICE_SELECT).
 */
export function quietVulkanEnv(env: Readonly<Env>): Env {
  const session = env.XDG_RUNTIME_DIR?.startsWith('/') ?? false;
  const steered = ['NODEVICE_SELECT', 'MESA_VK_DEVICE_SELECT', 'DRI_PRIME'].some((k) => env[k] !== undefined);
  return session || steered ? {} : { NODEVICE_SELECT: '1' };
}

/**
 * Runs `fn` with `entries` in process.env, then restores it. Assigning process.env calls setenv,
 * so native code (the Vulkan loader) sees the values; the loader reads them when Dawn creates its
 * Vulkan instance, which happens at the first requestAdapter, so that call must be inside `fn`.
 */
async function withEnv<T>(entries: Env, fn: () => Promise<T>): Promise<T> {
  const keys = Object.keys(entries);
  const saved = keys.map((k) => [k, process.env[k]] as const);
  for (const k of keys) process.env[k] = entries[k];
  try {
    return await fn();
  } finally {
    for (const [k, v] of saved) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
  }
}

/** Loads Dawn and installs its WebGPU implementation as the process's `navigator.gpu` (once). */
export function installDawn(importer: Importer): Promise<DawnResult> {
  dawn ??= (async (): Promise<DawnResult> => {
    const imported = await tryImport<DawnModule>(importer, DAWN_PACKAGE, 'node');
    if (!imported.ok) return imported;
    try {
      const { create, globals } = imported.module;
      // GPUBufferUsage, GPUMapMode, ... : tfjs-backend-webgpu reads them as globals.
      Object.assign(globalThis, globals);
      const gpu = await withEnv(quietVulkanEnv(process.env), async () => {
        const created = create([]);
        // Creates Dawn's Vulkan instance while the quieting variables are set.
        await created.requestAdapter({ powerPreference: 'high-performance' }).catch(() => null);
        return created;
      });
      installNavigatorGpu(gpu);
      dawnReady = true;
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

/** What a child process found: the adapter Dawn gives for 'high-performance', and what Dawn printed. */
export type AdapterProbe =
  | { ok: true; adapter: AdapterDescription | null; messages: string[] }
  | { ok: false; reason: string; messages: string[] };

const PROBE_TIMEOUT_MS = 30_000;
/** Set in the probe's environment: a process that has it never starts another probe. */
const PROBE_MARK = 'HELMHOLTZ_DAWN_PROBE';

// Run by `node --input-type=module -e`; argv[1] is the URL of the `webgpu` package's entry.
// It prints one JSON line and exits at once: a live Dawn instance keeps a process running.
const PROBE_SCRIPT = `
// A probe orphaned by a parent that died while Dawn hangs must not live on.
setTimeout(() => process.exit(3), ${PROBE_TIMEOUT_MS - 5000}).unref();
const { create } = await import(process.argv[1]);
const adapter = await create([]).requestAdapter({ powerPreference: 'high-performance' });
let info = adapter ? adapter.info : null;
if (adapter && !info && adapter.requestAdapterInfo) info = await adapter.requestAdapterInfo();
const field = (k) => String(info?.[k] ?? '');
const out = info === null ? null : {
  vendor: field('vendor'), architecture: field('architecture'), device: field('device'),
  description: field('description'), isFallbackAdapter: Boolean(info.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false),
};
process.stdout.write(JSON.stringify({ adapter: out }) + '\\n', () => process.exit(0));
`;


/**
 * Dawn's and the loader's messages, one per warning: the first line of each "Warning: ..." or
 * "Error: ..." block, without the location lines under it and without the Wayland line.
 */
export function dawnMessages(stderr: string): string[] {
  const messages = stderr
    .split('\n')
    .map((line) => /^(?:Warning|Error): (.+)$/.exec(line.trim())?.[1]?.trim())
    .filter((m): m is string => m !== undefined && !/XDG_RUNTIME_DIR/.test(m));
  return [...new Set(messages)];
}

/** "(Dawn: a; b)" or "", short enough for a skip reason. */
export function dawnSaid(messages: readonly string[]): string {
  if (messages.length === 0) return '';
  const text = messages.slice(0, 3).join('; ');
  return ` (Dawn: ${text.length > 300 ? `${text.slice(0, 297)}...` : text})`;
}

/** Where a child process can import the same `webgpu` package this module would; null if that cannot be told. */
async function dawnEntryUrl(): Promise<string | null> {
  try {
    const { createRequire } = (await importNodeBuiltin('node:module')) as typeof import('node:module');
    const { pathToFileURL } = (await importNodeBuiltin('node:url')) as typeof import('node:url');
    return pathToFileURL(createRequire(import.meta.url).resolve(DAWN_PACKAGE)).href;
  } catch {
    return null;
  }
}

/**
 * False where process.execPath is not a plain Node that runs `-e` (Electron, NW.js, Bun, Deno, a
 * single-executable or pkg app), or where this process is itself a probe.
 */
async function childNodeAvailable(): Promise<boolean> {
  const versions = process.versions as Record<string, string | undefined>;
  if (versions.electron || versions.bun || versions.deno || versions.nw) return false;
  // Packaged apps (vercel/pkg) would start themselves again instead of running the probe; the
  // mark stops any runtime that does the same from probing without end.
  if ((process as { pkg?: unknown }).pkg !== undefined || process.env[PROBE_MARK] !== undefined) return false;
  try {
    const sea = (await importNodeBuiltin('node:sea')) as { isSea?: () => boolean };
    return !sea.isSea?.();
  } catch {
    return true; // node:sea appeared in Node 20.12; older Nodes have no single executables
  }
}

let probed: Promise<AdapterProbe | null> | undefined;

/**
 * Asks a child Node process which adapter Dawn gives, with its stderr captured, so that nothing
 * Dawn or the Vulkan loader prints reaches this process's terminal. Answered once per process
 * (like Dawn itself). Null when no child can be run here; the caller then probes in-process.
 */
export function probeAdapterInChild(): Promise<AdapterProbe | null> {
  probed ??= (async (): Promise<AdapterProbe | null> => {
    const entry = await dawnEntryUrl();
    if (entry === null || !(await childNodeAvailable())) return null;
    const { execFile } = (await importNodeBuiltin('node:child_process')) as typeof import('node:child_process');
    // NODE_OPTIONS could --require an app's preloads into the probe; the probe needs none.
    const { NODE_OPTIONS: _dropped, ...inherited } = process.env;
    const env = { ...inherited, ...quietVulkanEnv(process.env), [PROBE_MARK]: '1' };
    return new Promise<AdapterProbe | null>((resolve) => {
      const run = () => execFile(
        process.execPath,
        ['--input-type=module', '-e', PROBE_SCRIPT, entry],
        { env, timeout: PROBE_TIMEOUT_MS, killSignal: 'SIGKILL', windowsHide: true, maxBuffer: 16 * 1024 * 1024 },
        (error, stdout, stderr) => {
          const messages = dawnMessages(String(stderr));
          const line = String(stdout).trim().split('\n').at(-1) ?? '';
          if (!error) {
            try {
              const parsed = JSON.parse(line) as { adapter: GpuAdapterInfoLike | null };
              const info = parsed.adapter;
              void (info === null ? Promise.resolve(null) : describeAdapter({ info })).then((adapter) =>
                resolve({ ok: true, adapter, messages }),
              );
              return;
            } catch {
              // fall through: unreadable answer
            }
          }
          const err = error as (Error & { code?: unknown; killed?: boolean; signal?: unknown }) | null;
          if (err?.code === 'ENOENT' || err?.code === 'EACCES') {
            resolve(null);
            return;
          }
          const how = err?.code === 'ERR_CHILD_PROCESS_STDIO_MAXBUFFER'
            ? 'printed more than 16 MiB'
            : err?.killed
            ? `did not answer within ${PROBE_TIMEOUT_MS / 1000} s`
            : err?.signal
              ? `was killed by ${String(err.signal)}`
              : err
                ? `exited with code ${String(err.code)}`
                : `answered ${JSON.stringify(line.slice(0, 80))}`;
          resolve({ ok: false, reason: `the WebGPU adapter probe (Dawn in a child process) ${how}`, messages });
        },
      );
      try {
        run();
      } catch {
        // A child cannot be started here at all (Node's permission model without
        // --allow-child-process): probe in-process instead.
        resolve(null);
      }
    });
  })();
  const pending = probed;
  // A child that could not run is not an answer about this machine: allow a later try.
  void pending.then((r) => {
    if (r === null && probed === pending) probed = undefined;
  });
  return pending;
}
