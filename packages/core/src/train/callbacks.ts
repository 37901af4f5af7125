/** Metric values by name, read back from the device: `{ loss: 0.31, kl: 0.02 }`. */
export type Logs = Record<string, number>;

/** One epoch's record: the mean of each metric over the epoch's batches, plus validation metrics. */
export interface EpochLogs {
  /** 0-based. */
  epoch: number;
  [metric: string]: number;
}

/** What the loop reports after a batch's losses have been read back. */
export interface BatchEnd {
  /** 0-based epoch. */
  epoch: number;
  /** 0-based index of the batch in its epoch. */
  batch: number;
  /** 0-based index of the step over the whole run. */
  step: number;
  logs: Logs;
}

/** What the loop reports when training starts. */
export interface TrainBegin {
  /** Epoch the loop ends before (exclusive). */
  epochs: number;
  /** Epoch the loop starts at (0 unless resuming). */
  initialEpoch: number;
  /** Step the loop starts counting from (0 unless resuming). */
  initialStep: number;
}

/** The record `train` returns. */
export interface TrainHistory {
  epochs: EpochLogs[];
  /** Whether a callback, a step or the abort signal stopped training before its last epoch ended. */
  stoppedEarly: boolean;
  /** `'completed'`, or the reason given to `stop()` (`'aborted'` for the abort signal). */
  reason: string;
  /** Steps taken in all, counting from `initialStep`: the `initialStep` to resume with. */
  steps: number;
}

/**
 * Lets callbacks stop training: the current epoch is closed (flushed, logged; see `epochCompleted`)
 * and no other starts.
 */
export interface TrainingControl {
  stop(reason?: string): void;
  readonly stopRequested: boolean;
  /** Steps taken so far over the whole run, counting from `initialStep` (save it with a checkpoint). */
  readonly step: number;
  /**
   * In `onEpochEnd`: whether the epoch ran all its batches. False when a stop or an abort cut it
   * short; such an epoch is logged but must not be checkpointed as done, since resuming at the
   * next epoch would skip its remaining batches (`checkpointEvery` skips it).
   */
  readonly epochCompleted: boolean;
}

type MaybePromise = void | Promise<void>;

/**
 * Hooks into the training loop, each optional and each may be async (the loop awaits it).
 * Callbacks run in the order given. `onBatchEnd` runs when losses are read back, which with
 * `readEvery > 1` is up to `readEvery - 1` batches after the step, but always in batch order.
 */
export interface TrainingCallback {
  onTrainBegin?(info: TrainBegin, control: TrainingControl): MaybePromise;
  onEpochBegin?(epoch: number, control: TrainingControl): MaybePromise;
  onBatchEnd?(batch: BatchEnd, control: TrainingControl): MaybePromise;
  onEpochEnd?(epoch: number, logs: EpochLogs, control: TrainingControl): MaybePromise;
  onTrainEnd?(history: TrainHistory, control: TrainingControl): MaybePromise;
  /**
   * Training threw (a NaN loss or validation metric, a failing step): release resources such as
   * a progress bar. With `keepLastGood`, the model is already back at its last finite state.
   */
  onTrainError?(error: unknown): MaybePromise;
}
