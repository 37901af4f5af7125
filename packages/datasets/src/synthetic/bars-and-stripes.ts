import { ConfigError, Rng } from '@helmholtz/core';
import { Dataset } from '../dataset.js';
import { checkCount, checkIntegerAtLeast, checkSeed, syntheticProtocol } from '../checks.js';

export interface BarsAndStripesOptions {
  count: number;
  seed: number;
}

export interface BarsAndStripes {
  /** `count` images, featureShape `[n, n, 1]`, Uint8Array values 0/1. */
  dataset: Dataset;
  /** The 2^(n+1) − 2 distinct valid patterns, each n·n values 0/1 in row-major order. */
  allPatterns: Uint8Array[];
  /** Probability of each distinct pattern under the sampler: 1 / (2^(n+1) − 2). */
  patternProbability: number;
}

// The enumeration holds 2^(n+1) patterns of n² bytes: n = 16 is already 33 MB.
const MAX_SIDE = 16;

/**
 * Every distinct bars-and-stripes pattern of side n: first the 2^n stripe patterns (row i on
 * when bit i of the mask is set, masks ascending), then the bar patterns (column j on when bit j
 * is set) except all-off and all-on, which are both bars and stripes and are listed once.
 */
function enumeratePatterns(n: number): Uint8Array[] {
  const patterns: Uint8Array[] = [];
  const full = 2 ** n - 1;
  for (let mask = 0; mask <= full; mask++) {
    const p = new Uint8Array(n * n);
    for (let i = 0; i < n; i++) if ((mask >>> i) & 1) p.fill(1, i * n, (i + 1) * n);
    patterns.push(p);
  }
  for (let mask = 1; mask < full; mask++) {
    const p = new Uint8Array(n * n);
    for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) p[i * n + j] = (mask >>> j) & 1;
    patterns.push(p);
  }
  return patterns;
}

/**
 * True when `pattern` (n·n values, row-major) is 0/1 and every row is constant (stripes) or
 * every column is constant (bars).
 */
export function isBarsOrStripes(pattern: ArrayLike<number>, n: number): boolean {
  checkIntegerAtLeast('n', n, 1);
  if (pattern.length !== n * n) throw new ConfigError('pattern', `${n * n} values (an ${n}x${n} image)`, `${pattern.length} values`);
  let rowsConstant = true;
  let columnsConstant = true;
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < n; j++) {
      const v = pattern[i * n + j];
      if (v !== 0 && v !== 1) return false;
      if (v !== pattern[i * n]) rowsConstant = false;
      if (v !== pattern[j]) columnsConstant = false;
    }
  }
  return rowsConstant || columnsConstant;
}

/**
 * The bars-and-stripes images of MacKay (2003) used to test small Boltzmann machines and
 * Helmholtz machines: n×n binary images whose rows are all on or all off (stripes) or whose
 * columns are (bars). Samples are uniform over the 2^(n+1) − 2 DISTINCT patterns, so all-off
 * and all-on are as likely as any other pattern. (Sampling "bars or stripes with probability
 * 1/2, then a uniform mask" instead gives those two patterns twice the probability; exact
 * log-likelihoods must use the same convention, hence `patternProbability`.)
 */
export function barsAndStripes(n: number, options: BarsAndStripesOptions): BarsAndStripes {
  checkIntegerAtLeast('n', n, 2);
  if (n > MAX_SIDE) throw new ConfigError('n', `an integer in [2, ${MAX_SIDE}]`, n);
  const count = checkCount(options.count);
  const seed = checkSeed(options.seed);
  const allPatterns = enumeratePatterns(n);
  const rng = new Rng(seed);
  const size = n * n;
  const values = new Uint8Array(count * size);
  for (let k = 0; k < count; k++) values.set(allPatterns[rng.int(allPatterns.length)]!, k * size);
  const dataset = new Dataset({
    name: `bars-and-stripes-${n}x${n}`,
    values,
    featureShape: [n, n, 1],
    protocol: syntheticProtocol(`bars and stripes ${n}x${n}, uniform over ${allPatterns.length} distinct patterns (seed ${seed})`),
  });
  return { dataset, allPatterns, patternProbability: 1 / allPatterns.length };
}
