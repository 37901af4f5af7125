import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  createVariable,
  disposeParams,
  matMul,
  Rng,
  ShapeError,
  toRng,
  type GenerativeModel,
  type LikelihoodEstimate,
  type SampleOptions,
} from '@helmholtz/core';
import { nonNegativeInteger, positiveInteger } from '../rbm/config.js';
import { DBM_KIND, validateDbmConfig, type DbmConfig } from './config.js';
import { bottomUpPass, dataInput, gibbsSweep, jointEnergy, layerInput, meanFieldSweep, type DbmTerms } from './inference.js';
import { dbmLogLikelihoodBound, type DbmLikelihoodOptions } from './bound.js';

/** A DBM's trainable tensors, bottom first: `weights[l]` joins layer l and l + 1, `[n_l, n_{l+1}]`. */
export interface DbmParams {
  weights: tf.Variable<tf.Rank.R2>[];
  /** One bias vector per layer, the visible layer's first. */
  biases: tf.Variable<tf.Rank.R1>[];
}

/** A DBM's non-trainable state, saved with it. */
export interface DbmState {
  /** The persistent fantasy particles of every layer, `[chains, n_l]` binary, the visible layer's first. */
  chains: tf.Variable<tf.Rank.R2>[];
  /** The centring offsets o_l of every layer (with `centering: true` only). */
  offsets?: tf.Variable<tf.Rank.R1>[];
}

/** Options of {@link DBM.meanField}. */
export interface MeanFieldOptions {
  /** The most sweeps to run (default 100). */
  iterations?: number;
  /** Stop once a sweep changes no mean by more than this (default 1e-5); 0 runs every sweep. */
  tolerance?: number;
  /**
   * Sweeps between reads of the residual (default 5). Each read waits for the device, so the
   * residual is read only every `checkEvery` sweeps and after the last one; the run may
   * therefore do up to `checkEvery − 1` sweeps more than needed.
   */
  checkEvery?: number;
}

/** What {@link DBM.meanField} returns. The caller owns the tensors. */
export interface MeanFieldResult {
  /** μ_1, ..., μ_L, the mean-field means of each hidden layer, `[n, n_l]` (index 0 is h1, not the data). */
  layers: tf.Tensor2D[];
  /** The largest absolute change of any mean in the last sweep, read at the end. */
  residual: number;
  /** Sweeps run. */
  iterations: number;
  /** Whether the residual fell below the tolerance. */
  converged: boolean;
}

/** Options of {@link DBM.sample}. */
export interface DbmSampleOptions extends SampleOptions {
  /** Block Gibbs sweeps (odd layers, then even ones), default 1000. */
  steps?: number;
  /**
   * Where the chains start: `'noise'` (default; uniform bits in every layer), `'chains'` (the
   * first n persistent fantasy particles, not changed), or a `[n, visible]` tensor of data,
   * whose hidden layers are started by a sampled bottom-up pass.
   */
  start?: 'noise' | 'chains' | tf.Tensor2D;
  /** `'mean'` (default): p(v = 1 | h1) of the last state, smoother to look at; `'sample'`: the last binary v. */
  output?: 'mean' | 'sample';
}

/**
 * A deep Boltzmann machine (Salakhutdinov & Hinton 2009; Goodfellow et al. 2016, sec. 20.4):
 * an undirected model of binary layers v = x_0, h1 = x_1, ..., hL = x_L (L ≥ 2) with energy
 *   E(x) = −Σ_l b_lᵀ x_l − Σ_l x_lᵀ W_l x_{l+1},
 * connections only between adjacent layers. Given its two neighbours a layer's units are
 * independent, so the odd layers are independent given the even ones and the other way round:
 * block Gibbs sampling alternates the two halves, and mean-field inference of q(h | v) runs by
 * fixed-point updates that use both neighbours of every hidden layer.
 *
 * With `centering: true` (Montavon & Müller 2012) the energy is
 *   E(x) = −Σ_l b_lᵀ (x_l − o_l) − Σ_l (x_l − o_l)ᵀ W_l (x_{l+1} − o_{l+1}),
 * which is the plain form with biases b̃_l = b_l − W_{l−1}ᵀ o_{l−1} − W_l o_{l+1} plus a
 * constant: inference, sampling and likelihoods use those {@link effectiveBiases}, and training
 * follows the centred gradient (see `createDbmTrainer`).
 *
 * `params` is `{ weights: [W_0, ...], biases: [b_0, ...] }` (checkpoint paths `weights/0`,
 * `biases/2`); `state` holds the persistent chains of every layer (`chains/0` is the visible
 * layer) and, when centred, the offsets. No method changes a variable but the ones named for it
 * (`setEffectiveBiases`, `setOffsets`); training does the rest.
 *
 * ```ts
 * const dbm = new DBM({ layers: [784, 500, 1000], seed: 1, imageShape: [28, 28] });
 * await pretrainDbm(dbm, train, { epochs: 10 });
 * await fitDbm(dbm, train, { epochs: 20 });
 * const features = dbm.features(test); // [n, 1500] for a classifier
 * ```
 */
