import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  likelihoodEstimate,
  likelihoodFromPerExample,
  toRng,
  type LikelihoodEstimate,
  type LikelihoodKind,
  type LikelihoodOptions,
  type Rng,
} from '@helmholtz/core';
import { positiveInteger } from '../rbm/config.js';
import { BernoulliRBM } from '../rbm/bernoulli.js';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';
import { ais, type AisOptions } from '../partition/ais.js';
import { DEFAULT_MAX_ENUMERATED_UNITS, enumerableLayer, exactLogPartition, type ExactLogPartitionOptions } from '../partition/exact.js';
import { checkBinaryData } from '../partition/free-energy.js';
import type { DBN } from './dbn.js';

/** Which bound {@link dbnLogLikelihoodBound} estimates. */
export type DbnBound = 'variational' | 'importance-weighted';

/** Options of {@link DBN.logLikelihood}. */
export interface DbnLikelihoodOptions extends LikelihoodOptions {
  /**
   * `'variational'` (default): the bound of Hinton et al. (2006) and Salakhutdinov & Murray
   * (2008, sec. 4), E_q[log p(x, h) − log q(h | x)], with q the up-pass posterior.
   * `'importance-weighted'`: E[log (1/S) Σ_s p(x, h_s) / q(h_s | x)] over S draws of q (Burda et
   * al. 2016), a tighter bound that tends to log p(x) as S grows.
   */
  bound?: DbnBound;
  /** Draws of h from q(h | x) per example (default 10). */
  samples?: number;
  /**
   * Where log Z of the top RBM comes from: `'exact'` (enumeration; default when its smaller layer
   * has at most 25 units), `'ais'` (annealed importance sampling; the default otherwise), or a
   * number you trust as exact.
   */
  partition?: 'exact' | 'ais' | number;
  /** Options of `exactLogPartition` for the top RBM. */
  exact?: ExactLogPartitionOptions;
  /**
   * Options of `ais` for the top RBM (its `rng` comes from this call's). Without `baseRateFrom`,
   * the base rates come from the up-pass probabilities of `x` at the top RBM's visible layer.
   */
  ais?: Omit<AisOptions, 'rng'>;
  /** Examples per chunk, bounding memory (default 1000). */
  chunkSize?: number;
}

interface TopPartition {
  logZ: number;
  standardError: number;
  source: 'exact' | 'ais' | 'given';
  temperatures?: number;
  runs?: number;
}

async function topLogPartition(dbn: DBN, x: tf.Tensor2D, options: DbnLikelihoodOptions, rng: Rng): Promise<TopPartition> {
  const top = dbn.top;
  const partition = options.partition;
  if (typeof partition === 'number') {
    if (!Number.isFinite(partition)) throw new ConfigError('partition', 'a finite log Z of the top RBM', partition);
    return { logZ: partition, standardError: 0, source: 'given' };
  }
  let method = partition;
  if (method === undefined) {
    const layer = enumerableLayer(top);
    const units = layer === 'visible' ? top.visible : top.hidden;
    method = units <= (options.exact?.maxUnits ?? DEFAULT_MAX_ENUMERATED_UNITS) ? 'exact' : 'ais';
  }
  if (method === 'exact') return { logZ: await exactLogPartition(top, options.exact ?? {}), standardError: 0, source: 'exact' };
  if (method !== 'ais') throw new ConfigError('partition', "'exact', 'ais' or a number (log Z of the top RBM)", partition);
  const aisOptions: AisOptions = { ...(options.ais ?? {}), rng: rng.split() };
  let baseRate: tf.Tensor2D | null = null;
  if (aisOptions.baseRateFrom === undefined) {
    baseRate = dbn.propagateUp(x, { to: dbn.depth - 1 });
    aisOptions.baseRateFrom = baseRate;
  }
  try {
    const result = await ais(top, aisOptions);
    return { logZ: result.logZ, standardError: result.standardError, source: 'ais', temperatures: result.temperatures, runs: result.runs };
  } finally {
    baseRate?.dispose();
  }
}

