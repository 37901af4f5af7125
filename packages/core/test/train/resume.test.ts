import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { directoryCheckpoint } from '../../src/checkpoint/node/index.js';
import {
  checkpointEvery,
  loadModel,
  memoryCheckpoint,
  readCheckpointRecord,
  Rng,
  saveModel,
  train,
  type CheckpointHandler,
  type ParameterGroupOptimizer,
  type RngState,
  type TrainHistory,
} from '../../src/index.js';
import { TEST_BACKENDS, useBackend } from '../../src/testing.js';
import {
  BATCH_SIZE,
  buildOptimizers,
  denoiserStep,
  DropoutDenoiser,
  epochBatches,
  EXAMPLES,
  makeData,
  MODEL_CONFIG,
  optimizerBits,
  paramBits,
  resumeModels,
} from './resume-fixture.js';

type Optimizers = { encoder: ParameterGroupOptimizer; decoder: ParameterGroupOptimizer };
type AbortFrom = 'step' | 'callback';

const EPOCHS = 6;
const BATCHES_PER_EPOCH = EXAMPLES / BATCH_SIZE;
/** Seed of the training generator, which draws the dropout masks. */
const RUN_SEED = 5;
/** Seed of the data order (each epoch's permutation is derived from it and the epoch). */
const ORDER_SEED = 3;
/**
 * Abort in epoch 2 at batch 2 (0-based): mid-epoch, after the checkpoint of epoch 1
 * (checkpoints every 2 epochs: after epochs 1, 3, 5), 13 steps in, 3 steps past the checkpoint.
 */
const ABORT_AT = { epoch: 2, batch: 2 };

interface Saved {
  epoch: number;
  step: number;
  rng: RngState;
}

interface RunOptions {
  model: DropoutDenoiser;
  optimizers: Optimizers;
  rng: Rng;
  x: tf.Tensor2D;
  handler: CheckpointHandler;
  /** checkpointEvery's period in epochs. */
  every: number;
  resumeFrom?: { epoch: number; step: number };
  abortFrom?: AbortFrom;
  /** Skip the save once the run is aborted (a user's own guard; checkpointEvery already skips a cut epoch). */
  skipSaveWhenAborted?: boolean;
}

/** A run as a training script would do it: the shared loop, checkpointEvery saving the whole model. */
async function runTraining(o: RunOptions): Promise<{ history: TrainHistory; losses: number[]; saves: Saved[] }> {
  const controller = new AbortController();
  const losses: number[] = [];
  const saves: Saved[] = [];
  const abortsHere = (from: AbortFrom, epoch: number, batch: number) =>
    o.abortFrom === from && epoch === ABORT_AT.epoch && batch === ABORT_AT.batch;
  const update = denoiserStep(o.model, o.optimizers, o.rng);
  const history = await train<tf.Tensor2D>({
    epochs: EPOCHS,
    ...(o.resumeFrom ? { initialEpoch: o.resumeFrom.epoch + 1, initialStep: o.resumeFrom.step } : {}),
    signal: controller.signal,
    batches: (epoch) => epochBatches(o.x, ORDER_SEED, epoch),
    step: (batch, context) => {
      const result = update(batch);
      if (abortsHere('step', context.epoch, context.batch)) controller.abort();
      return result;
    },
    callbacks: [
      {
        onBatchEnd: ({ epoch, batch, logs }) => {
          losses.push(logs.loss as number);
          if (abortsHere('callback', epoch, batch)) controller.abort();
        },
      },
      checkpointEvery({
        epochs: o.every,
        save: async (epoch, _logs, { step }) => {
          if (o.skipSaveWhenAborted && controller.signal.aborted) return;
          saves.push({ epoch, step, rng: o.rng.state() });
          await saveModel(o.handler, o.model, { optimizers: o.optimizers, rng: o.rng, metadata: { epoch, step } });
        },
      }),
    ],
  });
  return { history, losses, saves };
}

/** Everything that must match after training, as exact bits. */
async function finalState(model: DropoutDenoiser, optimizers: Optimizers, rng: Rng) {
  return {
    params: await paramBits(model),
    encoderOptimizer: await optimizerBits(optimizers.encoder),
    decoderOptimizer: await optimizerBits(optimizers.decoder),
    iterations: [optimizers.encoder.iterations, optimizers.decoder.iterations],
    rng: rng.state(),
  };
}

function disposeAll(model: DropoutDenoiser, optimizers: Optimizers): void {
  optimizers.encoder.dispose();
  optimizers.decoder.dispose();
  model.dispose();
}

/** A checkpoint as stored: weight names and bytes, and the JSON record without its timestamp. */
async function storedCheckpoint(handler: CheckpointHandler) {
  if (handler.load === undefined) throw new Error(`${handler.location} cannot load`);
  const artifacts = await handler.load();
  const { createdAt: _, ...record } = readCheckpointRecord(artifacts, handler.location);
  const data = artifacts.weightData;
  const chunks = data === undefined ? [] : Array.isArray(data) ? data : [data];
  const bytes = chunks.flatMap((b) => Array.from(new Uint8Array(b)));
  return { specs: artifacts.weightSpecs, bytes, record };
}

