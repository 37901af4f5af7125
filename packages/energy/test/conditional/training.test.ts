import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, loadModel, memoryCheckpoint, Rng, saveModel } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { ConditionalRBM } from '../../src/conditional/model.js';
import { sequenceWindows, type SequenceWindows } from '../../src/conditional/sequences.js';
import { createConditionalRbmTrainer, fitConditionalRbm, conditionalPredictionError, type ConditionalRbmTrainerOptions } from '../../src/conditional/training.js';
import { energyModels } from '../../src/models.js';

// A bar two units wide bouncing over 6 units: positions 0, 1, 2, 1, 0, ... From the middle
// position the next one depends on where the bar came from, so one frame of history cannot
// predict it and two can.
const POSITIONS = [0, 1, 2, 1];
const bar = (p: number) => Array.from({ length: 6 }, (_, i) => (i === 2 * p || i === 2 * p + 1 ? 1 : 0));
function bouncing(length: number, phase: number, flip: number, rng: Rng): number[][] {
  return Array.from({ length }, (_, t) => bar(POSITIONS[(t + phase) % 4]!).map((b) => (rng.next() < flip ? 1 - b : b)));
}

/** The share of rows whose every unit, thresholded at 0.5, equals the target's. */
function frameAccuracy(predicted: tf.Tensor2D, target: tf.Tensor2D): number {
  const p = predicted.arraySync();
  const t = target.arraySync();
  return p.filter((row, i) => row.every((x, j) => (x > 0.5 ? 1 : 0) === t[i]![j])).length / p.length;
}

