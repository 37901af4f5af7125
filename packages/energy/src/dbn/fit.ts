import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng, type TrainHistory, type TrainingCallback } from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, rejectUnknownKeys } from '../rbm/config.js';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';
import { fitRbm, type FitRbmOptions } from '../training/fit.js';
import type { RbmTrainerOptions } from '../training/trainer.js';
import type { DBN, PropagationMode } from './dbn.js';

/** What one layer's training may set apart from the others (see {@link FitDbnOptions.layers}). */
export interface DbnLayerOptions extends RbmTrainerOptions {
  batchSize?: number;
  monitorExamples?: number;
  initVisibleBias?: boolean;
}

/** What {@link FitDbnOptions.onLayerBegin} and `onLayerEnd` are told. */
export interface DbnLayerInfo {
  /** The RBM's index, 0 at the bottom. */
  layer: number;
  rbm: RestrictedBoltzmannMachine;
  /** The layer's training data (the up-pass of the data to its visible layer): valid during the call only. */
  data: tf.Tensor2D;
}

export interface DbnLayerEnd extends DbnLayerInfo {
  history: TrainHistory;
}

/** Options of {@link fitDbn}. The RBM trainer options (method, learningRate, ...) apply to every layer. */
export interface FitDbnOptions extends RbmTrainerOptions {
  /** Epochs of each layer: one number for all, or one per RBM (bottom first). */
  epochs: number | number[];
  /** Examples per update (default 100). */
  batchSize?: number;
  /**
   * What each RBM above the first is trained on: `'probabilities'` (default), the layer below's
   * p(h | v) for each example, as Hinton & Salakhutdinov (2006) do; or `'samples'`, one binary
   * draw from it per example (drawn once, before the layer trains), which is the DBN's
   * generative story taken literally (Hinton et al. 2006).
   */
  propagate?: PropagationMode;
  /** Seed of the epoch orders, the monitors, the trainers' draws and the propagated samples (default 0). */
  seed?: number;
  /** Per-layer options that override the shared ones, bottom first (`undefined` entries keep the shared ones). */
  layers?: (DbnLayerOptions | undefined)[];
  /** Held-out data, propagated like the training data: each layer logs its free-energy gap. */
  validation?: tf.Tensor2D;
  /** Examples the per-epoch monitors use (default 1000; 0 turns them off). */
  monitorExamples?: number;
  /** Set each layer's visible biases from its data before training it (default true). */
  initVisibleBias?: boolean;
  /** The first RBM to train (default 0): the ones below are kept as they are and only propagate the data, to resume greedy training. */
  startLayer?: number;
  /** Callbacks of every layer's training loop, or a function giving them per layer. */
  callbacks?: TrainingCallback[] | ((layer: number) => TrainingCallback[]);
  onLayerBegin?: (info: DbnLayerInfo) => void | Promise<void>;
  onLayerEnd?: (info: DbnLayerEnd) => void | Promise<void>;
  /** Stops after the current batch; the layers above the interrupted one are not trained. */
  signal?: AbortSignal;
}

export interface FitDbnResult {
  /** The training history of each RBM trained, in order (from `startLayer`). */
  histories: TrainHistory[];
  /** How many RBMs, from the bottom, are trained after this call (those below `startLayer` count): `depth` unless stopped early. */
  completedLayers: number;
}

const DBN_FIT_KEYS = ['epochs', 'batchSize', 'propagate', 'seed', 'layers', 'validation', 'monitorExamples', 'initVisibleBias', 'startLayer', 'callbacks', 'onLayerBegin', 'onLayerEnd', 'signal'];
const LAYER_FIT_KEYS = ['batchSize', 'monitorExamples', 'initVisibleBias'];
const TRAINER_KEYS = ['method', 'gibbsSteps', 'chains', 'learningRate', 'momentum', 'momentumSwitch', 'weightDecay', 'sparsity', 'rng'];

function layerEpochs(epochs: unknown, depth: number): number[] {
  if (Array.isArray(epochs)) {
    if (epochs.length !== depth) throw new ConfigError('epochs', `one number of epochs per RBM (${depth})`, epochs);
    return epochs.map((e, i) => positiveInteger(`epochs[${i}]`, e));
  }
  const e = positiveInteger('epochs', epochs);
  return Array.from({ length: depth }, () => e);
}

