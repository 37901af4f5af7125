import * as tf from '@tensorflow/tfjs-core';
import {
  binaryCrossEntropyFromLogits,
  ConfigError,
  createDense,
  dense,
  disposeParams,
  gatherRows,
  Rng,
  ShapeError,
  transpose2d,
  type DenseParams,
  type GenerativeModel,
  type TrainHistory,
} from '@helmholtz/core';
import { nonNegativeInteger, rejectUnknownKeys } from '../rbm/config.js';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';
import { chunkedMean, trainByBackprop, type FineTuneOptions } from './backprop.js';
import { validateImageShape, validateLayers, validateVisibleType, type VisibleType } from './config.js';
import type { DBN } from './dbn.js';

export const DBN_AUTOENCODER_KIND = 'dbn-autoencoder';

/** The code layer's units: logistic, as in the DBN, or linear, as in Hinton & Salakhutdinov (2006). */
export type CodeActivation = 'sigmoid' | 'linear';

/** Config of a {@link DeepAutoencoder}. Plain JSON. */
export interface DeepAutoencoderConfig {
  /** Layer sizes from the data to the code, `[visible, h1, ..., code]` (at least two). */
  layers: number[];
  /** `'binary'` (default): logistic outputs and cross-entropy; `'gaussian'`: linear outputs and squared error. */
  visibleType?: VisibleType;
  /** Activation of the code layer (default `'sigmoid'`, which makes the unrolled DBN compute exactly its up-down pass). */
  codeActivation?: CodeActivation;
  /** Seed of the initial weights when the autoencoder is built from scratch (default 0). */
  seed?: number;
  /** Shape of one input as an image, for pictures only. */
  imageShape?: number[];
}

/**
 * The autoencoder's layers: `encoder[i]` maps layer i to layer i + 1; `decoder[j]` runs j-th
 * from the code down, mapping layer k − j to layer k − j − 1 (so `decoder[k − 1]` gives the data).
 */
export interface DeepAutoencoderParams {
  encoder: DenseParams[];
  decoder: DenseParams[];
}

const AE_KEYS = ['layers', 'visibleType', 'codeActivation', 'seed', 'imageShape'];

function validateAutoencoderConfig(config: DeepAutoencoderConfig): DeepAutoencoderConfig {
  const kind = DBN_AUTOENCODER_KIND;
  if (config === null || typeof config !== 'object') throw new ConfigError(kind, 'a config object { layers: [visible, h1, ..., code] }', config);
  rejectUnknownKeys(kind, config, AE_KEYS);
  const out: DeepAutoencoderConfig = { layers: validateLayers(`${kind}.layers`, config.layers, 2) };
  if (config.visibleType !== undefined) out.visibleType = validateVisibleType(`${kind}.visibleType`, config.visibleType);
  if (config.codeActivation !== undefined) {
    if (config.codeActivation !== 'sigmoid' && config.codeActivation !== 'linear') {
      throw new ConfigError(`${kind}.codeActivation`, "'sigmoid' or 'linear'", config.codeActivation);
    }
    out.codeActivation = config.codeActivation;
  }
  if (config.seed !== undefined) out.seed = nonNegativeInteger(`${kind}.seed`, config.seed);
  if (config.imageShape !== undefined) out.imageShape = validateImageShape(`${kind}.imageShape`, config.imageShape, out.layers[0] as number);
  return out;
}

/**
 * A deep autoencoder of logistic layers, the network a DBN unrolls into (Hinton & Salakhutdinov
 * 2006, fig. 1): an encoder data → h1 → ... → code and a decoder back, with separate
 * ("untied") weights, trained by backprop on the reconstruction error. Built by
 * {@link unrollToAutoencoder} from a trained DBN, or from scratch (Glorot-initialised, the
 * baseline pretraining is meant to beat).
 *
 * It speaks core's model contract (encode, decode, reconstruct), so `saveModel`/`loadModel`
 * keep it with `energyModels`.
 */
export class DeepAutoencoder implements GenerativeModel<DeepAutoencoderConfig> {
  readonly kind = DBN_AUTOENCODER_KIND;
  readonly config: DeepAutoencoderConfig;
  readonly params: DeepAutoencoderParams;

