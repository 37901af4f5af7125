import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  createOptimizer,
  earlyStopping,
  NonFiniteLossError,
  train,
  type TrainingCallback,
} from '../../src/index.js';
import { TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';

const BATCHES = [0, 1, 2, 3];

/** Steps with finite losses; validation scripted per epoch. */
function scripted(validation: number[]) {
  return {
    epochs: validation.length,
    batches: () => BATCHES,
    step: (b: number) => ({ loss: tf.scalar(1 + b) }),
    validation: (epoch: number) => ({ val_loss: validation[epoch] as number }),
  };
}

/** One parameter vector pulled towards a per-step target by Adam: its state depends on every step. */
function makeModel(name: string) {
  const w = tf.variable(tf.tensor1d([0.5, -1, 2]), true, name);
  const optimizer = createOptimizer({ kind: 'adam', learningRate: 0.1 }, { w });
  const step = (b: number, ctx: { step: number }) => ({
    loss: optimizer.minimize(() => tf.tidy(() => tf.sum(tf.square(tf.sub(w, ctx.step + b / 10))) as tf.Scalar)),
  });
  return {
    w,
    optimizer,
    step,
    dispose: () => {
      optimizer.dispose();
      w.dispose();
    },
  };
}
type Model = ReturnType<typeof makeModel>;

async function bits(t: tf.Tensor): Promise<number[]> {
  const values = await t.data();
  return Array.from(t.dtype === 'float32' ? new Uint32Array(Float32Array.from(values as Float32Array).buffer) : values);
}

async function stateOf(model: Model): Promise<[string, number[]][]> {
  const weights = await model.optimizer.getWeights();
  const out: [string, number[]][] = [['w', await bits(model.w)]];
  for (const wt of weights) out.push([wt.name, await bits(wt.tensor)]);
  tf.dispose(weights.map((wt) => wt.tensor));
  return out;
}

describe.each(TEST_BACKENDS)('non-finite validation metrics on %s', (backend) => {
  it.each([Number.NaN, Infinity, -Infinity])(
    'a validation metric of %s stops training with NonFiniteLossError naming metric and epoch, no batch',
    async (bad) => {
      await useBackend(backend);
      const errors: unknown[] = [];
      const epochsEnded: number[] = [];
      const stopper = earlyStopping({ monitor: 'val_loss', patience: 1 });
      const watcher: TrainingCallback = {
        onEpochEnd: (epoch) => void epochsEnded.push(epoch),
        onTrainError: (e) => void errors.push(e),
      };
      const error = await withNoLeaks(() =>
        train({ ...scripted([3, bad, 2, 1]), callbacks: [stopper, watcher] }).catch((e: unknown) => e),
      );
      expect(error).toBeInstanceOf(NonFiniteLossError);
      expect(error).toMatchObject({
        metric: 'val_loss',
        value: bad,
        epoch: 1,
        batch: null,
        source: 'validation',
        modelState: 'unchanged',
        restoredStep: null,
      });
      const message = (error as Error).message;
      expect(message).toMatch(new RegExp(`^validation metric "val_loss" became ${bad} after epoch 1: expected a finite number\\.`));
      expect(message).not.toMatch(/batch/);
      expect(message).toMatch(/pass keepLastGood/);
      // Epoch 1's logs never reached the callbacks: early stopping saw only finite values.
      expect(epochsEnded).toEqual([0]);
      expect(stopper.best).toBe(3);
      expect(errors).toEqual([error]);
    },
  );

  it('with keepLastGood a NaN validation metric restores the state at the end of the last validated epoch', async () => {
    await useBackend(backend);
    const reference = makeModel('val-ref');
    await train({ epochs: 2, batches: () => BATCHES, step: reference.step });
    const expected = await stateOf(reference);
    reference.dispose();

    const model = makeModel('val-kept');
    const error = await withNoLeaks(() =>
      train({
        epochs: 4,
        readEvery: 3,
        batches: () => BATCHES,
        step: model.step,
        validation: (epoch) => ({ val_loss: epoch === 2 ? Number.NaN : 1 }),
        keepLastGood: { params: { w: model.w }, optimizers: [model.optimizer] },
      }).catch((e: unknown) => e),
    );
    expect(error).toMatchObject({ epoch: 2, batch: null, modelState: 'restored', restoredStep: 2 * BATCHES.length });
    expect((error as Error).message).toContain(
      'The model was restored to its state after 8 steps (the end of epoch 1, the last epoch with finite validation metrics).',
    );
    expect(model.optimizer.iterations).toBe(8);
    expect(await stateOf(model)).toEqual(expected);
    model.dispose();
  });

  it('a NaN validation metric after the first epoch restores the initial state', async () => {
    await useBackend(backend);
    const reference = makeModel('val-ref0');
    const expected = await stateOf(reference);
    reference.dispose();
    const model = makeModel('val-kept0');
    const error = await withNoLeaks(() =>
      train({
        epochs: 2,
        batches: () => BATCHES,
        step: model.step,
        validation: () => ({ val_loss: Number.NaN }),
        keepLastGood: { params: { w: model.w }, optimizers: [model.optimizer] },
      }).catch((e: unknown) => e),
    );
    expect(error).toMatchObject({ epoch: 0, modelState: 'restored', restoredStep: 0 });
    expect((error as Error).message).toMatch(/after 0 steps \(the start of training, before any epoch with finite validation metrics\)/);
    expect(await stateOf(model)).toEqual(expected);
    model.dispose();
  });

  it('with validation, a NaN loss still restores the last read-back, not the last validated epoch', async () => {
    await useBackend(backend);
    const reference = makeModel('val-ref-loss');
    await train({ epochs: 2, batches: () => BATCHES, step: reference.step, callbacks: [{ onBatchEnd: (e, c) => void (e.step === 5 && c.stop()) }] });
    const expected = await stateOf(reference);
    reference.dispose();
    const model = makeModel('val-kept-loss');
    const error = await withNoLeaks(() =>
      train({
        epochs: 3,
        batches: () => BATCHES,
        // Epoch 1, batch 2 (step 6) reports NaN; its update is a normal one.
        step: (b, ctx) => (ctx.step === 6 ? { loss: (model.step(b, ctx).loss.dispose(), tf.scalar(Number.NaN)) } : model.step(b, ctx)),
        validation: () => ({ val_loss: 1 }),
        keepLastGood: { params: { w: model.w }, optimizers: [model.optimizer] },
      }).catch((e: unknown) => e),
    );
    expect(error).toMatchObject({ epoch: 1, batch: 2, source: 'loss', restoredStep: 6 });
    expect(await stateOf(model)).toEqual(expected);
    model.dispose();
  });
});

describe('validation results that are not numbers', () => {
  it('a metric that is not a number, or a result that is not an object, is a ConfigError naming it', async () => {
    await useBackend('cpu');
    const run = (validation: unknown) =>
      train({ epochs: 1, batches: () => [0], step: () => ({ loss: 1 }), validation: validation as never }).catch((e: unknown) => e);
    expect(await run(() => ({ val_loss: '0.3' }))).toMatchObject({ name: 'ConfigError', field: 'validation metric "val_loss"' });
    expect(await run(() => null)).toMatchObject({ name: 'ConfigError', field: 'validation result' });
    expect(await run(() => [0.3])).toBeInstanceOf(ConfigError);
    expect(await run(0.3)).toMatchObject({ name: 'ConfigError', field: 'validation' });
  });

  it('a finite validation metric is merged as before, and "epoch" in the result is ignored', async () => {
    await useBackend('cpu');
    const history = await train({ ...scripted([0.5, 0.25]), validation: (e) => ({ val_loss: [0.5, 0.25][e] as number, epoch: 99 }) });
    expect(history.epochs).toEqual([
      { epoch: 0, loss: 2.5, val_loss: 0.5 },
      { epoch: 1, loss: 2.5, val_loss: 0.25 },
    ]);
  });
});
