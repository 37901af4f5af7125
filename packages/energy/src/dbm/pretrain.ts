import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  createOptimizer,
  gatherRows,
  matMul,
  Rng,
  train,
  type ParameterGroupOptimizer,
  type ScheduleLike,
  type TrainHistory,
  type TrainingCallback,
} from '@helmholtz/core';
import { finiteNumber, nonNegativeInteger, positiveInteger, rejectUnknownKeys } from '../rbm/config.js';
import { BernoulliRBM } from '../rbm/bernoulli.js';
import { fitRbm } from '../training/fit.js';
import type { DBM } from './dbm.js';

/**
 * How many tied copies of each side an RBM of the stack has: a copy count of 2 makes a unit
 * a sum of two binary units with the same weights, i.e. a binomial unit in {0, 1, 2}.
 */
export interface RbmCopies {
  visible: 1 | 2;
  hidden: 1 | 2;
}

/** What {@link PretrainDbmOptions.onLayerEnd} is told, before the layer's RBM is disposed. */
export interface DbmPretrainLayerEnd {
  /** Index of the RBM, 0 at the bottom: it joins DBM layers `layer` and `layer + 1`. */
  layer: number;
  /** The trained RBM (disposed after the callback). */
  rbm: BernoulliRBM;
  /** Its tied copies: bottom {visible: 2, hidden: 1}, middle {1, 1}, top {visible: 1, hidden: 2}. */
  copies: RbmCopies;
  /** The factor its weights get in the DBM: 1, or 1/2 for a middle RBM. */
  scale: number;
  history: TrainHistory;
}

/** Options of {@link pretrainDbm}. */
export interface PretrainDbmOptions {
  /** Epochs of each RBM: one number for all, or one per RBM (bottom first). */
  epochs: number | number[];
  /** Examples per update (default 100). */
  batchSize?: number;
  /** Learning rate of every RBM, a core schedule of its update count (default 0.05). */
  learningRate?: ScheduleLike;
  /** Momentum schedule (default 0.5, then 0.9 after 5 epochs, Hinton 2010 sec. 9). */
  momentum?: ScheduleLike;
  /** L2 weight cost on the weights (default 0.0002). */
  weightDecay?: number;
  /** Gibbs steps of contrastive divergence, k of CD-k (default 1). */
  gibbsSteps?: number;
  /** Seed of the epoch orders and of every draw (default 0). */
  seed?: number;
  /** Callbacks of every RBM's training loop. */
  callbacks?: TrainingCallback[];
  /** Told about each RBM once it is trained, before it is composed into the DBM. */
  onLayerEnd?: (info: DbmPretrainLayerEnd) => void | Promise<void>;
  /** Stops after the current batch; the RBMs not trained then are not composed. */
  signal?: AbortSignal;
}

export interface PretrainDbmResult {
  /** The training history of each RBM, bottom first. */
  histories: TrainHistory[];
  /** Whether every RBM was trained and the DBM composed from them (false after an abort). */
  composed: boolean;
}

const KEYS = ['epochs', 'batchSize', 'learningRate', 'momentum', 'weightDecay', 'gibbsSteps', 'seed', 'callbacks', 'onLayerEnd', 'signal'];

/** The copies of RBM `layer` of a stack of `depth` RBMs (Salakhutdinov & Hinton 2009, sec. 3.1). */
export function stackCopies(layer: number, depth: number): RbmCopies {
  if (layer === 0) return { visible: 2, hidden: 1 };
  if (layer === depth - 1) return { visible: 1, hidden: 2 };
  return { visible: 1, hidden: 1 };
}

/** A sum of `copies` independent Bernoulli(p) draws. */
function binomial(rng: Rng, p: tf.Tensor2D, copies: 1 | 2): tf.Tensor2D {
  return copies === 1 ? rng.bernoulli(p) : (tf.add(rng.bernoulli(p), rng.bernoulli(p)) as tf.Tensor2D);
}