  constructor(config: DeepAutoencoderConfig) {
    const valid = validateAutoencoderConfig(config);
    const rng = new Rng(valid.seed ?? 0);
    const layers = valid.layers;
    const k = layers.length - 1;
    const encoder: DenseParams[] = [];
    const decoder: DenseParams[] = [];
    for (let i = 0; i < k; i++) {
      encoder.push(createDense({ name: `dbn-ae/encoder/${i}`, inputs: layers[i] as number, units: layers[i + 1] as number, rng }));
    }
    for (let j = 0; j < k; j++) {
      decoder.push(createDense({ name: `dbn-ae/decoder/${j}`, inputs: layers[k - j] as number, units: layers[k - j - 1] as number, rng }));
    }
    this.config = valid;
    this.params = { encoder, decoder };
  }

  /** Number of encoder (and decoder) layers. */
  get depth(): number {
    return this.params.encoder.length;
  }

  get visible(): number {
    return this.config.layers[0] as number;
  }

  get codeSize(): number {
    return this.config.layers[this.depth] as number;
  }

  get binaryVisible(): boolean {
    return (this.config.visibleType ?? 'binary') === 'binary';
  }

  /** The code of each example, `[n, code]`. */
  encode(x: tf.Tensor): tf.Tensor2D {
    checkRows(x, this.visible, 'dbn-autoencoder encode input');
    return tf.tidy(() => {
      let h = x as tf.Tensor2D;
      this.params.encoder.forEach((layer, i) => {
        const last = i === this.depth - 1;
        h = dense(h, layer, last ? (this.config.codeActivation ?? 'sigmoid') : 'sigmoid');
      });
      return h;
    });
  }

  /** The output layer's total input for codes `z`: logits (binary) or the reconstruction itself (Gaussian). */
  decodeLogits(z: tf.Tensor): tf.Tensor2D {
    checkRows(z, this.codeSize, 'dbn-autoencoder decode input');
    return tf.tidy(() => {
      let h = z as tf.Tensor2D;
      this.params.decoder.forEach((layer, j) => {
        h = dense(h, layer, j === this.depth - 1 ? 'linear' : 'sigmoid');
      });
      return h;
    });
  }

  /** Data-space outputs for codes `z`: probabilities (binary) or means (Gaussian). */
  decode(z: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => {
      const out = this.decodeLogits(z);
      return this.binaryVisible ? tf.sigmoid(out) : out;
    });
  }

  reconstruct(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.decode(this.encode(x)));
  }

  /**
   * The reconstruction loss of each row, `[n]`: the cross-entropy Σ_i −x_i log x̂_i − (1 − x_i)
   * log(1 − x̂_i) in nats (binary), or the squared error Σ_i (x_i − x̂_i)² (Gaussian).
   */
  reconstructionLoss(x: tf.Tensor): tf.Tensor1D {
    return tf.tidy(() => {
      const out = this.decodeLogits(this.encode(x));
      const elements = this.binaryVisible ? binaryCrossEntropyFromLogits(out, x, 'none') : tf.square(tf.sub(out, x));
      return tf.sum(elements, 1) as tf.Tensor1D;
    });
  }

  dispose(): void {
    disposeParams(this.params);
  }
}

function checkRows(t: tf.Tensor, size: number, what: string): void {
  if (!(t instanceof tf.Tensor)) throw new ConfigError(what, `a [n, ${size}] tensor`, t);
  if (t.rank !== 2 || t.shape[1] !== size) throw new ShapeError(what, [null, size], t.shape);
}

/**
 * The weights through which each RBM's visible units drive its hidden ones: W itself, or, for
 * Gaussian units, diag(1/σ²) W, since p(h | v) = σ(c + (v/σ²)ᵀW).
 */
export function recognitionWeights(rbm: RestrictedBoltzmannMachine): tf.Tensor2D {
  return tf.tidy(() => {
    const w = rbm.params.weights;
    if (rbm.binaryVisible || rbm.params.logVariance === undefined) return tf.clone(w);
    return tf.mul(w, tf.expandDims(tf.exp(tf.neg(rbm.params.logVariance)), 1)) as tf.Tensor2D;
  });
}

/** Options of {@link unrollToAutoencoder}. */
export interface UnrollAutoencoderOptions {
  /** The code layer's activation (default `'sigmoid'`). */
  codeActivation?: CodeActivation;
}

