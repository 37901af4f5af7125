import { ConfigError } from '../errors.js';
import { createSchedule, type Schedule, type ScheduleLike } from './schedules.js';

export type OptimizerKind = 'sgd' | 'momentum' | 'adam' | 'rmsprop';

/**
 * An optimizer as plain JSON. `learningRate` and `momentum` may be schedules of the step;
 * the remaining fields are the tf.train optimizers' own (defaults in brackets):
 * - sgd: learningRate
 * - momentum: learningRate, momentum [0.9], nesterov [false]
 * - adam: learningRate, beta1 [0.9], beta2 [0.999], epsilon [backend epsilon]
 * - rmsprop: learningRate, decay [0.9], momentum [0], epsilon [backend epsilon]
 * Any kind may clip: `clipNorm` caps the global norm of the group's gradients, `clipValue`
 * each element (value clipping runs first when both are set).
 *
 * Any kind may decay weights, after clipping:
 * - `weightDecay` λ adds λ·w to each gradient (L2 regularisation, the "weight cost" of RBM
 *   recipes: Hinton 2010, "A Practical Guide to Training RBMs", sec. 10); with Adam it is
 *   rescaled by the moments like the rest of the gradient.
 * - `decoupledWeightDecay` λ shrinks each weight by w ← w − lr_t·λ·w before the update
 *   (AdamW: Loshchilov & Hutter 2019), independent of the gradient's scale.
 * - `excludeBiasesFromDecay` leaves parameters of rank 0 or 1 (biases, batch-norm scale and
 *   shift) undecayed, as those recipes do. Default false.
 * Every other key is a {@link ConfigError} that lists the valid ones.
 */
export interface OptimizerConfig {
  kind: OptimizerKind;
  learningRate: ScheduleLike;
  momentum?: ScheduleLike;
  nesterov?: boolean;
  beta1?: number;
  beta2?: number;
  epsilon?: number;
  decay?: number;
  clipNorm?: number;
  clipValue?: number;
  weightDecay?: number;
  decoupledWeightDecay?: number;
  excludeBiasesFromDecay?: boolean;
}

/** A validated config with its schedules as functions. */
export interface ResolvedOptimizerConfig {
  kind: OptimizerKind;
  learningRate: Schedule;
  momentum: Schedule;
  nesterov: boolean;
  beta1: number;
  beta2: number;
  epsilon: number | undefined;
  decay: number;
  clipNorm: number | undefined;
  clipValue: number | undefined;
  weightDecay: number;
  decoupledWeightDecay: number;
  excludeBiasesFromDecay: boolean;
}

const KINDS: readonly OptimizerKind[] = ['sgd', 'momentum', 'adam', 'rmsprop'];

/** Which optional fields each kind reads; any other one set is a mistake worth reporting. */
const FIELDS: Record<OptimizerKind, readonly string[]> = {
  sgd: [],
  momentum: ['momentum', 'nesterov'],
  adam: ['beta1', 'beta2', 'epsilon'],
  rmsprop: ['momentum', 'decay', 'epsilon'],
};
const OPTIONAL = ['momentum', 'nesterov', 'beta1', 'beta2', 'epsilon', 'decay'];
/** Keys every kind accepts. */
const COMMON = ['kind', 'learningRate', 'clipNorm', 'clipValue', 'weightDecay', 'decoupledWeightDecay', 'excludeBiasesFromDecay'];

function nonNegative(field: string, value: number | undefined): number {
  if (value === undefined) return 0;
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) {
    throw new ConfigError(field, 'a finite number >= 0', value);
  }
  return value;
}

function inUnitInterval(field: string, value: number | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !(value >= 0 && value < 1)) throw new ConfigError(field, 'a number in [0, 1)', value);
  return value;
}

function positiveOrUndefined(field: string, value: number | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'number' || !Number.isFinite(value) || value <= 0) {
    throw new ConfigError(field, 'a positive finite number', value);
  }
  return value;
}

function booleanOr(field: string, value: unknown, fallback: boolean): boolean {
  if (value === undefined) return fallback;
  if (typeof value !== 'boolean') throw new ConfigError(field, 'a boolean', value);
  return value;
}

/**
 * Checks the value a schedule gives at one step: tf.train takes a negative learning rate (an
 * ascent), an infinite one or a momentum above 1 without a word, and the weights diverge.
 */
export function checkStepHyperparameters(learningRate: number, momentum: number, step: number): void {
  if (!Number.isFinite(learningRate) || learningRate < 0) {
    throw new ConfigError('learningRate', `a finite number >= 0 at every step (step ${step})`, learningRate);
  }
  if (!Number.isFinite(momentum) || momentum < 0 || momentum > 1) {
    throw new ConfigError('momentum', `a number in [0, 1] at every step (step ${step})`, momentum);
  }
}

/** Checks an {@link OptimizerConfig}, throwing {@link ConfigError} naming the first bad field. */
export function resolveOptimizerConfig(config: OptimizerConfig): ResolvedOptimizerConfig {
  if (config === null || typeof config !== 'object' || Array.isArray(config)) throw new ConfigError('optimizer', 'an object { kind, learningRate, ... }', config);
  if (!KINDS.includes(config.kind)) throw new ConfigError('kind', `one of ${KINDS.join(', ')}`, config.kind);
  const valid = [...COMMON, ...FIELDS[config.kind]];
  for (const key of Object.keys(config)) {
    if (!COMMON.includes(key) && !OPTIONAL.includes(key)) {
      throw new ConfigError(key, `a known option; a "${config.kind}" optimizer takes ${valid.join(', ')}`, (config as unknown as Record<string, unknown>)[key]);
    }
  }
  for (const field of OPTIONAL) {
    if ((config as unknown as Record<string, unknown>)[field] !== undefined && !FIELDS[config.kind].includes(field)) {
      const hint = field === 'momentum' && config.kind === 'sgd' ? ' (use kind "momentum")' : '';
      throw new ConfigError(field, `no "${field}" for kind "${config.kind}"${hint}`, (config as unknown as Record<string, unknown>)[field]);
    }
  }
  if (config.learningRate === undefined) throw new ConfigError('learningRate', 'a number or a schedule', undefined);
  const momentumDefault = config.kind === 'momentum' ? 0.9 : 0;
  const resolved: ResolvedOptimizerConfig = {
    kind: config.kind,
    learningRate: createSchedule(config.learningRate, 'learningRate'),
    momentum: createSchedule(config.momentum ?? momentumDefault, 'momentum'),
    nesterov: booleanOr('nesterov', config.nesterov, false),
    beta1: inUnitInterval('beta1', config.beta1, 0.9),
    beta2: inUnitInterval('beta2', config.beta2, 0.999),
    epsilon: positiveOrUndefined('epsilon', config.epsilon),
    decay: inUnitInterval('decay', config.decay, 0.9),
    clipNorm: positiveOrUndefined('clipNorm', config.clipNorm),
    clipValue: positiveOrUndefined('clipValue', config.clipValue),
    weightDecay: nonNegative('weightDecay', config.weightDecay),
    decoupledWeightDecay: nonNegative('decoupledWeightDecay', config.decoupledWeightDecay),
    excludeBiasesFromDecay: booleanOr('excludeBiasesFromDecay', config.excludeBiasesFromDecay, false),
  };
  // The first step's values now; later ones when the optimizer reaches them.
  checkStepHyperparameters(resolved.learningRate(0), resolved.momentum(0), 0);
  return resolved;
}