export class DBM implements GenerativeModel<DbmConfig> {
  readonly kind = DBM_KIND;
  readonly config: DbmConfig;
  readonly params: DbmParams;
  readonly state: DbmState;

  constructor(config: DbmConfig) {
    const valid = validateDbmConfig(config);
    const sizes = valid.layers;
    const rng = new Rng(valid.seed ?? 0);
    const scale = valid.initialScale ?? 0.01;
    const chains = valid.chains ?? 100;
    const made: tf.Variable[] = [];
    const make = <T extends tf.Variable>(initial: tf.Tensor, name: string, trainable = true): T => {
      const v = createVariable(initial, name, trainable) as T;
      made.push(v);
      return v;
    };
    try {
      const weights = sizes.slice(1).map((size, l) => make<tf.Variable<tf.Rank.R2>>(rng.normalTensor([sizes[l] as number, size], 0, scale), `dbm/weights/${l}`));
      const biases = sizes.map((size, l) => make<tf.Variable<tf.Rank.R1>>(tf.zeros([size]), `dbm/biases/${l}`));
      // The fantasy particles start as uniform bits; Tieleman (2008) found the start matters little.
      const chainStates = sizes.map((size, l) =>
        make<tf.Variable<tf.Rank.R2>>(tf.tidy(() => rng.bernoulli(tf.fill([chains, size], 0.5))), `dbm/chains/${l}`, false),
      );
      this.params = { weights, biases };
      this.state = { chains: chainStates };
      if (valid.centering) {
        // σ(0): the mean of a unit with no input; fitDbm sets the visible offsets to the data's mean.
        this.state.offsets = sizes.map((size, l) => make<tf.Variable<tf.Rank.R1>>(tf.fill([size], 0.5), `dbm/offsets/${l}`, false));
      }
    } catch (e) {
      tf.dispose(made);
      throw e;
    }
    this.config = valid;
  }

  /** Layer sizes `[visible, h1, ..., hL]`. */
  get layers(): readonly number[] {
    return this.config.layers;
  }

  /** Number of hidden layers, L. */
  get depth(): number {
    return this.config.layers.length - 1;
  }

  get visible(): number {
    return this.config.layers[0] as number;
  }

  /** Number of persistent fantasy particles. */
  get chainCount(): number {
    return this.config.chains ?? 100;
  }

  /** Whether the energy is centred (Montavon & Müller 2012). */
  get centered(): boolean {
    return this.state.offsets !== undefined;
  }

  /**
   * The biases of the equivalent uncentred energy, b̃_l = b_l − W_{l−1}ᵀ o_{l−1} − W_l o_{l+1}
   * (copies of `params.biases` when the DBM is not centred). The caller owns them.
   */
  effectiveBiases(): tf.Tensor1D[] {
    const { weights, biases } = this.params;
    const offsets = this.state.offsets;
    return tf.tidy(() =>
      biases.map((b, l) => {
        if (offsets === undefined) return tf.clone(b);
        let shift: tf.Tensor2D = tf.zeros([1, b.shape[0]]);
        if (l > 0) shift = tf.add(shift, matMul(tf.reshape(offsets[l - 1] as tf.Tensor1D, [1, -1]), weights[l - 1] as tf.Tensor2D)) as tf.Tensor2D;
        if (l < this.depth) {
          shift = tf.add(shift, matMul(tf.reshape(offsets[l + 1] as tf.Tensor1D, [1, -1]), weights[l] as tf.Tensor2D, false, true)) as tf.Tensor2D;
        }
        return tf.sub(b, tf.reshape(shift, [-1])) as tf.Tensor1D;
      }),
    );
  }

  /**
   * The weights and effective biases as plain-energy terms, for the inference functions. The
   * weights are the variables themselves: use inside `tf.tidy` and do not dispose them.
   */
  terms(): DbmTerms {
    return { weights: this.params.weights, biases: this.effectiveBiases() };
  }

