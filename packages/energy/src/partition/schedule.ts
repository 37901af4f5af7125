import { ConfigError } from '@helmholtz/core';

/** Number of inverse temperatures of the default schedule (Salakhutdinov & Murray 2008). */
export const DEFAULT_TEMPERATURE_COUNT = 14_500;

/** How {@link annealedImportanceSampling} and {@link raise} anneal: a count, or the inverse temperatures themselves. */
export type TemperatureSchedule = number | readonly number[] | Float64Array | Float32Array;

/** A validated schedule: float32-exact inverse temperatures from 0 to 1, and how they were chosen. */
export interface InverseTemperatures {
  betas: Float64Array;
  /** `'salakhutdinov-murray-2008'` (the default), `'salakhutdinov-murray-2008 proportions'` (a count) or `'custom'`. */
  source: string;
}

// The three segments of Salakhutdinov & Murray (2008, sec. 4.2): 500 in [0, 0.5), 4,000 in
// [0.5, 0.9) and 10,000 in [0.9, 1]; most of the temperatures go where p_k changes fastest.
const SEGMENTS = [
  { from: 0, to: 0.5, share: 500 },
  { from: 0.5, to: 0.9, share: 4000 },
  { from: 0.9, to: 1, share: 10_000 },
] as const;

/**
 * `count` inverse temperatures from 0 to 1 in the proportions of Salakhutdinov & Murray's
 * schedule (exactly theirs for 14,500): the first two segments are half-open, the last one
 * closed, so the list starts at 0, ends at 1 and never repeats a value.
 */
function segmentedSchedule(count: number): Float64Array {
  if (count === 2) return Float64Array.of(0, 1);
  const total = SEGMENTS.reduce((s, g) => s + g.share, 0);
  const first = Math.max(1, Math.round((count * SEGMENTS[0].share) / total));
  const second = Math.max(1, Math.round((count * SEGMENTS[1].share) / total));
  const third = count - first - second;
  const out = new Float64Array(count);
  let at = 0;
  for (let i = 0; i < first; i++) out[at++] = SEGMENTS[0].from + (i * (SEGMENTS[0].to - SEGMENTS[0].from)) / first;
  for (let i = 0; i < second; i++) out[at++] = SEGMENTS[1].from + (i * (SEGMENTS[1].to - SEGMENTS[1].from)) / second;
  if (third === 1) out[at++] = 1;
  else for (let i = 0; i < third; i++) out[at++] = SEGMENTS[2].from + (i * (SEGMENTS[2].to - SEGMENTS[2].from)) / (third - 1);
  out[count - 1] = 1;
  return out;
}

/**
 * Checks and expands a schedule. A count (≥ 2, default 14,500) gives Salakhutdinov & Murray's
 * segments; an explicit list must start at 0, end at 1 and increase strictly.
 *
 * Every β is rounded to float32 here, once: the backends multiply by float32 scalars, and AIS
 * stays exact (unbiased for Z) only if the β that ends one step's weight is the very β of the
 * next step's weight and of the transition between them. Distinct doubles that round to the
 * same float32 are rejected: they would be a step of zero width, which says the list is finer
 * than float32 can follow.
 */
export function inverseTemperatures(schedule: TemperatureSchedule = DEFAULT_TEMPERATURE_COUNT, field = 'temperatures'): InverseTemperatures {
  let betas: Float64Array;
  let source: string;
  if (typeof schedule === 'number') {
    if (!Number.isInteger(schedule) || schedule < 2 || schedule > 10_000_000) {
      throw new ConfigError(field, 'a number of inverse temperatures, an integer from 2 to 10,000,000 (default 14,500), or a list from 0 to 1', schedule);
    }
    betas = segmentedSchedule(schedule);
    source = schedule === DEFAULT_TEMPERATURE_COUNT ? 'salakhutdinov-murray-2008' : 'salakhutdinov-murray-2008 proportions';
  } else if (Array.isArray(schedule) || schedule instanceof Float64Array || schedule instanceof Float32Array) {
    const list = schedule as ArrayLike<number>;
    if (list.length < 2) throw new ConfigError(field, 'at least two inverse temperatures, from 0 to 1', schedule);
    betas = Float64Array.from(list);
    source = 'custom';
  } else {
    throw new ConfigError(field, 'a count of inverse temperatures or a list of them from 0 to 1', schedule);
  }
  const out = new Float64Array(betas.length);
  for (let i = 0; i < betas.length; i++) {
    const b = betas[i] as number;
    if (!Number.isFinite(b) || b < 0 || b > 1) throw new ConfigError(`${field}[${i}]`, 'a finite inverse temperature in [0, 1]', b);
    out[i] = Math.fround(b);
    if (i > 0 && !((out[i] as number) > (out[i - 1] as number))) {
      throw new ConfigError(
        `${field}[${i}]`,
        `an inverse temperature above the previous one (${betas[i - 1]}), by more than float32's resolution: the list must increase strictly`,
        b,
      );
    }
  }
  if (out[0] !== 0) throw new ConfigError(`${field}[0]`, '0 (the base model)', betas[0]);
  if (out[out.length - 1] !== 1) throw new ConfigError(`${field}[${out.length - 1}]`, '1 (the model itself)', betas[out.length - 1]);
  return { betas: out, source };
}

/** Plain-JSON summary of a schedule for a likelihood's protocol details. */
export function scheduleSummary(t: InverseTemperatures): { schedule: string; temperatures: number } {
  return { schedule: t.source, temperatures: t.betas.length };
}
