import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  Rng,
  ShapeError,
  toRng,
  type GenerativeModel,
  type LikelihoodEstimate,
  type RngLike,
  type SampleOptions,
} from '@helmholtz/core';
import { nonNegativeInteger } from '../rbm/config.js';
import { BernoulliRBM } from '../rbm/bernoulli.js';
import { GaussianBernoulliRBM } from '../rbm/gaussian.js';
import type { RbmParams, RestrictedBoltzmannMachine } from '../rbm/rbm.js';
import { DBN_KIND, validateDbnConfig, type DbnConfig } from './config.js';
import { dbnLogLikelihoodBound, type DbnLikelihoodOptions } from './bound.js';

/** How a pass between layers turns probabilities into the next layer's state. */
export type PropagationMode = 'probabilities' | 'samples';

/** Options of {@link DBN.propagateUp}. */
export interface PropagateUpOptions {
  /** The layer to stop at, 0 (the data) to k (the top; default). */
  to?: number;
  /** `'probabilities'` (default): the mean-field up-pass; `'samples'`: a sample of q(h_j | h_{j−1}) at each layer. */
  mode?: PropagationMode;
  /** The generator of the samples (needed with `mode: 'samples'`). */
  rng?: RngLike;
}

/** Options of {@link DBN.sample}. */
export interface DbnSampleOptions extends SampleOptions {
  /** Gibbs steps in the top RBM (default 1000). */
  steps?: number;
  /**
   * Where the top RBM's chains start: `'noise'` (default) or a `[n, visible]` tensor of data,
   * whose stochastic up-pass to the top RBM's visible layer starts the chains (not changed).
   */
  start?: 'noise' | tf.Tensor2D;
  /**
   * `'mean'` (default): E[v | h1] at the bottom (probabilities, or Gaussian means), the usual
   * picture; `'sample'`: a draw from p(v | h1).
   */
  output?: 'mean' | 'sample';
}

/**
 * A deep belief network (Hinton, Osindero & Teh 2006): a stack of RBMs trained greedily, one
 * layer at a time (`fitDbn`), which defines a generative model whose top two layers form an
 * undirected RBM and whose lower layers are directed, top-down sigmoid belief nets with the
 * conditionals p(h_{i−1} | h_i) of the RBMs below:
 *   p(v, h1, ..., hk) = p(v | h1) p(h1 | h2) ··· p(h_{k−2} | h_{k−1}) p(h_{k−1}, h_k).
 * The RBMs' p(h_i | h_{i−1}) are the recognition weights: the up-pass is the approximate
 * posterior q(h | v) that training and the variational bound use.
 *
 * `params` is `{ layers: [rbm0.params, rbm1.params, ...] }` (bottom first), so checkpoints name
 * each tensor by its layer, `layers/1/weights`. With `visibleType: 'gaussian'` the bottom RBM is
 * a Gaussian-Bernoulli RBM for real-valued data.
 *
 * ```ts
 * const dbn = new DBN({ layers: [784, 500, 500, 2000], seed: 1, imageShape: [28, 28] });
 * await fitDbn(dbn, train, { epochs: 10, batchSize: 100 });
 * const samples = dbn.sample(16, { rng: 1, steps: 1000 });
 * ```
 */
export class DBN implements GenerativeModel<DbnConfig> {
  readonly kind = DBN_KIND;
  readonly config: DbnConfig;
  /** The RBMs, bottom first: `rbms[i]` joins layer i (below) and layer i + 1. */
  readonly rbms: readonly RestrictedBoltzmannMachine[];
  readonly params: { layers: RbmParams[] };

