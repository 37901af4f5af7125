// The training loop shared by every model, and its browser-safe callbacks.
export { train, type KeepLastGoodOptions, type StepContext, type StepLosses, type TrainOptions } from './loop.js';
export type {
  BatchEnd,
  EpochLogs,
  Logs,
  TrainBegin,
  TrainHistory,
  TrainingCallback,
  TrainingControl,
} from './callbacks.js';
export { earlyStopping, type EarlyStopping, type EarlyStoppingOptions } from './early-stopping.js';
export { checkpointEvery, type CheckpointEveryOptions } from './checkpoint-every.js';
export { eventTargetCallback, type TrainingEventDetails, type TrainingEventType } from './event-target.js';
export { formatLogs } from './format-logs.js';
