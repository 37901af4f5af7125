import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '../errors.js';
import { laneSeeds, scratchKernels, type LaneSeeds } from './wasm/kernels.js';
import { offsetOf, registerWasmKernel, wasmKernelsActive } from './wasm/tfjs-wasm.js';

/** The kernel's name in tfjs's registry (for tf.profile and kernel overrides). */
export const BERNOULLI_KERNEL = 'HelmholtzBernoulli';

interface CpuBackendLike {
  data: { get(dataId: object): { values: Float32Array } | undefined };
  makeTensorInfo(shape: number[], dtype: 'float32', values: Float32Array): tf.TensorInfo;
}

let cpuRegistered = false;

function seedsOf(attrs: tf.NamedAttrMap): LaneSeeds {
  return attrs.seeds as number[];
}

// Sampling has no gradient (tfjs's Less, which it replaces, has none either).
function register(backendName: 'wasm' | 'cpu'): void {
  if (backendName === 'wasm') {
    registerWasmKernel(BERNOULLI_KERNEL, (backend, kernels, inputs, attrs) => {
      const probs = inputs.probs!;
      const out = backend.makeOutput([...probs.shape], 'float32');
      kernels.bernoulli(offsetOf(backend, probs), offsetOf(backend, out), tf.util.sizeFromShape(probs.shape), seedsOf(attrs));
      return out;
    });
    return;
  }
  if (cpuRegistered) return;
  cpuRegistered = true;
  if (tf.getKernel(BERNOULLI_KERNEL, 'cpu')) return;
  tf.registerKernel({
    kernelName: BERNOULLI_KERNEL,
    backendName: 'cpu',
    kernelFunc: ({ inputs, backend, attrs }) => {
      const probs = inputs.probs as tf.TensorInfo;
      const cpu = backend as unknown as CpuBackendLike;
      const values = cpu.data.get(probs.dataId)!.values;
      const n = values.length;
      const kernels = scratchKernels(8 * n)!;
      const heap = new Float32Array(kernels.memory.buffer, 0, 2 * n);
      heap.set(values);
      kernels.bernoulli(0, 4 * n, n, seedsOf(attrs!));
      return cpu.makeTensorInfo([...probs.shape], 'float32', heap.slice(n, 2 * n));
    },
  });
}

/** Whether the active backend runs the sampling kernel (else it is composed from tfjs ops). */
function kernelBackend(n: number): 'wasm' | 'cpu' | null {
  const name = tf.getBackend();
  if (name === 'wasm') return wasmKernelsActive() ? 'wasm' : null;
  // The cpu kernel copies probs in and the samples out of a scratch memory of 8n bytes: grown
  // here, so a size the memory cannot grow to (over 4 GiB) takes the composed path instead of
  // failing inside the kernel.
  if (name === 'cpu') return scratchKernels(8 * n) ? 'cpu' : null;
  return null;
}

/**
 * Bernoulli samples (0 or 1, float32) with success probabilities `probs`, drawing 32-bit words
 * from `nextUint32` (an Rng's) for the generator's state.
 *
 * The uniforms come from four xoshiro128+ generators run in WebAssembly SIMD, seeded from 16
 * words of `nextUint32`: on wasm the kernel reads `probs` and writes the samples in the
 * backend's own heap, in one pass; on cpu it runs on a copy; on GPU backends the uniforms are
 * made the same way and compared on the device. The same seed gives the same samples on every
 * backend. Uniforms have 24 bits: p = 1 always gives 1, p = 0 never; NaN gives 0.
 */
export function sampleBernoulliWith<T extends tf.Tensor>(probs: T, nextUint32: () => number): T {
  if (!(probs instanceof tf.Tensor)) throw new ConfigError('bernoulli probs', 'a tensor of probabilities', probs);
  const seeds = laneSeeds(nextUint32);
  const backend = kernelBackend(probs.size);
  return tf.tidy(() => {
    const p = probs.dtype === 'float32' ? probs : tf.cast(probs, 'float32');
    if (backend !== null) {
      register(backend);
      return tf.engine().runKernel(BERNOULLI_KERNEL, { probs: p }, { seeds }) as T;
    }
    const n = p.size;
    const kernels = scratchKernels(4 * n);
    if (kernels === null) {
      // No WebAssembly SIMD here: tfjs's own generator, seeded from the same words. Its float32
      // draws can round up to 1 (doubles in [1 - 2^-25, 1)); stopping the range one 2^-24 step
      // short keeps every u below 1, so p = 1 always gives 1 here too.
      return tf.cast(tf.less(tf.randomUniform(p.shape, 0, 1 - 2 ** -24, 'float32', seeds[0]! >>> 0), p), 'float32') as T;
    }
    kernels.uniform(0, n, seeds);
    const u = tf.tensor(new Float32Array(kernels.memory.buffer, 0, n).slice(), p.shape, 'float32');
    return tf.cast(tf.less(u, p), 'float32') as T;
  });
}