  constructor(config: DbnConfig) {
    const valid = validateDbnConfig(config);
    const seeds = new Rng(valid.seed ?? 0);
    const rbms: RestrictedBoltzmannMachine[] = [];
    try {
      for (let i = 0; i + 1 < valid.layers.length; i++) {
        const base = {
          visible: valid.layers[i] as number,
          hidden: valid.layers[i + 1] as number,
          // One seed per layer from the DBN's: layers of the same size get different weights.
          seed: seeds.nextSeed(),
          ...(valid.initialScale !== undefined ? { initialScale: valid.initialScale } : {}),
          ...(i === 0 && valid.imageShape !== undefined ? { imageShape: valid.imageShape } : {}),
        };
        if (i === 0 && valid.visibleType === 'gaussian') {
          rbms.push(
            new GaussianBernoulliRBM({
              ...base,
              ...(valid.learnVariance !== undefined ? { learnVariance: valid.learnVariance } : {}),
              ...(valid.initialStd !== undefined ? { initialStd: valid.initialStd } : {}),
            }),
          );
        } else {
          rbms.push(new BernoulliRBM(base));
        }
      }
    } catch (e) {
      for (const rbm of rbms) rbm.dispose();
      throw e;
    }
    this.config = valid;
    this.rbms = rbms;
    this.params = { layers: rbms.map((r) => r.params) };
  }

  /** Number of RBMs, k (the number of hidden layers). */
  get depth(): number {
    return this.rbms.length;
  }

  /** Number of visible units. */
  get visible(): number {
    return this.config.layers[0] as number;
  }

  /** Size of the top layer h_k, the code `encode` returns. */
  get codeSize(): number {
    return this.config.layers[this.depth] as number;
  }

  /** The top RBM, over layers k − 1 and k. */
  get top(): RestrictedBoltzmannMachine {
    return this.rbms[this.depth - 1] as RestrictedBoltzmannMachine;
  }

  /** Whether the bottom layer is binary. */
  get binaryVisible(): boolean {
    return (this.rbms[0] as RestrictedBoltzmannMachine).binaryVisible;
  }

  /**
   * The up-pass from data `x` `[n, visible]` to layer `to`: each RBM's p(h | below) applied to the
   * layer below's probabilities (or to a sample of them). Returns `[n, layers[to]]`.
   */
  propagateUp(x: tf.Tensor2D, options: PropagateUpOptions = {}): tf.Tensor2D {
    this.checkLayer(x, 0, 'propagateUp');
    const to = this.checkLayerIndex('to', options.to ?? this.depth);
    const mode = checkMode(options.mode ?? 'probabilities');
    const rng = mode === 'samples' ? toRng(options.rng) : null;
    return tf.tidy(() => {
      let h: tf.Tensor2D = x;
      for (let i = 0; i < to; i++) {
        const p = (this.rbms[i] as RestrictedBoltzmannMachine).hiddenProbabilities(h);
        h = rng ? rng.bernoulli(p) : p;
      }
      return to === 0 ? tf.clone(x) : h;
    });
  }

  /**
   * The down-pass from a state `h` of layer `from` (default the top, k) to the data: E[h_{i−1} |
   * h_i] at each layer, so the result is the deterministic top-down reconstruction.
   */
  propagateDown(h: tf.Tensor2D, from = this.depth): tf.Tensor2D {
    const start = this.checkLayerIndex('from', from);
    this.checkLayer(h, start, 'propagateDown');
    return tf.tidy(() => {
      let below: tf.Tensor2D = h;
      for (let i = start - 1; i >= 0; i--) below = (this.rbms[i] as RestrictedBoltzmannMachine).visibleMean(below);
      return start === 0 ? tf.clone(h) : below;
    });
  }

  /** p(h_k = 1 | ...) of the mean-field up-pass: the top layer's code for each example. */
  encode(x: tf.Tensor): tf.Tensor2D {
    return this.propagateUp(x as tf.Tensor2D);
  }

  /** The down-pass of top-layer codes `[n, layers[k]]` to data space (probabilities or Gaussian means). */
  decode(h: tf.Tensor): tf.Tensor2D {
    return this.propagateDown(h as tf.Tensor2D);
  }

  /** The deterministic up-down pass, decode(encode(x)): what the unrolled autoencoder computes before fine-tuning. */
  reconstruct(x: tf.Tensor): tf.Tensor2D {
    return tf.tidy(() => this.decode(this.encode(x)));
  }

