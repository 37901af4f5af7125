import type { BatchEnd, EpochLogs, TrainBegin, TrainHistory, TrainingCallback } from './callbacks.js';

/** The events {@link eventTargetCallback} dispatches, and the `detail` each carries. */
export interface TrainingEventDetails {
  trainbegin: TrainBegin;
  epochbegin: { epoch: number };
  batchend: BatchEnd;
  epochend: EpochLogs;
  trainend: TrainHistory;
  trainerror: { error: unknown };
}

export type TrainingEventType = keyof TrainingEventDetails;

/**
 * Re-broadcasts the loop as DOM events on `target`, so a page can follow training with
 * `addEventListener('epochend', (e) => chart.push(e.detail))`. Works with any EventTarget
 * (a DOM element, `new EventTarget()`; both are global in browsers and Node 20).
 * Listeners run synchronously inside the loop: keep them short.
 */
export function eventTargetCallback(target: EventTarget): TrainingCallback {
  const send = <K extends TrainingEventType>(type: K, detail: TrainingEventDetails[K]) => {
    target.dispatchEvent(new CustomEvent(type, { detail }));
  };
  return {
    onTrainBegin: (info) => send('trainbegin', info),
    onEpochBegin: (epoch) => send('epochbegin', { epoch }),
    onBatchEnd: (batch) => send('batchend', batch),
    onEpochEnd: (_epoch, logs) => send('epochend', logs),
    onTrainEnd: (history) => send('trainend', history),
    onTrainError: (error) => send('trainerror', { error }),
  };
}
