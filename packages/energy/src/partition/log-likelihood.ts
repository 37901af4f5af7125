import * as tf from '@tensorflow/tfjs-core';
import {
  ConfigError,
  likelihoodEstimate,
  likelihoodFromPerExample,
  ShapeError,
  type LikelihoodEstimate,
  type LikelihoodOptions,
  type LikelihoodProtocol,
} from '@helmholtz/core';
import type { RestrictedBoltzmannMachine } from '../rbm/rbm.js';
import { annealedImportanceSampling, type AisResult } from './ais.js';
import { DEFAULT_MAX_ENUMERATED_UNITS, enumerableLayer, exactLogPartition } from './exact.js';
import { checkBinaryData, negativeFreeEnergies } from './free-energy.js';
import { raise, type RaiseResult } from './raise.js';
import type { TemperatureSchedule } from './schedule.js';

/** How {@link rbmLogLikelihood} computes log Z or the likelihood. */
export type RbmLikelihoodMethod = 'auto' | 'exact' | 'ais' | 'raise';

/**
 * Options of {@link rbmLogLikelihood} and `RestrictedBoltzmannMachine.logLikelihood`: core's
 * `LikelihoodOptions` (`data` names the dataset, split and binarization; `rng` seeds AIS/RAISE)
 * plus the method's own. Options a method does not use are ignored, as the contract allows.
 */
export interface RbmLikelihoodOptions extends LikelihoodOptions {
  /** `'auto'` (default): exact when the smaller enumerable layer has at most `maxUnits` units, else AIS. */
  method?: RbmLikelihoodMethod;
  /** AIS/RAISE inverse temperatures: a count (default 14,500) or a list from 0 to 1. */
  temperatures?: TemperatureSchedule;
  /** AIS runs (default 100). */
  runs?: number;
  /** RAISE chains per example (default 10). */
  chains?: number;
  /** Data for the base-rate model (default: `x` itself; any data gives a valid AIS estimate, but pass the training data for RAISE numbers you report: see `RaiseOptions.baseRateFrom`). */
  baseRateFrom?: tf.Tensor2D;
  baseRateSmoothing?: number;
  /** Exact: states per chunk. */
  chunkSize?: number;
  /** Exact: the largest layer enumerated (default 25), also the threshold of `'auto'`. */
  maxUnits?: number;
  /** Examples per free-energy or RAISE batch. */
  batchSize?: number;
}

/** The lower and upper stochastic bounds of {@link likelihoodSandwich}, with the runs behind them. */
export interface LikelihoodSandwich {
  /** RAISE: kind `'lower-bound'`, method `'raise'`. */
  lower: LikelihoodEstimate;
  /** Forward AIS: kind `'upper-bound'`, method `'ais'`. */
  upper: LikelihoodEstimate;
  ais: AisResult;
  raise: RaiseResult;
}

const METHODS: readonly RbmLikelihoodMethod[] = ['auto', 'exact', 'ais', 'raise'];

function checkData(options: LikelihoodOptions | undefined): LikelihoodOptions['data'] {
  const data = options?.data as unknown;
  if (data === null || typeof data !== 'object') {
    throw new ConfigError('options.data', "{ dataset, split, binarization } naming what x is, e.g. { dataset: 'mnist', split: 'test', binarization: 'fixed-stochastic' }", data);
  }
  const { dataset, split, binarization } = data as LikelihoodOptions['data'];
  return { dataset, split, binarization };
}

async function checkInput(rbm: RestrictedBoltzmannMachine, x: tf.Tensor2D, what: string): Promise<void> {
  rbm.checkVisible(x, what);
  if (x.shape[0] === 0) throw new ShapeError(what, [null, rbm.visible], x.shape, 'at least one example');
  if (rbm.binaryVisible) await checkBinaryData(x, what);
}

function seedDetail(seed: AisResult['seed']): { seed: number } | { rngState: (number | null)[] } {
  return typeof seed === 'number' ? { seed } : { rngState: [...seed] };
}

function baseRateDetail(options: RbmLikelihoodOptions): string {
  return options.baseRateFrom !== undefined ? 'options.baseRateFrom' : 'the evaluated data';
}

/** The AIS estimate −F(x) − log Z_AIS, its kind given: 'stochastic-estimate' alone, 'upper-bound' in a sandwich. */
function aisEstimate(
  negF: Float64Array,
  run: AisResult,
  kind: 'stochastic-estimate' | 'upper-bound',
  protocol: Omit<LikelihoodProtocol, 'examples' | 'method'>,
  options: RbmLikelihoodOptions,
): LikelihoodEstimate {
  const perExample = Float64Array.from(negF, (f) => f - run.logZ);
  const spread = likelihoodFromPerExample(perExample, { kind, protocol: { ...protocol, method: 'ais' } });
  const examplesError = spread.standardError ?? 0;
  // Two independent sources: the finite test set, and the AIS run's noise in log Z, which shifts
  // every example's value by the same amount.
  const standardError = Math.hypot(examplesError, run.standardError);
  return likelihoodEstimate({
    value: spread.value,
    kind,
    ...(Number.isFinite(standardError) ? { standardError } : {}),
    protocol: {
      ...spread.protocol,
      temperatures: run.temperatures,
      chains: run.runs,
      details: {
        ...(protocol.details ?? {}),
        schedule: run.schedule,
        ...seedDetail(run.seed),
        logZ: run.logZ,
        ...(Number.isFinite(run.standardError) ? { logZStandardError: run.standardError } : {}),
        logZBase: run.logZBase,
        effectiveSampleSize: run.effectiveSampleSize,
        standardErrorExamples: examplesError,
        baseRateFrom: baseRateDetail(options),
      },
    },
  });
}

