import type * as tf from '@tensorflow/tfjs-core';
import { ConfigError, toRng, type RngLike, type RngState } from '@helmholtz/core';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';
import { annealingPath, forwardAnneal, type AnnealingProgress } from './anneal.js';
import { baseRateVisibleBias } from './base-rate.js';
import { inverseTemperatures, type TemperatureSchedule } from './schedule.js';

/** Options of {@link annealedImportanceSampling}. */
export interface AisOptions {
  /**
   * The inverse temperatures: a count (default 14,500, spread as Salakhutdinov & Murray 2008 do:
   * 500 in [0, 0.5), 4,000 in [0.5, 0.9), 10,000 in [0.9, 1]) or an explicit list that starts at
   * 0, ends at 1 and increases strictly.
   */
  temperatures?: TemperatureSchedule;
  /** Independent annealing runs, all advanced together as one batch (default 100). */
  runs?: number;
  /**
   * Data for the base-rate model's visible biases (training data, usually): smoothed pixel
   * log-odds for binary units, means for Gaussian ones. Without it the base model is uniform
   * (binary) or centred on the RBM's visible biases (Gaussian). See `baseRateVisibleBias`.
   */
  baseRateFrom?: tf.Tensor2D;
  /** Pseudo-count of the base rates (default 1). */
  baseRateSmoothing?: number;
  /** Seed or generator of every draw (default seed 0). */
  rng?: RngLike;
  /** Called every 100 temperatures with (done, total). */
  onProgress?: AnnealingProgress;
}

/** What {@link annealedImportanceSampling} found: numbers, and the runs' log-weights as a Float64Array. */
export interface AisResult {
  /** The estimate of log Z: log Z_A + log mean_r w_r. */
  logZ: number;
  /**
   * Standard error of `logZ` by the delta method, sd(w) / (√R · mean(w)) over the R runs
   * (Infinity with one run). It measures the spread of the weights only: when the schedule is too
   * short the weights are all small together and this error understates the bias.
   */
  standardError: number;
  /** log w_r of each run: logZ = logZBase + log mean exp(logWeights). Float64, summed in JS. */
  logWeights: Float64Array;
  /** log Z_A of the base-rate model (with its 2^H uniform hidden states). */
  logZBase: number;
  /** (Σ w)² / Σ w²: how many runs the weights are worth; far below `runs` means the schedule is too short. */
  effectiveSampleSize: number;
  /** Number of inverse temperatures, 0 and 1 included. */
  temperatures: number;
  /** `'salakhutdinov-murray-2008'`, `'salakhutdinov-murray-2008 proportions'` or `'custom'`. */
  schedule: string;
  runs: number;
  /** The seed when one was given as a number; otherwise the generator's state at the start. */
  seed: number | RngState;
}

/** log mean exp in float64, and the delta-method standard error of it, and the ESS. */
export function logMeanExpWithError(logWeights: ArrayLike<number>): { value: number; standardError: number; effectiveSampleSize: number } {
  const n = logWeights.length;
  let max = -Infinity;
  for (let i = 0; i < n; i++) max = Math.max(max, logWeights[i] as number);
  let sum = 0;
  let squares = 0;
  for (let i = 0; i < n; i++) {
    const w = Math.exp((logWeights[i] as number) - max);
    sum += w;
    squares += w * w;
  }
  const mean = sum / n;
  const variance = n > 1 ? Math.max(0, (squares - n * mean * mean) / (n - 1)) : Infinity;
  return {
    value: max + Math.log(mean),
    standardError: n > 1 ? Math.sqrt(variance / n) / mean : Infinity,
    effectiveSampleSize: (sum * sum) / squares,
  };
}

export function checkRuns(field: string, runs: unknown, fallback: number): number {
  const value = runs ?? fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1 || value > 1_000_000) {
    throw new ConfigError(field, `a positive integer number of annealing chains (default ${fallback})`, runs);
  }
  return value;
}

export function checkRbm(rbm: RestrictedBoltzmannMachine, what: string): void {
  const r = rbm as Partial<RestrictedBoltzmannMachine> | null;
  if (r === null || typeof r !== 'object' || typeof r.binaryVisible !== 'boolean' || typeof r.hiddenFreeEnergy !== 'function' || !r.params) {
    throw new ConfigError(what, 'a BernoulliRBM or GaussianBernoulliRBM', rbm);
  }
}

export function seedOf(rng: RngLike | undefined, generator: { state(): RngState }): number | RngState {
  return typeof rng === 'number' ? rng : rng === undefined ? 0 : generator.state();
}

/**
 * Annealed importance sampling of an RBM's log partition function (Neal 2001; Salakhutdinov &
 * Murray 2008): `runs` chains start from exact samples of a base-rate model and move through
 * intermediate distributions f_β = f_A^(1−β) f^β (β from the schedule) by one block Gibbs step
 * each, while each chain's importance weight collects the ratios f_k(v)/f_{k−1}(v). The mean
 * weight estimates Z/Z_A without bias, so log Z is underestimated in expectation (Jensen): a log
 * likelihood −F(x) − log Z computed with it is overestimated in expectation (a stochastic upper
 * bound). See `anneal.ts` for the path, for binary and for Gaussian visible units.
 *
 * Every chain runs in one batch: per temperature a handful of ops in a tidy (two matMuls,
 * sigmoids, two Bernoulli draws, softplus differences), nothing read back until the end; the
 * log-weight increments are summed on the device in float32 in blocks of 100 temperatures and
 * the blocks in float64 in JavaScript.
 *
 * ```ts
 * const { logZ, standardError } = await ais(rbm, { baseRateFrom: trainImages, rng: 1 });
 * ```
 */
export async function annealedImportanceSampling(rbm: RestrictedBoltzmannMachine, options: AisOptions = {}): Promise<AisResult> {
  checkRbm(rbm, 'ais rbm');
  const schedule = inverseTemperatures(options.temperatures);
  const runs = checkRuns('runs', options.runs, 100);
  const rng = toRng(options.rng);
  const seed = seedOf(options.rng, rng);
  const smoothing = options.baseRateSmoothing !== undefined ? { smoothing: options.baseRateSmoothing } : {};
  const baseBias = await baseRateVisibleBias(rbm, options.baseRateFrom, smoothing);
  let path;
  try {
    path = await annealingPath(rbm, baseBias);
  } finally {
    baseBias.dispose();
  }
  try {
    const logWeights = await forwardAnneal(path, schedule.betas, runs, rng, options.onProgress);
    for (let r = 0; r < runs; r++) {
      if (Number.isNaN(logWeights[r])) {
        throw new ConfigError('rbm parameters', 'finite weights and biases (an AIS log-weight came out NaN)', logWeights[r]);
      }
    }
    const { value, standardError, effectiveSampleSize } = logMeanExpWithError(logWeights);
    return {
      logZ: path.logZBase + value,
      standardError,
      logWeights,
      logZBase: path.logZBase,
      effectiveSampleSize,
      temperatures: schedule.betas.length,
      schedule: schedule.source,
      runs,
      seed,
    };
  } finally {
    path.dispose();
  }
}

/** Short name of {@link annealedImportanceSampling}. */
export const ais = annealedImportanceSampling;