/** log p(v | h) of an RBM's visible conditional, per row: Bernoulli with logits b + Wh, or N(b + Wh, σ²). */
export function visibleLogLikelihood(rbm: RestrictedBoltzmannMachine, v: tf.Tensor2D, h: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    if (rbm instanceof BernoulliRBM) {
      const a = rbm.visibleLogits(h);
      return tf.sum(tf.sub(tf.mul(v, a), tf.softplus(a)), 1) as tf.Tensor1D;
    }
    const logVariance = rbm.params.logVariance;
    if (rbm.binaryVisible || logVariance === undefined) {
      throw new ConfigError('rbm', 'a BernoulliRBM or a GaussianBernoulliRBM', rbm.kind);
    }
    const squared = tf.mul(tf.square(tf.sub(v, rbm.visibleMean(h))), tf.exp(tf.neg(logVariance)));
    return tf.mul(tf.sum(tf.add(tf.add(squared, logVariance), Math.log(2 * Math.PI)), 1), -0.5) as tf.Tensor1D;
  });
}

/**
 * One draw of h ~ q(h | x) through the DBN's latent layers h1 ... h_{k−1} and, per row,
 *   log p(x, h) − log q(h | x)                  (importance-weighted), or
 *   log p(x, h) + Σ_i H(q(h_i | h_{i−1}))        (variational),
 * without log Z: log p(x, h) = Σ_i log p(h_{i−1} | h_i) − F_top(h_{k−1}). The variational form
 * replaces each −log q(h_i | h_{i−1}) by its expectation given h_{i−1}, the entropy, which has
 * the same mean and less variance (Rao-Blackwellisation).
 */
function drawLogWeight(dbn: DBN, x: tf.Tensor2D, bound: DbnBound, rng: Rng): tf.Tensor1D {
  return tf.tidy(() => {
    let below: tf.Tensor2D = x;
    let total = tf.zeros([x.shape[0]]) as tf.Tensor1D;
    for (let i = 0; i + 1 < dbn.depth; i++) {
      const rbm = dbn.rbms[i] as RestrictedBoltzmannMachine;
      const logits = rbm.hiddenLogits(below);
      const p = tf.sigmoid(logits);
      const h = rng.bernoulli(p);
      // log q(h | ·) = Σ h·l − softplus(l); its entropy Σ softplus(l) − p·l.
      const term =
        bound === 'variational'
          ? tf.sum(tf.sub(tf.softplus(logits), tf.mul(p, logits)), 1)
          : tf.neg(tf.sum(tf.sub(tf.mul(h, logits), tf.softplus(logits)), 1));
      total = tf.add(tf.add(total, term), visibleLogLikelihood(rbm, below, h)) as tf.Tensor1D;
      below = h;
    }
    return tf.sub(total, dbn.top.freeEnergy(below)) as tf.Tensor1D;
  });
}

function logMeanExp(values: Float64Array): number {
  let max = -Infinity;
  for (const v of values) max = Math.max(max, v);
  if (max === -Infinity) return -Infinity;
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum / values.length);
}

/**
 * A lower bound on the mean log-likelihood of a DBN, the measure Salakhutdinov & Murray (2008,
 * sec. 4) report for DBNs. With the up-pass q(h1, ..., h_{k−1} | x) = Π_i q(h_i | h_{i−1}) given
 * by each RBM's p(h | below),
 *   log p(x) ≥ E_q[ Σ_{i=1}^{k−1} log p(h_{i−1} | h_i) + log p*(h_{k−1}) ] + H(q),
 * where p*(h_{k−1}) = exp(−F_top(h_{k−1})) / Z_top is the top RBM's marginal on its visible
 * layer (for 2 layers: E_{q(h1|x)}[log p(x | h1) − F_1(h1)] + H(q(h1 | x)) − log Z_1). The
 * expectation is estimated with `samples` draws per example; the entropy is exact.
 *
 * With binary visible units `x` must be binary (a DataError otherwise: binarize first and name
 * the scheme in `options.data.binarization`); a Gaussian bottom takes real values.
 *
 * The kind of the result: `'lower-bound'` when log Z_top is exact (enumerated, or given): the
 * estimate is unbiased for a lower bound. With AIS it is `'stochastic-estimate'`: AIS
 * underestimates log Z in expectation, which pushes the number up, so it is no longer a bound
 * of either side. A DBN of one RBM has no latent layer: the result is then its exact
 * log-likelihood (kind `'exact'` with an exact log Z, `'stochastic-estimate'` with AIS, as
 * `RestrictedBoltzmannMachine.logLikelihood` labels it). Options this function does not know are
 * ignored, as the model contract allows (a caller may pass one set of options to many models).
 *
 * The standard error is the spread over examples (sd/√n), with the AIS error of log Z added
 * in quadrature when AIS was used. `protocol.details` holds log Z, where it came from, and the
 * bound's form.
 */