describe('conditional RBM on a bouncing bar (binary units)', () => {
  const models: Record<number, ConditionalRBM> = {};
  let test: SequenceWindows;

  beforeAll(async () => {
    await useBackend('cpu');
    const rng = new Rng(1);
    // 12 training sequences of 25 frames with 0.5% of the bits flipped; clean test sequences.
    const train = Array.from({ length: 12 }, (_, s) => tf.tensor2d(bouncing(25, s % 4, 0.005, rng)));
    const clean = Array.from({ length: 4 }, (_, s) => tf.tensor2d(bouncing(12, s, 0, rng)));
    test = sequenceWindows(clean, 2, 6);
    for (const order of [0, 1, 2]) {
      const model = new ConditionalRBM({ visible: 6, hidden: 10, order, seed: 1 });
      const { trainer } = await fitConditionalRbm(model, train, { epochs: 30, batchSize: 20, learningRate: 0.1, momentum: 0.9, gibbsSteps: 1 });
      trainer.dispose();
      models[order] = model;
    }
    tf.dispose([...train, ...clean]);
  });

  afterAll(() => {
    Object.values(models).forEach((m) => m.dispose());
    tf.dispose([test.frames, test.histories]);
  });

  /** The last `order` frames of each test history. */
  const historiesFor = (order: number) => tf.slice(test.histories, [0, (2 - order) * 6], [-1, order * 6]) as tf.Tensor2D;

  it('predicts the next frame from two frames of history (at least 38 of 40 right), which one frame or none cannot', () => {
    const accuracy = [0, 1, 2].map((order) => {
      const histories = historiesFor(order);
      const predicted = models[order]!.predict(histories, { rng: 3, gibbsSteps: 10, output: 'mean' });
      const value = frameAccuracy(predicted, test.frames);
      tf.dispose([histories, predicted]);
      return value;
    });
    // Measured: 0.225, 0.775, 1. Order 1 can only guess the direction from the middle position
    // (half the frames: 0.75 expected, 0.95 or more about once in 5,000 runs); order 0 can only
    // guess the position.
    expect(accuracy[2]).toBeGreaterThanOrEqual(0.95);
    expect(accuracy[1]).toBeLessThan(0.95);
    expect(accuracy[0]).toBeLessThan(0.5);
  });

  it('needs its history weights: with A and B set to zero the same model predicts no better than a guess', () => {
    const model = models[2]!;
    const saved = [tf.clone(model.params.historyToVisible!), tf.clone(model.params.historyToHidden!)];
    tf.tidy(() => {
      model.params.historyToVisible!.assign(tf.zerosLike(model.params.historyToVisible!));
      model.params.historyToHidden!.assign(tf.zerosLike(model.params.historyToHidden!));
    });
    const predicted = model.predict(test.histories, { rng: 3, gibbsSteps: 10, output: 'mean' });
    const accuracy = frameAccuracy(predicted, test.frames);
    model.params.historyToVisible!.assign(saved[0] as tf.Tensor2D);
    model.params.historyToHidden!.assign(saved[1] as tf.Tensor2D);
    tf.dispose([...saved, predicted]);
    expect(accuracy).toBeLessThan(0.5);
  });

  it('has the highest exact conditional log-likelihood on clean sequences with two frames of history', async () => {
    const rng = new Rng(8);
    const clean = tf.tensor3d([bouncing(12, 0, 0, rng), bouncing(12, 1, 0, rng)]);
    const data = { dataset: 'bouncing-bar', split: 'test', binarization: 'none (binary data)' };
    const values = await Promise.all([0, 1, 2].map(async (order) => (await models[order]!.logLikelihood(clean, { data })).value));
    clean.dispose();
    // Measured: −1.65, −0.41, −0.05. The best possible on clean frames: about −1.04 without history
    // (the positions' entropy), −0.35 with one frame (a coin flip from the middle half the time), 0 with two.
    expect(values[2]).toBeGreaterThan(values[1]! + 0.2);
    expect(values[1]).toBeGreaterThan(values[0]! + 0.2);
    expect(values[2]).toBeGreaterThan(-0.2);
  });

  it('rolls forward: 12 generated frames from each of 4 true histories continue the bounce', () => {
    const model = models[2]!;
    const hamming = (a: number[], b: number[]) => a.reduce((d, x, i) => d + (Math.round(x) === b[i] ? 0 : 1), 0);
    let exactMeans = 0;
    let exactSamples = 0;
    let inPhase = 0;
    for (let phase = 0; phase < 4; phase++) {
      const history = tf.tensor2d([bar(POSITIONS[phase]!), bar(POSITIONS[(phase + 1) % 4]!)]);
      const means = model.generate(history, 12, { rng: phase, output: 'mean' }) as tf.Tensor2D;
      const samples = model.generate(history, 12, { rng: phase }) as tf.Tensor2D;
      expect(samples.shape).toEqual([12, 6]);
      const expected = Array.from({ length: 12 }, (_, t) => POSITIONS[(phase + 2 + t) % 4]!);
      means.arraySync().forEach((frame, t) => {
        if (hamming(frame, bar(expected[t]!)) === 0) exactMeans += 1;
      });
      samples.arraySync().forEach((frame, t) => {
        if (hamming(frame, bar(expected[t]!)) === 0) exactSamples += 1;
        // The nearest bar position: distinct positions are 4 bits apart, so a flipped bit keeps it.
        const nearest = [0, 1, 2].reduce((best, p) => (hamming(frame, bar(p)) < hamming(frame, bar(best)) ? p : best), 0);
        if (nearest === expected[t]) inPhase += 1;
      });
      tf.dispose([history, means, samples]);
    }
    // Mean-field rollouts are the clean bounce.
    expect(exactMeans).toBe(48);
    // Drawn frames carry the bit flips the model learnt from its training data (measured: 45 of 48
    // clean), and the bar stays in phase (measured: 48 of 48, model seeds 1 to 4).
    expect(exactSamples / 48).toBeGreaterThanOrEqual(0.8);
    expect(inPhase / 48).toBeGreaterThanOrEqual(0.95);
  });
});

