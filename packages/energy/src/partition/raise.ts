import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, toRng, type RngLike, type RngState } from '@helmholtz/core';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';
import { annealingPath, reverseAnneal, type AnnealingProgress } from './anneal.js';
import { checkRbm, checkRuns, logMeanExpWithError, seedOf } from './ais.js';
import { baseRateVisibleBias } from './base-rate.js';
import { checkBinaryData, negativeFreeEnergies } from './free-energy.js';
import { inverseTemperatures, type TemperatureSchedule } from './schedule.js';

/** Options of {@link raise}. */
export interface RaiseOptions {
  /** Inverse temperatures, as for `ais` (default 14,500 in Salakhutdinov & Murray's proportions). */
  temperatures?: TemperatureSchedule;
  /** Reverse chains per example (default 10). */
  chains?: number;
  /** Examples annealed together (default: enough for about 1,000 chains per batch). */
  batchSize?: number;
  /**
   * Data for the base-rate model (default: the data being evaluated). Any data gives a valid
   * bound on the annealing model's log p_ann(x), but p_ann starts from the base model: for a
   * number to report, pass the training data (as Burda et al. and Salakhutdinov & Murray do), so
   * that with a short schedule the bound is not lifted by base rates fitted to the test set.
   */
  baseRateFrom?: tf.Tensor2D;
  /** Pseudo-count of the base rates (default 1). */
  baseRateSmoothing?: number;
  /** Seed or generator of every draw (default seed 0). */
  rng?: RngLike;
  /** Called after each batch of examples with (examples done, examples in all). */
  onProgress?: (done: number, total: number) => void;
  /** Called every 100 temperatures of a batch. */
  onBatchProgress?: AnnealingProgress;
}

/** What {@link raise} found: numbers, and the per-example bounds as a Float64Array. */
export interface RaiseResult {
  /** log p̂(x) of each example: log of the mean of its chains' weights. Each is a stochastic lower bound. */
  perExample: Float64Array;
  /** Mean of `perExample`: a stochastic lower bound on the mean log-likelihood. */
  mean: number;
  /** Standard error of `mean` over examples (sd / √n; it contains the chains' noise too). */
  standardError: number;
  /** Mean over examples of the delta-method standard error of each log p̂(x) (the chains' share of the noise). */
  chainStandardError: number;
  logZBase: number;
  temperatures: number;
  schedule: string;
  chains: number;
  seed: number | RngState;
}

/**
 * RAISE, reverse annealed importance sampling (Burda, Grosse & Salakhutdinov 2015, "Accurate and
 * conservative estimates of MRF log-likelihood using reverse annealing"): a stochastic LOWER
 * bound on each example's log-likelihood, to pair with forward AIS's stochastic upper bound.
 *
 * Forward annealing from the base model defines a directed "annealing model" p_ann over the
 * whole chain v_0 → v_1 → ... → v_K (v_0 from the base model, v_k ~ T_k(· | v_{k−1})), whose
 * marginal over v_K tends to the RBM's p(v) as the schedule gets finer. RAISE estimates p_ann(x)
 * by importance sampling with the reverse chain as proposal: start at v_K = x, draw
 * v_{k−1} ~ T_k(· | v_k) for k = K..1 (a Gibbs step at β_k, reversible with respect to f_k), and
 * weigh by
 *   w = f_K(x) / Z_A · Π_{k=0}^{K−1} f_k(v_k) / f_{k+1}(v_k).
 * Then E[w] = p_ann(x), so E[log mean w] ≤ log p_ann(x) (Jensen): a stochastic lower bound on the
 * annealing model's log-likelihood. That model tends to the RBM as the schedule gets finer, and
 * with a coarse schedule it is a worse model of the data, so the bound errs low ("conservative"
 * in Burda et al.'s words; for samples of the RBM itself E_p[log p_ann] ≤ E_p[log p] is Gibbs'
 * inequality). It is not a bound on log p(x) for every x and every schedule, only in this sense.
 *
 * Cost: K Gibbs steps for each of `chains` chains per example, batched.
 */
export async function raise(rbm: RestrictedBoltzmannMachine, data: tf.Tensor2D, options: RaiseOptions = {}): Promise<RaiseResult> {
  checkRbm(rbm, 'raise rbm');
  rbm.checkVisible(data, 'raise data');
  const n = data.shape[0];
  if (n === 0) throw new ShapeError('raise data', [null, rbm.visible], data.shape, 'at least one example');
  const schedule = inverseTemperatures(options.temperatures);
  const chains = checkRuns('chains', options.chains, 10);
  const batchSize = options.batchSize ?? Math.max(1, Math.floor(1000 / chains));
  if (!Number.isInteger(batchSize) || batchSize < 1) throw new ConfigError('batchSize', 'a positive integer number of examples per batch', options.batchSize);
  if (rbm.binaryVisible) await checkBinaryData(data, 'raise data');
  const rng = toRng(options.rng);
  const seed = seedOf(options.rng, rng);
  const smoothing = options.baseRateSmoothing !== undefined ? { smoothing: options.baseRateSmoothing } : {};
  const baseBias = await baseRateVisibleBias(rbm, options.baseRateFrom ?? data, smoothing);
  let path;
  try {
    path = await annealingPath(rbm, baseBias);
  } finally {
    baseBias.dispose();
  }
  try {
    // log f_K(x) = −F(x): the first factor of every chain's weight.
    const negF = await negativeFreeEnergies(rbm, data);
    const perExample = new Float64Array(n);
    let chainError = 0;
    for (let start = 0; start < n; start += batchSize) {
      const size = Math.min(batchSize, n - start);
      // Each example repeated `chains` times, consecutively: rows [i·chains, (i+1)·chains) are example i's.
      const rows = tf.tidy(() => {
        const slice = tf.slice(data, [start, 0], [size, rbm.visible]);
        return tf.reshape(tf.tile(tf.expandDims(slice, 1), [1, chains, 1]), [size * chains, rbm.visible]) as tf.Tensor2D;
      });
      let sums: Float64Array;
      try {
        sums = await reverseAnneal(path, schedule.betas, rows, rng, options.onBatchProgress);
      } finally {
        rows.dispose();
      }
      for (let i = 0; i < size; i++) {
        const logWeights = new Float64Array(chains);
        const base = (negF[start + i] as number) - path.logZBase;
        for (let c = 0; c < chains; c++) logWeights[c] = base + (sums[i * chains + c] as number);
        if (logWeights.some((w) => Number.isNaN(w))) {
          throw new ConfigError('rbm parameters', 'finite weights and biases (a RAISE log-weight came out NaN)', NaN);
        }
        const { value, standardError } = logMeanExpWithError(logWeights);
        perExample[start + i] = value;
        chainError += chains > 1 ? standardError : 0;
      }
      options.onProgress?.(start + size, n);
    }
    let mean = 0;
    for (let i = 0; i < n; i++) mean += perExample[i] as number;
    mean /= n;
    let squares = 0;
    for (let i = 0; i < n; i++) squares += ((perExample[i] as number) - mean) ** 2;
    return {
      perExample,
      mean,
      standardError: n > 1 ? Math.sqrt(squares / (n - 1) / n) : chains > 1 ? chainError : Infinity,
      chainStandardError: chains > 1 ? chainError / n : Infinity,
      logZBase: path.logZBase,
      temperatures: schedule.betas.length,
      schedule: schedule.source,
      chains,
      seed,
    };
  } finally {
    path.dispose();
  }
}
