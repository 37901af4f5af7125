import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  createVariable,
  DataError,
  disposeParams,
  likelihoodFromPerExample,
  logSumExp,
  matMul,
  Rng,
  ShapeError,
  toRng,
  transpose2d,
  type GenerativeModel,
  type LikelihoodEstimate,
  type LikelihoodOptions,
  type SampleOptions,
  type Rng as RngType,
} from '@helmholtz/core';
import { nonNegativeInteger } from '../rbm/config.js';
import { FVBM_KIND, resolveFvbmConfig, type FvbmConfig, type ResolvedFvbmConfig } from './config.js';
import { chunkStates, lowStates, planEnumeration, type FvbmEnumerationOptions } from './enumerate.js';

/**
 * The trainable tensors of a fully-visible Boltzmann machine. `weights` is `[n, n]`; only its
 * symmetric part off the diagonal acts (see {@link FullyVisibleBoltzmannMachine.couplings}), so a
 * value assigned by hand cannot give the energy a meaning it should not have.
 */
export interface FvbmParams {
  weights: tf.Variable<tf.Rank.R2>;
  bias: tf.Variable<tf.Rank.R1>;
}

/** The order in which a Gibbs sweep visits the units. */
export type FvbmSweepOrder = 'sequential' | 'random';

/** Options of {@link FullyVisibleBoltzmannMachine.sample}. */
export interface FvbmSampleOptions extends SampleOptions {
  /** Gibbs sweeps, each updating every unit once (default 200). */
  sweeps?: number;
  /** `'noise'` (default: uniform bits) or a `[n, units]` tensor to start the chains from (not changed). */
  start?: tf.Tensor2D | 'noise';
  /** `'sequential'` (default: units 0, 1, ..., n−1) or `'random'` (a new permutation every sweep). */
  order?: FvbmSweepOrder;
}

/** The exact moments of the model's distribution, from a sum over all 2^n states. The caller owns the tensors. */
export interface FvbmExactStatistics {
  /** log Z, float32. */
  logPartition: tf.Scalar;
  /** E[x], `[n]`. */
  mean: tf.Tensor1D;
  /** E[x xᵀ], `[n, n]` (its diagonal is E[x]). */
  second: tf.Tensor2D;
}

/** Options of {@link FullyVisibleBoltzmannMachine.logLikelihood}: core's, plus the enumeration's. */
export interface FvbmLikelihoodOptions extends LikelihoodOptions, FvbmEnumerationOptions {
  /** A log Z already computed for these parameters (skips the enumeration). */
  logPartition?: number;
}

/**
 * The fully-visible Boltzmann machine of Goodfellow et al. (2016), sec. 20.1 (Ackley, Hinton &
 * Sejnowski 1985 without hidden units): binary units x ∈ {0, 1}ⁿ with energy
 *   E(x) = −½ xᵀUx − bᵀx,   U symmetric with a zero diagonal,
 * so p(x) = exp(−E(x)) / Z and each unit's conditional given the others is logistic,
 * p(x_i = 1 | x_−i) = σ(b_i + Σ_j U_ij x_j). Its log-likelihood gradient is the data's
 * moments minus the model's, ⟨x_i x_j⟩_data − ⟨x_i x_j⟩_model for U_ij and ⟨x_i⟩ for b_i.
 *
 * Exact on small machines: `logPartition()`, `exactStatistics()` and `logLikelihood()` sum over
 * all 2^n states in chunks (up to 20 units by default). Sampling is single-site Gibbs.
 * Training: `createFvbmTrainer` / `fitFvbm` (exact maximum likelihood, pseudo-likelihood or PCD).
 *
 * ```ts
 * const fvbm = new FullyVisibleBoltzmannMachine({ units: 10, seed: 1 });
 * const logZ = await fvbm.logPartition();
 * ```
 */
export class FullyVisibleBoltzmannMachine implements GenerativeModel<ResolvedFvbmConfig> {
  readonly kind = FVBM_KIND;
  readonly config: ResolvedFvbmConfig;
  readonly params: FvbmParams;

  constructor(config: FvbmConfig) {
    this.config = resolveFvbmConfig(config);
    const { units, seed, initialScale } = this.config;
    const rng = new Rng(seed);
    const weights = tf.tidy(() => {
      const r = rng.normalTensor([units, units], 0, initialScale);
      // (R + Rᵀ)/√2 keeps the entries' standard deviation at initialScale.
      return tf.mul(tf.div(tf.add(r, transpose2d(r)), Math.SQRT2), offDiagonal(units)) as tf.Tensor2D;
    });
    this.params = {
      weights: createVariable(weights, 'fvbm/weights') as tf.Variable<tf.Rank.R2>,
      bias: createVariable(tf.zeros([units]), 'fvbm/bias') as tf.Variable<tf.Rank.R1>,
    };
  }