/**
 * Greedy layer-wise training of a DBN (Hinton, Osindero & Teh 2006; Bengio et al. 2007): the
 * bottom RBM is trained on the data with `fitRbm`, then frozen; its hidden probabilities (or
 * samples) for every example become the data of the next RBM, and so on to the top. Hinton et
 * al. (2006, sec. 4) prove that an added layer cannot lower a variational bound on the data's
 * log-likelihood if it has the size of the layer below it and starts from that layer's
 * transposed weights; each RBM here starts from its own small random weights (and its own size),
 * as is usual in practice, so that guarantee does not apply: measure the bound with
 * `dbn.logLikelihood` instead.
 *
 * The shared trainer options apply to every layer unless `layers[i]` overrides them (a Gaussian
 * bottom layer usually wants a smaller learning rate). Each layer's trainer is disposed once it
 * is trained; the RBMs' parameters are the DBN's, updated in place.
 *
 * ```ts no-run
 * const dbn = new DBN({ layers: [784, 500, 500], seed: 1 });
 * const { histories } = await fitDbn(dbn, train, { epochs: 10, batchSize: 100, learningRate: 0.05 });
 * ```
 */
export async function fitDbn(dbn: DBN, data: tf.Tensor2D, options: FitDbnOptions): Promise<FitDbnResult> {
  if (options === null || typeof options !== 'object') throw new ConfigError('fitDbn options', 'an object with epochs', options);
  rejectUnknownKeys('fitDbn options', options, [...DBN_FIT_KEYS, ...TRAINER_KEYS]);
  dbn.checkLayer(data, 0, 'fitDbn data');
  if (data.shape[0] === 0) throw new ConfigError('fitDbn data', 'at least one example', data.shape);
  if (options.validation !== undefined) dbn.checkLayer(options.validation, 0, 'fitDbn validation');
  const depth = dbn.depth;
  const epochs = layerEpochs(options.epochs, depth);
  const propagate = options.propagate ?? 'probabilities';
  if (propagate !== 'probabilities' && propagate !== 'samples') throw new ConfigError('propagate', "'probabilities' or 'samples'", propagate);
  const seed = nonNegativeInteger('seed', options.seed ?? 0);
  const startLayer = nonNegativeInteger('startLayer', options.startLayer ?? 0);
  if (startLayer >= depth) throw new ConfigError('startLayer', `an RBM index from 0 to ${depth - 1}`, startLayer);
  const perLayer = options.layers ?? [];
  if (!Array.isArray(perLayer) || perLayer.length > depth) throw new ConfigError('layers', `an array of at most ${depth} per-layer option objects`, perLayer);
  perLayer.forEach((entry, i) => {
    if (entry === undefined) return;
    if (entry === null || typeof entry !== 'object') throw new ConfigError(`layers[${i}]`, 'an object of per-layer options, or undefined', entry);
    rejectUnknownKeys(`layers[${i}]`, entry, [...LAYER_FIT_KEYS, ...TRAINER_KEYS]);
  });
  if (options.batchSize !== undefined) positiveInteger('batchSize', options.batchSize);
  const callbacksOf = (layer: number): TrainingCallback[] | undefined =>
    typeof options.callbacks === 'function' ? options.callbacks(layer) : options.callbacks;
  const shared: Record<string, unknown> = {};
  for (const key of [...TRAINER_KEYS, 'batchSize', 'monitorExamples', 'initVisibleBias']) {
    const value = (options as unknown as Record<string, unknown>)[key];
    if (value !== undefined) shared[key] = value;
  }
  // Samples of the propagated layers come from their own stream, apart from the trainers'.
  const propagationRng = new Rng(seed).split();
  const up = (rbm: RestrictedBoltzmannMachine, x: tf.Tensor2D): tf.Tensor2D =>
    tf.tidy(() => {
      const p = rbm.hiddenProbabilities(x);
      return propagate === 'samples' ? propagationRng.bernoulli(p) : p;
    });

  let current = tf.clone(data);
  let validation = options.validation ? tf.clone(options.validation) : null;
  const histories: TrainHistory[] = [];
  let completedLayers = startLayer;
  try {
    for (let layer = 0; layer < depth; layer++) {
      const rbm = dbn.rbms[layer] as RestrictedBoltzmannMachine;
      if (layer >= startLayer) {
        const info: DbnLayerInfo = { layer, rbm, data: current };
        await options.onLayerBegin?.(info);
        const fitOptions: FitRbmOptions = {
          ...(shared as Partial<FitRbmOptions>),
          ...(perLayer[layer] ?? {}),
          epochs: epochs[layer] as number,
          seed: seed + layer,
          ...(validation ? { validation } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        };
        const callbacks = callbacksOf(layer);
        if (callbacks) fitOptions.callbacks = callbacks;
        const { history, trainer } = await fitRbm(rbm, current, fitOptions);
        trainer.dispose();
        histories.push(history);
        await options.onLayerEnd?.({ ...info, history });
        if (history.stoppedEarly) break;
        completedLayers = layer + 1;
      }
      if (layer + 1 < depth) {
        const next = up(rbm, current);
        current.dispose();
        current = next;
        if (validation) {
          const nextValidation = up(rbm, validation);
          validation.dispose();
          validation = nextValidation;
        }
      }
    }
  } finally {
    current.dispose();
    validation?.dispose();
  }
  return { histories, completedLayers };
}