/**
 * One contrastive-divergence update of an RBM with tied copies (see {@link RbmCopies}): its
 * energy is E(s, t) = −bᵀs − cᵀt − sᵀWt with s the sum of the visible copies and t of the hidden
 * ones, so s_i | t ~ Binomial(copies.visible, σ(b_i + W_i t)) and t_j | s ~ Binomial(copies.hidden,
 * σ(c_j + sᵀW_j)): the negative phase samples each copy independently, as the model with copies
 * says. In the positive phase the visible copies all equal the data, s = copies.visible · v, and
 * the hidden statistics are E[t | s]. Returns the batch's reconstruction error, Σ_i (v_i − σ(b_i + W_i t))²
 * for the first hidden sample t, as a scalar (no read-back).
 */
function copiesStep(rbm: BernoulliRBM, optimizer: ParameterGroupOptimizer, batch: tf.Tensor2D, copies: RbmCopies, k: number, rng: Rng): tf.Scalar {
  const { weights, visibleBias, hiddenBias } = rbm.params;
  const n = batch.shape[0];
  return tf.tidy(() => {
    const hiddenProbs = (s: tf.Tensor2D) => tf.sigmoid(tf.add(matMul(s, weights), hiddenBias)) as tf.Tensor2D;
    const visibleProbs = (t: tf.Tensor2D) => tf.sigmoid(tf.add(matMul(t, weights, false, true), visibleBias)) as tf.Tensor2D;
    const s0 = copies.visible === 1 ? batch : (tf.mul(batch, copies.visible) as tf.Tensor2D);
    const p0 = hiddenProbs(s0);
    let t = binomial(rng, p0, copies.hidden);
    let vp = visibleProbs(t);
    const error = tf.div(tf.sum(tf.square(tf.sub(batch, vp))), n) as tf.Scalar;
    let s = binomial(rng, vp, copies.visible);
    let p = hiddenProbs(s);
    for (let i = 1; i < k; i++) {
      t = binomial(rng, p, copies.hidden);
      vp = visibleProbs(t);
      s = binomial(rng, vp, copies.visible);
      p = hiddenProbs(s);
    }
    const t0 = tf.mul(p0, copies.hidden) as tf.Tensor2D;
    const tk = tf.mul(p, copies.hidden) as tf.Tensor2D;
    // The optimizer minimises: model statistics minus data statistics.
    optimizer.applyGradients({
      weights: tf.div(tf.sub(matMul(s, tk, true, false), matMul(s0, t0, true, false)), n),
      visibleBias: tf.sub(tf.mean(s, 0), tf.mean(s0, 0)),
      hiddenBias: tf.sub(tf.mean(tk, 0), tf.mean(t0, 0)),
    });
    return error;
  });
}

function smoothedLogOdds(data: tf.Tensor2D): tf.Tensor1D {
  const n = data.shape[0];
  return tf.tidy(() => {
    const p = tf.div(tf.add(tf.sum(data, 0), 1), n + 2);
    return tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D;
  });
}

/**
 * Greedy layer-wise pre-training of a DBM (Salakhutdinov & Hinton 2009, sec. 3.1; Goodfellow et
 * al. 2016, sec. 20.4.5), then composition into the DBM. A DBM's hidden layer gets input from
 * both neighbours, an RBM's only from one, so each RBM of the stack is trained with tied copies
 * that stand in for the missing neighbour:
 * - bottom RBM (v, h1): two tied copies of the visible layer, so the up-pass is
 *   σ(c + 2 vW) on data while the down-pass is σ(b + Wh) (the copies are sampled independently
 *   in the negative phase: the exact model with copies, trained by CD-k);
 * - middle RBMs (h_l, h_{l+1}), with three or more hidden layers: ordinary RBMs trained with
 *   `fitRbm` (the lead's CD trainer), whose weights U are halved in the DBM, W = U / 2 (an RBM
 *   with weights "doubled in both directions", 2W = U);
 * - top RBM (h_{L−1}, h_L): two tied copies of the hidden layer, so the down-pass is σ(b + 2Wh).
 * Each RBM above the first is trained on the probabilities of the one below given its data
 * (σ(c + 2 vW) for the bottom one, σ(c + hU) for a middle one). Composition: W_0 and W_{L−1}
 * as trained, middle ones halved; the visible biases from the bottom RBM, the top biases from
 * the top RBM's hidden ones, and each intermediate layer's the mean of its two RBMs' biases
 * (both describe the same units, one from below and one from above). For a centred DBM the
 * offsets are set to the mean of each layer's training data (the top layer's: the mean hidden
 * probability of the top RBM) and the biases so that the composed distribution is kept.
 *
 * The bottom and top RBMs need binomial (copied) units, which the RBM trainer does not have:
 * they are trained here by CD-k with core's optimizer and training loop, with the same recipe
 * (momentum 0.5 → 0.9 after 5 epochs, L2 weight cost, visible biases from the data's log-odds).
 */