  get units(): number {
    return this.config.units;
  }

  /** U = (W + Wᵀ)/2 with its diagonal zeroed: the couplings the energy uses, `[n, n]`. */
  couplings(): tf.Tensor2D {
    const n = this.units;
    return tf.tidy(() => tf.mul(tf.mul(tf.add(this.params.weights, transpose2d(this.params.weights)), 0.5), offDiagonal(n)) as tf.Tensor2D);
  }

  /** E(x) = −½ xᵀUx − bᵀx for each row, `[rows]`. */
  energy(x: tf.Tensor2D): tf.Tensor1D {
    this.checkStates(x, 'energy');
    return tf.tidy(() => tf.neg(negativeEnergy(x, this.couplings(), this.params.bias)) as tf.Tensor1D);
  }

  /** b + xU: unit i's column is the logit of p(x_i = 1 | x_−i) (the zero diagonal leaves x_i out). */
  conditionalLogits(x: tf.Tensor2D): tf.Tensor2D {
    this.checkStates(x, 'conditionalLogits');
    return tf.tidy(() => tf.add(matMul(x, this.couplings()), this.params.bias) as tf.Tensor2D);
  }

  /** p(x_i = 1 | x_−i) for every unit i of every row, `[rows, n]`. */
  conditionalProbabilities(x: tf.Tensor2D): tf.Tensor2D {
    return tf.tidy(() => tf.sigmoid(this.conditionalLogits(x)));
  }

  /**
   * Σ_i log p(x_i | x_−i) for each row, `[rows]` (Besag 1975): the objective of pseudo-likelihood
   * training and a tractable score of large machines, whose log Z cannot be enumerated.
   */
  pseudoLogLikelihood(x: tf.Tensor2D): tf.Tensor1D {
    return tf.tidy(() => {
      const a = this.conditionalLogits(x);
      return tf.sum(tf.sub(tf.mul(x, a), tf.softplus(a)), 1) as tf.Tensor1D;
    });
  }

  /**
   * `sweeps` sweeps of single-site Gibbs sampling from `start` (not changed): each unit in turn is
   * drawn from p(x_i | x_−i) given the current values of the others. A sweep is a valid
   * transition whichever order it visits the units in; `'random'` draws a new permutation per sweep.
   */
  gibbs(start: tf.Tensor2D, sweeps: number, rng: RngType, order: FvbmSweepOrder = 'sequential'): tf.Tensor2D {
    this.checkStates(start, 'gibbs');
    nonNegativeInteger('sweeps', sweeps);
    if (order !== 'sequential' && order !== 'random') throw new ConfigError('order', "'sequential' or 'random'", order);
    const n = this.units;
    const rows = start.shape[0];
    const sites = tf.tidy(() => {
      const u = this.couplings();
      return Array.from({ length: n }, (_, i) => ({
        column: tf.slice(u, [0, i], [n, 1]) as tf.Tensor2D,
        bias: tf.slice(this.params.bias, [i], [1]) as tf.Tensor1D,
        unit: tf.oneHot(tf.tensor1d([i], 'int32'), n) as tf.Tensor2D,
      }));
    });
    let x = tf.clone(start);
    try {
      for (let s = 0; s < sweeps; s++) {
        const visits = order === 'random' ? rng.permutation(n) : Array.from({ length: n }, (_, i) => i);
        if (x.dtype !== 'float32') {
          const cast = tf.cast(x, 'float32') as tf.Tensor2D;
          x.dispose();
          x = cast;
        }
        // One tidy per site, not per sweep: every update makes a new [rows, n] state, and keeping
        // a sweep's n of them alive would cost rows·n² floats (0.7 GB for 100 chains of 784 units).
        for (const i of visits) {
          const site = sites[i]!;
          const y = x;
          const next = tf.tidy(() => {
            const p = tf.sigmoid(tf.add(matMul(y, site.column), site.bias)) as tf.Tensor2D;
            const draw = rng.bernoulli(p);
            const current = tf.slice(y, [0, i], [rows, 1]);
            return tf.add(y, tf.mul(tf.sub(draw, current), site.unit)) as tf.Tensor2D;
          });
          x.dispose();
          x = next;
        }
      }
    } catch (error) {
      x.dispose();
      throw error;
    } finally {
      for (const site of sites) tf.dispose([site.column, site.bias, site.unit]);
    }
    return x;
  }

