import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DataError, logSumExp, ShapeError, toRng, type RngLike, type RngState } from '@helmholtz/core';
import { checkRuns, logMeanExpWithError } from '../partition/ais.js';
import { DEFAULT_MAX_ENUMERATED_UNITS, MAX_ENUMERATED_UNITS } from '../partition/exact.js';
import { inverseTemperatures, type TemperatureSchedule } from '../partition/schedule.js';
import type { DBM } from './dbm.js';
import { evenLayers, layerInput, neighbourInput, oddLayers, type DbmTerms } from './inference.js';

/** Which half of the layers to enumerate: the other half is summed out in closed form. */
export type DbmParity = 'odd' | 'even';

/** Options of {@link dbmExactLogPartition}. */
export interface DbmExactLogPartitionOptions {
  /** The most units it will enumerate (default 25, at most 30). */
  maxUnits?: number;
  /** States per chunk (rounded down to a power of two; default: about 4M floats of work per chunk). */
  chunkSize?: number;
  /** `'auto'` (default): the half (odd or even layers) with fewer units in all. */
  parity?: 'auto' | DbmParity;
}

/** Units in the odd layers (h1, h3, ...) and in the even ones (v, h2, ...). */
export function parityUnits(layers: readonly number[]): Record<DbmParity, number> {
  const top = layers.length - 1;
  const sum = (ls: number[]) => ls.reduce((s, l) => s + (layers[l] as number), 0);
  return { odd: sum(oddLayers(top)), even: sum(evenLayers(top)) };
}

function chunkBits(units: number, otherUnits: number, chunkSize: number | undefined): number {
  if (chunkSize !== undefined) {
    if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new ConfigError('chunkSize', 'a positive integer number of states per chunk', chunkSize);
    return Math.min(units, Math.floor(Math.log2(chunkSize)));
  }
  return Math.min(units, 16, Math.max(0, Math.floor(Math.log2(2 ** 22 / Math.max(1, otherUnits + units)))));
}

/**
 * The rows of chunk `c` of every state of `units` bits: the low `bits` bits enumerated, the high
 * ones fixed to the bits of c (least significant first). `[2^bits, units]`.
 */
function chunkStates(units: number, bits: number, c: number): tf.Tensor2D {
  return tf.tidy(() => {
    const rows = 2 ** bits;
    const parts: tf.Tensor2D[] = [];
    if (bits > 0) {
      const codes = tf.expandDims(tf.range(0, rows, 1, 'int32'), 1);
      const powers = tf.tensor1d(Array.from({ length: bits }, (_, i) => 2 ** i), 'int32');
      parts.push(tf.cast(tf.mod(tf.floorDiv(codes, powers), 2), 'float32') as tf.Tensor2D);
    }
    if (units > bits) {
      const high = Array.from({ length: units - bits }, (_, i) => Math.floor(c / 2 ** i) % 2);
      parts.push(tf.tile(tf.tensor2d([high], [1, units - bits]), [rows, 1]) as tf.Tensor2D);
    }
    return (parts.length === 1 ? parts[0] : tf.concat(parts, 1)) as tf.Tensor2D;
  });
}

/**
 * log f(x_S) = Σ_{l∈S} b_lᵀ x_l + Σ_{l∉S} Σ_j softplus(b_l + input from x_S)_j per row, the
 * unnormalised marginal of the layers S of one parity (the others summed out: given S they are
 * independent). `states` holds the layers of S at their indices (the others are not read).
 */
export function parityLogMarginal(terms: DbmTerms, states: readonly tf.Tensor2D[], parity: DbmParity): tf.Tensor1D {
  const top = terms.biases.length - 1;
  const kept = parity === 'odd' ? oddLayers(top) : evenLayers(top);
  const summed = parity === 'odd' ? evenLayers(top) : oddLayers(top);
  let total: tf.Tensor1D | null = null;
  const add = (t: tf.Tensor1D) => (total = total === null ? t : (tf.add(total, t) as tf.Tensor1D));
  for (const l of kept) add(tf.sum(tf.mul(states[l] as tf.Tensor2D, terms.biases[l] as tf.Tensor1D), 1) as tf.Tensor1D);
  for (const l of summed) add(tf.sum(tf.softplus(layerInput(terms, states, l)), 1) as tf.Tensor1D);
  return total as unknown as tf.Tensor1D;
}