/** The uninterrupted run: same config, seeds and checkpoint cadence, never stopped. */
async function referenceRun(x: tf.Tensor2D, handler: CheckpointHandler, every: number) {
  const model = new DropoutDenoiser(MODEL_CONFIG);
  const optimizers = buildOptimizers(model);
  const rng = new Rng(RUN_SEED);
  const run = await runTraining({ model, optimizers, rng, x, handler, every });
  const state = await finalState(model, optimizers, rng);
  disposeAll(model, optimizers);
  return { ...run, state };
}

/** The run that is stopped: trains until the abort, then its process "exits" (everything disposed). */
async function interruptedRun(
  x: tf.Tensor2D,
  handler: CheckpointHandler,
  every: number,
  abortFrom: AbortFrom,
  skipSaveWhenAborted = false,
) {
  const model = new DropoutDenoiser(MODEL_CONFIG);
  const optimizers = buildOptimizers(model);
  const rng = new Rng(RUN_SEED);
  const run = await runTraining({ model, optimizers, rng, x, handler, every, abortFrom, skipSaveWhenAborted });
  disposeAll(model, optimizers);
  return run;
}

/** What a resume may get wrong on purpose, to show the comparison would notice. */
interface Faults {
  /** Start the generator from its seed again instead of the saved position. */
  restartRng?: boolean;
  /** Build the optimizers afresh instead of restoring their state. */
  freshOptimizers?: boolean;
  /** Where the resumed run saves, so that several resumes can start from one checkpoint. */
  saveTo?: CheckpointHandler;
}

/**
 * The restarted process: a fresh model and fresh optimizers built from their configs by
 * loadModel, the generator and the step count taken from the checkpoint.
 */
async function resumedRun(x: tf.Tensor2D, handler: CheckpointHandler, every: number, faults: Faults = {}) {
  const loaded = await loadModel<DropoutDenoiser>(
    handler,
    resumeModels,
    faults.freshOptimizers ? {} : { optimizers: (m) => buildOptimizers(m) },
  );
  const model = loaded.model;
  const optimizers = faults.freshOptimizers ? buildOptimizers(model) : (loaded.optimizers as Optimizers);
  const rng = faults.restartRng ? new Rng(RUN_SEED) : loaded.rng;
  if (rng === null) throw new Error('the checkpoint holds no generator');
  const { epoch, step } = loaded.metadata as { epoch: number; step: number };
  const savedRng = loaded.rng === null ? null : loaded.rng.state();
  const saveTo = faults.saveTo ?? handler;
  const run = await runTraining({ model, optimizers, rng, x, handler: saveTo, every, resumeFrom: { epoch, step } });
  const state = await finalState(model, optimizers, rng);
  disposeAll(model, optimizers);
  return { ...run, state, metadata: loaded.metadata, savedRng };
}

let root = '';
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'helmholtz-resume-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * Where checkpoints go. `reopen` is what a restarted process holds: a memory checkpoint only
 * lives in its object, a directory checkpoint is opened again by path.
 */
const TARGETS = {
  memory: { open: (_: string) => memoryCheckpoint(), reopen: (handler: CheckpointHandler) => handler },
  directory: {
    open: (name: string) => directoryCheckpoint(join(root, name)),
    reopen: (handler: CheckpointHandler) => directoryCheckpoint(handler.location),
  },
} as const;

const CASES: [keyof typeof TARGETS, AbortFrom][] = [
  ['memory', 'step'],
  ['memory', 'callback'],
  ['directory', 'step'],
  ['directory', 'callback'],
];