export async function pretrainDbm(dbm: DBM, data: tf.Tensor2D, options: PretrainDbmOptions): Promise<PretrainDbmResult> {
  if (options === null || typeof options !== 'object') throw new ConfigError('pretrainDbm options', 'an object with epochs', options);
  rejectUnknownKeys('pretrainDbm options', options, KEYS);
  dbm.checkLayer(data, 0, 'pretrainDbm data');
  const n = data.shape[0];
  if (n === 0) throw new ConfigError('pretrainDbm data', 'at least one example', data.shape);
  const depth = dbm.depth;
  if (Array.isArray(options.epochs) && options.epochs.length !== depth) throw new ConfigError('epochs', `one number of epochs per RBM (${depth})`, options.epochs);
  const epochs = Array.isArray(options.epochs)
    ? options.epochs.map((e, i) => positiveInteger(`epochs[${i}]`, e))
    : Array.from({ length: depth }, () => positiveInteger('epochs', options.epochs));
  const batchSize = positiveInteger('batchSize', options.batchSize ?? 100);
  const gibbsSteps = positiveInteger('gibbsSteps', options.gibbsSteps ?? 1);
  const weightDecay = finiteNumber('weightDecay', options.weightDecay ?? 0.0002);
  if (weightDecay < 0) throw new ConfigError('weightDecay', 'a finite number >= 0', weightDecay);
  const seed = nonNegativeInteger('seed', options.seed ?? 0);
  const learningRate = options.learningRate ?? 0.05;
  const batchesPerEpoch = Math.ceil(n / batchSize);
  const momentum = options.momentum ?? { kind: 'piecewise', boundaries: [5 * batchesPerEpoch], values: [0.5, 0.9] };
  const seeds = new Rng(seed);

  const histories: TrainHistory[] = [];
  const trained: { weights: tf.Tensor2D; visibleBias: tf.Tensor1D; hiddenBias: tf.Tensor1D; scale: number }[] = [];
  const layerMeans: tf.Tensor1D[] = [];
  let current = tf.clone(data);
  let composed = false;
  try {
    for (let layer = 0; layer < depth; layer++) {
      layerMeans.push(tf.mean(current, 0) as tf.Tensor1D);
      const copies = stackCopies(layer, depth);
      const middle = copies.visible === 1 && copies.hidden === 1;
      const rbm = new BernoulliRBM({
        visible: dbm.layers[layer] as number,
        hidden: dbm.layers[layer + 1] as number,
        seed: seeds.nextSeed(),
        ...(dbm.config.initialScale !== undefined ? { initialScale: dbm.config.initialScale } : {}),
      });
      try {
        let history: TrainHistory;
        if (middle) {
          const fitted = await fitRbm(rbm, current, {
            epochs: epochs[layer] as number,
            batchSize,
            seed: seed + layer,
            learningRate,
            momentum,
            weightDecay,
            gibbsSteps,
            monitorExamples: 0,
            ...(options.callbacks ? { callbacks: options.callbacks } : {}),
            ...(options.signal ? { signal: options.signal } : {}),
          });
          fitted.trainer.dispose();
          history = fitted.history;
        } else {
          history = await trainWithCopies(rbm, current, copies, {
            epochs: epochs[layer] as number,
            batchSize,
            learningRate,
            momentum,
            weightDecay,
            gibbsSteps,
            seed: seed + layer,
            callbacks: options.callbacks,
            signal: options.signal,
          });
        }
        histories.push(history);
        const scale = middle ? 0.5 : 1;
        await options.onLayerEnd?.({ layer, rbm, copies, scale, history });
        if (history.stoppedEarly) break;
        const { weights, visibleBias, hiddenBias } = rbm.params;
        trained.push(
          tf.tidy(() => ({
            weights: (scale === 1 ? tf.clone(weights) : tf.mul(weights, scale)) as tf.Tensor2D,
            visibleBias: tf.clone(visibleBias) as tf.Tensor1D,
            hiddenBias: tf.clone(hiddenBias) as tf.Tensor1D,
            scale,
          })),
        );
        // The next RBM's data: this one's hidden probabilities given its (copied) input.
        const next = tf.tidy(() => tf.sigmoid(tf.add(matMul(tf.mul(current, copies.visible) as tf.Tensor2D, weights), hiddenBias)) as tf.Tensor2D);
        current.dispose();
        current = next;
      } finally {
        rbm.dispose();
      }
    }
    if (trained.length === depth) {
      layerMeans.push(tf.mean(current, 0) as tf.Tensor1D);
      compose(dbm, trained, layerMeans);
      composed = true;
    }
  } finally {
    current.dispose();
    tf.dispose(layerMeans);
    for (const t of trained) tf.dispose([t.weights, t.visibleBias, t.hiddenBias]);
  }
  return { histories, composed };
}

