import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  createDense,
  DataError,
  dense,
  disposeParams,
  gatherRows,
  Rng,
  ShapeError,
  sparseCategoricalCrossEntropyFromLogits,
  type DenseParams,
  type GenerativeModel,
  type TrainHistory,
} from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger, rejectUnknownKeys } from '../rbm/config.js';
import { recognitionWeights } from './autoencoder.js';
import { trainByBackprop, type FineTuneOptions } from './backprop.js';
import { validateImageShape, validateLayers, validateVisibleType, type VisibleType } from './config.js';
import type { DBN } from './dbn.js';

export const DBN_CLASSIFIER_KIND = 'dbn-classifier';

/** Config of a {@link DbnClassifier}. Plain JSON. */
export interface DbnClassifierConfig {
  /** Sizes of the input and the hidden layers, `[visible, h1, ..., hk]` (at least two). */
  layers: number[];
  /** Number of classes of the softmax output. */
  classes: number;
  /** The input's kind, kept from the DBN (default `'binary'`); the network computes the same either way. */
  visibleType?: VisibleType;
  /** Seed of the initial weights (default 0). */
  seed?: number;
  imageShape?: number[];
}

/** The hidden layers, bottom first, and the softmax layer on top. */
export interface DbnClassifierParams {
  hidden: DenseParams[];
  output: DenseParams;
}

const CLASSIFIER_KEYS = ['layers', 'classes', 'visibleType', 'seed', 'imageShape'];

function validateClassifierConfig(config: DbnClassifierConfig): DbnClassifierConfig {
  const kind = DBN_CLASSIFIER_KIND;
  if (config === null || typeof config !== 'object') throw new ConfigError(kind, 'a config object { layers: [visible, h1, ...], classes }', config);
  rejectUnknownKeys(kind, config, CLASSIFIER_KEYS);
  const out: DbnClassifierConfig = { layers: validateLayers(`${kind}.layers`, config.layers, 2), classes: positiveInteger(`${kind}.classes`, config.classes) };
  if (out.classes < 2) throw new ConfigError(`${kind}.classes`, 'at least 2 classes', config.classes);
  if (config.visibleType !== undefined) out.visibleType = validateVisibleType(`${kind}.visibleType`, config.visibleType);
  if (config.seed !== undefined) out.seed = nonNegativeInteger(`${kind}.seed`, config.seed);
  if (config.imageShape !== undefined) out.imageShape = validateImageShape(`${kind}.imageShape`, config.imageShape, out.layers[0] as number);
  return out;
}

/**
 * A multilayer perceptron of logistic hidden layers with a softmax output: the network a DBN
 * becomes for discriminative fine-tuning (Hinton et al. 2006; Hinton & Salakhutdinov 2006):
 * the RBMs' recognition weights and hidden biases initialise the hidden layers, a new softmax
 * layer is added on top, and backprop trains them all on the labels. Built by
 * {@link unrollToClassifier}, or from scratch (Glorot-initialised) as the baseline.
 *
 * It speaks core's model contract (kind, config, params), so `saveModel`/`loadModel` keep it
 * with `energyModels`; it is not generative and has none of the optional members.
 */
export class DbnClassifier implements GenerativeModel<DbnClassifierConfig> {
  readonly kind = DBN_CLASSIFIER_KIND;
  readonly config: DbnClassifierConfig;
  readonly params: DbnClassifierParams;

  constructor(config: DbnClassifierConfig) {
    const valid = validateClassifierConfig(config);
    const rng = new Rng(valid.seed ?? 0);
    const layers = valid.layers;
    const hidden: DenseParams[] = [];
    for (let i = 0; i + 1 < layers.length; i++) {
      hidden.push(createDense({ name: `dbn-classifier/hidden/${i}`, inputs: layers[i] as number, units: layers[i + 1] as number, rng }));
    }
    const output = createDense({ name: 'dbn-classifier/output', inputs: layers[layers.length - 1] as number, units: valid.classes, rng });
    this.config = valid;
    this.params = { hidden, output };
  }

  get visible(): number {
    return this.config.layers[0] as number;
  }

  get classes(): number {
    return this.config.classes;
  }

  /** The top hidden layer's activations, `[n, hk]`: the features the softmax sees. */
  features(x: tf.Tensor2D): tf.Tensor2D {
    checkRows(x, this.visible, 'dbn-classifier input');
    return tf.tidy(() => {
      let h = x;
      for (const layer of this.params.hidden) h = dense(h, layer, 'sigmoid');
      return h;
    });
  }

  /** The softmax's inputs, `[n, classes]`. */
  logits(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => dense(this.features(x), this.params.output));
  }

  /** p(class | x), `[n, classes]`. */
  classProbabilities(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.softmax(this.logits(x)));
  }

  /** The most probable class of each row, int32 `[n]`. */
  predict(x: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => tf.argMax(this.logits(x), 1) as tf.Tensor1D);
  }

  /** The fraction of rows whose predicted class is the label. */
  async accuracy(x: tf.Tensor2D, labels: tf.Tensor1D | ArrayLike<number>): Promise<number> {
    // Checked before the labels' tensor exists, so a wrong x leaves nothing behind.
    checkRows(x, this.visible, 'dbn-classifier accuracy x');
    const y = labelTensor(labels, x.shape[0], this.classes, 'accuracy labels');
    let correct: tf.Scalar;
    try {
      correct = tf.tidy(() => tf.sum(tf.cast(tf.equal(this.predict(x), y), 'float32')));
    } finally {
      y.dispose();
    }
    const value = (await correct.data())[0] as number;
    correct.dispose();
    return value / x.shape[0];
  }

  dispose(): void {
    disposeParams(this.params);
  }
}