  /** `n` uniform random states, `[n, units]`. */
  noise(n: number, rng: RngType): tf.Tensor2D {
    return tf.tidy(() => rng.bernoulli(tf.fill([n, this.units], 0.5) as tf.Tensor2D));
  }

  /**
   * `n` samples by `sweeps` single-site Gibbs sweeps (default 200) from noise or given states.
   * Strong couplings make the chains mix slowly: give more sweeps, or check by running two
   * seeds, for a model trained on structured data.
   */
  sample(n: number, options: FvbmSampleOptions): tf.Tensor2D {
    if (!Number.isInteger(n) || n <= 0) throw new ConfigError('n', 'a positive integer number of samples', n);
    if (options === null || typeof options !== 'object') throw new ConfigError('sample options', 'an object { rng, sweeps?, start?, order? }', options);
    const { sweeps = 200, start = 'noise', order = 'sequential' } = options;
    nonNegativeInteger('sweeps', sweeps);
    const rng = toRng(options.rng);
    let initial: tf.Tensor2D;
    if (start === 'noise') {
      initial = this.noise(n, rng);
    } else if (start instanceof tf.Tensor) {
      if (start.rank !== 2 || start.shape[0] !== n || start.shape[1] !== this.units) {
        throw new ShapeError('sample start', [n, this.units], start.shape, 'one state per sample');
      }
      initial = start;
    } else {
      throw new ConfigError('start', "'noise' or a [n, units] tensor", start);
    }
    try {
      return this.gibbs(initial, sweeps, rng, order);
    } finally {
      if (initial !== start) initial.dispose();
    }
  }

  /**
   * The exact log partition function log Z = log Σ_x exp(−E(x)) over all 2^n states, in chunks
   * of at most 65,536 states; each chunk's log-sum-exp is taken on the device with its maximum
   * subtracted, and the chunks are combined in float64. Up to `maxUnits` (default 20) units.
   */
  async logPartition(options: FvbmEnumerationOptions = {}): Promise<number> {
    const plan = planEnumeration(this.units, options, 'logPartition');
    const low = lowStates(plan.bits);
    const u = this.couplings();
    let max = -Infinity;
    let sum = 0;
    try {
      for (let c = 0; c < plan.chunks; c++) {
        const lse = tf.tidy(() => logSumExp(negativeEnergy(chunkStates(plan, low, c), u, this.params.bias), 0));
        const value = (await lse.data())[0] as number;
        lse.dispose();
        if (!Number.isFinite(value)) throw new ConfigError('fvbm parameters', 'finite couplings and biases (an energy came out NaN or infinite)', value);
        // Streaming log-sum-exp in float64: rescale the running sum when a larger chunk arrives.
        if (value > max) {
          sum = sum * Math.exp(max - value) + 1;
          max = value;
        } else {
          sum += Math.exp(value - max);
        }
      }
    } finally {
      tf.dispose([low, u]);
    }
    return max + Math.log(sum);
  }

  /**
   * log Z, E[x] and E[x xᵀ] under the model, exactly, by a sum over all 2^n states, on the
   * device and without reading anything back (a training step calls it). Each chunk's moments are
   * normalised within the chunk and the chunks are mixed by their share of Z, so nothing overflows.
   */
  exactStatistics(options: FvbmEnumerationOptions = {}): FvbmExactStatistics {
    const plan = planEnumeration(this.units, options, 'exactStatistics');
    const n = this.units;
    return tf.tidy(() => {
      const low = lowStates(plan.bits);
      const u = this.couplings();
      const parts = Array.from({ length: plan.chunks }, (_, c) =>
        tf.tidy(() => {
          const states = chunkStates(plan, low, c);
          const negE = negativeEnergy(states, u, this.params.bias);
          const lse = logSumExp(negE, 0) as tf.Scalar;
          const w = tf.reshape(tf.exp(tf.sub(negE, lse)), [-1, 1]) as tf.Tensor2D;
          return {
            lse,
            first: tf.sum(tf.mul(states, w), 0) as tf.Tensor1D,
            second: matMul(transpose2d(tf.mul(states, w) as tf.Tensor2D), states),
          };
        }),
      );
      const lses = tf.stack(parts.map((p) => p.lse)) as tf.Tensor1D;
      const logPartition = logSumExp(lses, 0) as tf.Scalar;
      const share = tf.exp(tf.sub(lses, logPartition));
      const mean = tf.sum(tf.mul(tf.stack(parts.map((p) => p.first)), tf.reshape(share, [-1, 1])), 0) as tf.Tensor1D;
      const second = tf.sum(tf.mul(tf.stack(parts.map((p) => p.second)), tf.reshape(share, [-1, 1, 1])), 0) as tf.Tensor2D;
      return { logPartition, mean, second: tf.reshape(second, [n, n]) as tf.Tensor2D };
    });
  }