/**
 * The exact log partition function of a small DBM: every state of one half of the layers (odd
 * or even, the one with fewer units) is enumerated and the other half summed out in closed form,
 * log Z = log Σ_{x_S} exp(log f(x_S)) (see {@link parityLogMarginal}). For [v, h1, h2] that is
 * 2^{h1} states, or 2^{v + h2}. States are made in chunks; each chunk's log-sum-exp is taken in
 * float32 with its maximum subtracted and the chunks are combined in float64.
 */
export async function dbmExactLogPartition(dbm: DBM, options: DbmExactLogPartitionOptions = {}): Promise<number> {
  if (options === null || typeof options !== 'object') throw new ConfigError('exact options', 'an object { maxUnits?, chunkSize?, parity? }', options);
  const maxUnits = options.maxUnits ?? DEFAULT_MAX_ENUMERATED_UNITS;
  if (!Number.isInteger(maxUnits) || maxUnits < 1 || maxUnits > MAX_ENUMERATED_UNITS) {
    throw new ConfigError('maxUnits', `an integer from 1 to ${MAX_ENUMERATED_UNITS} (default ${DEFAULT_MAX_ENUMERATED_UNITS})`, maxUnits);
  }
  const counts = parityUnits(dbm.layers);
  const choice = options.parity ?? 'auto';
  if (choice !== 'auto' && choice !== 'odd' && choice !== 'even') throw new ConfigError('parity', "'auto', 'odd' or 'even'", choice);
  const parity: DbmParity = choice === 'auto' ? (counts.odd <= counts.even ? 'odd' : 'even') : choice;
  const units = counts[parity];
  if (units > maxUnits) {
    throw new ConfigError(
      'dbmExactLogPartition',
      `a DBM with at most ${maxUnits} units in its ${parity} layers (this one, [${dbm.layers.join(', ')}], would need 2^${units} states). ` +
        'Use dbmAis(dbm, { baseRateFrom: data }) for log Z, or raise maxUnits (up to 30) if you can wait',
      `${units} ${parity}-layer units`,
    );
  }
  const top = dbm.depth;
  const kept = parity === 'odd' ? oddLayers(top) : evenLayers(top);
  const bits = chunkBits(units, counts[parity === 'odd' ? 'even' : 'odd'], options.chunkSize);
  const chunks = 2 ** (units - bits);
  const biases = dbm.effectiveBiases();
  const terms: DbmTerms = { weights: dbm.params.weights, biases };
  let max = -Infinity;
  let sum = 0;
  try {
    for (let c = 0; c < chunks; c++) {
      const lse = tf.tidy(() => {
        const all = chunkStates(units, bits, c);
        const rows = all.shape[0];
        const states: tf.Tensor2D[] = dbm.layers.map(() => tf.zeros([rows, 0]) as tf.Tensor2D);
        let at = 0;
        for (const l of kept) {
          const size = dbm.layers[l] as number;
          states[l] = tf.slice(all, [0, at], [rows, size]);
          at += size;
        }
        return logSumExp(parityLogMarginal(terms, states, parity), 0);
      });
      const value = (await lse.data())[0] as number;
      lse.dispose();
      if (Number.isNaN(value) || value === Infinity) throw new ConfigError('dbm parameters', 'finite weights and biases (a state’s marginal came out NaN or infinite)', value);
      if (value === -Infinity) continue;
      if (value > max) {
        sum = sum * Math.exp(max - value) + 1;
        max = value;
      } else {
        sum += Math.exp(value - max);
      }
    }
  } finally {
    tf.dispose(biases);
  }
  return max + Math.log(sum);
}

/** Options of {@link dbmAis}. */
export interface DbmAisOptions {
  /**
   * The inverse temperatures: a count (default 14,500 in Salakhutdinov & Murray's three
   * segments) or a list from 0 to 1, increasing strictly.
   */
  temperatures?: TemperatureSchedule;
  /** Independent annealing runs, advanced together as one batch (default 100). */
  runs?: number;
  /** Binary data for the base model's visible biases (smoothed pixel log-odds); without it they are 0. */
  baseRateFrom?: tf.Tensor2D;
  /** Pseudo-count of the base rates (default 1). */
  baseRateSmoothing?: number;
  /** Seed or generator of every draw (default seed 0). */
  rng?: RngLike;
  /** Called every 100 temperatures with (done, total). */
  onProgress?: (done: number, total: number) => void;
}

