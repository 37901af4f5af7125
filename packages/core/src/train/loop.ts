import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, NonFiniteLossError, ShapeError } from '../errors.js';
import type { EpochLogs, Logs, TrainHistory, TrainingCallback, TrainingControl } from './callbacks.js';
import {
  disposeSnapshot,
  resolveKeepLastGood,
  restoreSnapshot,
  takeSnapshot,
  type KeepLastGoodOptions,
  type StateSnapshot,
} from './last-good.js';

export type { KeepLastGoodOptions } from './last-good.js';

/** What a step returns: scalar loss tensors (the loop takes ownership) or numbers, by metric name. */
export type StepLosses = Record<string, tf.Scalar | tf.Tensor | number>;

/** What a step is told about where it is. */
export interface StepContext {
  epoch: number;
  batch: number;
  step: number;
  /** Ends training after this batch (the epoch is closed as usual). */
  stop(reason?: string): void;
}

export interface TrainOptions<B> {
  /** Epoch to end before (exclusive). */
  epochs: number;
  /** Epoch to start at, when resuming from a checkpoint (default 0). */
  initialEpoch?: number;
  /**
   * Steps taken before `initialEpoch` (the `step` a checkpoint saved, see
   * {@link TrainHistory.steps}): the step count, and every schedule of it, continues from here.
   * Required when `initialEpoch > 0`, since the loop cannot know how many batches the earlier
   * epochs had. Default 0.
   */
  initialStep?: number;
  /** The batches of an epoch; called once per epoch so it can reshuffle. */
  batches: (epoch: number) => AsyncIterable<B> | Iterable<B>;
  /**
   * One training step: update the model and return its losses as scalar tensors. Keep it free
   * of dataSync/data(): the loop reads losses back itself, `readEvery` steps at a time.
   */
  step: (batch: B, context: StepContext) => StepLosses | Promise<StepLosses>;
  callbacks?: TrainingCallback[];
  /**
   * Metrics computed after each epoch (e.g. `{ val_loss }`), merged into the epoch logs. Each
   * must be a finite number: NaN or ±Infinity stops training with {@link NonFiniteLossError},
   * as a loss does, rather than feeding early stopping a value no comparison can rank.
   */
  validation?: (epoch: number) => Logs | Promise<Logs>;
  /**
   * Steps between reads of the losses (default 1). Reading back waits for the device; on
   * WebGL/WebGPU reading every few steps keeps the queue full. NaN checks happen on read.
   */
  readEvery?: number;
  /**
   * End at the last finite state instead of the NaN one. At the start of training and at every
   * read-back whose losses are all finite, the loop keeps a device-side copy of these variables
   * and of each optimizer's state (the previous copy is freed); when a loss turns out NaN or
   * infinite it puts the copy back before throwing {@link NonFiniteLossError}, whose
   * `modelState` is then `'restored'` and `restoredStep` the step count of that copy.
   *
   * Cost: one more copy of the parameters and optimizer state in device memory (with Adam,
   * three times the parameters' size: values and two moments), and with `validation` a second
   * one, made at the end of each epoch whose validation metrics are finite: that is the state a
   * non-finite validation metric restores, since the copy at the last read-back is the very
   * state that failed validation. Copies are device-side clones, with no read-back.
   *
   * With `readEvery > 1` the restored state is the one at the last read-back with finite
   * losses, up to `readEvery` steps before the failing one, not the step just before it. Rng
   * state is not kept: an `Rng` cannot be reset in place, so a generator the steps draw from
   * continues where it was. If putting the copy back fails (a disposed optimizer), that error
   * is thrown instead.
   */
  keepLastGood?: KeepLastGoodOptions;
  /** Stops training after the current batch when aborted (history reason `'aborted'`). */
  signal?: AbortSignal;
  /** Dispose the tensors in each batch after its step (default true). */
  disposeBatch?: boolean;
}

interface Pending {
  batch: number;
  step: number;
  losses: StepLosses;
}

function checkInteger(field: string, value: unknown, min: number): number {
  // Safe integers only: past 2^53 a step counter stops counting.
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) {
    throw new ConfigError(field, `an integer >= ${min} (and below 2^53)`, value);
  }
  return value;
}

