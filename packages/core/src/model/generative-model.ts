import type * as tf from '@tensorflow/tfjs-core';
import type { JsonValue } from '../checkpoint/format.js';
import type { LikelihoodEstimate, LikelihoodProtocol } from '../likelihood/estimate.js';
import type { ParamContainer } from '../params/tree.js';
import type { RngLike } from '../random/rng.js';

/** Options every `sample` takes; a model may read more (Gibbs steps, temperature, labels). */
export interface SampleOptions {
  /** Source of every random draw: one seed or generator reproduces the samples on a backend. */
  rng: RngLike;
  [option: string]: unknown;
}

/**
 * Options every `logLikelihood` takes. The model knows its method; the caller knows the data,
 * so the data's part of the protocol comes from here and goes into the estimate unchanged.
 */
export interface LikelihoodOptions {
  /** What `x` is: dataset, split and binarization, as the estimate's protocol records them. */
  data: Pick<LikelihoodProtocol, 'dataset' | 'split' | 'binarization'>;
  /** Source of every random draw of a stochastic method (AIS, IWAE). */
  rng?: RngLike;
  [option: string]: unknown;
}

/**
 * The one contract every Helmholtz model speaks, so that the CLI, evaluation reports, the
 * browser and checkpoints treat every model alike and never special-case one.
 *
 * A model is data: its `kind`, a plain-JSON `config` from which its factory rebuilds it, a tree
 * of trainable `params`, and optionally a tree of non-trainable `state` (persistent chains,
 * batch-norm statistics, EMA copies). What it can do is told by which optional members it has;
 * use {@link modelCapabilities} rather than checking the kind.
 *
 * `Config` is not constrained to JsonValue, which a model's own config interface (without an
 * index signature) would not fit; `saveModel` checks at run time that it is plain JSON.
 */
export interface GenerativeModel<Config = JsonValue> {
  /** A stable identifier of the model family, e.g. `'bernoulli-rbm'`: the key of its factory. */
  readonly kind: string;
  /** Plain JSON, enough to rebuild the model (without its weights) through its factory. */
  readonly config: Config;
  /** The trainable parameters (a model may keep non-trainable leaves here too, e.g. batch norm). */
  readonly params: ParamContainer;
  /** Non-trainable tensors that are not parameters but must survive a save: chains, averages. */
  readonly state?: ParamContainer;
  /** Frees every tensor the model holds. */
  dispose(): void;
  /** `n` samples in the data's shape and range (`[n, ...dataShape]`), owned by the caller. */
  sample?(n: number, options: SampleOptions): tf.Tensor;
  /** A code for each example of `x` (the posterior mean for probabilistic encoders). */
  encode?(x: tf.Tensor): tf.Tensor;
  /** Data-space outputs for codes `z`, in the data's range. */
  decode?(z: tf.Tensor): tf.Tensor;
  /** `decode(encode(x))`, or the model's own one-step reconstruction (an RBM's mean-field pass). */
  reconstruct?(x: tf.Tensor): tf.Tensor;
  /** The mean log-likelihood of `x` in nats per example, with its kind and protocol. */
  logLikelihood?(x: tf.Tensor, options: LikelihoodOptions): Promise<LikelihoodEstimate>;
}

/**
 * Builds a model of one kind from its saved config (the model's variables are then loaded).
 * The config is typed `any` so that a factory can declare its model's own config type,
 * `(config: RbmConfig) => new BernoulliRBM(config)`: what arrives is JSON read from a
 * checkpoint, so the factory (the model's constructor) validates it, and `loadModel` then checks
 * that the rebuilt model's config equals the saved one.
 */
export type ModelFactory<M extends GenerativeModel<unknown> = GenerativeModel<unknown>> = (config: any) => M;

/**
 * Factories by kind. Each model package exports its own map (`energyModels`, ...); an app
 * spreads the maps it needs into one. Explicit, because registration at import time is lost
 * to tree-shaking.
 */
export type ModelFactories = Readonly<Record<string, ModelFactory>>;

/** Which optional members of {@link GenerativeModel} a model has. */
export interface ModelCapabilities {
  sample: boolean;
  encode: boolean;
  decode: boolean;
  reconstruct: boolean;
  logLikelihood: boolean;
}

/** The capabilities of a model, for UIs and reports that offer only what a model can do. */
export function modelCapabilities(model: GenerativeModel<unknown>): ModelCapabilities {
  return {
    sample: typeof model.sample === 'function',
    encode: typeof model.encode === 'function',
    decode: typeof model.decode === 'function',
    reconstruct: typeof model.reconstruct === 'function',
    logLikelihood: typeof model.logLikelihood === 'function',
  };
}

/** Whether `value` has the members every {@link GenerativeModel} must have. */
export function isGenerativeModel(value: unknown): value is GenerativeModel<unknown> {
  const m = value as Partial<GenerativeModel<unknown>> | null;
  return (
    m !== null &&
    typeof m === 'object' &&
    typeof m.kind === 'string' &&
    m.kind.length > 0 &&
    'config' in m &&
    m.params !== null &&
    typeof m.params === 'object' &&
    typeof m.dispose === 'function'
  );
}
