/**
 * One CD-1 epoch of a Bernoulli RBM with momentum and L2 weight cost, written the ways the
 * speed benchmark compares (the PyTorch peer, ../peers/rbm_epoch.py, writes the same):
 *
 *   h0p = σ(v0·W + c);   h0 ~ Bernoulli(h0p)
 *   v1p = σ(h0·Wᵀ + b);  err = mean_rows Σ (v0 − v1p)²;  v1 ~ Bernoulli(v1p)
 *   h1p = σ(v1·W + c)
 *   gW = (v0ᵀ·h0p − v1ᵀ·h1p)/n − λ W;  gb = Σ(v0 − v1)/n;  gc = Σ(h0p − h1p)/n
 *   Δ ← m Δ + g;  θ ← θ + lr Δ        (each of W, b, c)
 *
 * which is what @helmholtz/energy's trainer does with `method: 'cd'` (the optimizer's descent
 * form Δ' ← m Δ' − g, θ ← θ − lr Δ' is the same update with Δ' = −Δ).
 *
 * - `trainer`: `createRbmTrainer` from @helmholtz/energy, one `step` per batch: ours;
 * - `fit`: `fitRbm` for the epoch (the trainer inside core's training loop, monitors off);
 * - `tfjs`: what a tfjs user writes: `tf.matMul` with transpose flags, `tf.randomUniform`,
 *   `tf.gather`, the momentum update by hand;
 * - `layout`: the same computation laid out as bench/src/rbm-step.ts's `helmholtz` step (Wᵀ
 *   kept, one column per example, core's fused kernels): what a column-layout fast path in the
 *   trainer could reach;
 * - `ref`: bench/src/rbm-step.ts's `helmholtz` step itself (plain SGD, lr 0.01, no momentum,
 *   no weight cost, one fixed batch), as many steps as an epoch has: the step the other
 *   benchmark measures, for comparison only (its checks are not comparable).
 */
import * as tf from '@tensorflow/tfjs-core';
import { addRowBias, addScaledDifference, gatherRows, matMul, Rng, rowSumDifference, transpose2d } from '@helmholtz/core';
import { BernoulliRBM, createRbmTrainer, fitRbm, initVisibleBiasFromData, type RbmTrainer } from '@helmholtz/energy';
import { createCdStep } from '../rbm-step.js';

export const VARIANTS = ['trainer', 'fit', 'tfjs', 'layout', 'ref'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface EpochSettings {
  visible: number;
  hidden: number;
  batch: number;
  learningRate: number;
  momentum: number;
  weightDecay: number;
  seed: number;
}

/** An RBM's parameters as plain tensors the caller disposes: W `[visible, hidden]`. */
export interface RbmTensors {
  w: tf.Tensor2D;
  b: tf.Tensor1D;
  c: tf.Tensor1D;
}

export interface EpochRunner {
  /** Untimed: gets ready to train on the rows `ids` of the data (a copy of them where the variant needs one). */
  prepare(ids: Int32Array): void;
  /** Timed: one pass over the prepared rows in batches; resolves to the number of updates. */
  run(): Promise<number>;
  /** The current parameters (null for `ref`, whose biases are not reachable). */
  params(): RbmTensors | null;
  /** W `[visible, hidden]` row-major. */
  weights(): Float32Array;
  dispose(): void;
}

/** b = log(p/(1−p)) of each pixel's mean over the data, clipped as the trainer's initVisibleBiasFromData clips it. */
function visibleBiasFromData(data: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const p = tf.clipByValue(tf.mean(data, 0), 1e-3, 1 - 1e-3);
    return tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D;
  });
}

/** The trainer's initial weights: N(0, 0.01²) from `Rng(seed)`, as BernoulliRBM draws them. */
function initialWeights(s: EpochSettings): tf.Tensor2D {
  return new Rng(s.seed).normalTensor([s.visible, s.hidden], 0, 0.01);
}

function batchesOf(ids: Int32Array, batch: number): Int32Array[] {
  const out: Int32Array[] = [];
  for (let start = 0; start < ids.length; start += batch) out.push(ids.subarray(start, Math.min(ids.length, start + batch)));
  return out;
}

