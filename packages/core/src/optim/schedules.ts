import { ConfigError } from '../errors.js';

/**
 * A hyperparameter (learning rate, momentum) as a function of the optimizer step: the number
 * of updates applied before this one, so the first update sees step 0. Every schedule is
 * plain JSON so it fits in a model's config and a checkpoint.
 */
export type ScheduleConfig =
  | { kind: 'constant'; value: number }
  /** `initial · rate^(step / decaySteps)`; with `staircase`, the exponent is floored. */
  | { kind: 'exponential'; initial: number; decayRate: number; decaySteps: number; staircase?: boolean }
  /** `initial · factor^floor(step / every)`: multiply by `factor` every `every` steps. */
  | { kind: 'step'; initial: number; factor: number; every: number }
  /** `initial / (1 + decayRate · step / decaySteps)`. */
  | { kind: 'inverseTime'; initial: number; decayRate: number; decaySteps?: number }
  /**
   * Straight line from `from` (step 0) to `to` (step `steps`), constant after. The momentum
   * ramp 0.5 → 0.9 of Hinton's "A Practical Guide to Training RBMs" (2010, sec. 9), or a warm-up.
   */
  | { kind: 'linear'; from: number; to: number; steps: number }
  /** Cosine annealing from `initial` to `final` (default 0) over `steps`, constant after (Loshchilov & Hutter 2017). */
  | { kind: 'cosine'; initial: number; steps: number; final?: number }
  /** `values[i]` while `step < boundaries[i]`; `values[boundaries.length]` after the last boundary. */
  | { kind: 'piecewise'; boundaries: number[]; values: number[] };

/** A schedule given as a plain number is constant. */
export type ScheduleLike = number | ScheduleConfig;

/** A schedule's value at a step. */
export type Schedule = (step: number) => number;

function finite(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value)) throw new ConfigError(field, 'a finite number', value);
  return value;
}

function positive(field: string, value: unknown): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(field, 'a positive finite number', value);
  }
  return value;
}

/** The keys each kind reads; another key (a misspelt `stairCase`) would be ignored silently. */
const SCHEDULE_KEYS: Record<ScheduleConfig['kind'], readonly string[]> = {
  constant: ['value'],
  exponential: ['initial', 'decayRate', 'decaySteps', 'staircase'],
  step: ['initial', 'factor', 'every'],
  inverseTime: ['initial', 'decayRate', 'decaySteps'],
  linear: ['from', 'to', 'steps'],
  cosine: ['initial', 'steps', 'final'],
  piecewise: ['boundaries', 'values'],
};

/** Every entry of a list, holes included: forEach would skip a hole and let `undefined` through. */
function finiteList(field: string, list: unknown[]): number[] {
  const out: number[] = [];
  for (let i = 0; i < list.length; i++) out.push(finite(`${field}[${i}]`, list[i]));
  return out;
}

/**
 * Validates a schedule config and returns its value as a pure function of the step.
 * `field` names the config field in error messages (`learningRate`, `momentum`).
 */
export function createSchedule(config: ScheduleLike, field = 'schedule'): Schedule {
  if (typeof config === 'number') {
    const value = finite(field, config);
    return () => value;
  }
  if (config === null || typeof config !== 'object' || Array.isArray(config)) {
    throw new ConfigError(field, 'a number or a schedule config { kind, ... }', config);
  }
  const known = Object.prototype.hasOwnProperty.call(SCHEDULE_KEYS, config.kind)
    ? SCHEDULE_KEYS[config.kind as ScheduleConfig['kind']]
    : undefined;
  if (known) {
    for (const key of Object.keys(config)) {
      if (key !== 'kind' && !known.includes(key)) {
        throw new ConfigError(`${field}.${key}`, `a known option; a "${config.kind}" schedule takes ${known.join(', ')}`, (config as unknown as Record<string, unknown>)[key]);
      }
    }
  }
  switch (config.kind) {
    case 'constant': {
      const value = finite(`${field}.value`, config.value);
      return () => value;
    }
    case 'exponential': {
      const initial = finite(`${field}.initial`, config.initial);
      const rate = positive(`${field}.decayRate`, config.decayRate);
      const steps = positive(`${field}.decaySteps`, config.decaySteps);
      const staircase = config.staircase ?? false;
      if (typeof staircase !== 'boolean') throw new ConfigError(`${field}.staircase`, 'a boolean', staircase);
      return (step) => {
        const p = step / steps;
        return initial * rate ** (staircase ? Math.floor(p) : p);
      };
    }
    case 'step': {
      const initial = finite(`${field}.initial`, config.initial);
      const factor = positive(`${field}.factor`, config.factor);
      const every = positive(`${field}.every`, config.every);
      return (step) => initial * factor ** Math.floor(step / every);
    }
    case 'inverseTime': {
      const initial = finite(`${field}.initial`, config.initial);
      const rate = finite(`${field}.decayRate`, config.decayRate);
      if (rate < 0) throw new ConfigError(`${field}.decayRate`, 'a non-negative number', rate);
      const steps = config.decaySteps === undefined ? 1 : positive(`${field}.decaySteps`, config.decaySteps);
      return (step) => initial / (1 + (rate * step) / steps);
    }
    case 'linear': {
      const from = finite(`${field}.from`, config.from);
      const to = finite(`${field}.to`, config.to);
      const steps = positive(`${field}.steps`, config.steps);
      return (step) => from + (to - from) * Math.min(Math.max(step / steps, 0), 1);
    }
    case 'cosine': {
      const initial = finite(`${field}.initial`, config.initial);
      const final = config.final === undefined ? 0 : finite(`${field}.final`, config.final);
      const steps = positive(`${field}.steps`, config.steps);
      return (step) => {
        const t = Math.min(Math.max(step / steps, 0), 1);
        return final + ((initial - final) * (1 + Math.cos(Math.PI * t))) / 2;
      };
    }
    case 'piecewise': {
      if (!Array.isArray(config.boundaries) || !Array.isArray(config.values) || config.values.length !== config.boundaries.length + 1) {
        throw new ConfigError(`${field}.values`, 'one more value than boundaries', config);
      }
      // Copies: a caller changing its arrays later cannot change the schedule.
      const boundaries = finiteList(`${field}.boundaries`, config.boundaries);
      const values = finiteList(`${field}.values`, config.values);
      boundaries.forEach((b, i) => {
        if (i > 0 && b <= (boundaries[i - 1] as number)) {
          throw new ConfigError(`${field}.boundaries`, 'strictly increasing steps', boundaries);
        }
      });
      return (step) => {
        let i = 0;
        while (i < boundaries.length && step >= (boundaries[i] as number)) i++;
        return values[i] as number;
      };
    }
    default:
      throw new ConfigError(
        `${field}.kind`,
        'one of constant, exponential, step, inverseTime, linear, cosine, piecewise',
        (config as { kind?: unknown }).kind,
      );
  }
}

/** A schedule's value at one step (convenience for {@link createSchedule}). */
export function scheduleValue(config: ScheduleLike, step: number): number {
  if (typeof step !== 'number' || !Number.isFinite(step) || step < 0) throw new ConfigError('step', 'a finite number >= 0', step);
  return createSchedule(config)(step);
}