  /** log p(x) = −E(x) − log Z for each row, given log Z (from {@link logPartition}), `[rows]`. */
  logProbability(x: tf.Tensor2D, logPartition: number): tf.Tensor1D {
    if (typeof logPartition !== 'number' || !Number.isFinite(logPartition)) throw new ConfigError('logPartition', 'a finite log Z', logPartition);
    this.checkStates(x, 'logProbability');
    return tf.tidy(() => tf.sub(negativeEnergy(x, this.couplings(), this.params.bias), logPartition) as tf.Tensor1D);
  }

  /**
   * The exact mean log-likelihood of the binary rows of `x`, kind `'exact'`: log Z by enumeration
   * (up to `maxUnits` units, default 20), or the `logPartition` given. Larger machines have no
   * exact likelihood: compare them with {@link pseudoLogLikelihood}.
   */
  async logLikelihood(x: tf.Tensor, options: FvbmLikelihoodOptions): Promise<LikelihoodEstimate> {
    const data = options?.data as unknown;
    if (data === null || typeof data !== 'object') {
      throw new ConfigError('options.data', "{ dataset, split, binarization } naming what x is, e.g. { dataset: 'bars', split: 'train', binarization: 'none (binary data)' }", data);
    }
    const rows = x as tf.Tensor2D;
    this.checkStates(rows, 'logLikelihood');
    if (rows.shape[0] === 0) throw new ShapeError('logLikelihood x', [null, this.units], rows.shape, 'at least one example');
    await checkBinary(rows, 'logLikelihood x');
    const logZ = options.logPartition ?? (await this.logPartition({ chunkSize: options.chunkSize, maxUnits: options.maxUnits }));
    const perExample = this.logProbability(rows, logZ);
    const values = await perExample.data();
    perExample.dispose();
    const { dataset, split, binarization } = data as LikelihoodOptions['data'];
    return likelihoodFromPerExample(values, {
      kind: 'exact',
      protocol: { dataset, split, binarization, method: 'exact', details: { model: FVBM_KIND, units: this.units, logPartition: logZ } },
    });
  }

  dispose(): void {
    disposeParams(this.params);
  }

  /** Throws unless `x` is a `[rows, units]` tensor. */
  checkStates(x: tf.Tensor, what: string): void {
    if (!(x instanceof tf.Tensor)) throw new ConfigError(what, `a [rows, ${this.units}] tensor`, x);
    if (x.rank !== 2 || x.shape[1] !== this.units) throw new ShapeError(`${this.kind} ${what} states`, [null, this.units], x.shape);
  }
}

/** 1 − I, `[n, n]`. */
function offDiagonal(n: number): tf.Tensor2D {
  return tf.tidy(() => tf.sub(1, tf.eye(n)) as tf.Tensor2D);
}

/** −E(x) = ½ xᵀUx + bᵀx for each row, for couplings U already symmetrised. */
export function negativeEnergy(x: tf.Tensor2D, u: tf.Tensor2D, bias: tf.Tensor1D): tf.Tensor1D {
  return tf.tidy(() => {
    const xf = tf.cast(x, 'float32') as tf.Tensor2D;
    const pair = tf.mul(tf.sum(tf.mul(matMul(xf, u), xf), 1), 0.5);
    return tf.add(pair, tf.sum(tf.mul(xf, bias), 1)) as tf.Tensor1D;
  });
}

/** Throws a DataError unless every entry is 0 or 1: a likelihood of grey levels means nothing here. */
export async function checkBinary(x: tf.Tensor2D, what: string): Promise<void> {
  const stats = tf.tidy(() => tf.stack([tf.max(tf.abs(tf.mul(x, tf.sub(1, x)))), tf.min(x), tf.max(x)]));
  const [offBinary, low, high] = await stats.data();
  stats.dispose();
  if (!(offBinary === 0)) {
    throw new DataError(
      what,
      `expected binary values (0 or 1) for a fully-visible Boltzmann machine, got values from ${low} to ${high} that are not all 0 or 1. ` +
        'Binarize the data first and name the scheme in options.data.binarization',
    );
  }
}