function disposeLosses(pending: Pending[]): void {
  for (const p of pending) tf.dispose(Object.values(p.losses).filter((v): v is tf.Tensor => v instanceof tf.Tensor));
}

function checkLosses(losses: unknown): asserts losses is StepLosses {
  if (losses === null || typeof losses !== 'object' || Array.isArray(losses) || losses instanceof tf.Tensor) {
    throw new ConfigError('step result', 'an object of named scalar losses, e.g. { loss }', losses);
  }
  for (const [name, value] of Object.entries(losses)) {
    if (name === 'epoch') throw new ConfigError('loss name', 'any name but "epoch" (used by the epoch logs)', name);
    if (value instanceof tf.Tensor) {
      if (value.isDisposed) throw new ConfigError(`loss "${name}"`, 'a live scalar tensor (this one is disposed)', value);
      if (value.dtype !== 'float32' && value.dtype !== 'int32' && value.dtype !== 'bool') throw new ConfigError(`loss "${name}"`, 'a float32, int32 or bool tensor', value);
      if (value.rank !== 0) {
        throw new ShapeError(`loss "${name}"`, [], value.shape, 'return a scalar, e.g. tf.mean(...)');
      }
    } else if (typeof value !== 'number') {
      throw new ConfigError(`loss "${name}"`, 'a scalar tensor or a number', value);
    }
  }
}

/**
 * Reads a group of steps' losses back in one transfer, with `extra` (a scalar) riding along;
 * disposes the tensors.
 */
async function readLosses(pending: Pending[], extra: tf.Scalar | null = null): Promise<{ logs: Logs[]; extra: number | null }> {
  const tensors: tf.Tensor[] = [];
  for (const p of pending) for (const v of Object.values(p.losses)) if (v instanceof tf.Tensor) tensors.push(v);
  if (extra !== null) tensors.push(extra);
  let values: ArrayLike<number> = [];
  try {
    if (tensors.length === 1) values = (await (tensors[0] as tf.Tensor).data()) as ArrayLike<number>;
    else if (tensors.length > 1) {
      // One read per group instead of one per scalar: each read is a device sync on WebGL/WebGPU.
      const packed = tf.tidy(() => tf.stack(tensors.map((t) => (t.dtype === 'float32' ? t : tf.cast(t, 'float32')))));
      try {
        values = (await packed.data()) as ArrayLike<number>;
      } finally {
        packed.dispose();
      }
    }
  } finally {
    tf.dispose(tensors);
  }
  let k = 0;
  const logs = pending.map((p) => {
    const out: Logs = {};
    for (const [name, v] of Object.entries(p.losses)) out[name] = v instanceof tf.Tensor ? (values[k++] as number) : v;
    return out;
  });
  return { logs, extra: extra === null ? null : (values[k] as number) };
}

/** 1 when every float32 variable holds only finite values, else 0; null when there are none. */
function allFinite(variables: readonly tf.Variable[]): tf.Scalar | null {
  const floats = variables.filter((v) => v.dtype === 'float32');
  if (floats.length === 0) return null;
  return tf.tidy(() => tf.cast(tf.all(tf.stack(floats.map((v) => tf.all(tf.isFinite(v))))), 'float32') as tf.Scalar);
}

/**
 * The training loop every Helmholtz model shares. For each epoch it iterates `batches(epoch)`,
 * runs `step`, reads the returned losses back every `readEvery` steps, stops with
 * {@link NonFiniteLossError} if one is NaN or infinite, averages them per epoch, merges
 * `validation` (whose metrics must be finite too), and calls the callbacks (progress, early
 * stopping, checkpoints, events). With `keepLastGood`, a non-finite value leaves the model at
 * its last finite state instead of the one that produced it.
 *
 * Memory: the loop disposes the loss tensors, the copies `keepLastGood` keeps, and (unless
 * `disposeBatch: false`) the batch's tensors, on success and on every error, so a step that
 * keeps its state in variables leaves tf.memory().numTensors unchanged.
 */