  /**
   * `n` samples from the DBN as a generative model (Hinton et al. 2006): `steps` block
   * Gibbs steps in the top RBM, from noise or from the up-pass of data, then one ancestral pass
   * down through the directed layers, sampling each layer from p(h_{i−1} | h_i) and returning
   * the bottom layer's mean (default) or a sample. Returns `[n, visible]`.
   */
  sample(n: number, options: DbnSampleOptions): tf.Tensor2D {
    if (!Number.isInteger(n) || n <= 0) throw new ConfigError('n', 'a positive integer number of samples', n);
    if (options === null || typeof options !== 'object') throw new ConfigError('sample options', 'an object { rng, steps?, start?, output? }', options);
    const { steps = 1000, start = 'noise', output = 'mean' } = options;
    nonNegativeInteger('steps', steps);
    if (output !== 'sample' && output !== 'mean') throw new ConfigError('output', "'mean' or 'sample'", output);
    const rng = toRng(options.rng);
    const top = this.top;
    let chains: tf.Tensor2D;
    if (start === 'noise') {
      chains = top.noiseVisible(n, rng);
    } else if (start instanceof tf.Tensor) {
      if (start.rank !== 2 || start.shape[0] !== n || start.shape[1] !== this.visible) {
        throw new ShapeError('dbn sample start', [n, this.visible], start.shape, 'one data vector per sample');
      }
      chains = this.propagateUp(start, { to: this.depth - 1, mode: 'samples', rng });
    } else {
      throw new ConfigError('start', "'noise' or a [n, visible] tensor of data", start);
    }
    const state = top.gibbs(chains, steps, rng);
    chains.dispose();
    if (this.depth === 1) {
      tf.dispose([state.hidden, output === 'mean' ? state.visible : state.visibleMean]);
      return output === 'mean' ? state.visibleMean : state.visible;
    }
    tf.dispose([state.hidden, state.visibleMean]);
    const visibleState = state.visible;
    return tf.tidy(() => {
      let h: tf.Tensor2D = visibleState;
      for (let i = this.depth - 2; i >= 1; i--) h = (this.rbms[i] as RestrictedBoltzmannMachine).sampleVisible(h, rng);
      const bottom = this.rbms[0] as RestrictedBoltzmannMachine;
      const mean = bottom.visibleMean(h);
      const result = output === 'mean' ? mean : bottom.sampleVisibleFromMean(mean, rng);
      visibleState.dispose();
      return result;
    });
  }

  /**
   * The mean over the rows of `x` of a variational lower bound on log p(x) (Hinton et al. 2006;
   * Salakhutdinov & Murray 2008, sec. 4), or of its importance-weighted form: see
   * {@link dbnLogLikelihoodBound} for the options and what kind of number comes back.
   */
  logLikelihood(x: tf.Tensor, options: DbnLikelihoodOptions): Promise<LikelihoodEstimate> {
    return dbnLogLikelihoodBound(this, x as tf.Tensor2D, options);
  }

  dispose(): void {
    for (const rbm of this.rbms) rbm.dispose();
  }

  /** Throws a ShapeError unless `t` is `[n, layers[layer]]`. */
  checkLayer(t: tf.Tensor, layer: number, what: string): void {
    const size = this.config.layers[layer] as number;
    if (!(t instanceof tf.Tensor)) throw new ConfigError(`dbn ${what}`, `a [n, ${size}] tensor`, t);
    if (t.rank !== 2 || t.shape[1] !== size) {
      throw new ShapeError(`dbn ${what} (layer ${layer}${layer === 0 ? ', the data' : ''})`, [null, size], t.shape);
    }
  }

  private checkLayerIndex(field: string, layer: unknown): number {
    if (typeof layer !== 'number' || !Number.isInteger(layer) || layer < 0 || layer > this.depth) {
      throw new ConfigError(field, `a layer index from 0 (the data) to ${this.depth} (the top)`, layer);
    }
    return layer;
  }
}

function checkMode(mode: unknown): PropagationMode {
  if (mode !== 'probabilities' && mode !== 'samples') throw new ConfigError('mode', "'probabilities' or 'samples'", mode);
  return mode;
}
