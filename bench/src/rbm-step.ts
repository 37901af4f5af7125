/**
 * One training step of a binary RBM by CD-1 (784 visible, 500 hidden by default), written three
 * ways so that the benchmark compares like with like:
 *
 * - `plain`: what a tfjs user writes (tf.matMul with transpose flags, tf.randomUniform);
 * - `helmholtz`: the same step on core's fast pieces.
 *
 * Every variant computes exactly this, which is also what the PyTorch and numpy peers compute:
 *   h0p = σ(v0·W + c);   h0 ~ Bernoulli(h0p)
 *   v1p = σ(h0·Wᵀ + b);  v1 ~ Bernoulli(v1p)
 *   h1p = σ(v1·W + c)
 *   W += lr/n (v0ᵀ·h0p − v1ᵀ·h1p);  b += lr mean(v0 − v1);  c += lr mean(h0p − h1p)
 */
import * as tf from '@tensorflow/tfjs-core';
import { matMul, Rng } from '@helmholtz/core';

export const VISIBLE = 784;
export const HIDDEN = 500;
export const LEARNING_RATE = 0.01;

export type StepVariant = 'plain' | 'helmholtz';

export interface CdStep {
  /** Runs one step and waits until its results exist (reads one number back). */
  run(): void;
  /** The weights, for agreement checks between variants. */
  weights(): Float32Array;
  dispose(): void;
}

interface RbmState {
  w: tf.Variable<tf.Rank.R2>;
  b: tf.Variable<tf.Rank.R1>;
  c: tf.Variable<tf.Rank.R1>;
  v0: tf.Tensor2D;
}

function initialState(batch: number, seed: number): RbmState {
  const rng = new Rng(seed);
  return {
    w: tf.variable(tf.tidy(() => tf.mul(rng.normalTensor([VISIBLE, HIDDEN]), 0.01)) as tf.Tensor2D),
    b: tf.variable(tf.zeros([VISIBLE]) as tf.Tensor1D),
    c: tf.variable(tf.zeros([HIDDEN]) as tf.Tensor1D),
    v0: tf.tidy(() => tf.cast(tf.less(rng.uniform([batch, VISIBLE]), 0.5), 'float32')) as tf.Tensor2D,
  };
}

function plainStep(s: RbmState, batch: number): void {
  tf.tidy(() => {
    const h0p = tf.sigmoid(tf.add(tf.matMul(s.v0, s.w), s.c));
    const h0 = tf.cast(tf.less(tf.randomUniform([batch, HIDDEN]), h0p), 'float32');
    const v1p = tf.sigmoid(tf.add(tf.matMul(h0, s.w, false, true), s.b));
    const v1 = tf.cast(tf.less(tf.randomUniform([batch, VISIBLE]), v1p), 'float32');
    const h1p = tf.sigmoid(tf.add(tf.matMul(v1, s.w), s.c));
    const dw = tf.sub(tf.matMul(s.v0, h0p, true, false), tf.matMul(v1, h1p, true, false));
    s.w.assign(tf.add(s.w, tf.mul(dw, LEARNING_RATE / batch)));
    s.b.assign(tf.add(s.b, tf.mul(tf.mean(tf.sub(s.v0, v1), 0), LEARNING_RATE)));
    s.c.assign(tf.add(s.c, tf.mul(tf.mean(tf.sub(h0p, h1p), 0), LEARNING_RATE)));
  });
}

// The same step on core's pieces: matMul routes the transposed products around tfjs-wasm's slow
// transpose flags (with core's SIMD transpose), and rng.bernoulli samples in one fused kernel
// (generator, comparison and write in one pass over the backend's heap).
function helmholtzStep(s: RbmState, batch: number, rng: Rng): void {
  tf.tidy(() => {
    const h0p = tf.sigmoid(tf.add(matMul(s.v0, s.w), s.c));
    const h0 = rng.bernoulli(h0p);
    const v1p = tf.sigmoid(tf.add(matMul(h0, s.w, false, true), s.b));
    const v1 = rng.bernoulli(v1p);
    const h1p = tf.sigmoid(tf.add(matMul(v1, s.w), s.c));
    const dw = tf.sub(matMul(s.v0, h0p, true, false), matMul(v1, h1p, true, false));
    s.w.assign(tf.add(s.w, tf.mul(dw, LEARNING_RATE / batch)));
    s.b.assign(tf.add(s.b, tf.mul(tf.mean(tf.sub(s.v0, v1), 0), LEARNING_RATE)));
    s.c.assign(tf.add(s.c, tf.mul(tf.mean(tf.sub(h0p, h1p), 0), LEARNING_RATE)));
  });
}

/** A CD-1 step of the given variant on the active backend. */
export function createCdStep(variant: StepVariant, batch: number, seed = 0): CdStep {
  const s = initialState(batch, seed);
  const rng = new Rng(seed + 1);
  const once = variant === 'plain' ? () => plainStep(s, batch) : () => helmholtzStep(s, batch, rng);
  return {
    run() {
      once();
      // One element read back: the step's kernels have all run (wasm and cpu run synchronously
      // anyway; on a GPU backend this waits for the queue).
      tf.tidy(() => tf.slice(s.w, [0, 0], [1, 1])).dataSync();
    },
    weights: () => s.w.dataSync() as Float32Array,
    dispose: () => tf.dispose([s.w, s.b, s.c, s.v0]),
  };
}

/** The raw product [batch, 784]·[784, 500], the largest of the step's five. */
export function createProduct(batch: number, seed = 0): { run(): void; dispose(): void } {
  const rng = new Rng(seed);
  const a = rng.normalTensor([batch, VISIBLE]) as tf.Tensor2D;
  const b = rng.normalTensor([VISIBLE, HIDDEN]) as tf.Tensor2D;
  return {
    run() {
      const c = matMul(a, b);
      tf.tidy(() => tf.slice(c, [0, 0], [1, 1])).dataSync();
      c.dispose();
    },
    dispose: () => tf.dispose([a, b]),
  };
}