function trainerRunner(data: tf.Tensor2D, s: EpochSettings, viaFit: boolean): EpochRunner {
  const rbm = new BernoulliRBM({ visible: s.visible, hidden: s.hidden, seed: s.seed });
  initVisibleBiasFromData(rbm, data);
  const trainer: RbmTrainer = createRbmTrainer(rbm, {
    method: 'cd',
    gibbsSteps: 1,
    learningRate: s.learningRate,
    momentum: s.momentum,
    weightDecay: s.weightDecay,
    rng: s.seed + 1,
  });
  let batches: Int32Array[] = [];
  let subset: tf.Tensor2D | null = null;
  let epoch = 0;
  return {
    prepare(ids) {
      batches = batchesOf(ids, s.batch);
      if (viaFit) {
        subset?.dispose();
        subset = tf.tidy(() => gatherRows(data, tf.tensor1d(ids, 'int32')));
      }
    },
    async run() {
      if (viaFit) {
        // fitRbm draws its own order over the rows it is given; the prepared rows are this round's.
        await fitRbm(rbm, subset!, {
          trainer,
          epochs: epoch + 1,
          initialEpoch: epoch,
          initialStep: trainer.updates,
          batchSize: s.batch,
          seed: s.seed,
          monitorExamples: 0,
          initVisibleBias: false,
        });
        epoch++;
        return batches.length;
      }
      for (const ids of batches) {
        const x = tf.tidy(() => gatherRows(data, tf.tensor1d(ids, 'int32')));
        const losses = trainer.step(x);
        tf.dispose([x, ...Object.values(losses)]);
      }
      return batches.length;
    },
    params: () => ({ w: tf.clone(rbm.params.weights), b: tf.clone(rbm.params.visibleBias), c: tf.clone(rbm.params.hiddenBias) }),
    weights: () => rbm.params.weights.dataSync() as Float32Array,
    dispose() {
      subset?.dispose();
      trainer.dispose();
      rbm.dispose();
    },
  };
}

// What a tfjs user writes from the formulas: row-major activations, transpose flags, tf.randomUniform.
function tfjsRunner(data: tf.Tensor2D, s: EpochSettings): EpochRunner {
  const w = tf.variable(initialWeights(s));
  const b = tf.variable(visibleBiasFromData(data));
  const c = tf.variable(tf.zeros([s.hidden]) as tf.Tensor1D);
  const dw = tf.variable(tf.zeros([s.visible, s.hidden]) as tf.Tensor2D);
  const db = tf.variable(tf.zeros([s.visible]) as tf.Tensor1D);
  const dc = tf.variable(tf.zeros([s.hidden]) as tf.Tensor1D);
  const { learningRate: lr, momentum: m, weightDecay: wd } = s;
  let batches: Int32Array[] = [];
  const step = (v0: tf.Tensor2D): void => {
    tf.tidy(() => {
      const n = v0.shape[0];
      const h0p = tf.sigmoid(tf.add(tf.matMul(v0, w), c));
      const h0 = tf.cast(tf.less(tf.randomUniform(h0p.shape), h0p), 'float32');
      const v1p = tf.sigmoid(tf.add(tf.matMul(h0, w, false, true), b));
      // The reconstruction error a user logs; computed (not read back) as the trainer computes it.
      tf.mean(tf.sum(tf.square(tf.sub(v0, v1p)), 1));
      const v1 = tf.cast(tf.less(tf.randomUniform(v1p.shape), v1p), 'float32');
      const h1p = tf.sigmoid(tf.add(tf.matMul(v1, w), c));
      const gw = tf.sub(tf.div(tf.sub(tf.matMul(v0, h0p, true, false), tf.matMul(v1, h1p, true, false)), n), tf.mul(w, wd));
      const gb = tf.div(tf.sum(tf.sub(v0, v1), 0), n);
      const gc = tf.div(tf.sum(tf.sub(h0p, h1p), 0), n);
      dw.assign(tf.add(tf.mul(dw, m), gw));
      db.assign(tf.add(tf.mul(db, m), gb));
      dc.assign(tf.add(tf.mul(dc, m), gc));
      w.assign(tf.add(w, tf.mul(dw, lr)));
      b.assign(tf.add(b, tf.mul(db, lr)));
      c.assign(tf.add(c, tf.mul(dc, lr)));
    });
  };
  return {
    prepare(ids) {
      batches = batchesOf(ids, s.batch);
    },
    async run() {
      for (const ids of batches) {
        const idx = tf.tensor1d(ids, 'int32');
        const x = tf.gather(data, idx) as tf.Tensor2D;
        step(x);
        tf.dispose([idx, x]);
      }
      return batches.length;
    },
    params: () => ({ w: tf.clone(w), b: tf.clone(b), c: tf.clone(c) }),
    weights: () => w.dataSync() as Float32Array,
    dispose: () => tf.dispose([w, b, c, dw, db, dc]),
  };
}

