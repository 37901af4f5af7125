/**
 * One training step of a binary RBM by CD-1 (784 visible, 500 hidden by default), written three
 * ways so that the benchmark compares like with like:
 *
 * - `plain`: what a tfjs user writes (tf.matMul with transpose flags, tf.randomUniform);
 * - `standard`: the textbook layout (one row per example, W [visible, hidden]) on core's
 *   matMul and rng.bernoulli: the step before the layout change below, kept to measure it;
 * - `helmholtz`: the step on core's fast pieces, laid out for tfjs-backend-wasm.
 *
 * Every variant computes exactly this, which is also what the PyTorch and numpy peers compute:
 *   h0p = σ(v0·W + c);   h0 ~ Bernoulli(h0p)
 *   v1p = σ(h0·Wᵀ + b);  v1 ~ Bernoulli(v1p)
 *   h1p = σ(v1·W + c)
 *   W += lr/n (v0ᵀ·h0p − v1ᵀ·h1p);  b += lr mean(v0 − v1);  c += lr mean(h0p − h1p)
 */
import * as tf from '@tensorflow/tfjs-core';
import { addRowBias, addScaledDifference, matMul, Rng, rowSumDifference, transpose2d } from '@helmholtz/core';

export const VISIBLE = 784;
export const HIDDEN = 500;
export const LEARNING_RATE = 0.01;

export type StepVariant = 'plain' | 'standard' | 'helmholtz';

export interface CdStep {
  /** Runs one step and waits until its results exist (on a GPU backend by reading one number back). */
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

// One row per example and W [visible, hidden], on core's matMul (explicit SIMD transposes instead
// of the transpose flags) and fused sampler.
function standardStep(s: RbmState, batch: number, rng: Rng): void {
  tf.tidy(() => {
    const h0p = tf.sigmoid(tf.add(matMul(s.v0, s.w), s.c)) as tf.Tensor2D;
    const h0 = rng.bernoulli(h0p);
    const v1p = tf.sigmoid(tf.add(matMul(h0, s.w, false, true), s.b)) as tf.Tensor2D;
    const v1 = rng.bernoulli(v1p);
    const h1p = tf.sigmoid(tf.add(matMul(v1, s.w), s.c)) as tf.Tensor2D;
    const dw = tf.sub(matMul(s.v0, h0p, true, false), matMul(v1, h1p, true, false));
    s.w.assign(tf.add(s.w, tf.mul(dw, LEARNING_RATE / batch)));
    s.b.assign(tf.add(s.b, tf.mul(tf.mean(tf.sub(s.v0, v1), 0), LEARNING_RATE)));
    s.c.assign(tf.add(s.c, tf.mul(tf.mean(tf.sub(h0p, h1p), 0), LEARNING_RATE)));
  });
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

// The same step on core's pieces, laid out for tfjs-backend-wasm. Its matMul is XNNPACK's fully
// connected operator, which repacks its right operand on every call with a new tensor (about
// 5 ns per element, on one thread: 1 ms for [784,256]); the right operand of every product here
// is therefore an activation matrix, never the 392,000 weights, and activations run one column
// per example: Wᵀ·v0ᵀ instead of v0·W. The weights are kept as Wᵀ [hidden, visible] and W is
// one SIMD transpose per step. Sampling (generator, comparison, write) is one kernel pass; the
// per-row bias add, the update W + lr/n (P − N) and the bias statistics are core's SIMD kernels
// instead of tfjs's broadcasting Add, Sub/Mul/Add and Sub/Mean.
function helmholtzStep(s: RbmState, wt: tf.Variable<tf.Rank.R2>, batch: number, rng: Rng): void {
  tf.tidy(() => {
    const w = transpose2d(wt);
    const v0t = transpose2d(s.v0);
    const h0pt = tf.sigmoid(addRowBias(tf.matMul(wt, v0t), s.c)) as tf.Tensor2D;
    const h0t = rng.bernoulli(h0pt);
    const v1pt = tf.sigmoid(addRowBias(tf.matMul(w, h0t), s.b)) as tf.Tensor2D;
    const v1t = rng.bernoulli(v1pt);
    const v1 = transpose2d(v1t);
    const h1pt = tf.sigmoid(addRowBias(tf.matMul(wt, v1t), s.c)) as tf.Tensor2D;
    // (h0pᵀ·v0 − h1pᵀ·v1) is the transposed statistic v0ᵀ·h0p − v1ᵀ·h1p.
    wt.assign(addScaledDifference(wt, tf.matMul(h0pt, s.v0), tf.matMul(h1pt, v1), LEARNING_RATE / batch));
    s.b.assign(tf.add(s.b, tf.mul(rowSumDifference(v0t, v1t), LEARNING_RATE / batch)));
    s.c.assign(tf.add(s.c, tf.mul(rowSumDifference(h0pt, h1pt), LEARNING_RATE / batch)));
  });
}

/**
 * Waits until the work that produced `t` is done. wasm and cpu run each kernel to completion
 * before returning, so there is nothing to wait for (and reading back costs: tfjs-wasm's Slice of
 * one element from a [500,784] tensor took about 1 ms in tf.profile); a GPU backend's queue is
 * waited for by reading one element.
 */
function finish(t: tf.Tensor2D): void {
  const backend = tf.getBackend();
  if (backend === 'wasm' || backend === 'cpu') return;
  tf.tidy(() => tf.slice(t, [0, 0], [1, 1])).dataSync();
}

/** A CD-1 step of the given variant on the active backend. */
export function createCdStep(variant: StepVariant, batch: number, seed = 0): CdStep {
  const s = initialState(batch, seed);
  const rng = new Rng(seed + 1);
  // The helmholtz step keeps Wᵀ; it starts from the same W as the plain step.
  const wt = variant === 'helmholtz' ? tf.variable(transpose2d(s.w)) : null;
  const once =
    wt !== null ? () => helmholtzStep(s, wt, batch, rng) : variant === 'standard' ? () => standardStep(s, batch, rng) : () => plainStep(s, batch);
  const current = (): tf.Variable<tf.Rank.R2> => wt ?? s.w;
  return {
    run() {
      once();
      finish(current());
    },
    weights: () => {
      if (wt === null) return s.w.dataSync() as Float32Array;
      const w = transpose2d(wt);
      const values = w.dataSync() as Float32Array;
      w.dispose();
      return values;
    },
    dispose: () => tf.dispose([s.w, s.b, s.c, s.v0, ...(wt ? [wt] : [])]),
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
      finish(c);
      c.dispose();
    },
    dispose: () => tf.dispose([a, b]),
  };
}