describe.each(TEST_BACKENDS)('a run aborted mid-epoch and resumed from its checkpoint on %s', (backend) => {
  it.each(CASES)(
    'with a %s checkpoint, aborted from the %s, ends bit-identical to the uninterrupted run',
    async (target, abortFrom) => {
      await useBackend(backend);
      const tensorsBefore = tf.memory().numTensors;
      const x = makeData();
      const every = 2;
      const referenceHandler = TARGETS[target].open(`${backend}-${abortFrom}-reference`);
      const reference = await referenceRun(x, referenceHandler, every);
      expect(reference.history).toMatchObject({ stoppedEarly: false, reason: 'completed', steps: EPOCHS * BATCHES_PER_EPOCH });
      expect(reference.saves.map((s) => [s.epoch, s.step])).toEqual([
        [1, 10],
        [3, 20],
        [5, 30],
      ]);

      const handler = TARGETS[target].open(`${backend}-${abortFrom}-run`);
      const stopped = await interruptedRun(x, handler, every, abortFrom);
      const abortedAfter = ABORT_AT.epoch * BATCHES_PER_EPOCH + ABORT_AT.batch + 1;
      expect(stopped.history).toMatchObject({ stoppedEarly: true, reason: 'aborted', steps: abortedAfter });
      // One checkpoint was written before the abort, and the run went on past it.
      expect(stopped.saves).toEqual([reference.saves[0]]);
      expect(stopped.losses).toEqual(reference.losses.slice(0, abortedAfter));

      const resumed = await resumedRun(x, TARGETS[target].reopen(handler), every);
      expect(resumed.metadata).toEqual({ epoch: 1, step: 10 });
      // The generator comes back at the position it had when the checkpoint was written.
      expect(resumed.savedRng).toEqual(reference.saves[0]!.rng);
      expect(resumed.saves).toEqual(reference.saves.slice(1));
      expect(resumed.history).toMatchObject({ stoppedEarly: false, reason: 'completed', steps: reference.history.steps });
      expect(resumed.history.epochs.map((e) => e.epoch)).toEqual([2, 3, 4, 5]);
      expect(resumed.history.epochs).toEqual(reference.history.epochs.slice(2));
      // Every step after the checkpoint sees the same batch, masks and weights: the same loss.
      expect(resumed.losses).toEqual(reference.losses.slice(10));

      expect(resumed.state.iterations).toEqual([30, 30]);
      expect(Object.keys(resumed.state.encoderOptimizer).sort()).toEqual([
        'encoder/bias/m',
        'encoder/bias/v',
        'encoder/kernel/m',
        'encoder/kernel/v',
        'iter',
      ]);
      expect(Object.keys(resumed.state.decoderOptimizer).sort()).toEqual(['decoder/bias/momentum', 'decoder/kernel/momentum', 'iter']);
      expect(resumed.state.params).toEqual(reference.state.params);
      expect(resumed.state.encoderOptimizer).toEqual(reference.state.encoderOptimizer);
      expect(resumed.state.decoderOptimizer).toEqual(reference.state.decoderOptimizer);
      expect(resumed.state.rng).toEqual(reference.state.rng);

      // The last checkpoints of both runs hold the same bytes and the same record.
      const last = await storedCheckpoint(handler);
      expect(last.record.metadata).toEqual({ epoch: 5, step: 30 });
      expect(last).toEqual(await storedCheckpoint(referenceHandler));

      x.dispose();
      expect(tf.memory().numTensors).toBe(tensorsBefore);
    },
  );

  it('the comparison notices a resume that restarts the generator or rebuilds the optimizers without their state', async () => {
    await useBackend(backend);
    const tensorsBefore = tf.memory().numTensors;
    const x = makeData();
    const reference = await referenceRun(x, memoryCheckpoint(), 2);
    const handler = memoryCheckpoint();
    await interruptedRun(x, handler, 2, 'step');
    const restarted = await resumedRun(x, handler, 2, { restartRng: true, saveTo: memoryCheckpoint() });
    const fresh = await resumedRun(x, handler, 2, { freshOptimizers: true, saveTo: memoryCheckpoint() });
    for (const faulty of [restarted, fresh]) {
      expect(faulty.history.steps).toBe(reference.history.steps);
      expect(faulty.state.params).not.toEqual(reference.state.params);
    }
    expect(restarted.state.rng).not.toEqual(reference.state.rng);
    expect(fresh.state.iterations).toEqual([20, 20]);
    x.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });

  // An abort mid-epoch closes the epoch with onEpochEnd; checkpointEvery must not save it as
  // done ({ epoch: 2, step: 13 } once did), or the resume skips that epoch's last batches.
  it('with checkpoints every epoch, an abort mid-epoch still resumes bit-identically', async () => {
    await useBackend(backend);
    const x = makeData();
    try {
      const reference = await referenceRun(x, memoryCheckpoint(), 1);
      const handler = memoryCheckpoint();
      await interruptedRun(x, handler, 1, 'step');
      const resumed = await resumedRun(x, handler, 1);
      expect(resumed.history.steps).toBe(reference.history.steps);
      expect(resumed.losses).toEqual(reference.losses.slice(reference.losses.length - resumed.losses.length));
      expect(resumed.state.params).toEqual(reference.state.params);
    } finally {
      x.dispose();
    }
  });

  it('with checkpoints every epoch, a save that skips once aborted keeps the last whole epoch and resumes bit-identically', async () => {
    await useBackend(backend);
    const tensorsBefore = tf.memory().numTensors;
    const x = makeData();
    const reference = await referenceRun(x, memoryCheckpoint(), 1);
    const handler = memoryCheckpoint();
    const stopped = await interruptedRun(x, handler, 1, 'callback', true);
    expect(stopped.saves.map((s) => [s.epoch, s.step])).toEqual([
      [0, 5],
      [1, 10],
    ]);
    const resumed = await resumedRun(x, handler, 1);
    expect(resumed.metadata).toEqual({ epoch: 1, step: 10 });
    expect(resumed.history.steps).toBe(reference.history.steps);
    expect(resumed.losses).toEqual(reference.losses.slice(10));
    expect(resumed.state).toEqual(reference.state);
    x.dispose();
    expect(tf.memory().numTensors).toBe(tensorsBefore);
  });
});