export async function dbnLogLikelihoodBound(dbn: DBN, x: tf.Tensor2D, options: DbnLikelihoodOptions): Promise<LikelihoodEstimate> {
  if (options === null || typeof options !== 'object') throw new ConfigError('logLikelihood options', 'an object { data, rng?, bound?, samples?, partition? }', options);
  if (options.data === null || typeof options.data !== 'object') {
    throw new ConfigError('logLikelihood options.data', 'the data protocol { dataset, split, binarization }', options.data);
  }
  dbn.checkLayer(x, 0, 'logLikelihood x');
  const n = x.shape[0];
  if (n === 0) throw new ConfigError('logLikelihood x', 'at least one example', x.shape);
  const bound = options.bound ?? 'variational';
  if (bound !== 'variational' && bound !== 'importance-weighted') throw new ConfigError('bound', "'variational' or 'importance-weighted'", bound);
  const latent = dbn.depth > 1;
  const samples = latent ? positiveInteger('samples', options.samples ?? 10) : 1;
  const chunkSize = positiveInteger('chunkSize', options.chunkSize ?? 1000);
  // Binary units give probabilities of binary vectors only: grey levels would get a number that bounds nothing.
  if (dbn.binaryVisible) await checkBinaryData(x, 'dbn logLikelihood x');
  const rng = toRng(options.rng);
  const partition = await topLogPartition(dbn, x, options, rng);

  const perExample = new Float64Array(n);
  const draws = new Float64Array(samples);
  for (let start = 0; start < n; start += chunkSize) {
    const rows = Math.min(chunkSize, n - start);
    const chunk = tf.slice(x, [start, 0], [rows, dbn.visible]);
    const weights: Float32Array[] = [];
    try {
      for (let s = 0; s < samples; s++) {
        const w = drawLogWeight(dbn, chunk, bound, rng);
        weights.push((await w.data()) as Float32Array);
        w.dispose();
      }
    } finally {
      chunk.dispose();
    }
    for (let r = 0; r < rows; r++) {
      for (let s = 0; s < samples; s++) draws[s] = (weights[s] as Float32Array)[r] as number;
      let value: number;
      if (bound === 'importance-weighted') {
        value = logMeanExp(draws);
      } else {
        value = 0;
        for (let s = 0; s < samples; s++) value += draws[s] as number;
        value /= samples;
      }
      perExample[start + r] = value - partition.logZ;
    }
  }

  let kind: LikelihoodKind;
  if (partition.source === 'ais') kind = 'stochastic-estimate';
  else kind = latent ? 'lower-bound' : 'exact';
  const method = !latent ? (partition.source === 'ais' ? 'ais' : 'exact') : bound === 'variational' ? 'dbn-variational-bound' : 'dbn-importance-weighted-bound';
  const estimate = likelihoodFromPerExample(perExample, {
    kind,
    protocol: {
      ...options.data,
      method,
      ...(latent ? { samples } : {}),
      ...(partition.temperatures !== undefined ? { temperatures: partition.temperatures } : {}),
      ...(partition.runs !== undefined ? { chains: partition.runs } : {}),
      details: {
        layers: dbn.config.layers,
        bound: latent ? bound : 'none (a single RBM)',
        logZ: partition.logZ,
        logZMethod: partition.source,
        ...(partition.source === 'ais' && Number.isFinite(partition.standardError) ? { logZStandardError: partition.standardError } : {}),
        standardError: partition.source === 'ais' ? 'spread over examples and the AIS error of log Z, in quadrature' : 'spread over examples',
      },
    },
  });
  if (partition.source !== 'ais' || estimate.standardError === undefined || !Number.isFinite(partition.standardError)) return estimate;
  return likelihoodEstimate({ ...estimate, standardError: Math.hypot(estimate.standardError, partition.standardError) });
}