  /**
   * Sets the biases so that the effective biases become `values` (one `[n_l]` tensor per layer,
   * `null` to keep a layer's): for an uncentred DBM, the biases themselves. Used when composing
   * pre-trained RBMs and when starting the visible biases from the data. Not kept: the caller
   * still owns `values`.
   */
  setEffectiveBiases(values: readonly (tf.Tensor1D | null)[]): void {
    if (!Array.isArray(values) || values.length !== this.layers.length) {
      throw new ConfigError('setEffectiveBiases values', `one bias vector (or null) per layer, ${this.layers.length} in all`, values);
    }
    values.forEach((v, l) => {
      if (v !== null && (!(v instanceof tf.Tensor) || v.rank !== 1 || v.shape[0] !== this.layers[l])) {
        throw new ShapeError(`setEffectiveBiases layer ${l}`, [this.layers[l] as number], v instanceof tf.Tensor ? v.shape : [], 'a bias vector of the layer size');
      }
    });
    tf.tidy(() => {
      const current = this.effectiveBiases();
      values.forEach((v, l) => {
        if (v === null) return;
        const b = this.params.biases[l] as tf.Variable<tf.Rank.R1>;
        b.assign(tf.add(b, tf.sub(v, current[l] as tf.Tensor1D)) as tf.Tensor1D);
      });
    });
  }

  /**
   * Moves the centring offsets to `values` (one `[n_l]` tensor per layer, `null` to keep one)
   * and changes the biases so that the distribution stays the same:
   *   b_l ← b_l + W_{l−1}ᵀ (o'_{l−1} − o_{l−1}) + W_l (o'_{l+1} − o_{l+1}).
   * Centred DBMs only. The caller keeps `values`.
   */
  setOffsets(values: readonly (tf.Tensor1D | null)[]): void {
    const offsets = this.state.offsets;
    if (offsets === undefined) throw new ConfigError('setOffsets', 'a DBM built with centering: true', this.config);
    if (!Array.isArray(values) || values.length !== this.layers.length) {
      throw new ConfigError('setOffsets values', `one offset vector (or null) per layer, ${this.layers.length} in all`, values);
    }
    values.forEach((v, l) => {
      if (v !== null && (!(v instanceof tf.Tensor) || v.rank !== 1 || v.shape[0] !== this.layers[l])) {
        throw new ShapeError(`setOffsets layer ${l}`, [this.layers[l] as number], v instanceof tf.Tensor ? v.shape : [], 'an offset vector of the layer size');
      }
    });
    tf.tidy(() => {
      const before = this.effectiveBiases();
      values.forEach((v, l) => {
        if (v !== null) (offsets[l] as tf.Variable<tf.Rank.R1>).assign(v);
      });
      this.setEffectiveBiases(before);
    });
  }

  /**
   * Mean-field inference of q(h | v) = Π_l Π_j q(h_lj), the approximate posterior of
   * Salakhutdinov & Hinton (2009): starting from a bottom-up pass (weights doubled below the
   * top), it repeats sweeps of the fixed-point updates μ_l ← σ(b_l + μ_{l−1} W_{l−1} + μ_{l+1} W_lᵀ),
   * odd layers then even ones, each a coordinate ascent step on the variational bound, until no
   * mean moves by more than `tolerance` in a sweep or `iterations` sweeps have run. The residual
   * is read back every `checkEvery` sweeps and after the last one, not after each.
   */
  meanField(v: tf.Tensor2D, options: MeanFieldOptions = {}): MeanFieldResult {
    this.checkLayer(v, 0, 'meanField');
    if (options === null || typeof options !== 'object') throw new ConfigError('meanField options', 'an object { iterations?, tolerance?, checkEvery? }', options);
    const maxIterations = positiveInteger('meanField iterations', options.iterations ?? 100);
    const tolerance = options.tolerance ?? 1e-5;
    if (typeof tolerance !== 'number' || !Number.isFinite(tolerance) || tolerance < 0) throw new ConfigError('meanField tolerance', 'a finite number >= 0', tolerance);
    const checkEvery = tolerance === 0 ? maxIterations : positiveInteger('meanField checkEvery', options.checkEvery ?? 5);
    const biases = this.effectiveBiases();
    const terms: DbmTerms = { weights: this.params.weights, biases };
    const fromData = dataInput(terms, v);
    let mu = tf.tidy(() => bottomUpPass(terms, v, fromData).slice(1));
    let done = 0;
    let residual = Infinity;
    try {
      while (done < maxIterations) {
        const block = Math.min(checkEvery, maxIterations - done);
        for (let k = 0; k + 1 < block; k++) {
          const next = tf.tidy(() => meanFieldSweep(terms, [v, ...mu], fromData).slice(1));
          tf.dispose(mu);
          mu = next;
          done += 1;
        }
        const { next, change } = tf.tidy(() => {
          const swept = meanFieldSweep(terms, [v, ...mu], fromData).slice(1);
          const changes = swept.map((m, i) => tf.max(tf.abs(tf.sub(m, mu[i] as tf.Tensor2D))));
          return { next: swept, change: tf.max(tf.stack(changes)) };
        });
        tf.dispose(mu);
        mu = next;
        done += 1;
        residual = change.dataSync()[0] as number;
        change.dispose();
        if (Number.isNaN(residual)) throw new ConfigError('dbm parameters', 'finite weights and biases (mean field produced NaN)', residual);
        if (residual < tolerance) break;
      }
    } catch (e) {
      tf.dispose(mu);
      throw e;
    } finally {
      tf.dispose([...biases, fromData]);
    }
    return { layers: mu, residual, iterations: done, converged: residual < tolerance };
  }

