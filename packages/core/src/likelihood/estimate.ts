import type { JsonValue } from '../checkpoint/format.js';
import { ConfigError } from '../errors.js';

/**
 * What a likelihood number is with respect to the true mean log p(x):
 * - `exact`: computed without approximation (an RBM small enough to enumerate, NADE, MADE);
 * - `lower-bound`: at most the true value, possibly only in expectation ("stochastic" bounds):
 *   the ELBO, IWAE (Burda et al. 2016), AIS on a directed model's p(x) (Wu et al. 2017), RAISE on
 *   an MRF (Burda et al. 2015);
 * - `upper-bound`: at least the true value, possibly only in expectation: AIS on an MRF such as an
 *   RBM, whose log Z is underestimated in expectation, so −F(x) − log Z is overestimated;
 * - `stochastic-estimate`: an estimate whose error may go either way (Parzen windows, Breuleux
 *   et al. 2010; a consistent estimator far from convergence).
 */
export type LikelihoodKind = 'exact' | 'lower-bound' | 'upper-bound' | 'stochastic-estimate';

export const LIKELIHOOD_KINDS: readonly LikelihoodKind[] = ['exact', 'lower-bound', 'upper-bound', 'stochastic-estimate'];

/** The methods Helmholtz reports; any other name is allowed and compared as a string. */
export type LikelihoodMethod = 'exact' | 'ais' | 'raise' | 'iwae' | 'elbo' | 'parzen' | (string & {});

/**
 * How a likelihood was measured, so that two numbers are compared only when they measure the
 * same thing: the same data, split, binarization and examples (Theis et al. 2016 on why
 * generative models' likelihoods are easy to compare wrongly). Plain JSON.
 */
export interface LikelihoodProtocol {
  /** The data set, e.g. `'mnist'`, `'fashion-mnist'`. */
  dataset: string;
  /** The split evaluated, e.g. `'test'`. */
  split: string;
  /**
   * How intensities became binary: `'dynamic'`, `'fixed-stochastic (Salakhutdinov & Murray 2008)'`,
   * `'threshold 0.5'`, or `'none (real-valued)'`. Compared verbatim: spell it the same everywhere.
   */
  binarization: string;
  /** Number of examples averaged over. */
  examples: number;
  /** How the number was computed: `'exact'`, `'ais'`, `'raise'`, `'iwae'`, `'elbo'`, `'parzen'`, ... */
  method: LikelihoodMethod;
  /** Importance samples per example (IWAE's k) or samples drawn (Parzen). */
  samples?: number;
  /** Intermediate distributions of an AIS or RAISE run. */
  temperatures?: number;
  /** Independent AIS or RAISE chains. */
  chains?: number;
  /** Anything else worth keeping (schedule, seed, bandwidth, checkpoint): free-form JSON. */
  details?: { [key: string]: JsonValue };
}

/** A confidence interval for the value: `level` is its coverage, e.g. 0.95. */
export interface LikelihoodInterval {
  low: number;
  high: number;
  level: number;
}

/**
 * A log-likelihood result as every model and the evaluation report give it: the mean log p(x)
 * over the protocol's examples, in nats per example, with what kind of number it is and how
 * it was measured. Plain JSON: it goes into a checkpoint's metadata or a report as it is.
 */
export interface LikelihoodEstimate {
  /** Mean log p(x) over the examples, in nats (negative for discrete data). */
  value: number;
  kind: LikelihoodKind;
  /**
   * Standard error of `value`: the spread over examples (sample sd / √n, see
   * {@link likelihoodFromPerExample}), the estimator's own noise, or both; `details` can say which.
   */
  standardError?: number;
  interval?: LikelihoodInterval;
  protocol: LikelihoodProtocol;
}

const ESTIMATE_KEYS = ['value', 'kind', 'standardError', 'interval', 'protocol'];
const PROTOCOL_KEYS = ['dataset', 'split', 'binarization', 'examples', 'method', 'samples', 'temperatures', 'chains', 'details'];
const INTERVAL_KEYS = ['low', 'high', 'level'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function rejectUnknownKeys(field: string, value: Record<string, unknown>, known: readonly string[]): void {
  const unknown = Object.keys(value).filter((k) => !known.includes(k));
  if (unknown.length > 0) {
    throw new ConfigError(`${field}.${unknown[0]}`, `one of the known fields (${known.join(', ')})`, value[unknown[0] as string]);
  }
}

function finite(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ConfigError(field, 'a finite number', value);
  return value;
}

function positiveInteger(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value <= 0) throw new ConfigError(field, 'a positive integer', value);
  return value;
}

