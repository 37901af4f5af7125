import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  likelihoodEstimate,
  likelihoodFromPerExample,
  toRng,
  type LikelihoodEstimate,
  type LikelihoodKind,
  type LikelihoodOptions,
} from '@helmholtz/core';
import { positiveInteger, rejectUnknownKeys } from '../rbm/config.js';
import { DEFAULT_MAX_ENUMERATED_UNITS } from '../partition/exact.js';
import { checkBinaryData } from '../partition/free-energy.js';
import type { DBM, MeanFieldOptions } from './dbm.js';
import { bernoulliEntropy, jointEnergy, type DbmTerms } from './inference.js';
import { dbmAis, dbmExactLogPartition, parityUnits, type DbmAisOptions, type DbmExactLogPartitionOptions } from './partition.js';

/** Options of {@link DBM.logLikelihood}. */
export interface DbmLikelihoodOptions extends LikelihoodOptions {
  /**
   * Where log Z comes from: `'exact'` (enumeration of the smaller half of the layers; the
   * default when it has at most 25 units), `'ais'` (annealed importance sampling on the DBM;
   * the default otherwise), or a number you trust as exact.
   */
  partition?: 'exact' | 'ais' | number;
  /** Options of {@link dbmExactLogPartition}. */
  exact?: DbmExactLogPartitionOptions;
  /** Options of {@link dbmAis} (its `rng` comes from this call's; base rates default to `x`). */
  ais?: Omit<DbmAisOptions, 'rng'>;
  /** Options of the mean-field inference of each example (default: tolerance 1e-5, at most 100 sweeps). */
  meanField?: MeanFieldOptions;
  /** Examples per chunk, bounding memory (default 1000). */
  chunkSize?: number;
}

const OPTION_KEYS = ['data', 'rng', 'partition', 'exact', 'ais', 'meanField', 'chunkSize'];

/** log Z of a DBM and where it came from. */
export interface DbmPartition {
  logZ: number;
  standardError: number;
  source: 'exact' | 'ais' | 'given';
  temperatures?: number;
  runs?: number;
}

/**
 * Per example, the mean-field variational bound without log Z:
 *   E_q[−E(x, h)] + H(q) = −E(x, μ) + Σ_l H(μ_l),
 * the expectation being the energy at the means since E is linear in each layer and q factorises.
 * Returns `[n]` and the largest final mean-field residual of the chunk.
 */
export function unnormalizedBound(dbm: DBM, x: tf.Tensor2D, options: MeanFieldOptions = {}): { values: tf.Tensor1D; residual: number } {
  const { layers, residual } = dbm.meanField(x, options);
  const values = tf.tidy(() => {
    const terms: DbmTerms = dbm.terms();
    const negativeEnergy = tf.neg(jointEnergy(terms, [x, ...layers]));
    return layers.reduce((total: tf.Tensor1D, mu) => tf.add(total, bernoulliEntropy(mu)) as tf.Tensor1D, negativeEnergy as tf.Tensor1D);
  });
  tf.dispose(layers);
  return { values, residual };
}

/** log Z by the method the options ask for (or the default for the DBM's size). */
export async function dbmLogPartition(dbm: DBM, x: tf.Tensor2D | undefined, options: Pick<DbmLikelihoodOptions, 'partition' | 'exact' | 'ais' | 'rng'>): Promise<DbmPartition> {
  const partition = options.partition;
  if (typeof partition === 'number') {
    if (!Number.isFinite(partition)) throw new ConfigError('partition', 'a finite log Z of the DBM', partition);
    return { logZ: partition, standardError: 0, source: 'given' };
  }
  let method = partition;
  if (method === undefined) {
    const counts = parityUnits(dbm.layers);
    method = Math.min(counts.odd, counts.even) <= (options.exact?.maxUnits ?? DEFAULT_MAX_ENUMERATED_UNITS) ? 'exact' : 'ais';
  }
  if (method === 'exact') return { logZ: await dbmExactLogPartition(dbm, options.exact ?? {}), standardError: 0, source: 'exact' };
  if (method !== 'ais') throw new ConfigError('partition', "'exact', 'ais' or a number (log Z of the DBM)", partition);
  const aisOptions: DbmAisOptions = { ...(options.ais ?? {}), rng: toRng(options.rng).split() };
  if (aisOptions.baseRateFrom === undefined && x !== undefined) aisOptions.baseRateFrom = x;
  const result = await dbmAis(dbm, aisOptions);
  return { logZ: result.logZ, standardError: result.standardError, source: 'ais', temperatures: result.temperatures, runs: result.runs };
}

