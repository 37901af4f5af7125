import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  checkpointEvery,
  ConfigError,
  earlyStopping,
  type EpochLogs,
  eventTargetCallback,
  formatLogs,
  train,
} from '../../src/index.js';
import { useBackend } from '../../src/testing.js';

// The callbacks do not depend on the backend: the loop is covered on every backend in loop.test.ts.
beforeAll(() => useBackend('cpu'));

/** One batch per epoch whose loss is `perEpoch[epoch]`. */
function scriptedRun(perEpoch: number[]) {
  return {
    epochs: perEpoch.length,
    batches: () => [0],
    step: (_: number, ctx: { epoch: number }) => ({ loss: tf.scalar(perEpoch[ctx.epoch] as number) }),
  };
}

describe('earlyStopping', () => {
  it('stops after `patience` epochs without improvement, at the right epoch', async () => {
    const stopper = earlyStopping({ monitor: 'loss', patience: 2 });
    // Best 3 at epoch 2; epochs 3 and 4 do not improve on it.
    const history = await train({ ...scriptedRun([5, 4, 3, 3.5, 3.2, 1, 0.5]), callbacks: [stopper] });
    expect(history.epochs.map((e) => e.epoch)).toEqual([0, 1, 2, 3, 4]);
    expect(history.stoppedEarly).toBe(true);
    expect(history.reason).toMatch(/early stopping: "loss" did not improve on 3 \(epoch 2\) for 2 epochs/);
    expect(stopper.best).toBe(3);
    expect(stopper.bestEpoch).toBe(2);
  });

  it('counts only improvements larger than minDelta, and maximises in "max" mode', async () => {
    const byDelta = await train({
      ...scriptedRun([1, 0.95, 0.91, 0.5]),
      callbacks: [earlyStopping({ patience: 2, minDelta: 0.1 })],
    });
    expect(byDelta.epochs).toHaveLength(3);
    const maximise = earlyStopping({ monitor: 'loss', mode: 'max', patience: 1 });
    const up = await train({ ...scriptedRun([0.1, 0.5, 0.4, 0.9]), callbacks: [maximise] });
    expect(up.epochs).toHaveLength(3);
    expect(maximise.best).toBe(0.5);
  });

  it('monitors validation metrics, and resets between runs', async () => {
    const stopper = earlyStopping({ monitor: 'val_loss', patience: 1 });
    const run = () =>
      train({ ...scriptedRun([1, 1, 1, 1]), validation: (e) => ({ val_loss: [3, 2, 2.5, 1][e] as number }), callbacks: [stopper] });
    expect((await run()).epochs).toHaveLength(3);
    expect((await run()).epochs).toHaveLength(3);
  });

  it('a metric missing from the logs is a ConfigError listing the ones there', async () => {
    await expect(train({ ...scriptedRun([1]), callbacks: [earlyStopping({ monitor: 'val_loss' })] })).rejects.toThrow(
      /"monitor".*\(loss\)/,
    );
    expect(() => earlyStopping({ patience: -1 })).toThrow(ConfigError);
  });
});

describe('checkpointEvery', () => {
  it('saves after every n-th epoch, awaited, and at the end when asked', async () => {
    const saved: [number, number][] = [];
    const save = async (epoch: number, logs: EpochLogs) => {
      await new Promise((r) => setTimeout(r, 1));
      saved.push([epoch, logs.loss as number]);
    };
    await train({ ...scriptedRun([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), callbacks: [checkpointEvery({ epochs: 3, save })] });
    expect(saved).toEqual([
      [2, 2],
      [5, 5],
      [8, 8],
    ]);
    saved.length = 0;
    await train({ ...scriptedRun([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]), callbacks: [checkpointEvery({ epochs: 3, save, atEnd: true })] });
    expect(saved.map(([e]) => e)).toEqual([2, 5, 8, 9]);
    saved.length = 0;
    await train({ ...scriptedRun([0, 1, 2, 3, 4, 5]), callbacks: [checkpointEvery({ epochs: 3, save, atEnd: true })] });
    expect(saved.map(([e]) => e)).toEqual([2, 5]);
  });

  it('rejects a period below 1', () => {
    expect(() => checkpointEvery({ epochs: 0, save: async () => {} })).toThrow(ConfigError);
  });
});

describe('eventTargetCallback', () => {
  it('dispatches trainbegin, epochbegin, batchend, epochend, trainend in order with their details', async () => {
    const target = new EventTarget();
    const seen: [string, unknown][] = [];
    for (const type of ['trainbegin', 'epochbegin', 'batchend', 'epochend', 'trainend', 'trainerror']) {
      target.addEventListener(type, (e) => seen.push([type, (e as CustomEvent).detail]));
    }
    await train({
      epochs: 2,
      batches: () => [1, 3],
      step: (b) => ({ loss: tf.scalar(b) }),
      callbacks: [eventTargetCallback(target)],
    });
    expect(seen.map(([t]) => t)).toEqual([
      'trainbegin',
      'epochbegin',
      'batchend',
      'batchend',
      'epochend',
      'epochbegin',
      'batchend',
      'batchend',
      'epochend',
      'trainend',
    ]);
    expect(seen[0]?.[1]).toEqual({ epochs: 2, initialEpoch: 0, initialStep: 0 });
    expect(seen[3]?.[1]).toEqual({ epoch: 0, batch: 1, step: 1, logs: { loss: 3 } });
    expect(seen[8]?.[1]).toEqual({ epoch: 1, loss: 2 });
    expect(seen[9]?.[1]).toMatchObject({ stoppedEarly: false, reason: 'completed' });
  });

  it('dispatches trainerror when a loss becomes NaN', async () => {
    const target = new EventTarget();
    const errors: unknown[] = [];
    target.addEventListener('trainerror', (e) => errors.push((e as CustomEvent).detail.error));
    await expect(
      train({ epochs: 1, batches: () => [0], step: () => ({ loss: tf.scalar(Number.NaN) }), callbacks: [eventTargetCallback(target)] }),
    ).rejects.toThrow(/NaN/);
    expect(errors).toHaveLength(1);
  });
});

describe('formatLogs', () => {
  it('prints metrics to 4 significant digits without the epoch', () => {
    expect(formatLogs({ epoch: 3, loss: 0.123456, val_loss: 12345.6, kl: Number.NaN })).toBe(
      'loss=0.1235 val_loss=12350 kl=NaN',
    );
  });
});