  /**
   * Mean-field features of `x` for a classifier: μ_1, ..., μ_L concatenated, `[n, h1 + ... + hL]`
   * (Salakhutdinov & Hinton 2009, sec. 4, fed these to a discriminative network).
   */
  features(x: tf.Tensor2D, options: MeanFieldOptions = {}): tf.Tensor2D {
    const { layers } = this.meanField(x, options);
    const out = tf.concat(layers, 1) as tf.Tensor2D;
    tf.dispose(layers);
    return out;
  }

  /** The top layer's mean-field means q(h_L = 1 | x), a code for each example. */
  encode(x: tf.Tensor): tf.Tensor2D {
    const { layers } = this.meanField(x as tf.Tensor2D);
    const top = layers.pop() as tf.Tensor2D;
    tf.dispose(layers);
    return top;
  }

  /** p(v = 1 | h1 = μ_1): the data as the first hidden layer's mean-field means see it. */
  reconstruct(x: tf.Tensor): tf.Tensor2D {
    const { layers } = this.meanField(x as tf.Tensor2D);
    const out = tf.tidy(() => this.visibleProbabilities(layers[0] as tf.Tensor2D));
    tf.dispose(layers);
    return out;
  }

  /** p(v = 1 | h1), `[n, visible]`. */
  visibleProbabilities(h1: tf.Tensor2D): tf.Tensor2D {
    this.checkLayer(h1, 1, 'visibleProbabilities');
    return tf.tidy(() => {
      const biases = this.effectiveBiases();
      return tf.sigmoid(tf.add(matMul(h1, this.params.weights[0] as tf.Tensor2D, false, true), biases[0] as tf.Tensor1D)) as tf.Tensor2D;
    });
  }

  /**
   * `steps` sweeps of block Gibbs sampling from joint states `[x_0, ..., x_L]` (not changed):
   * every odd layer given the even ones, then every even one given the odd ones. With
   * `clampVisible` the visible layer stays as given (sampling from p(h | v)). Returns new states.
   */
  gibbs(states: readonly tf.Tensor2D[], steps: number, rng: Rng, clampVisible = false): tf.Tensor2D[] {
    this.checkStates(states, 'gibbs');
    nonNegativeInteger('steps', steps);
    const biases = this.effectiveBiases();
    const terms: DbmTerms = { weights: this.params.weights, biases };
    let current = states.map((s) => tf.clone(s));
    try {
      for (let k = 0; k < steps; k++) {
        const next = tf.tidy(() => gibbsSweep(terms, current, rng, clampVisible));
        // Layers left as they were (the clamped visible one) are the same tensors: keep them.
        tf.dispose(current.filter((t, l) => t !== next[l]));
        current = next;
      }
    } finally {
      tf.dispose(biases);
    }
    return current;
  }

