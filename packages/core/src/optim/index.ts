// Optimizers bound to parameter groups, schedules of the step, gradient clipping.
export {
  createSchedule,
  scheduleValue,
  type Schedule,
  type ScheduleConfig,
  type ScheduleLike,
} from './schedules.js';
export { clipByGlobalNorm, clipByValue, globalNorm, type GradientSet } from './clipping.js';
export {
  resolveOptimizerConfig,
  type OptimizerConfig,
  type OptimizerKind,
  type ResolvedOptimizerConfig,
} from './config.js';
export {
  createOptimizer,
  ParameterGroupOptimizer,
  STEP_WEIGHT_NAME,
  type NamedGradients,
  type OptimizerWeight,
} from './parameter-group-optimizer.js';
export {
  lossAndGradients,
  lossAndGradientsOf,
  type LossAndGradients,
  type LossWithAux,
  type MinimizeResult,
} from './loss-and-gradients.js';