function raiseEstimate(run: RaiseResult, protocol: Omit<LikelihoodProtocol, 'examples' | 'method'>, options: RbmLikelihoodOptions): LikelihoodEstimate {
  const estimate = likelihoodFromPerExample(run.perExample, {
    kind: 'lower-bound',
    protocol: {
      ...protocol,
      method: 'raise',
      temperatures: run.temperatures,
      chains: run.chains,
      details: {
        ...(protocol.details ?? {}),
        schedule: run.schedule,
        ...seedDetail(run.seed),
        ...(Number.isFinite(run.chainStandardError) ? { chainStandardError: run.chainStandardError } : {}),
        logZBase: run.logZBase,
        baseRateFrom: baseRateDetail(options),
      },
    },
  });
  return estimate;
}

function aisOptions(options: RbmLikelihoodOptions, x: tf.Tensor2D) {
  return {
    ...(options.temperatures !== undefined ? { temperatures: options.temperatures } : {}),
    ...(options.runs !== undefined ? { runs: options.runs } : {}),
    ...(options.baseRateSmoothing !== undefined ? { baseRateSmoothing: options.baseRateSmoothing } : {}),
    ...(options.rng !== undefined ? { rng: options.rng } : {}),
    baseRateFrom: options.baseRateFrom ?? x,
  };
}

function raiseOptions(options: RbmLikelihoodOptions, x: tf.Tensor2D) {
  return {
    ...(options.temperatures !== undefined ? { temperatures: options.temperatures } : {}),
    ...(options.chains !== undefined ? { chains: options.chains } : {}),
    ...(options.batchSize !== undefined ? { batchSize: options.batchSize } : {}),
    ...(options.baseRateSmoothing !== undefined ? { baseRateSmoothing: options.baseRateSmoothing } : {}),
    ...(options.rng !== undefined ? { rng: options.rng } : {}),
    baseRateFrom: options.baseRateFrom ?? x,
  };
}

/**
 * The mean log-likelihood of the rows of `x` under an RBM, as core's `LikelihoodEstimate`:
 * - `'exact'`: log Z by enumeration (`exactLogPartition`); kind `'exact'`, standard error over examples;
 * - `'ais'`: log Z by forward AIS; kind `'stochastic-estimate'`. AIS underestimates log Z in
 *   expectation (Jensen on an unbiased Z), so this number OVERestimates log p in expectation;
 *   its standard error combines the spread over examples and AIS's own error in log Z;
 * - `'raise'`: RAISE per example; kind `'lower-bound'` (stochastic);
 * - `'auto'` (default): exact when the enumerable layer has at most `maxUnits` (25) units, else AIS.
 *
 * The protocol records `options.data`, the method, temperatures and chains (AIS runs or RAISE
 * chains per example), and in `details` the schedule, the seed, log Z and its error.
 * For a stochastic lower and upper bound together, see {@link likelihoodSandwich}.
 */
export async function rbmLogLikelihood(rbm: RestrictedBoltzmannMachine, x: tf.Tensor2D, options: RbmLikelihoodOptions): Promise<LikelihoodEstimate> {
  const data = checkData(options);
  const method = options.method ?? 'auto';
  if (!METHODS.includes(method)) throw new ConfigError('method', `one of ${METHODS.map((m) => `'${m}'`).join(', ')}`, method);
  await checkInput(rbm, x, 'logLikelihood x');
  const maxUnits = options.maxUnits ?? DEFAULT_MAX_ENUMERATED_UNITS;
  let chosen = method;
  if (method === 'auto') {
    const layer = enumerableLayer(rbm);
    chosen = (layer === 'hidden' ? rbm.hidden : rbm.visible) <= maxUnits ? 'exact' : 'ais';
  }
  const protocol = { ...data };
  if (chosen === 'raise') return raiseEstimate(await raise(rbm, x, raiseOptions(options, x)), protocol, options);
  const negF = await negativeFreeEnergies(rbm, x, options.batchSize);
  if (chosen === 'ais') {
    const run = await annealedImportanceSampling(rbm, aisOptions(options, x));
    return aisEstimate(negF, run, 'stochastic-estimate', protocol, options);
  }
  const logZ = await exactLogPartition(rbm, {
    ...(options.chunkSize !== undefined ? { chunkSize: options.chunkSize } : {}),
    maxUnits,
  });
  return likelihoodFromPerExample(
    Float64Array.from(negF, (f) => f - logZ),
    { kind: 'exact', protocol: { ...protocol, method: 'exact', details: { logZ, layer: enumerableLayer(rbm) } } },
  );
}

/**
 * A stochastic lower and upper bound on the mean log-likelihood of `x` (Burda, Grosse &
 * Salakhutdinov 2015): RAISE from each example gives the lower one, forward AIS on log Z the
 * upper one (−F(x) − log Ẑ with log Ẑ ≤ log Z in expectation). Both use the same schedule and
 * base-rate model; when they nearly meet, the schedule was long enough and the value is known
 * to within their gap. `options.method` is ignored.
 */
export async function likelihoodSandwich(
  rbm: RestrictedBoltzmannMachine,
  x: tf.Tensor2D,
  options: RbmLikelihoodOptions,
): Promise<LikelihoodSandwich> {
  const data = checkData(options);
  await checkInput(rbm, x, 'likelihoodSandwich x');
  const negF = await negativeFreeEnergies(rbm, x, options.batchSize);
  const aisRun = await annealedImportanceSampling(rbm, aisOptions(options, x));
  const raiseRun = await raise(rbm, x, raiseOptions(options, x));
  return {
    lower: raiseEstimate(raiseRun, { ...data }, options),
    upper: aisEstimate(negF, aisRun, 'upper-bound', { ...data }, options),
    ais: aisRun,
    raise: raiseRun,
  };
}