/**
 * The mean over the rows of `x` (binary) of the variational lower bound on log p(x) that
 * Salakhutdinov & Hinton (2009, sec. 3.2) report for DBMs:
 *   log p(x) ≥ E_q[−E(x, h)] + H(q) − log Z,
 * q being the mean-field posterior (see `DBM.meanField`).
 *
 * `x` must be binary (a DataError otherwise): binarize first and name the scheme in
 * `options.data.binarization`.
 *
 * The kind of the result: `'lower-bound'` when log Z is exact (enumerated, or given): every
 * example's value is at most its log p(x), whether or not mean field reached its fixed point
 * (any factorial q gives a lower bound; the fixed point gives a tighter one).
 * With AIS it is `'stochastic-estimate'`: AIS underestimates log Z in expectation, which pushes
 * the number up, so it is no longer a bound of either side (the same convention as the DBN's).
 * The standard error is the spread over examples, with the AIS error of log Z added in
 * quadrature. `protocol.details` holds log Z, its method and the largest mean-field residual.
 */
export async function dbmLogLikelihoodBound(dbm: DBM, x: tf.Tensor2D, options: DbmLikelihoodOptions): Promise<LikelihoodEstimate> {
  if (options === null || typeof options !== 'object') throw new ConfigError('logLikelihood options', 'an object { data, rng?, partition?, ... }', options);
  rejectUnknownKeys('logLikelihood options', options, OPTION_KEYS);
  if (options.data === null || typeof options.data !== 'object') {
    throw new ConfigError('logLikelihood options.data', 'the data protocol { dataset, split, binarization }', options.data);
  }
  dbm.checkLayer(x, 0, 'logLikelihood x');
  const n = x.shape[0];
  if (n === 0) throw new ConfigError('logLikelihood x', 'at least one example', x.shape);
  const chunkSize = positiveInteger('chunkSize', options.chunkSize ?? 1000);
  // A bound on log p(x) of grey levels is a number about no distribution: refuse it before AIS runs.
  await checkBinaryData(x, 'dbm logLikelihood x');
  const partition = await dbmLogPartition(dbm, x, options);
  const perExample = new Float64Array(n);
  let residual = 0;
  for (let start = 0; start < n; start += chunkSize) {
    const rows = Math.min(chunkSize, n - start);
    const chunk = tf.slice(x, [start, 0], [rows, dbm.visible]);
    try {
      const bound = unnormalizedBound(dbm, chunk, options.meanField ?? {});
      residual = Math.max(residual, bound.residual);
      const values = await bound.values.data();
      bound.values.dispose();
      for (let r = 0; r < rows; r++) perExample[start + r] = (values[r] as number) - partition.logZ;
    } finally {
      chunk.dispose();
    }
  }
  const kind: LikelihoodKind = partition.source === 'ais' ? 'stochastic-estimate' : 'lower-bound';
  const estimate = likelihoodFromPerExample(perExample, {
    kind,
    protocol: {
      ...options.data,
      method: 'dbm-variational-bound',
      ...(partition.temperatures !== undefined ? { temperatures: partition.temperatures } : {}),
      ...(partition.runs !== undefined ? { chains: partition.runs } : {}),
      details: {
        layers: [...dbm.layers],
        centering: dbm.centered,
        bound: 'mean-field: E_q[-E(x,h)] + H(q) - log Z',
        logZ: partition.logZ,
        logZMethod: partition.source,
        ...(partition.source === 'ais' && Number.isFinite(partition.standardError) ? { logZStandardError: partition.standardError } : {}),
        meanFieldResidual: residual,
        standardError: partition.source === 'ais' ? 'spread over examples and the AIS error of log Z, in quadrature' : 'spread over examples',
      },
    },
  });
  if (partition.source !== 'ais' || estimate.standardError === undefined || !Number.isFinite(partition.standardError)) return estimate;
  return likelihoodEstimate({ ...estimate, standardError: Math.hypot(estimate.standardError, partition.standardError) });
}