function compose(
  dbm: DBM,
  trained: readonly { weights: tf.Tensor2D; visibleBias: tf.Tensor1D; hiddenBias: tf.Tensor1D }[],
  layerMeans: readonly tf.Tensor1D[],
): void {
  const depth = dbm.depth;
  trained.forEach((t, l) => (dbm.params.weights[l] as tf.Variable).assign(t.weights));
  if (dbm.centered) dbm.setOffsets(layerMeans);
  const biases = tf.tidy(() =>
    dbm.layers.map((_, l) => {
      if (l === 0) return tf.clone((trained[0] as (typeof trained)[number]).visibleBias);
      if (l === depth) return tf.clone((trained[depth - 1] as (typeof trained)[number]).hiddenBias);
      return tf.mul(tf.add((trained[l - 1] as (typeof trained)[number]).hiddenBias, (trained[l] as (typeof trained)[number]).visibleBias), 0.5) as tf.Tensor1D;
    }),
  );
  dbm.setEffectiveBiases(biases);
  tf.dispose(biases);
}

interface CopiesTraining {
  epochs: number;
  batchSize: number;
  learningRate: ScheduleLike;
  momentum: ScheduleLike;
  weightDecay: number;
  gibbsSteps: number;
  seed: number;
  callbacks?: TrainingCallback[];
  signal?: AbortSignal;
}

/** CD-k training of an RBM with tied copies, on core's training loop. */
async function trainWithCopies(rbm: BernoulliRBM, data: tf.Tensor2D, copies: RbmCopies, options: CopiesTraining): Promise<TrainHistory> {
  const n = data.shape[0];
  const logOdds = smoothedLogOdds(data);
  rbm.params.visibleBias.assign(logOdds);
  logOdds.dispose();
  const optimizer = createOptimizer(
    { kind: 'momentum', learningRate: options.learningRate, momentum: options.momentum, weightDecay: options.weightDecay, excludeBiasesFromDecay: true },
    rbm.params,
  );
  const rng = new Rng(options.seed).split();
  function* batches(epoch: number): Iterable<tf.Tensor2D> {
    const order = new Rng(options.seed * 1_000_003 + epoch + 7).permutation(n);
    for (let start = 0; start < n; start += options.batchSize) {
      const ids = order.subarray(start, Math.min(n, start + options.batchSize));
      yield tf.tidy(() => gatherRows(data, tf.tensor1d(ids, 'int32')));
    }
  }
  try {
    return await train<tf.Tensor2D>({
      epochs: options.epochs,
      batches,
      step: (batch) => ({ reconstructionError: copiesStep(rbm, optimizer, batch, copies, options.gibbsSteps, rng) }),
      callbacks: options.callbacks,
      signal: options.signal,
    });
  } finally {
    optimizer.dispose();
  }
}