export async function train<B>(options: TrainOptions<B>): Promise<TrainHistory> {
  const epochs = checkInteger('epochs', options.epochs, 0);
  const initialEpoch = checkInteger('initialEpoch', options.initialEpoch ?? 0, 0);
  if (initialEpoch > 0 && options.initialStep === undefined) {
    throw new ConfigError(
      'initialStep',
      `the number of steps taken before epoch ${initialEpoch} when resuming (the "step" saved with the checkpoint), so the step count and its schedules continue`,
      undefined,
    );
  }
  const initialStep = checkInteger('initialStep', options.initialStep ?? 0, 0);
  const readEvery = checkInteger('readEvery', options.readEvery ?? 1, 1);
  if (typeof options.batches !== 'function') throw new ConfigError('batches', 'a function (epoch) => iterable', options.batches);
  if (typeof options.step !== 'function') throw new ConfigError('step', 'a function (batch, context) => losses', options.step);
  if (options.validation !== undefined && typeof options.validation !== 'function') {
    throw new ConfigError('validation', 'a function (epoch) => { metric: number }', options.validation);
  }
  const callbacks = options.callbacks ?? [];
  if (!Array.isArray(callbacks)) throw new ConfigError('callbacks', 'an array of callbacks', callbacks);
  callbacks.forEach((cb, i) => {
    if (cb === null || typeof cb !== 'object') throw new ConfigError(`callbacks[${i}]`, 'an object of hooks', cb);
    for (const h of ['onTrainBegin', 'onEpochBegin', 'onBatchEnd', 'onEpochEnd', 'onTrainEnd', 'onTrainError'] as const) {
      if (cb[h] !== undefined && typeof cb[h] !== 'function') throw new ConfigError(`callbacks[${i}].${h}`, 'a function', cb[h]);
    }
  });
  const disposeBatch = options.disposeBatch ?? true;
  if (typeof disposeBatch !== 'boolean') throw new ConfigError('disposeBatch', 'true or false', disposeBatch);
  const { signal } = options;
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || typeof signal.aborted !== 'boolean')) {
    throw new ConfigError('signal', 'an AbortSignal (controller.signal)', signal);
  }
  const keep = options.keepLastGood === undefined ? null : resolveKeepLastGood(options.keepLastGood);

  let stopReason: string | null = null;
  const stop = (reason?: unknown) => {
    if (stopReason === null) stopReason = typeof reason === 'string' && reason !== '' ? reason : 'stop requested';
  };
  let step = initialStep;
  let epochCompleted = false;
  const control: TrainingControl = {
    stop,
    get stopRequested() {
      return stopReason !== null;
    },
    get step() {
      return step;
    },
    get epochCompleted() {
      return epochCompleted;
    },
  };
  const emit = async (call: (cb: TrainingCallback) => void | Promise<void>) => {
    for (const cb of callbacks) await call(cb);
  };

  const history: EpochLogs[] = [];
  let pending: Pending[] = [];
  // The state at the last read-back whose losses were all finite, and (with validation) at the
  // end of the last epoch whose validation metrics were finite.
  let lastRead: StateSnapshot | null = null;
  let lastValidated: StateSnapshot | null = null;
  const replace = async (previous: StateSnapshot | null, state: string) => {
    const next = await takeSnapshot(keep!, step, state);
    disposeSnapshot(previous);
    return next;
  };
  /** Restores the kept state (when there is one) and builds the error that says which. */
  const nonFinite = async (metric: string, value: number, epoch: number, batch: number | null) => {
    const source = batch === null ? 'validation' : 'loss';
    const kept = source === 'validation' ? lastValidated : lastRead;
    if (!kept) return new NonFiniteLossError(metric, value, epoch, batch, { source });
    await restoreSnapshot(kept);
    return new NonFiniteLossError(metric, value, epoch, batch, { source, restored: { step: kept.step, state: kept.state } });
  };
  try {
    await emit((cb) => cb.onTrainBegin?.({ epochs, initialEpoch, initialStep }, control));
    if (keep) {
      // Taken after onTrainBegin, which may load a checkpoint: this is what the first step sees.
      lastRead = await replace(null, 'the start of training, before any read-back with finite losses');
      if (options.validation) lastValidated = await replace(null, 'the start of training, before any epoch with finite validation metrics');
    }
    for (let epoch = initialEpoch; epoch < epochs && stopReason === null; epoch++) {
      if (signal?.aborted) {
        stop('aborted');
        break;
      }
      epochCompleted = false;
      await emit((cb) => cb.onEpochBegin?.(epoch, control));
      const totals = new Map<string, { sum: number; count: number }>();

      const flush = async () => {
        const group = pending;
        pending = [];
        if (group.length === 0) return;
        // A finite loss says the state before its step was finite, not the one after: whether the
        // variables are finite now rides along in the same transfer, and decides the snapshot.
        const { logs: read, extra: variablesFinite } = await readLosses(group, keep ? allFinite(keep.variables) : null);
        for (const [i, p] of group.entries()) {
          const logs = read[i] as Logs;
          for (const [name, value] of Object.entries(logs)) {
            if (!Number.isFinite(value)) throw await nonFinite(name, value, epoch, p.batch);
          }
          for (const [name, value] of Object.entries(logs)) {
            const t = totals.get(name) ?? { sum: 0, count: 0 };
            t.sum += value;
            t.count += 1;
            totals.set(name, t);
          }
          await emit((cb) => cb.onBatchEnd?.({ epoch, batch: p.batch, step: p.step, logs }, control));
        }
        if (keep && variablesFinite !== 0) {
          const last = group[group.length - 1] as Pending;
          lastRead = await replace(lastRead, `the last read-back with finite losses, at epoch ${epoch}, batch ${last.batch}`);
        }
      };

      let batch = 0;
      let cut = false;
      const iterable = options.batches(epoch) as unknown;
      if (iterable === null || (typeof iterable !== 'object' && typeof iterable !== 'string') || (!(Symbol.iterator in Object(iterable)) && !(Symbol.asyncIterator in Object(iterable)))) {
        throw new ConfigError('batches result', 'an iterable or async iterable of batches', iterable);
      }
      for await (const data of iterable as Iterable<B>) {
        let losses: StepLosses;
        try {
          losses = await options.step(data, { epoch, batch, step, stop });
        } finally {
          if (disposeBatch) tf.dispose(data as tf.TensorContainer);
        }
        try {
          checkLosses(losses);
        } catch (error) {
          if (losses !== null && typeof losses === 'object') tf.dispose(losses as tf.TensorContainer);
          throw error;
        }
        pending.push({ batch, step, losses });
        batch++;
        step++;
        if (pending.length >= readEvery) await flush();
        if (signal?.aborted) stop('aborted');
        if (stopReason !== null) {
          cut = true;
          break;
        }
      }
      await flush();
      epochCompleted = !cut;

      const logs: EpochLogs = { epoch };
      for (const [name, t] of totals) logs[name] = t.sum / t.count;
      if (options.validation) {
        const extra: unknown = await options.validation(epoch);
        if (extra === null || typeof extra !== 'object' || Array.isArray(extra) || extra instanceof tf.Tensor) {
          throw new ConfigError('validation result', 'an object of named numbers, e.g. { val_loss: 0.31 }', extra);
        }
        for (const [name, value] of Object.entries(extra)) {
          if (name === 'epoch') continue;
          if (typeof value !== 'number') {
            throw new ConfigError(`validation metric "${name}"`, 'a number (read a tensor back with await t.data())', value);
          }
          if (!Number.isFinite(value)) throw await nonFinite(name, value, epoch, null);
          logs[name] = value;
        }
        if (keep) {
          lastValidated = await replace(lastValidated, `the end of epoch ${epoch}, the last epoch with finite validation metrics`);
        }
      }
      history.push(logs);
      await emit((cb) => cb.onEpochEnd?.(epoch, logs, control));
    }
    const result: TrainHistory = {
      epochs: history,
      stoppedEarly: stopReason !== null,
      reason: stopReason ?? 'completed',
      steps: step,
    };
    await emit((cb) => cb.onTrainEnd?.(result, control));
    return result;
  } catch (error) {
    disposeLosses(pending);
    pending = [];
    for (const cb of callbacks) {
      try {
        await cb.onTrainError?.(error);
      } catch {
        // The original error is the one worth reporting.
      }
    }
    throw error;
  } finally {
    disposeSnapshot(lastRead);
    disposeSnapshot(lastValidated);
  }
}