function checkRows(t: tf.Tensor, size: number, what: string): void {
  if (!(t instanceof tf.Tensor)) throw new ConfigError(what, `a [n, ${size}] tensor`, t);
  if (t.rank !== 2 || t.shape[1] !== size) throw new ShapeError(what, [null, size], t.shape);
}

/** Labels as a fresh int32 `[n]` tensor, each checked to be an integer class in [0, classes). */
function labelTensor(labels: tf.Tensor1D | ArrayLike<number>, n: number, classes: number, what: string): tf.Tensor1D {
  const values = labels instanceof tf.Tensor ? labels.dataSync() : labels;
  if (labels instanceof tf.Tensor && labels.rank !== 1) throw new ShapeError(what, [n], labels.shape);
  if (values.length !== n) throw new ShapeError(what, [n], [values.length], 'one label per example');
  const ints = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    const v = values[i] as number;
    if (!Number.isInteger(v) || v < 0 || v >= classes) throw new DataError(what, `expected integer classes in [0, ${classes}), got ${v} at row ${i}`);
    ints[i] = v;
  }
  return tf.tensor1d(ints, 'int32');
}

/** Options of {@link unrollToClassifier}. */
export interface UnrollClassifierOptions {
  /** Number of classes of the softmax layer added on top. */
  classes: number;
  /** Seed of the softmax layer's initial weights (default: the DBN's seed). */
  seed?: number;
}

/**
 * Unrolls a DBN into a classifier: hidden layer i gets RBM i's recognition weights (W, or
 * diag(1/σ²) W over Gaussian units) and hidden biases, exactly, so before fine-tuning its
 * features are the DBN's up-pass probabilities; a softmax layer (Glorot-initialised) is added
 * on top. The DBN is left as it is.
 */
export function unrollToClassifier(dbn: DBN, options: UnrollClassifierOptions): DbnClassifier {
  if (options === null || typeof options !== 'object') throw new ConfigError('unrollToClassifier options', 'an object { classes }', options);
  rejectUnknownKeys('unrollToClassifier options', options, ['classes', 'seed']);
  const config: DbnClassifierConfig = { layers: [...dbn.config.layers], classes: options.classes };
  if (dbn.config.visibleType !== undefined) config.visibleType = dbn.config.visibleType;
  const seed = options.seed ?? dbn.config.seed;
  if (seed !== undefined) config.seed = seed;
  if (dbn.config.imageShape !== undefined) config.imageShape = dbn.config.imageShape;
  const classifier = new DbnClassifier(config);
  tf.tidy(() => {
    dbn.rbms.forEach((rbm, i) => {
      const layer = classifier.params.hidden[i] as DenseParams;
      layer.kernel.assign(recognitionWeights(rbm));
      layer.bias?.assign(rbm.params.hiddenBias);
    });
  });
  return classifier;
}

/** Options of {@link fineTuneClassifier}. */
export interface FineTuneClassifierOptions extends FineTuneOptions {
  /** Held-out examples and labels: each epoch logs `validationLoss` and `validationAccuracy`. */
  validation?: { x: tf.Tensor2D; labels: tf.Tensor1D | ArrayLike<number> };
}

/**
 * Discriminative fine-tuning: backprop through every layer on the mean sparse categorical
 * cross-entropy of the labels (integers in [0, classes), checked). Epoch logs hold `loss` and,
 * with `validation`, `validationLoss` and `validationAccuracy`.
 */
export async function fineTuneClassifier(
  classifier: DbnClassifier,
  x: tf.Tensor2D,
  labels: tf.Tensor1D | ArrayLike<number>,
  options: FineTuneClassifierOptions,
): Promise<{ history: TrainHistory }> {
  checkRows(x, classifier.visible, 'fineTuneClassifier x');
  if (x.shape[0] === 0) throw new ConfigError('fineTuneClassifier x', 'at least one example', x.shape);
  const y = labelTensor(labels, x.shape[0], classifier.classes, 'fineTuneClassifier labels');
  let validation: { x: tf.Tensor2D; y: tf.Tensor1D } | null = null;
  try {
    const v = options?.validation;
    if (v !== undefined) {
      if (v === null || typeof v !== 'object') throw new ConfigError('validation', 'an object { x, labels }', v);
      checkRows(v.x, classifier.visible, 'fineTuneClassifier validation.x');
      validation = { x: v.x, y: labelTensor(v.labels, v.x.shape[0], classifier.classes, 'fineTuneClassifier validation.labels') };
    }
    const held = validation;
    const history = await trainByBackprop({
      params: classifier.params,
      examples: x.shape[0],
      options,
      extraKeys: ['validation'],
      loss: (ids) => tf.tidy(() => sparseCategoricalCrossEntropyFromLogits(classifier.logits(gatherRows(x, ids)), tf.gather(y, ids))),
      ...(held
        ? {
            validation: async () => {
              const loss = tf.tidy(() => sparseCategoricalCrossEntropyFromLogits(classifier.logits(held.x), held.y));
              const validationLoss = (await loss.data())[0] as number;
              loss.dispose();
              return { validationLoss, validationAccuracy: await classifier.accuracy(held.x, held.y) };
            },
          }
        : {}),
    });
    return { history };
  } finally {
    y.dispose();
    validation?.y.dispose();
  }
}