  /**
   * `n` samples of the visible layer by `steps` block Gibbs sweeps (odd layers, then even
   * ones) from noise, from the persistent fantasy particles, or from data; returns `[n, visible]`
   * probabilities p(v = 1 | h1) (default) or binary samples.
   */
  sample(n: number, options: DbmSampleOptions): tf.Tensor2D {
    if (!Number.isInteger(n) || n <= 0) throw new ConfigError('n', 'a positive integer number of samples', n);
    if (options === null || typeof options !== 'object') throw new ConfigError('sample options', 'an object { rng, steps?, start?, output? }', options);
    const { steps = 1000, start = 'noise', output = 'mean' } = options;
    nonNegativeInteger('steps', steps);
    if (output !== 'sample' && output !== 'mean') throw new ConfigError('output', "'mean' or 'sample'", output);
    const rng = toRng(options.rng);
    let initial: tf.Tensor2D[];
    if (start === 'noise') {
      initial = tf.tidy(() => this.layers.map((size) => rng.bernoulli(tf.fill([n, size], 0.5) as tf.Tensor2D)));
    } else if (start === 'chains') {
      if (n > this.chainCount) throw new ConfigError('n', `at most ${this.chainCount} samples from the persistent chains (config.chains)`, n);
      initial = this.state.chains.map((c) => tf.slice(c, [0, 0], [n, c.shape[1]]));
    } else if (start instanceof tf.Tensor) {
      if (start.rank !== 2 || start.shape[0] !== n || start.shape[1] !== this.visible) {
        throw new ShapeError('dbm sample start', [n, this.visible], start.shape, 'one data vector per sample');
      }
      initial = tf.tidy(() => {
        const biases = this.effectiveBiases();
        const mu = bottomUpPass({ weights: this.params.weights, biases }, start as tf.Tensor2D);
        return [tf.clone(start as tf.Tensor2D), ...mu.slice(1).map((m) => rng.bernoulli(m))];
      });
    } else {
      throw new ConfigError('start', "'noise', 'chains' or a [n, visible] tensor of data", start);
    }
    const final = this.gibbs(initial, steps, rng);
    tf.dispose(initial);
    const result = output === 'sample' ? tf.clone(final[0] as tf.Tensor2D) : this.visibleProbabilities(final[1] as tf.Tensor2D);
    tf.dispose(final);
    return result;
  }

  /** E(x) of joint states `[x_0, ..., x_L]`, one per row, in the plain form with the effective biases. */
  energy(states: readonly tf.Tensor2D[]): tf.Tensor1D {
    this.checkStates(states, 'energy');
    return tf.tidy(() => jointEnergy(this.terms(), states));
  }

  /** p(x_l = 1 | x_{l−1}, x_{l+1}) of layer l from its neighbours' states (`states[l]` is not read). */
  conditional(states: readonly tf.Tensor2D[], l: number): tf.Tensor2D {
    this.checkStates(states, 'conditional');
    if (!Number.isInteger(l) || l < 0 || l > this.depth) throw new ConfigError('layer', `an index from 0 (visible) to ${this.depth}`, l);
    return tf.tidy(() => tf.sigmoid(layerInput(this.terms(), states, l)));
  }

  /**
   * The mean over the rows of `x` of the mean-field variational lower bound on log p(x),
   *   E_q[−E(x, h)] + H(q) − log Z,
   * with log Z exact (enumeration, small DBMs), from AIS on the DBM, or given: see
   * {@link dbmLogLikelihoodBound} for the options and the kind of number that comes back.
   */
  logLikelihood(x: tf.Tensor, options: DbmLikelihoodOptions): Promise<LikelihoodEstimate> {
    return dbmLogLikelihoodBound(this, x as tf.Tensor2D, options);
  }

  dispose(): void {
    disposeParams(this.params);
    disposeParams(this.state);
  }

  /** Throws a ShapeError unless `t` is `[n, layers[l]]`. */
  checkLayer(t: tf.Tensor, l: number, what: string): void {
    const size = this.layers[l] as number;
    if (!(t instanceof tf.Tensor)) throw new ConfigError(`dbm ${what}`, `a [n, ${size}] tensor`, t);
    if (t.rank !== 2 || t.shape[1] !== size) throw new ShapeError(`dbm ${what} (layer ${l}${l === 0 ? ', the data' : ''})`, [null, size], t.shape);
  }

  private checkStates(states: readonly tf.Tensor2D[], what: string): void {
    if (!Array.isArray(states) || states.length !== this.layers.length) {
      throw new ConfigError(`dbm ${what} states`, `one [n, size] tensor per layer, ${this.layers.length} in all (visible first)`, states);
    }
    states.forEach((s, l) => {
      this.checkLayer(s, l, what);
      if (s.shape[0] !== (states[0] as tf.Tensor2D).shape[0]) throw new ShapeError(`dbm ${what} layer ${l}`, [(states[0] as tf.Tensor2D).shape[0], this.layers[l] as number], s.shape, 'the same number of rows in every layer');
    });
  }
}