// The computation above in the layout of rbm-step.ts's `helmholtz` step: Wᵀ [hidden, visible] is
// kept so that the right operand of every product is an activation matrix (tfjs-backend-wasm's
// XNNPACK repacks its right operand on each call), activations run one column per example, and
// core's kernels fuse the bias adds and the statistics.
function layoutRunner(data: tf.Tensor2D, s: EpochSettings): EpochRunner {
  const wt = tf.variable(tf.tidy(() => transpose2d(initialWeights(s))));
  const b = tf.variable(visibleBiasFromData(data));
  const c = tf.variable(tf.zeros([s.hidden]) as tf.Tensor1D);
  const dwt = tf.variable(tf.zeros([s.hidden, s.visible]) as tf.Tensor2D);
  const db = tf.variable(tf.zeros([s.visible]) as tf.Tensor1D);
  const dc = tf.variable(tf.zeros([s.hidden]) as tf.Tensor1D);
  const rng = new Rng(s.seed + 1);
  const { learningRate: lr, momentum: m, weightDecay: wd } = s;
  let batches: Int32Array[] = [];
  const step = (v0: tf.Tensor2D): void => {
    tf.tidy(() => {
      const n = v0.shape[0];
      const w = transpose2d(wt);
      const v0t = transpose2d(v0);
      const h0pt = tf.sigmoid(addRowBias(tf.matMul(wt, v0t), c)) as tf.Tensor2D;
      const h0t = rng.bernoulli(h0pt);
      const v1pt = tf.sigmoid(addRowBias(tf.matMul(w, h0t), b)) as tf.Tensor2D;
      tf.mean(tf.sum(tf.square(tf.sub(v0t, v1pt)), 0));
      const v1t = rng.bernoulli(v1pt);
      const v1 = transpose2d(v1t);
      const h1pt = tf.sigmoid(addRowBias(tf.matMul(wt, v1t), c)) as tf.Tensor2D;
      // (h0pᵀ·v0 − h1pᵀ·v1)/n − λWᵀ: the transposed weight gradient in one fused pass after the products.
      const gwt = addScaledDifference(tf.mul(wt, -wd), tf.matMul(h0pt, v0), tf.matMul(h1pt, v1), 1 / n);
      dwt.assign(tf.add(tf.mul(dwt, m), gwt));
      db.assign(tf.add(tf.mul(db, m), tf.mul(rowSumDifference(v0t, v1t), 1 / n)));
      dc.assign(tf.add(tf.mul(dc, m), tf.mul(rowSumDifference(h0pt, h1pt), 1 / n)));
      wt.assign(tf.add(wt, tf.mul(dwt, lr)));
      b.assign(tf.add(b, tf.mul(db, lr)));
      c.assign(tf.add(c, tf.mul(dc, lr)));
    });
  };
  return {
    prepare(ids) {
      batches = batchesOf(ids, s.batch);
    },
    async run() {
      for (const ids of batches) {
        const x = tf.tidy(() => gatherRows(data, tf.tensor1d(ids, 'int32')));
        step(x);
        x.dispose();
      }
      return batches.length;
    },
    params: () => ({ w: transpose2d(wt), b: tf.clone(b), c: tf.clone(c) }),
    weights() {
      const w = transpose2d(wt);
      const values = w.dataSync() as Float32Array;
      w.dispose();
      return values;
    },
    dispose: () => tf.dispose([wt, b, c, dwt, db, dc]),
  };
}

function refRunner(s: EpochSettings): EpochRunner {
  const step = createCdStep('helmholtz', s.batch, s.seed);
  let count = 0;
  return {
    prepare(ids) {
      count = Math.ceil(ids.length / s.batch);
    },
    async run() {
      for (let i = 0; i < count; i++) step.run();
      return count;
    },
    params: () => null,
    weights: () => step.weights(),
    dispose: () => step.dispose(),
  };
}

export function createRunner(variant: Variant, data: tf.Tensor2D, s: EpochSettings): EpochRunner {
  switch (variant) {
    case 'trainer':
      return trainerRunner(data, s, false);
    case 'fit':
      return trainerRunner(data, s, true);
    case 'tfjs':
      return tfjsRunner(data, s);
    case 'layout':
      return layoutRunner(data, s);
    case 'ref':
      return refRunner(s);
  }
}

/** Mean over rows of Σ_i (x_i − E[v_i | h = p(h | x)])², the trainer's `reconstructionError` monitor. */
export function meanFieldError(p: RbmTensors, x: tf.Tensor2D): number {
  const e = tf.tidy(() => {
    const h = tf.sigmoid(tf.add(matMul(x, p.w), p.c)) as tf.Tensor2D;
    const v = tf.sigmoid(tf.add(matMul(h, p.w, false, true), p.b));
    return tf.mean(tf.sum(tf.square(tf.sub(x, v)), 1));
  });
  const value = e.dataSync()[0]!;
  e.dispose();
  return value;
}