/** What {@link dbmAis} found. Plain data. */
export interface DbmAisResult {
  /** The estimate of log Z: log Z_A + log mean_r w_r (underestimates log Z in expectation). */
  logZ: number;
  /** Delta-method standard error of `logZ` over the runs (Infinity with one run). */
  standardError: number;
  /** log w_r of each run, summed in float64. */
  logWeights: Float64Array;
  /** log Z_A of the base model. */
  logZBase: number;
  /** (Σ w)² / Σ w²: far below `runs` means the schedule is too short. */
  effectiveSampleSize: number;
  temperatures: number;
  schedule: string;
  runs: number;
  seed: number | RngState;
}

/** Smoothed visible log-odds of `data` (Salakhutdinov & Murray 2008, sec. 4.2), or zeros. */
async function baseRates(dbm: DBM, data: tf.Tensor2D | undefined, smoothing: number): Promise<tf.Tensor1D> {
  if (typeof smoothing !== 'number' || !Number.isFinite(smoothing) || smoothing <= 0) throw new ConfigError('baseRateSmoothing', 'a pseudo-count > 0 (default 1)', smoothing);
  if (data === undefined) return tf.zeros([dbm.visible]);
  if (!(data instanceof tf.Tensor) || data.rank !== 2 || data.shape[1] !== dbm.visible || data.shape[0] === 0) {
    throw new ShapeError('baseRateFrom', [null, dbm.visible], data instanceof tf.Tensor ? data.shape : [], 'at least one binary example');
  }
  const n = data.shape[0];
  const [range, means] = tf.tidy(() => [tf.stack([tf.min(data), tf.max(data)]), tf.mean(data, 0)]);
  const [low, high] = await range.data();
  range.dispose();
  if (!(low! >= 0 && high! <= 1)) {
    means.dispose();
    throw new DataError('baseRateFrom', `expected values in [0, 1] (binary data or probabilities), got values from ${low} to ${high}`);
  }
  return tf.tidy(() => {
    const p = tf.div(tf.add(tf.mul(means, n), smoothing), n + 2 * smoothing);
    means.dispose();
    return tf.sub(tf.log(p), tf.log1p(tf.neg(p))) as tf.Tensor1D;
  });
}

/** Steps whose increments are summed on the device before a block is set aside. */
const BLOCK = 100;

/**
 * Annealed importance sampling of a DBM's log partition function, as Salakhutdinov & Hinton
 * (2009, sec. 3.2) ran it: the intermediate models scale every weight by β and move the biases
 * from a base model's, E_β(x) = −Σ_l (a_l + β(b_l − a_l))ᵀx_l − β Σ_l x_lᵀ W_l x_{l+1}, from
 * β = 0 (independent units: base-rate visible biases a_0 from data, hidden biases 0, so
 * Z_A = Π(1 + e^{a_0}) 2^{h1 + ... + hL}) to β = 1 (the DBM). The odd layers are summed out
 * analytically, as they did with h1: each run's state is its even layers (v, h2, ...), its
 * weight collects the ratios of the marginals f*_β(x_even) (see {@link parityLogMarginal}), and
 * its transition at β is the odd-even block Gibbs sweep of the tempered model, which leaves
 * f*_β invariant. E[w] = Z / Z_A, so log Z is underestimated in expectation (Jensen).
 *
 * All runs are one batch; per temperature one tidy of a few matMuls, softplus differences and
 * Bernoulli draws; increments are summed on the device in float32 in blocks of 100 temperatures
 * and the blocks in float64, read back once at the end.
 */