function nonEmptyString(field: string, value: unknown): string {
  if (typeof value !== 'string' || value.trim() === '') throw new ConfigError(field, 'a non-empty string', value);
  return value;
}

/** Checks that `value` survives JSON.stringify/parse unchanged: no undefined, functions, NaN or classes. */
function checkJson(field: string, value: unknown): void {
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return;
  if (typeof value === 'number') {
    if (!Number.isFinite(value)) throw new ConfigError(field, 'plain JSON (finite numbers only)', value);
    return;
  }
  if (Array.isArray(value)) {
    value.forEach((v, i) => checkJson(`${field}[${i}]`, v));
    return;
  }
  if (isRecord(value) && Object.getPrototypeOf(value) === Object.prototype) {
    for (const [k, v] of Object.entries(value)) checkJson(`${field}.${k}`, v);
    return;
  }
  throw new ConfigError(field, 'plain JSON (null, boolean, finite number, string, array or plain object)', value);
}

function validateProtocol(raw: unknown): LikelihoodProtocol {
  if (!isRecord(raw)) throw new ConfigError('protocol', 'an object with dataset, split, binarization, examples and method', raw);
  rejectUnknownKeys('protocol', raw, PROTOCOL_KEYS);
  const protocol: LikelihoodProtocol = {
    dataset: nonEmptyString('protocol.dataset', raw.dataset),
    split: nonEmptyString('protocol.split', raw.split),
    binarization: nonEmptyString('protocol.binarization', raw.binarization),
    examples: positiveInteger('protocol.examples', raw.examples),
    method: nonEmptyString('protocol.method', raw.method),
  };
  for (const key of ['samples', 'temperatures', 'chains'] as const) {
    if (raw[key] !== undefined) protocol[key] = positiveInteger(`protocol.${key}`, raw[key]);
  }
  if (raw.details !== undefined) {
    if (!isRecord(raw.details)) throw new ConfigError('protocol.details', 'a plain JSON object', raw.details);
    checkJson('protocol.details', raw.details);
    protocol.details = JSON.parse(JSON.stringify(raw.details)) as { [key: string]: JsonValue };
  }
  return protocol;
}

/**
 * Builds a {@link LikelihoodEstimate} from plain fields, checking each one and throwing a
 * {@link ConfigError} that names the first bad field: a finite value, a known kind, a
 * non-negative finite standard error, an interval with low ≤ value ≤ high and a level in (0, 1),
 * a protocol with non-empty strings and a positive integer count of examples (and of samples,
 * temperatures or chains where given), JSON-only details, and no unknown fields (a misspelt
 * `standardErorr` would otherwise vanish from a report). Returns a fresh copy without undefined
 * fields, ready for JSON.
 */
export function likelihoodEstimate(fields: LikelihoodEstimate): LikelihoodEstimate {
  const raw: unknown = fields;
  if (!isRecord(raw)) throw new ConfigError('likelihood estimate', 'an object with value, kind and protocol', raw);
  rejectUnknownKeys('likelihood estimate', raw, ESTIMATE_KEYS);
  const value = finite('value', raw.value);
  if (!LIKELIHOOD_KINDS.includes(raw.kind as LikelihoodKind)) {
    throw new ConfigError('kind', `one of ${LIKELIHOOD_KINDS.map((k) => `'${k}'`).join(', ')}`, raw.kind);
  }
  const estimate: LikelihoodEstimate = { value, kind: raw.kind as LikelihoodKind, protocol: validateProtocol(raw.protocol) };
  if (raw.standardError !== undefined) {
    const se = finite('standardError', raw.standardError);
    if (se < 0) throw new ConfigError('standardError', 'a non-negative number', se);
    estimate.standardError = se;
  }
  if (raw.interval !== undefined) {
    const interval = raw.interval;
    if (!isRecord(interval)) throw new ConfigError('interval', 'an object { low, high, level }', interval);
    rejectUnknownKeys('interval', interval, INTERVAL_KEYS);
    const low = finite('interval.low', interval.low);
    const high = finite('interval.high', interval.high);
    const level = finite('interval.level', interval.level);
    if (!(level > 0 && level < 1)) throw new ConfigError('interval.level', 'a coverage strictly between 0 and 1, e.g. 0.95', level);
    // An interval is for the quantity `value` estimates, whatever the kind (a bound's interval is
    // the bound's sampling interval), so the point estimate lies inside it.
    if (!(low <= value && value <= high)) {
      throw new ConfigError('interval', `low ≤ value ≤ high (value ${value})`, { low, high, level });
    }
    estimate.interval = { low, high, level };
  }
  return estimate;
}

