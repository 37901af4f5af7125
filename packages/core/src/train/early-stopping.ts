import { ConfigError } from '../errors.js';
import type { EpochLogs, TrainingCallback, TrainingControl } from './callbacks.js';

export interface EarlyStoppingOptions {
  /** Epoch metric to watch (default `'loss'`; `'val_loss'` with a validation hook). */
  monitor?: string;
  /** Consecutive epochs without improvement after which training stops (default 0, which acts like 1). */
  patience?: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** Whether smaller (`'min'`, default) or larger values are better. */
  mode?: 'min' | 'max';
}

/** The early-stopping callback, with what it has seen (e.g. to reload the best checkpoint). */
export interface EarlyStopping extends TrainingCallback {
  /** Best value of the monitored metric so far (±Infinity before the first epoch). */
  readonly best: number;
  /** Epoch of the best value (-1 before the first epoch). */
  readonly bestEpoch: number;
}

/**
 * Stops training after `patience` epochs in a row in which `monitor` did not improve on its
 * best by more than `minDelta` (the rule of Keras's EarlyStopping and Lightning's). The state
 * resets at each training start.
 */
export function earlyStopping(options: EarlyStoppingOptions = {}): EarlyStopping {
  if (options === null || typeof options !== 'object') throw new ConfigError('earlyStopping options', 'an object', options);
  const monitor = options.monitor ?? 'loss';
  const patience = options.patience ?? 0;
  const minDelta = options.minDelta ?? 0;
  const mode = options.mode ?? 'min';
  if (typeof monitor !== 'string' || monitor === '') throw new ConfigError('monitor', 'a metric name', monitor);
  if (!Number.isSafeInteger(patience) || patience < 0) throw new ConfigError('patience', 'an integer >= 0 (and below 2^53)', patience);
  if (!Number.isFinite(minDelta) || minDelta < 0) throw new ConfigError('minDelta', 'a number >= 0', minDelta);
  if (mode !== 'min' && mode !== 'max') throw new ConfigError('mode', '"min" or "max"', mode);
  const sign = mode === 'min' ? 1 : -1;

  let best = sign * Infinity;
  let bestEpoch = -1;
  let wait = 0;
  return {
    get best() {
      return best;
    },
    get bestEpoch() {
      return bestEpoch;
    },
    onTrainBegin() {
      best = sign * Infinity;
      bestEpoch = -1;
      wait = 0;
    },
    onEpochEnd(epoch: number, logs: EpochLogs, control: TrainingControl) {
      const value = Object.hasOwn(logs, monitor) ? logs[monitor] : undefined;
      if (value === undefined) {
        const known = Object.keys(logs).filter((k) => k !== 'epoch');
        throw new ConfigError('monitor', `a metric in the epoch logs (${known.join(', ')})`, monitor);
      }
      // In "min" mode an improvement is value < best - minDelta; "max" mirrors it.
      if (sign * value < sign * best - minDelta) {
        best = value;
        bestEpoch = epoch;
        wait = 0;
        return;
      }
      wait += 1;
      if (wait >= patience) {
        control.stop(
          `early stopping: "${monitor}" did not improve on ${Number(best.toPrecision(6))} (epoch ${bestEpoch}) for ${wait} epochs`,
        );
      }
    },
  };
}
