/**
 * The parts of tfjs-backend-wasm's backend object that core's kernels use, found by shape (core
 * never imports a backend): its heap, each tensor's offset in it, and allocation of outputs.
 */
import * as tf from '@tensorflow/tfjs-core';

import { kernelsOn, type WasmKernels } from './kernels.js';

export interface TfjsWasmBackend {
  wasm: { wasmMemory?: WebAssembly.Memory; asm?: { memory?: WebAssembly.Memory } };
  dataIdMap: { get(dataId: object): { memoryOffset: number } | undefined };
  makeOutput(shape: number[], dtype: 'float32'): tf.TensorInfo;
}

/** The memory of a tfjs-backend-wasm backend: Emscripten keeps it at one of two places (threaded or not). */
export function wasmHeapOf(backend: unknown): WebAssembly.Memory | null {
  const module = (backend as Partial<TfjsWasmBackend> | null)?.wasm;
  const memory = module?.wasmMemory ?? module?.asm?.memory;
  return memory instanceof WebAssembly.Memory ? memory : null;
}

/** Core's kernels working directly on a tfjs-backend-wasm backend's heap, or null. */
export function kernelsOnBackend(backend: unknown): WasmKernels | null {
  const memory = wasmHeapOf(backend);
  return memory ? kernelsOn(memory) : null;
}

/** Byte offset of a tensor in the wasm heap. */
export function offsetOf(backend: TfjsWasmBackend, tensor: tf.TensorInfo): number {
  const data = backend.dataIdMap.get(tensor.dataId);
  if (!data) throw new Error('tensor data not found on the wasm backend');
  return data.memoryOffset;
}

/**
 * Registers `kernelFunc` for the 'wasm' backend under `name` once (a kernel another copy of core
 * registered first is kept: same code).
 */
export function registerWasmKernel(
  name: string,
  kernelFunc: (backend: TfjsWasmBackend, kernels: WasmKernels, inputs: tf.NamedTensorInfoMap, attrs: tf.NamedAttrMap) => tf.TensorInfo | tf.TensorInfo[],
  gradient?: tf.GradConfig,
): void {
  if (registeredKernels.has(name)) return;
  registeredKernels.add(name);
  // Its gradient, so the op can sit anywhere on a tape, second-order gradients included (a
  // gradient penalty differentiates matMul's gradient, which transposes).
  if (gradient && !tf.getGradient(name)) tf.registerGradient(gradient);
  if (tf.getKernel(name, 'wasm')) return;
  tf.registerKernel({
    kernelName: name,
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const wasm = backend as unknown as TfjsWasmBackend;
      return kernelFunc(wasm, kernelsOnBackend(wasm)!, inputs, attrs ?? {});
    },
  });
}

const registeredKernels = new Set<string>();

/** Whether the active backend is tfjs-backend-wasm with a heap core's kernels can work on. */
export function wasmKernelsActive(): boolean {
  return tf.getBackend() === 'wasm' && kernelsOnBackend(tf.backend()) !== null;
}