/** Options of {@link likelihoodFromPerExample}. */
export interface LikelihoodFromPerExampleOptions {
  kind: LikelihoodKind;
  /** The protocol; `examples` may be left out (it is the number of values) but must match if given. */
  protocol: Omit<LikelihoodProtocol, 'examples'> & { examples?: number };
}

/**
 * A {@link LikelihoodEstimate} from per-example log-likelihoods (nats): the value is their mean,
 * the standard error their sample standard deviation (divisor n − 1) over √n, the uncertainty
 * that comes from the finite test set (and from per-example estimator noise, which it includes).
 * With one example there is no standard error. Read tensors first (`await t.data()`).
 */
export function likelihoodFromPerExample(values: ArrayLike<number>, options: LikelihoodFromPerExampleOptions): LikelihoodEstimate {
  const n = values.length;
  if (!(n > 0)) throw new ConfigError('values', 'at least one per-example log-likelihood', n);
  const given = options.protocol.examples;
  if (given !== undefined && given !== n) {
    throw new ConfigError('protocol.examples', `the number of values (${n}) or nothing`, given);
  }
  let sum = 0;
  for (let i = 0; i < n; i++) sum += finite(`values[${i}]`, values[i]);
  const mean = sum / n;
  let squares = 0;
  for (let i = 0; i < n; i++) squares += ((values[i] as number) - mean) ** 2;
  const fields: LikelihoodEstimate = { value: mean, kind: options.kind, protocol: { ...options.protocol, examples: n } };
  if (n > 1) fields.standardError = Math.sqrt(squares / (n - 1) / n);
  return likelihoodEstimate(fields);
}

const KIND_WORDS: Record<LikelihoodKind, string> = {
  exact: 'exact',
  'lower-bound': 'lower bound',
  'upper-bound': 'upper bound',
  'stochastic-estimate': 'stochastic estimate',
};

/** `binarization` as a phrase: "dynamic binarization", "not binarized (real-valued)". */
function binarizationPhrase(binarization: string): string {
  const text = binarization.trim();
  if (/^none\b/i.test(text)) return `not binarized${text.slice(4)}`;
  return `${text} binarization`;
}

function methodPhrase(p: LikelihoodProtocol): string {
  const parts = [p.method];
  if (p.samples !== undefined) parts.push(`k=${p.samples}`);
  if (p.chains !== undefined) parts.push(`${p.chains} chains`);
  if (p.temperatures !== undefined) parts.push(`${p.temperatures} temperatures`);
  return parts.join(' ');
}

/**
 * A one-line summary for logs and tables, e.g.
 * `-84.55 ± 0.21 nats (lower bound, iwae k=5000, mnist test, dynamic binarization, 10000 examples)`.
 * `digits` sets the decimals of the value and error (default 2); an interval follows as
 * `[low, high] 95%`.
 */
export function formatLikelihood(e: LikelihoodEstimate, digits = 2): string {
  const p = e.protocol;
  const se = e.standardError !== undefined ? ` ± ${e.standardError.toFixed(digits)}` : '';
  const interval = e.interval
    ? ` [${e.interval.low.toFixed(digits)}, ${e.interval.high.toFixed(digits)}] ${+(e.interval.level * 100).toFixed(1)}%`
    : '';
  const context = [KIND_WORDS[e.kind], methodPhrase(p), `${p.dataset} ${p.split}`, binarizationPhrase(p.binarization), `${p.examples} examples`];
  return `${e.value.toFixed(digits)}${se} nats${interval} (${context.join(', ')})`;
}