describe('conditional RBM on noisy sines (Gaussian units)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('predicts the next point of a sine from two frames of history with a small fraction of the error of a model without history', async () => {
    const rng = new Rng(2);
    const omega = (2 * Math.PI) / 12;
    const sine = (length: number, phase: number, noise: number) =>
      tf.tensor2d(Array.from({ length }, (_, t) => [Math.sin(omega * t + phase) + noise * rng.normal(), Math.cos(omega * t + phase) + noise * rng.normal()]));
    const train = Array.from({ length: 10 }, (_, s) => sine(30, s, 0.05));
    const clean = Array.from({ length: 4 }, (_, s) => sine(15, 0.3 + s, 0));
    const errors: number[] = [];
    for (const order of [0, 2]) {
      const model = new ConditionalRBM({ visible: 2, hidden: 6, order, visibleType: 'gaussian', seed: 1 });
      const { trainer } = await fitConditionalRbm(model, train, { epochs: 30, batchSize: 20, learningRate: 0.01, momentum: 0.9 });
      const windows = sequenceWindows(clean, order, 2);
      errors.push(await conditionalPredictionError(model, windows, { rng: 4, gibbsSteps: 10 }));
      if (order === 2) {
        // Rolled forward 24 frames (two periods) from two true frames, it stays on the circle.
        const generated = model.generate(tf.slice(clean[0]!, [0, 0], [2, 2]) as tf.Tensor2D, 24, { rng: 5 }) as tf.Tensor2D;
        const truth = tf.slice(clean[0]!, [2, 0], [12, 2]);
        const first = tf.slice(generated, [0, 0], [12, 2]);
        const rollError = tf.tidy(() => tf.mean(tf.sum(tf.square(tf.sub(first, truth)), 1))).dataSync()[0]!;
        const radii = tf.tidy(() => tf.sqrt(tf.sum(tf.square(generated), 1))).arraySync() as number[];
        expect(rollError).toBeLessThan(0.05);
        for (const r of radii) expect(Math.abs(r - 1)).toBeLessThan(0.2);
        tf.dispose([generated, truth, first]);
      }
      tf.dispose([windows.frames, windows.histories]);
      trainer.dispose();
      model.dispose();
    }
    tf.dispose([...train, ...clean]);
    // Measured: 1.74 without history, 0.0005 with two frames.
    expect(errors[1]).toBeLessThan(0.02);
    expect(errors[1]).toBeLessThan(errors[0]! / 20);
  });
});

describe.each(['cpu', 'wasm'])('conditional RBM state and memory on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(['binary', 'gaussian'] as const)('an epoch of training, prediction, generation and sampling leave no tensors behind (%s units)', async (visibleType) => {
    const model = new ConditionalRBM({ visible: 3, hidden: 4, order: 2, visibleType, seed: 2 });
    const sequences = [tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([9, 3], 0, 1, 'float32', 1), 0.5), 'float32')) as tf.Tensor2D];
    const history = tf.tensor2d([
      [1, 0, 1],
      [0, 1, 0],
    ]);
    const histories = tf.stack([history, history]) as tf.Tensor3D;
    await withNoLeaks(async () => {
      const { trainer } = await fitConditionalRbm(model, sequences, { epochs: 2, batchSize: 3, gibbsSteps: 2 });
      trainer.dispose();
      const one = model.generate(history, 3, { rng: 1, gibbsSteps: 2 });
      const batch = model.generate(histories, 2, { rng: 1, gibbsSteps: 2, output: 'sample' });
      const samples = model.sample(5, { rng: 2, history, gibbsSteps: 2 });
      expect(one.shape).toEqual([3, 3]);
      expect(batch.shape).toEqual([2, 2, 3]);
      expect(samples.shape).toEqual([5, 3]);
      tf.dispose([one, batch, samples]);
    });
    tf.dispose([...sequences, history, histories]);
    model.dispose();
  });

  it('a checkpoint with the trainer and generator resumes training exactly', async () => {
    const options: ConditionalRbmTrainerOptions = { learningRate: 0.1, gibbsSteps: 2, rng: 7 };
    const model = new ConditionalRBM({ visible: 3, hidden: 4, order: 2, seed: 3, initialScale: 0.1 });
    const batch = { frames: tf.tensor2d([[1, 0, 1], [0, 1, 1]]), histories: tf.tensor2d([[1, 1, 0, 0, 0, 1], [0, 1, 0, 1, 0, 0]]) };
    const trainer = createConditionalRbmTrainer(model, options);
    tf.dispose(trainer.step(batch));
    const where = memoryCheckpoint();
    await saveModel(where, model, { optimizers: { trainer }, rng: trainer.rng });
    const loaded = await loadModel<ConditionalRBM>(where, energyModels, { optimizers: (m) => ({ trainer: createConditionalRbmTrainer(m, options) }) });
    const copy = loaded.model;
    const resumed = loaded.optimizers.trainer as ReturnType<typeof createConditionalRbmTrainer>;
    resumed.useRng(loaded.rng!);
    expect(copy.kind).toBe('conditional-rbm');
    expect(copy.config).toEqual({ visible: 3, hidden: 4, order: 2, visibleType: 'binary', seed: 3, initialScale: 0.1 });
    for (let k = 0; k < 2; k++) {
      tf.dispose(trainer.step(batch));
      tf.dispose(resumed.step(batch));
    }
    for (const key of ['weights', 'visibleBias', 'hiddenBias', 'historyToVisible', 'historyToHidden'] as const) {
      expect(copy.params[key]!.arraySync()).toEqual(model.params[key]!.arraySync());
    }
    [trainer, resumed].forEach((t) => t.dispose());
    [model, copy].forEach((m) => m.dispose());
    tf.dispose(batch);
  });
});

