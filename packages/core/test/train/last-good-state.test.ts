import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  ConfigError,
  createDense,
  createOptimizer,
  dense,
  disposeParams,
  flattenParams,
  NonFiniteLossError,
  Rng,
  train,
  type DenseParams,
  type TrainingCallback,
} from '../../src/index.js';
import { TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';

const BATCHES_PER_EPOCH = 6;

interface Batch {
  x: tf.Tensor2D;
  y: tf.Tensor2D;
}

/** Regression data, one batch per global step; the batch at `nanAt` has a NaN input. */
function makeData(steps: number, nanAt: number | null) {
  const rng = new Rng(11);
  const xs = Array.from({ length: steps }, (_, s) => {
    const values = Array.from({ length: 12 }, () => rng.normal());
    if (s === nanAt) values[4] = Number.NaN;
    return tf.tensor2d(values, [4, 3]);
  });
  const ys = Array.from({ length: steps }, () => rng.normalTensor([4, 2]) as tf.Tensor2D);
  return {
    /** A fresh copy of the batch of one global step: the loop disposes what it is given. */
    batch: (s: number): Batch => ({ x: tf.clone(xs[s] as tf.Tensor2D), y: tf.clone(ys[s] as tf.Tensor2D) }),
    dispose: () => tf.dispose([...xs, ...ys]),
  };
}

/** A dense layer and its Adam optimizer; the same seed gives the same initial values. */
function makeModel(name: string) {
  const params: DenseParams = createDense({ name, inputs: 3, units: 2, rng: 5 });
  const optimizer = createOptimizer({ kind: 'adam', learningRate: 0.05 }, params);
  let updates = 0;
  const step = (b: Batch) => {
    updates++;
    return {
      loss: optimizer.minimize(() => tf.tidy(() => tf.mean(tf.square(tf.sub(dense(b.x, params), b.y))) as tf.Scalar)),
    };
  };
  return {
    params,
    optimizer,
    step,
    get updates() {
      return updates;
    },
    dispose: () => {
      optimizer.dispose();
      disposeParams(params);
    },
  };
}
type Model = ReturnType<typeof makeModel>;

/** The bits of every float, so that equality is exact (NaN payloads and -0 included). */
async function bits(t: tf.Tensor): Promise<number[]> {
  const values = await t.data();
  return Array.from(t.dtype === 'float32' ? new Uint32Array(Float32Array.from(values as Float32Array).buffer) : values);
}

/** Parameters and optimizer state as exact bits, by name. */
async function stateOf(model: Model): Promise<Record<string, number[]>> {
  const out: Record<string, number[]> = {};
  for (const [path, v] of flattenParams(model.params)) out[`param/${path}`] = await bits(v);
  const weights = await model.optimizer.getWeights();
  for (const w of weights) out[`optimizer/${w.name}`] = await bits(w.tensor);
  tf.dispose(weights.map((w) => w.tensor));
  return out;
}

/** A model trained by hand for the first `steps` steps of the data, without the loop. */
async function referenceState(name: string, data: ReturnType<typeof makeData>, steps: number) {
  const model = makeModel(name);
  for (let s = 0; s < steps; s++) {
    const b = data.batch(s);
    tf.dispose(model.step(b).loss);
    tf.dispose([b.x, b.y]);
  }
  const state = await stateOf(model);
  model.dispose();
  return state;
}

function trainModel(model: Model, data: ReturnType<typeof makeData>, epochs: number, extra: Record<string, unknown> = {}) {
  return train({
    epochs,
    batches: function* (epoch) {
      for (let b = 0; b < BATCHES_PER_EPOCH; b++) yield data.batch(epoch * BATCHES_PER_EPOCH + b);
    },
    step: model.step,
    keepLastGood: { params: model.params, optimizers: [model.optimizer] },
    ...extra,
  });
}

describe.each(TEST_BACKENDS)('keepLastGood on %s', (backend) => {
  it('never keeps a state whose variables are not finite, though the loss that led to it was', async () => {
    await useBackend(backend);
    // sqrt(|w|) is 0 at w = 0, a finite loss, but its gradient there is NaN: the first update
    // makes w NaN, and only the next step's loss shows it.
    const w = tf.variable(tf.tensor1d([0, 0]), true, `sqrt-${backend}`);
    const optimizer = createOptimizer({ kind: 'sgd', learningRate: 0.1 }, { w });
    const error = await withNoLeaks(() =>
      train({
        epochs: 1,
        batches: () => [1, 2, 3],
        keepLastGood: { params: { w }, optimizers: [optimizer] },
        step: () => ({ loss: optimizer.minimize(() => tf.sum(tf.sqrt(tf.abs(w))) as tf.Scalar) }),
      }).catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect((error as NonFiniteLossError).batch).toBe(1);
    // Back to the start, not to the NaN state after step 1.
    expect((error as NonFiniteLossError).restoredStep).toBe(0);
    expect(Array.from(await w.data())).toEqual([0, 0]);
    optimizer.dispose();
    w.dispose();
  });

  // The NaN input is the batch of epoch 1, batch 3: global step 9.
  const NAN_STEP = BATCHES_PER_EPOCH + 3;

  it.each([
    // readEvery 1: every step is read, so the state kept is the one just before the bad step.
    { readEvery: 1, restoredStep: NAN_STEP, epoch: 1, batch: 2, updates: NAN_STEP + 1 },
    // readEvery 4: reads after steps 4 and 6 (epoch end), then 7-10 hold the bad one: four
    // updates ran past the kept state, the NaN one among them.
    { readEvery: 4, restoredStep: BATCHES_PER_EPOCH, epoch: 0, batch: 5, updates: BATCHES_PER_EPOCH + 4 },
  ])('a NaN loss with readEvery $readEvery restores, bit for bit, the state after $restoredStep steps', async (c) => {
    await useBackend(backend);
    const data = makeData(3 * BATCHES_PER_EPOCH, NAN_STEP);
    const expected = await referenceState(`ref${c.readEvery}`, data, c.restoredStep);
    const model = makeModel(`lg${c.readEvery}`);
    const seen: unknown[] = [];
    const spy: TrainingCallback = { onTrainError: async (e) => void seen.push(e, await stateOf(model)) };
    const error = await withNoLeaks(() =>
      trainModel(model, data, 3, { readEvery: c.readEvery, callbacks: [spy] }).catch((e: unknown) => e),
    );
    expect(error).toBeInstanceOf(NonFiniteLossError);
    expect(error).toMatchObject({
      metric: 'loss',
      epoch: 1,
      batch: 3,
      source: 'loss',
      modelState: 'restored',
      restoredStep: c.restoredStep,
    });
    expect((error as Error).message).toContain(
      `The model was restored to its state after ${c.restoredStep} steps ` +
        `(the last read-back with finite losses, at epoch ${c.epoch}, batch ${c.batch}).`,
    );
    expect(model.updates).toBe(c.updates);
    expect(model.optimizer.iterations).toBe(c.restoredStep);
    expect(await stateOf(model)).toEqual(expected);
    // Callbacks told of the error already see the restored model.
    expect(seen).toEqual([error, expected]);
    model.dispose();
    data.dispose();
  });

  it('a NaN on the first read restores the initial values and empty optimizer state', async () => {
    await useBackend(backend);
    const data = makeData(BATCHES_PER_EPOCH, 0);
    const expected = await referenceState('ref0', data, 0);
    const model = makeModel('first');
    const error = await withNoLeaks(() => trainModel(model, data, 1, { readEvery: 2 }).catch((e: unknown) => e));
    expect(error).toMatchObject({ name: 'NonFiniteLossError', batch: 0, modelState: 'restored', restoredStep: 0 });
    expect((error as Error).message).toMatch(/after 0 steps \(the start of training/);
    expect(model.updates).toBe(2);
    expect(await stateOf(model)).toEqual(expected);
    model.dispose();
    data.dispose();
  });

  it('without keepLastGood the error says the model holds the NaN values the steps left', async () => {
    await useBackend(backend);
    const data = makeData(BATCHES_PER_EPOCH, 2);
    const model = makeModel('plain');
    const error = await train({
      epochs: 1,
      readEvery: 4,
      batches: function* () {
        for (let s = 0; s < BATCHES_PER_EPOCH; s++) yield data.batch(s);
      },
      step: model.step,
    }).catch((e: unknown) => e);
    expect(error).toMatchObject({ name: 'NonFiniteLossError', batch: 2, modelState: 'unchanged', restoredStep: null });
    expect((error as Error).message).toMatch(/holds the values the last steps left, which may be NaN \(pass keepLastGood/);
    expect(Array.from(await model.params.kernel.data()).some(Number.isNaN)).toBe(true);
    model.dispose();
    data.dispose();
  });

  it('a run without NaN ends where a run without keepLastGood ends, bit for bit, and frees its copies', async () => {
    await useBackend(backend);
    const data = makeData(2 * BATCHES_PER_EPOCH, null);
    const expected = await referenceState('refAll', data, 2 * BATCHES_PER_EPOCH);
    const model = makeModel('clean');
    const history = await withNoLeaks(() => trainModel(model, data, 2, { readEvery: 4, validation: () => ({ val: 1 }) }));
    expect(history).toMatchObject({ reason: 'completed', steps: 2 * BATCHES_PER_EPOCH });
    expect(await stateOf(model)).toEqual(expected);
    model.dispose();
    data.dispose();
  });

  it('restores every optimizer given in a record, and non-trainable variables too', async () => {
    await useBackend(backend);
    // Two groups with their own optimizers (a GAN's two players) and a counter variable that
    // the step moves by hand, as a PCD chain or batch-norm statistic would be.
    const a = tf.variable(tf.tensor1d([1, 2]), true, 'lg-record-a');
    const b = tf.variable(tf.tensor1d([3]), true, 'lg-record-b');
    const counter = tf.variable(tf.scalar(0), false, 'lg-record-counter');
    const optA = createOptimizer({ kind: 'momentum', learningRate: 0.1 }, { a });
    const optB = createOptimizer({ kind: 'rmsprop', learningRate: 0.1 }, { b });
    const params = { a, b, counter };
    const step = (k: number) => {
      tf.tidy(() => counter.assign(tf.add(counter, 1)));
      const target = k === 5 ? Number.NaN : k;
      const lossA = optA.minimize(() => tf.sum(tf.square(tf.sub(a, target))) as tf.Scalar);
      const lossB = optB.minimize(() => tf.sum(tf.square(tf.sub(b, target))) as tf.Scalar);
      return { lossA, lossB };
    };
    const snapshot = async () => ({
      a: await bits(a),
      b: await bits(b),
      counter: await bits(counter),
      optA: await Promise.all((await optA.getWeights()).map(async (w) => [w.name, await bits(w.tensor), w.tensor.dispose()])),
      optB: await Promise.all((await optB.getWeights()).map(async (w) => [w.name, await bits(w.tensor), w.tensor.dispose()])),
    });
    let expected: unknown = null;
    const error = await withNoLeaks(() =>
      train({
        epochs: 1,
        batches: () => [0, 1, 2, 3, 4, 5, 6],
        step,
        keepLastGood: { params, optimizers: { generator: optA, discriminator: optB } },
        callbacks: [{ onBatchEnd: async (e) => void (e.batch === 4 && (expected = await snapshot())) }],
      }).catch((e: unknown) => e),
    );
    expect(error).toMatchObject({ name: 'NonFiniteLossError', batch: 5, restoredStep: 5 });
    expect(await snapshot()).toEqual(expected);
    expect((await counter.data())[0]).toBe(5);
    optA.dispose();
    optB.dispose();
    tf.dispose([a, b, counter]);
  });
});

describe('train leaks nothing on any error path, with keepLastGood or without', () => {
  const failure = new Error('boom');
  const paths: { name: string; options: Record<string, unknown> }[] = [
    { name: 'a step throws', options: { step: (b: Batch, ctx: { step: number }) => (ctx.step === 5 ? Promise.reject(failure) : null) } },
    { name: 'the batches iterator throws', options: { failBatchesAt: 4 } },
    { name: 'onTrainBegin throws', options: { callbacks: [{ onTrainBegin: () => Promise.reject(failure) }] } },
    { name: 'onBatchEnd throws', options: { callbacks: [{ onBatchEnd: (e: { step: number }) => { if (e.step === 3) throw failure; } }] } },
    { name: 'onEpochEnd throws', options: { callbacks: [{ onEpochEnd: () => { throw failure; } }] } },
    { name: 'validation throws', options: { validation: (epoch: number) => (epoch === 1 ? Promise.reject(failure) : { val: 0 }) } },
  ];

  const cases = paths.flatMap((p) => [true, false].map((keep) => ({ ...p, keep })));
  it.each(cases)('$name (keepLastGood: $keep): the same error comes out and numTensors is unchanged', async ({ options, keep }) => {
    await useBackend('cpu');
    const data = makeData(3 * BATCHES_PER_EPOCH, null);
    const model = makeModel('paths');
    const { failBatchesAt, step: failingStep, ...rest } = options as {
      failBatchesAt?: number;
      step?: (b: Batch, ctx: { step: number }) => Promise<never> | null;
    };
    const error = await withNoLeaks(() =>
      train({
        epochs: 3,
        readEvery: 2,
        batches: function* (epoch) {
          for (let b = 0; b < BATCHES_PER_EPOCH; b++) {
            const s = epoch * BATCHES_PER_EPOCH + b;
            if (s === failBatchesAt) throw failure;
            yield data.batch(s);
          }
        },
        step: (b: Batch, ctx) => failingStep?.(b, ctx) ?? model.step(b),
        ...(keep ? { keepLastGood: { params: model.params, optimizers: [model.optimizer] } } : {}),
        ...rest,
      }).catch((e: unknown) => e),
    );
    expect(error).toBe(failure);
    model.dispose();
    data.dispose();
  });

  it('an abort ends training normally and frees the copies', async () => {
    await useBackend('cpu');
    const data = makeData(3 * BATCHES_PER_EPOCH, null);
    const model = makeModel('abort');
    const controller = new AbortController();
    const history = await withNoLeaks(() =>
      trainModel(model, data, 3, {
        readEvery: 4,
        signal: controller.signal,
        callbacks: [{ onBatchEnd: (e: { step: number }) => void (e.step === 2 && controller.abort()) }],
      }),
    );
    expect(history).toMatchObject({ reason: 'aborted', steps: 4 });
    model.dispose();
    data.dispose();
  });
});

describe('keepLastGood options', () => {
  it('bad options are ConfigErrors naming the field', async () => {
    await useBackend('cpu');
    const v = tf.variable(tf.zeros([2]), true, 'lg-options-v');
    const base = { epochs: 1, batches: () => [0], step: () => ({ loss: 0 }) };
    const bad = async (keepLastGood: unknown) =>
      train({ ...base, keepLastGood: keepLastGood as never }).catch((e: unknown) => e);
    expect(await bad({})).toBeInstanceOf(ConfigError);
    expect(await bad({ params: {} })).toMatchObject({ field: 'keepLastGood.params' });
    expect(await bad({ params: { v }, optimizers: [{ getWeights: () => [] }] })).toMatchObject({
      field: 'keepLastGood.optimizers[0]',
    });
    const notVariable = tf.zeros([1]);
    expect(await bad({ params: { v: notVariable } })).toBeInstanceOf(ConfigError);
    tf.dispose([v, notVariable]);
  });
});
