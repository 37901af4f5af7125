/**
 * Core's own WebAssembly kernels (kernels.wat): Bernoulli sampling with an in-module generator,
 * the same uniforms written out, and a blocked transpose.
 *
 * On tfjs-backend-wasm the module imports the backend's own memory, so it reads and writes
 * tensors where they live; every other backend gets an instance with a memory of its own, used
 * as scratch space. One instance per memory, made on first use.
 */
import { KERNELS_SHARED_MEMORY, KERNELS_UNSHARED_MEMORY } from './kernels.generated.js';

/** Sixteen 32-bit words: four xoshiro128+ states, one per SIMD lane. */
export type LaneSeeds = readonly number[];

export interface WasmKernels {
  readonly memory: WebAssembly.Memory;
  /** out[k] = u_k < p[k] ? 1 : 0 (byte offsets into `memory`, n elements). */
  bernoulli(probs: number, out: number, n: number, seeds: LaneSeeds): void;
  /** out[k] = u_k, the uniforms `bernoulli` compares with for the same seeds. */
  uniform(out: number, n: number, seeds: LaneSeeds): void;
  /** dst = srcᵀ for a row-major [rows, cols] float32 matrix. */
  transpose(src: number, dst: number, rows: number, cols: number): void;
  /** out[i][j] = x[i][j] + bias[i]. */
  addColumnBias(x: number, bias: number, out: number, rows: number, cols: number): void;
  /** out[k] = w[k] + alpha (p[k] - q[k]). */
  addScaledDifference(w: number, p: number, q: number, out: number, n: number, alpha: number): void;
  /** out[i] = sum_j (p[i][j] - q[i][j]). */
  rowSumDifference(p: number, q: number, out: number, rows: number, cols: number): void;
}

interface Exports {
  bernoulli(p: number, out: number, n: number, ...seeds: number[]): void;
  uniform(out: number, n: number, ...seeds: number[]): void;
  transpose(src: number, dst: number, rows: number, cols: number): void;
  addColumnBias(x: number, bias: number, out: number, rows: number, cols: number): void;
  addScaledDifference(w: number, p: number, q: number, out: number, n: number, alpha: number): void;
  rowSumDifference(p: number, q: number, out: number, rows: number, cols: number): void;
}

function decode(base64: string): Uint8Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  return bytes;
}

// Compiled once per build; null where WebAssembly or its SIMD is missing (then callers use tfjs ops).
const compiled: { shared?: WebAssembly.Module | null; unshared?: WebAssembly.Module | null } = {};

function compile(kind: 'shared' | 'unshared'): WebAssembly.Module | null {
  if (compiled[kind] === undefined) {
    try {
      // Small enough (under 4 kB) for synchronous compilation on a browser's main thread.
      compiled[kind] = new WebAssembly.Module(decode(kind === 'shared' ? KERNELS_SHARED_MEMORY : KERNELS_UNSHARED_MEMORY) as BufferSource);
    } catch {
      compiled[kind] = null;
    }
  }
  return compiled[kind] ?? null;
}

const instances = new WeakMap<WebAssembly.Memory, WasmKernels | null>();

/** The kernels working on `memory`, or null where this runtime cannot run them. */
export function kernelsOn(memory: WebAssembly.Memory): WasmKernels | null {
  if (instances.has(memory)) return instances.get(memory) ?? null;
  let kernels: WasmKernels | null = null;
  try {
    const shared = typeof SharedArrayBuffer !== 'undefined' && memory.buffer instanceof SharedArrayBuffer;
    const module = compile(shared ? 'shared' : 'unshared');
    if (module) {
      const e = new WebAssembly.Instance(module, { env: { memory } }).exports as unknown as Exports;
      kernels = {
        memory,
        bernoulli: (p, out, n, seeds) => e.bernoulli(p, out, n, ...seeds),
        uniform: (out, n, seeds) => e.uniform(out, n, ...seeds),
        transpose: (src, dst, rows, cols) => e.transpose(src, dst, rows, cols),
        addColumnBias: (x, bias, out, rows, cols) => e.addColumnBias(x, bias, out, rows, cols),
        addScaledDifference: (w, p, q, out, n, alpha) => e.addScaledDifference(w, p, q, out, n, alpha),
        rowSumDifference: (p, q, out, rows, cols) => e.rowSumDifference(p, q, out, rows, cols),
      };
    }
  } catch {
    kernels = null;
  }
  instances.set(memory, kernels);
  return kernels;
}

const PAGE = 65536;
let scratch: WebAssembly.Memory | null = null;

/**
 * Kernels on a memory of their own, grown to at least `bytes`: for backends whose tensors this
 * module cannot reach (their data is copied in and out, or only generated here).
 */
export function scratchKernels(bytes: number): WasmKernels | null {
  try {
    if (scratch === null) scratch = new WebAssembly.Memory({ initial: Math.max(1, Math.ceil(bytes / PAGE)) });
    const missing = Math.ceil((bytes - scratch.buffer.byteLength) / PAGE);
    if (missing > 0) scratch.grow(missing);
  } catch {
    return null;
  }
  return kernelsOn(scratch);
}

/**
 * Sixteen state words for the four lanes from a source of 32-bit words, no lane all zero
 * (xoshiro's one fixed point).
 */
export function laneSeeds(nextUint32: () => number): number[] {
  const words = Array.from({ length: 16 }, () => nextUint32() | 0);
  for (let lane = 0; lane < 4; lane++) {
    if ((words[lane]! | words[4 + lane]! | words[8 + lane]! | words[12 + lane]!) === 0) words[lane] = 1;
  }
  return words;
}