describe('conditional RBM refusals', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it.each<[string, unknown, RegExp]>([
    ['a missing order', { visible: 3, hidden: 2 }, /order.*past frames/],
    ['a fractional order', { visible: 3, hidden: 2, order: 1.5 }, /order.*integer >= 0/],
    ['an unknown visible type', { visible: 3, hidden: 2, order: 1, visibleType: 'poisson' }, /visibleType.*'binary' or 'gaussian'/],
    ['zero hidden units', { visible: 3, hidden: 0, order: 1 }, /hidden.*positive integer/],
    ['an unknown field', { visible: 3, hidden: 2, order: 1, delay: 2 }, /conditional-rbm\.delay.*known fields/],
    ['a negative initial scale', { visible: 3, hidden: 2, order: 1, initialScale: -1 }, /initialScale/],
    ['no config', null, /config object/],
  ])('rejects %s with a ConfigError', (_, config, message) => {
    const build = () => new ConditionalRBM(config as never);
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
  });

  it('refuses bad trainer options, histories of the wrong width and sampling without a history', async () => {
    const model = new ConditionalRBM({ visible: 3, hidden: 2, order: 2 });
    expect(() => createConditionalRbmTrainer(model, { gibbsSteps: 0 })).toThrow(/gibbsSteps.*positive integer/);
    expect(() => createConditionalRbmTrainer(model, { visibleReconstruction: 'mode' as never })).toThrow(/'sample' or 'mean'/);
    expect(() => createConditionalRbmTrainer(model, { method: 'pcd' } as never)).toThrow(ConfigError);
    const v = tf.zeros([2, 3]) as tf.Tensor2D;
    const shortHistory = tf.zeros([2, 3]) as tf.Tensor2D; // one frame per row, the order is 2
    expect(() => model.freeEnergy(v, shortHistory)).toThrow(/previous frames.*oldest first/);
    expect(() => model.sample(2, { rng: 1 })).toThrow(/samples given its past/);
    const oneFrame = tf.zeros([1, 3]) as tf.Tensor2D;
    expect(() => model.generate(oneFrame, 2, { rng: 1 })).toThrow(/generate history/);
    expect(() => model.generate(shortHistory, 0, { rng: 1 })).toThrow(/frames.*positive integer/);
    await expect(fitConditionalRbm(model, [v], { epochs: 1 })).rejects.toThrow(/longer than the order/);
    const grey = tf.fill([4, 3], 0.5);
    await expect(model.logLikelihood(grey, { data: { dataset: 'x', split: 'test', binarization: 'none' } })).rejects.toThrow(/binary frames/);
    tf.dispose([v, shortHistory, oneFrame, grey]);
    model.dispose();
  });
});
