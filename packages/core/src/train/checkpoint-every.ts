import { ConfigError } from '../errors.js';
import type { EpochLogs, TrainHistory, TrainingCallback } from './callbacks.js';

export interface CheckpointEveryOptions {
  /** Save after every `epochs`-th epoch: epochs n-1, 2n-1, ... (0-based). */
  epochs: number;
  /**
   * Writes the checkpoint; supplied by the caller (core's checkpoint module, or anything else).
   * `progress.step` is the number of steps taken so far: save it (e.g. as `metadata.step`) and
   * pass it back as `initialStep` with `initialEpoch: epoch + 1` to resume.
   */
  save: (epoch: number, logs: EpochLogs, progress: { step: number }) => Promise<void> | void;
  /** Also save after the last epoch that ran, if it ran whole and was not saved already (default false). */
  atEnd?: boolean;
}

/**
 * Periodic checkpoints: calls `save` every `epochs` epochs, awaited before training goes on.
 * An epoch cut short by a stop or an abort is not saved: its checkpoint would claim the epoch
 * done, and a resume at the next epoch would skip the batches it did not run. The last
 * checkpoint is then the last whole epoch, and resuming from it repeats the cut one.
 */
export function checkpointEvery(options: CheckpointEveryOptions): TrainingCallback {
  if (options === null || typeof options !== 'object') throw new ConfigError('checkpointEvery options', 'an object { epochs, save, atEnd? }', options);
  const { epochs: every, save, atEnd = false } = options;
  if (!Number.isSafeInteger(every) || every < 1) throw new ConfigError('checkpointEvery.epochs', 'an integer >= 1 (and below 2^53)', every);
  if (typeof save !== 'function') throw new ConfigError('checkpointEvery.save', 'a function (epoch, logs) => Promise', save);
  let lastSaved = -1;
  let lastCompleted = -1;
  return {
    onTrainBegin() {
      lastSaved = -1;
      lastCompleted = -1;
    },
    async onEpochEnd(epoch, logs, control) {
      if (!control.epochCompleted) return;
      lastCompleted = epoch;
      if ((epoch + 1) % every !== 0) return;
      await save(epoch, logs, { step: control.step });
      lastSaved = epoch;
    },
    async onTrainEnd(history: TrainHistory) {
      const last = history.epochs[history.epochs.length - 1];
      if (atEnd && last && last.epoch === lastCompleted && last.epoch !== lastSaved) {
        await save(last.epoch, last, { step: history.steps });
        lastSaved = last.epoch;
      }
    },
  };
}
