import * as tf from '@tensorflow/tfjs-core';
import type { AdapterDescription } from './adapter.js';
import type { SkippedBackend } from './auto.js';
import { wasmThreading } from './wasm.js';
import { detectPlatform, type BackendChoice, type ConcreteBackend, type Platform } from './choice.js';

export interface BackendDescription {
  /** The backend in use. */
  name: ConcreteBackend;
  /** Its tfjs name (`tf.getBackend()`): 'tensorflow' for node and node-gpu. */
  tfBackend: string;
  /** What initBackend was asked for (after HELMHOLTZ_BACKEND replaced 'auto'). */
  requested: BackendChoice;
  /** Whether HELMHOLTZ_BACKEND made the choice. */
  fromEnv: boolean;
  platform: Platform;
  /** The WebGPU adapter, for webgpu and node-webgpu; null for the others. */
  adapter: AdapterDescription | null;
  /** True when a WebGPU backend runs on a software adapter (SwiftShader, llvmpipe, ...). */
  software: boolean;
  /** Whether float32 values are stored and computed in full float32. */
  float32: { exact: boolean; note: string };
  /**
   * Threads the backend computes with (`count`; null where the backend does not say: GPU,
   * TensorFlow C++), the threads asked for (`requested`, wasm only), and `fallback`: why fewer
   * run than were asked for (null when they run as asked).
   */
  threads: { count: number | null; requested: number | null; fallback: string | null; note: string };
  /** For `auto`: the candidates tried before this one, and why each was skipped. */
  skipped: SkippedBackend[];
}

let current: BackendDescription | null = null;

export function recordDescription(description: BackendDescription): BackendDescription {
  current = description;
  return description;
}

// Read synchronously: by the time a backend runs, its async flags have been evaluated.
function flag(name: string): boolean | null {
  try {
    return Boolean(tf.env().getBool(name));
  } catch {
    return null;
  }
}

export function float32Of(name: ConcreteBackend): BackendDescription['float32'] {
  if (name === 'webgl') {
    const enabled = flag('WEBGL_RENDER_FLOAT32_ENABLED');
    const capable = flag('WEBGL_RENDER_FLOAT32_CAPABLE');
    if (enabled) return { exact: true, note: 'float32 render textures (WEBGL_RENDER_FLOAT32_ENABLED)' };
    return {
      exact: false,
      note: capable
        ? 'float32 textures are supported but disabled (WEBGL_RENDER_FLOAT32_ENABLED=false): values are stored as float16'
        : 'this device renders only to float16 textures: values keep about 3 significant digits',
    };
  }
  if (name === 'webgpu' || name === 'node-webgpu') {
    return { exact: true, note: 'float32 storage buffers and f32 shader arithmetic' };
  }
  return { exact: true, note: 'IEEE float32 arithmetic on the CPU' };
}

export function threadsOf(name: ConcreteBackend, reported?: () => number | null): BackendDescription['threads'] {
  const plain = (count: number | null, note: string) => ({ count, requested: null, fallback: null, note });
  switch (name) {
    case 'cpu':
      return plain(1, 'the cpu backend runs in JavaScript on the calling thread');
    case 'wasm':
      return wasmThreadsOf(reported);
    case 'node':
    case 'node-gpu':
      return plain(null, "TensorFlow C++'s own thread pools (by default one thread per core)");
    default:
      return plain(null, 'computes on the GPU');
  }
}

function wasmThreadsOf(reported?: () => number | null): BackendDescription['threads'] {
  const asked = wasmThreading();
  const count = reported?.() ?? null;
  const requested = asked?.requested ?? null;
  // tfjs-backend-wasm's threaded build runs at most 8 threads (Emscripten's worker pool), whatever
  // was asked for: say so rather than report a request that did not run as asked.
  const fallback =
    asked?.fallback ??
    (count !== null && requested !== null && count > 1 && count < requested
      ? `tfjs-backend-wasm's threaded build started ${count} of the ${requested} threads asked for (its Emscripten worker pool holds ${count})`
      : null);
  if (count !== null && count > 1) {
    return { count, requested, fallback, note: `XNNPACK thread pool of ${count} threads (threaded SIMD build)` };
  }
  const why =
    fallback ??
    (requested === 1
      ? 'one thread was requested'
      : flag('WASM_HAS_MULTITHREAD_SUPPORT') === false && detectPlatform() === 'browser'
        ? 'no wasm threads in this page (it is not cross-origin isolated)'
        : 'the backend reports one thread');
  return { count: count ?? 1, requested, fallback, note: `single-threaded: ${why}` };
}

function nameOf(tfName: string, platform: Platform): ConcreteBackend | null {
  if (tfName === 'tensorflow') return 'node';
  if (tfName === 'webgpu') return platform === 'node' ? 'node-webgpu' : 'webgpu';
  return (['webgl', 'wasm', 'cpu'] as const).find((n) => n === tfName) ?? null;
}

/**
 * The active backend: name, platform, adapter, float32 exactness, threads and, when chosen by
 * `auto`, why each earlier candidate was skipped. Describes what initBackend set up; if the
 * engine was switched since (or initBackend never ran), it describes the engine's backend with
 * what can be read from it. Null when no backend is active.
 */
export function describeBackend(): BackendDescription | null {
  const tfName = tf.getBackend() as string | null | undefined;
  if (!tfName) return null;
  if (current && current.tfBackend === tfName) return current;
  const platform = detectPlatform();
  const name = nameOf(tfName, platform);
  if (!name) return null;
  return {
    name,
    tfBackend: tfName,
    requested: name,
    fromEnv: false,
    platform,
    adapter: null,
    software: false,
    float32: float32Of(name),
    threads: threadsOf(name),
    skipped: [],
  };
}
