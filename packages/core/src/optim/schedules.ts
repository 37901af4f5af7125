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

/**
 * Validates a schedule config and returns its value as a pure function of the step.
 * `field` names the config field in error messages (`learningRate`, `momentum`).
 */
export function createSchedule(config: ScheduleLike, field = 'schedule'): Schedule {
  if (typeof config === 'number') {
    const value = finite(field, config);
    return () => value;
  }
  if (config === null || typeof config !== 'object') {
    throw new ConfigError(field, 'a number or a schedule config { kind, ... }', config);
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
      const staircase = config.staircase === true;
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
      const { boundaries, values } = config;
      if (!Array.isArray(boundaries) || !Array.isArray(values) || values.length !== boundaries.length + 1) {
        throw new ConfigError(`${field}.values`, 'one more value than boundaries', config);
      }
      boundaries.forEach((b, i) => {
        finite(`${field}.boundaries[${i}]`, b);
        if (i > 0 && b <= (boundaries[i - 1] as number)) {
          throw new ConfigError(`${field}.boundaries`, 'strictly increasing steps', boundaries);
        }
      });
      values.forEach((v, i) => finite(`${field}.values[${i}]`, v));
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
  return createSchedule(config)(step);
}
