import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  checkpointEvery,
  ConfigError,
  createOptimizer,
  createVariable,
  disposeParams,
  matMul,
  NonFiniteLossError,
  Rng,
  scheduleValue,
  ShapeError,
  train,
  type BatchEnd,
  type StepContext,
  type StepLosses,
  type TrainingCallback,
} from '../../src/index.js';
import { TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';

/** A step that reports scripted numbers: losses[epoch][batch]. */
function scripted(losses: number[][]) {
  return {
    epochs: losses.length,
    batches: (epoch: number) => (losses[epoch] as number[]).map((_, i) => i),
    step: (batch: number, ctx: { epoch: number }) => ({ loss: tf.scalar((losses[ctx.epoch] as number[])[batch] as number) }),
  };
}

describe.each(TEST_BACKENDS)('train on %s', (backend) => {
  it('50 Adam steps of a dense regression leave numTensors unchanged and cut the loss tenfold', async () => {
    await useBackend(backend);
    const rng = new Rng(3);
    const x = rng.normalTensor([80, 4]) as tf.Tensor2D;
    const trueW = tf.tensor2d([[1], [-2], [0.5], [3]]);
    const y = tf.add(matMul(x, trueW), 0.7) as tf.Tensor2D;
    const params = {
      W: createVariable(rng.normalTensor([4, 1], 0, 0.1), 'dense/W') as tf.Variable<tf.Rank.R2>,
      b: createVariable(tf.zeros([1]), 'dense/b'),
    };
    const optimizer = createOptimizer({ kind: 'adam', learningRate: 0.1, clipNorm: 10 }, params);
    const batchSize = 16;
    const before = tf.memory().numTensors;
    const history = await train({
      epochs: 10,
      batches: function* () {
        for (let i = 0; i < 80; i += batchSize) {
          yield { x: tf.slice(x, [i, 0], [batchSize, 4]), y: tf.slice(y, [i, 0], [batchSize, 1]) };
        }
      },
      step: (batch) => ({
        loss: optimizer.minimize(() =>
          tf.tidy(() => tf.mean(tf.square(tf.sub(tf.add(matMul(batch.x, params.W), params.b), batch.y))) as tf.Scalar),
        ),
      }),
    });
    expect(tf.memory().numTensors).toBe(before);
    expect(optimizer.iterations).toBe(50);
    expect(history.epochs).toHaveLength(10);
    expect(history.stoppedEarly).toBe(false);
    expect(history.reason).toBe('completed');
    const first = history.epochs[0]?.loss as number;
    const last = history.epochs[9]?.loss as number;
    expect(last).toBeLessThan(first / 10);
    optimizer.dispose();
    disposeParams(params);
    tf.dispose([x, trueW, y]);
  });

  it('a NaN loss at batch 3 stops training with NonFiniteLossError naming metric, epoch and batch', async () => {
    await useBackend(backend);
    for (const readEvery of [1, 4]) {
      const errors: unknown[] = [];
      const ends: number[] = [];
      const watcher: TrainingCallback = {
        onBatchEnd: (b) => void ends.push(b.batch),
        onTrainError: (e) => void errors.push(e),
      };
      const run = train({
        epochs: 3,
        readEvery,
        batches: () => [0, 1, 2, 3, 4, 5],
        step: (batch, ctx) => ({
          loss: tf.scalar(ctx.epoch === 1 && batch === 3 ? Number.NaN : 1),
          kl: tf.scalar(0.5),
        }),
        callbacks: [watcher],
      });
      const error = await withNoLeaks(() => run.catch((e: unknown) => e));
      expect(error).toBeInstanceOf(NonFiniteLossError);
      expect(error).toMatchObject({ metric: 'loss', epoch: 1, batch: 3 });
      expect(String((error as Error).message)).toMatch(/"loss" became NaN at epoch 1, batch 3/);
      expect(errors).toEqual([error]);
      // Batches before the bad one were still reported, the bad one and later ones not.
      expect(ends.slice(6)).toEqual([0, 1, 2]);
    }
  });

  it('an infinite loss is caught too', async () => {
    await useBackend(backend);
    await expect(
      train({ epochs: 1, batches: () => [0, 1], step: (b) => ({ loss: tf.scalar(b === 1 ? -Infinity : 0) }) }),
    ).rejects.toMatchObject({ name: 'NonFiniteLossError', value: -Infinity, batch: 1 });
  });

  it('epoch logs are the mean of each metric over the batches that reported it, plus validation', async () => {
    await useBackend(backend);
    const history = await train({
      epochs: 2,
      batches: () => [1, 2, 3, 4],
      // `d` is reported every other batch, as a GAN reports a discriminator loss.
      step: (b, ctx): StepLosses => ({
        loss: tf.scalar(b * (ctx.epoch + 1)),
        ...(b % 2 === 0 ? { d: tf.scalar(b) } : {}),
        lr: 0.5,
      }),
      validation: async (epoch) => ({ val_loss: 10 + epoch }),
    });
    expect(history.epochs).toEqual([
      { epoch: 0, loss: 2.5, d: 3, lr: 0.5, val_loss: 10 },
      { epoch: 1, loss: 5, d: 3, lr: 0.5, val_loss: 11 },
    ]);
  });

  it('with readEvery 3 losses are read lazily but reported for every batch, in order', async () => {
    await useBackend(backend);
    const order: string[] = [];
    const seen: BatchEnd[] = [];
    await train({
      epochs: 1,
      readEvery: 3,
      batches: () => [0, 1, 2, 3, 4],
      step: (b) => {
        order.push(`step ${b}`);
        return { loss: tf.scalar(b * 10) };
      },
      callbacks: [{ onBatchEnd: (e) => void (order.push(`end ${e.batch}`), seen.push(e)) }],
    });
    expect(order).toEqual(['step 0', 'step 1', 'step 2', 'end 0', 'end 1', 'end 2', 'step 3', 'step 4', 'end 3', 'end 4']);
    expect(seen.map((e) => e.logs.loss)).toEqual([0, 10, 20, 30, 40]);
    expect(seen.map((e) => e.step)).toEqual([0, 1, 2, 3, 4]);
  });

  it('ctx.stop ends training after the current batch and closes the epoch', async () => {
    await useBackend(backend);
    const history = await train({
      epochs: 5,
      batches: () => [0, 1, 2, 3],
      step: (b, ctx) => {
        if (ctx.epoch === 1 && b === 1) ctx.stop('enough');
        return { loss: tf.scalar(b) };
      },
    });
    expect(history).toEqual({
      epochs: [
        { epoch: 0, loss: 1.5 },
        { epoch: 1, loss: 0.5 },
      ],
      stoppedEarly: true,
      reason: 'enough',
      steps: 6,
    });
  });

  it('an aborted signal stops training with reason "aborted"', async () => {
    await useBackend(backend);
    const controller = new AbortController();
    let steps = 0;
    const history = await train({
      epochs: 10,
      signal: controller.signal,
      batches: async function* () {
        for (let i = 0; i < 3; i++) yield i;
      },
      step: () => {
        if (++steps === 5) controller.abort();
        return { loss: tf.scalar(1) };
      },
    });
    expect(steps).toBe(5);
    expect(history.epochs.map((e) => e.epoch)).toEqual([0, 1]);
    expect(history).toMatchObject({ stoppedEarly: true, reason: 'aborted' });
  });

  it('disposes batch tensors after each step unless disposeBatch is false', async () => {
    await useBackend(backend);
    const made: tf.Tensor[] = [];
    const batches = () => [0, 1].map(() => ({ x: (made.push(tf.ones([2])), made[made.length - 1] as tf.Tensor) }));
    const step = (b: { x: tf.Tensor }) => ({ loss: tf.sum(b.x) as tf.Scalar });
    await withNoLeaks(() => train({ epochs: 1, batches, step }));
    expect(made.every((t) => t.isDisposed)).toBe(true);
    made.length = 0;
    await train({ epochs: 1, batches, step, disposeBatch: false });
    expect(made.some((t) => t.isDisposed)).toBe(false);
    tf.dispose(made);
  });

  it('a step that throws rethrows its error, disposing the batch and unread losses', async () => {
    await useBackend(backend);
    const failure = new Error('step failed');
    const error = await withNoLeaks(() =>
      train({
        epochs: 1,
        readEvery: 5,
        batches: function* () {
          for (let i = 0; i < 4; i++) yield { i, x: tf.ones([2]) };
        },
        step: (b) => {
          if (b.i === 2) throw failure;
          return { loss: tf.sum(b.x) as tf.Scalar };
        },
      }).catch((e: unknown) => e),
    );
    expect(error).toBe(failure);
  });

  it('a non-scalar loss is a ShapeError and leaks nothing', async () => {
    await useBackend(backend);
    const error = await withNoLeaks(() =>
      train({
        epochs: 1,
        batches: () => [0, 1],
        step: (b) => ({ ok: tf.scalar(1), loss: b === 1 ? tf.ones([3]) : tf.scalar(1) }),
      }).catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(ShapeError);
    expect(String(error)).toMatch(/loss "loss"/);
  });

  it('runs from initialEpoch, calling batches with the epoch index', async () => {
    await useBackend(backend);
    const { epochs, batches, step } = scripted([[9], [9], [3, 5], [1]]);
    const asked: number[] = [];
    const history = await train({ epochs, initialEpoch: 2, initialStep: 2, batches: (e) => (asked.push(e), batches(e)), step });
    expect(asked).toEqual([2, 3]);
    expect(history.epochs).toEqual([
      { epoch: 2, loss: 4 },
      { epoch: 3, loss: 1 },
    ]);
  });
});

describe('resuming continues the step count (bug 7)', () => {
  it('a run split at an epoch, resumed with initialStep, sees the same steps and schedule values as one run', async () => {
    const batches = () => [0, 1, 2];
    const record = (seen: number[], fromBatchEnd: number[]) => ({
      step: (_: number, ctx: StepContext) => {
        seen.push(ctx.step);
        return { lr: scheduleValue({ kind: 'exponential', initial: 1, decayRate: 0.5, decaySteps: 3 }, ctx.step) };
      },
      callbacks: [{ onBatchEnd: (b: BatchEnd) => void fromBatchEnd.push(b.step) }],
    });
    const whole: number[] = [];
    const wholeEnds: number[] = [];
    const one = await train({ epochs: 4, batches, ...record(whole, wholeEnds) });
    expect(one.steps).toBe(12);

    const first: number[] = [];
    const firstEnds: number[] = [];
    const saved: { epoch: number; step: number }[] = [];
    const part1 = await train({
      epochs: 2,
      batches,
      ...record(first, firstEnds),
      callbacks: [...record(first, firstEnds).callbacks, checkpointEvery({ epochs: 1, save: (epoch, _, { step }) => void saved.push({ epoch, step }) })],
    });
    expect(saved).toEqual([{ epoch: 0, step: 3 }, { epoch: 1, step: 6 }]);
    const second: number[] = [];
    const secondEnds: number[] = [];
    const part2 = await train({ epochs: 4, initialEpoch: 2, initialStep: part1.steps, batches, ...record(second, secondEnds) });
    expect([...first, ...second]).toEqual(whole);
    expect([...firstEnds, ...secondEnds]).toEqual(wholeEnds);
    expect(part2.epochs.map((e) => e.lr)).toEqual(one.epochs.slice(2).map((e) => e.lr));
    expect(part2.steps).toBe(12);
  });

  it('resuming at an epoch without initialStep is a ConfigError that says what to pass', async () => {
    await expect(train({ epochs: 3, initialEpoch: 1, batches: () => [0], step: () => ({ loss: 1 }) })).rejects.toThrow(
      /"initialStep".*steps taken before epoch 1/,
    );
  });
});

describe('train options', () => {
  it('rejects bad options with ConfigError', async () => {
    const base = { batches: () => [], step: () => ({}) };
    await expect(train({ ...base, epochs: 1.5 })).rejects.toThrow(/"epochs"/);
    await expect(train({ ...base, epochs: 1, readEvery: 0 })).rejects.toThrow(ConfigError);
    await expect(
      train({ epochs: 1, batches: () => [0], step: () => ({ epoch: 1 }) }),
    ).rejects.toThrow(/"loss name"/);
  });
});
