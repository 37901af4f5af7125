import * as tf from '@tensorflow/tfjs-core';
import {
  binaryCrossEntropyFromLogits,
  ConfigError,
  createDense,
  createOptimizer,
  dense,
  disposeParams,
  dropout,
  flattenParams,
  lossAndGradientsOf,
  Rng,
  type DenseParams,
  type GenerativeModel,
  type ModelFactories,
  type OptimizerConfig,
  type ParameterGroupOptimizer,
  type StepLosses,
} from '../../src/index.js';

/**
 * A tiny denoising autoencoder for resume tests: its training step draws dropout masks from a
 * core Rng, so a resumed run matches only if the generator's position was saved and restored,
 * and its two layers are trained by two optimizers of different kinds (Adam for the encoder,
 * SGD with momentum for the decoder), so both kinds of slot and step counter must come back.
 */
export interface DenoiserConfig {
  features: number;
  hidden: number;
  /** Dropout rate on the input and on the code, in [0, 1). */
  rate: number;
  /** Seed of the initial weights. */
  seed: number;
}

export class DropoutDenoiser implements GenerativeModel<DenoiserConfig> {
  readonly kind = 'resume-dropout-denoiser';
  readonly params: { encoder: DenseParams; decoder: DenseParams };

  constructor(readonly config: DenoiserConfig) {
    for (const field of ['features', 'hidden'] as const) {
      if (!Number.isInteger(config[field]) || config[field] <= 0) throw new ConfigError(field, 'a positive integer', config[field]);
    }
    if (!(config.rate >= 0 && config.rate < 1)) throw new ConfigError('rate', 'a number in [0, 1)', config.rate);
    const init = new Rng(config.seed);
    this.params = {
      encoder: createDense({ name: 'resumeDenoiser/encoder', inputs: config.features, units: config.hidden, rng: init }),
      decoder: createDense({ name: 'resumeDenoiser/decoder', inputs: config.hidden, units: config.features, rng: init }),
    };
  }

  /** Decoder logits for (possibly corrupted) inputs: dropout only when `rng` is given. */
  logits(x: tf.Tensor2D, rng?: Rng): tf.Tensor2D {
    return tf.tidy(() => {
      const input = rng ? dropout(x, this.config.rate, rng, true) : x;
      const h = dense(input, this.params.encoder, 'sigmoid');
      const code = rng ? dropout(h, this.config.rate, rng, true) : h;
      return dense(code, this.params.decoder);
    });
  }

  reconstruct(x: tf.Tensor): tf.Tensor {
    return tf.tidy(() => tf.sigmoid(this.logits(x as tf.Tensor2D)));
  }

  dispose(): void {
    disposeParams(this.params);
  }
}

export const resumeModels: ModelFactories = {
  'resume-dropout-denoiser': (config: DenoiserConfig) => new DropoutDenoiser(config),
};

export const MODEL_CONFIG: DenoiserConfig = { features: 6, hidden: 4, rate: 0.25, seed: 11 };
export const ENCODER_OPTIMIZER: OptimizerConfig = { kind: 'adam', learningRate: 0.05 };
export const DECODER_OPTIMIZER: OptimizerConfig = { kind: 'momentum', learningRate: 0.1, momentum: 0.9 };
/** Examples and batch size: 5 batches an epoch. */
export const EXAMPLES = 20;
export const BATCH_SIZE = 4;

/**
 * The optimizers as a restarted process builds them: from their configs, over the model's
 * groups. Each group keeps the model's paths (`encoder/kernel`), so the slots are saved as
 * `optimizers/encoder/encoder/kernel/m`, matched by name on load.
 */
export function buildOptimizers(model: DropoutDenoiser): { encoder: ParameterGroupOptimizer; decoder: ParameterGroupOptimizer } {
  return {
    encoder: createOptimizer(ENCODER_OPTIMIZER, { encoder: model.params.encoder }),
    decoder: createOptimizer(DECODER_OPTIMIZER, { decoder: model.params.decoder }),
  };
}

/** Fixed binary training data, the same in every run. */
export function makeData(): tf.Tensor2D {
  const rng = new Rng(99);
  return tf.tidy(() => tf.cast(tf.greater(rng.uniform([EXAMPLES, MODEL_CONFIG.features]), 0.5), 'float32')) as tf.Tensor2D;
}

/**
 * Seed of the order of one epoch, a pure function of (seed, epoch) as in @helmholtz/datasets'
 * `batches({ shuffle, epoch })`: a resumed run gets the order of its epoch without replaying
 * the earlier ones, so the order needs no state in the checkpoint.
 */
export function epochOrderSeed(seed: number, epoch: number): number {
  return new Rng(new Rng(seed).nextSeed() ^ new Rng(epoch).nextSeed()).nextSeed();
}

/** The shuffled batches of one epoch (the loop disposes each after its step). */
export function* epochBatches(x: tf.Tensor2D, seed: number, epoch: number): Generator<tf.Tensor2D> {
  const order = new Rng(epochOrderSeed(seed, epoch)).permutation(EXAMPLES);
  for (let i = 0; i < EXAMPLES; i += BATCH_SIZE) {
    yield tf.tidy(() => tf.gather(x, tf.tensor1d(Array.from(order.subarray(i, i + BATCH_SIZE)), 'int32'))) as tf.Tensor2D;
  }
}

/**
 * One step: the denoising loss under fresh dropout masks from `rng`, its gradients for the
 * whole model in one pass, each group updated by its own optimizer.
 */
export function denoiserStep(
  model: DropoutDenoiser,
  optimizers: { encoder: ParameterGroupOptimizer; decoder: ParameterGroupOptimizer },
  rng: Rng,
): (batch: tf.Tensor2D) => StepLosses {
  return (batch) => {
    const { loss, grads } = lossAndGradientsOf(() => binaryCrossEntropyFromLogits(model.logits(batch, rng), batch), model.params);
    try {
      const group = (prefix: string) => new Map([...grads].filter(([path]) => path.startsWith(prefix)));
      optimizers.encoder.applyGradients(group('encoder/'));
      optimizers.decoder.applyGradients(group('decoder/'));
    } catch (error) {
      loss.dispose();
      throw error;
    } finally {
      tf.dispose([...grads.values()]);
    }
    return { loss };
  };
}

/** A float32 tensor's exact bit patterns, so -0, NaN payloads and last-bit differences all count. */
export async function bitsOf(t: tf.Tensor): Promise<number[]> {
  const values = await t.data();
  if (t.dtype !== 'float32') return Array.from(values as ArrayLike<number>);
  return Array.from(new Uint32Array(Float32Array.from(values as Float32Array).buffer));
}

/** Every parameter's bits, by path. */
export async function paramBits(model: DropoutDenoiser): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [path, v] of flattenParams(model.params)) out[path] = await bitsOf(v);
  return out;
}

/** An optimizer's whole state (step counter and slots), by name, as bits; leaves no tensors. */
export async function optimizerBits(optimizer: ParameterGroupOptimizer): Promise<Record<string, number[]>> {
  const weights = await optimizer.getWeights();
  try {
    const out: Record<string, number[]> = {};
    for (const w of weights) out[w.name] = await bitsOf(w.tensor);
    return out;
  } finally {
    tf.dispose(weights.map((w) => w.tensor));
  }
}