/**
 * Unrolls a DBN into a deep autoencoder (Hinton & Salakhutdinov 2006): encoder layer i gets RBM
 * i's weights and hidden biases, decoder layers get the transposed weights and visible biases in
 * reverse order, as separate variables that fine-tuning then moves apart. With a logistic code
 * layer (the default), the autoencoder's reconstruction before fine-tuning is exactly the DBN's
 * deterministic up-down pass, `dbn.reconstruct(x)`. A linear code layer feeds the code layer's
 * total input to the decoder instead, as H&S's 30-unit linear code does; it equals the DBN only
 * after fine-tuning has adapted to it (their top RBM had linear hidden units, which this
 * package's RBMs do not).
 *
 * The DBN is left as it is; the autoencoder owns new variables.
 */
export function unrollToAutoencoder(dbn: DBN, options: UnrollAutoencoderOptions = {}): DeepAutoencoder {
  if (options === null || typeof options !== 'object') throw new ConfigError('unrollToAutoencoder options', 'an object { codeActivation? }', options);
  rejectUnknownKeys('unrollToAutoencoder options', options, ['codeActivation']);
  const config: DeepAutoencoderConfig = { layers: [...dbn.config.layers] };
  if (dbn.config.visibleType !== undefined) config.visibleType = dbn.config.visibleType;
  if (options.codeActivation !== undefined) config.codeActivation = options.codeActivation;
  if (dbn.config.seed !== undefined) config.seed = dbn.config.seed;
  if (dbn.config.imageShape !== undefined) config.imageShape = dbn.config.imageShape;
  const ae = new DeepAutoencoder(config);
  const k = dbn.depth;
  tf.tidy(() => {
    dbn.rbms.forEach((rbm, i) => {
      const encoder = ae.params.encoder[i] as DenseParams;
      const decoder = ae.params.decoder[k - 1 - i] as DenseParams;
      encoder.kernel.assign(recognitionWeights(rbm));
      encoder.bias?.assign(rbm.params.hiddenBias);
      decoder.kernel.assign(transpose2d(rbm.params.weights));
      decoder.bias?.assign(rbm.params.visibleBias);
    });
  });
  return ae;
}

/** Options of {@link fineTuneAutoencoder}. */
export interface FineTuneAutoencoderOptions extends FineTuneOptions {
  /** Held-out data: each epoch logs its mean reconstruction loss as `validationLoss`. */
  validation?: tf.Tensor2D;
}

/** The mean over the rows of `x` of {@link DeepAutoencoder.reconstructionLoss}. */
export function meanReconstructionLoss(ae: DeepAutoencoder, x: tf.Tensor2D): Promise<number> {
  checkRows(x, ae.visible, 'meanReconstructionLoss x');
  return chunkedMean(x, (rows) => ae.reconstructionLoss(rows));
}

/**
 * Fine-tunes an unrolled autoencoder by backprop through all its layers (Hinton & Salakhutdinov
 * 2006, who used conjugate gradients; here any core optimizer, Adam by default) on the mean
 * per-example reconstruction loss: cross-entropy for binary data, squared error for Gaussian.
 * The epoch logs hold `loss` (the mean over the epoch's batches) and, with `validation`,
 * `validationLoss`.
 */
export async function fineTuneAutoencoder(ae: DeepAutoencoder, data: tf.Tensor2D, options: FineTuneAutoencoderOptions): Promise<{ history: TrainHistory }> {
  checkRows(data, ae.visible, 'fineTuneAutoencoder data');
  if (data.shape[0] === 0) throw new ConfigError('fineTuneAutoencoder data', 'at least one example', data.shape);
  const validation = options?.validation;
  if (validation !== undefined) checkRows(validation, ae.visible, 'fineTuneAutoencoder validation');
  const history = await trainByBackprop({
    params: ae.params,
    examples: data.shape[0],
    options,
    extraKeys: ['validation'],
    loss: (ids) => tf.tidy(() => tf.mean(ae.reconstructionLoss(gatherRows(data, ids))) as tf.Scalar),
    ...(validation ? { validation: async () => ({ validationLoss: await meanReconstructionLoss(ae, validation) }) } : {}),
  });
  return { history };
}