export async function dbmAis(dbm: DBM, options: DbmAisOptions = {}): Promise<DbmAisResult> {
  if (options === null || typeof options !== 'object') throw new ConfigError('ais options', 'an object { temperatures?, runs?, baseRateFrom?, rng? }', options);
  const schedule = inverseTemperatures(options.temperatures);
  const runs = checkRuns('runs', options.runs, 100);
  const rng = toRng(options.rng);
  const seed = typeof options.rng === 'number' ? options.rng : options.rng === undefined ? 0 : rng.state();
  const top = dbm.depth;
  const odd = oddLayers(top);
  const even = evenLayers(top);
  const visibleBase = await baseRates(dbm, options.baseRateFrom, options.baseRateSmoothing ?? 1);
  // a_l (base biases) and d_l = b_l − a_l (their drift) per layer.
  const path = tf.tidy(() => {
    const effective = dbm.effectiveBiases();
    const base = dbm.layers.map((size, l) => (l === 0 ? tf.clone(visibleBase) : (tf.zeros([size]) as tf.Tensor1D)));
    const drift = effective.map((b, l) => tf.sub(b, base[l] as tf.Tensor1D) as tf.Tensor1D);
    return { base, drift, logZVisible: tf.sum(tf.softplus(visibleBase)) };
  });
  visibleBase.dispose();
  const logZVisible = (await path.logZVisible.data())[0] as number;
  path.logZVisible.dispose();
  const hiddenUnits = dbm.layers.slice(1).reduce((s, n) => s + n, 0);
  const logZBase = logZVisible + hiddenUnits * Math.LN2;
  const weights = dbm.params.weights;
  const K = schedule.betas.length - 1;

  // Even layers from the base model (odd ones are placeholders: they are summed out).
  let state: tf.Tensor2D[] = tf.tidy(() =>
    dbm.layers.map((size, l) => (l % 2 === 0 ? rng.bernoulli(tf.sigmoid(tf.tile(tf.reshape(path.base[l] as tf.Tensor1D, [1, size]), [runs, 1]))) : tf.zeros([runs, 0]))) as tf.Tensor2D[],
  );
  let running: tf.Tensor1D | null = null;
  const blocks: tf.Tensor1D[] = [];
  try {
    for (let k = 1; k <= K; k++) {
      const a = schedule.betas[k - 1] as number;
      const b = schedule.betas[k] as number;
      const step = tf.tidy(() => {
        // log f*_b(x) − log f*_a(x) at the current even state, then the transition at b.
        let increment: tf.Tensor1D = tf.zeros([runs]);
        for (const l of even) {
          increment = tf.add(increment, tf.mul(tf.sum(tf.mul(state[l] as tf.Tensor2D, path.drift[l] as tf.Tensor1D), 1), b - a)) as tf.Tensor1D;
        }
        const next = [...state];
        for (const l of odd) {
          const c = tf.add(neighbourInput(weights, state, l), path.drift[l] as tf.Tensor1D);
          const atB = tf.add(tf.mul(c, b), path.base[l] as tf.Tensor1D);
          const atA = tf.add(tf.mul(c, a), path.base[l] as tf.Tensor1D);
          increment = tf.add(increment, tf.sum(tf.sub(tf.softplus(atB), tf.softplus(atA)), 1)) as tf.Tensor1D;
          if (k < K) next[l] = rng.bernoulli(tf.sigmoid(atB)) as tf.Tensor2D;
        }
        if (k < K) {
          for (const l of even) {
            const input = tf.add(tf.mul(tf.add(neighbourInput(weights, next, l), path.drift[l] as tf.Tensor1D), b), path.base[l] as tf.Tensor1D);
            next[l] = rng.bernoulli(tf.sigmoid(input)) as tf.Tensor2D;
          }
          // Odd samples were only needed for this sweep: the state is the even layers.
          for (const l of odd) next[l] = tf.zeros([runs, 0]);
        }
        const total = running === null ? increment : (tf.add(running, increment) as tf.Tensor1D);
        return { total, next: k < K ? next : state };
      });
      if (running !== null) running.dispose();
      running = step.total;
      if (step.next !== state) {
        tf.dispose(state);
        state = step.next;
      }
      if (k % BLOCK === 0 || k === K) {
        blocks.push(running);
        running = null;
        options.onProgress?.(k, K);
        await new Promise<void>((resolve) => (typeof setImmediate === 'function' ? setImmediate(resolve) : setTimeout(resolve, 0)));
      }
    }
    const stacked = tf.stack(blocks);
    const values = await stacked.data();
    stacked.dispose();
    const logWeights = new Float64Array(runs);
    for (let i = 0; i < values.length; i++) logWeights[i % runs] = (logWeights[i % runs] as number) + (values[i] as number);
    for (let r = 0; r < runs; r++) {
      if (Number.isNaN(logWeights[r])) throw new ConfigError('dbm parameters', 'finite weights and biases (an AIS log-weight came out NaN)', logWeights[r]);
    }
    const { value, standardError, effectiveSampleSize } = logMeanExpWithError(logWeights);
    return {
      logZ: logZBase + value,
      standardError,
      logWeights,
      logZBase,
      effectiveSampleSize,
      temperatures: schedule.betas.length,
      schedule: schedule.source,
      runs,
      seed,
    };
  } finally {
    tf.dispose(state);
    if (running !== null) running.dispose();
    tf.dispose(blocks);
    tf.dispose([...path.base, ...path.drift]);
  }
}
