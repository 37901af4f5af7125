import * as tf from '@tensorflow/tfjs-core';

/** How the six per-component terms of a draw are added up; both sums are exact, so equal. */
export type ComponentSum = 'reduce' | 'slices';

// Backends where tf.sum over the leading axis is a fast kernel. tfjs-backend-webgpu 4.22
// transposes and then runs one workgroup per output element, with a barrier, for a reduction of
// size 6: under SwiftShader that took 2.1 s for 25,600 elements, against 14 ms for six slices and
// one addN; on wasm the slices are the slow way (18 ms against 1 for 200,704 elements). Measured
// here on 2 cores, 2026-11; webgl is unmeasured and gets the slices.
const REDUCING_BACKENDS = new Set(['cpu', 'wasm', 'tensorflow']);

/** The summation the active backend (or `backend`) runs fastest. */
export function preferredComponentSum(backend: string = tf.getBackend()): ComponentSum {
  return REDUCING_BACKENDS.has(backend) ? 'reduce' : 'slices';
}
