import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { DBM } from '../../src/dbm/dbm.js';
import { fitDbm } from '../../src/dbm/fit.js';
import { pretrainDbm, type DbmPretrainLayerEnd } from '../../src/dbm/pretrain.js';
import { createDbmTrainer } from '../../src/dbm/trainer.js';
import { barsAndStripes } from '../dbn/data.js';

const DATA = { dataset: '4x4 bars and stripes', split: 'train', binarization: 'none (binary)' };

/** The exact mean-field bound of the 30 patterns (log Z by enumerating h1's 2^12 states). */
async function bound(dbm: DBM, x: tf.Tensor2D): Promise<number> {
  return (await dbm.logLikelihood(x, { data: DATA, partition: 'exact' })).value;
}

describe('DBM training on 4x4 bars and stripes (cpu)', () => {
  let patterns: tf.Tensor2D;
  let data: tf.Tensor2D;
  beforeAll(async () => {
    await useBackend('cpu');
    patterns = tf.tensor2d(barsAndStripes());
    data = tf.tile(patterns, [4, 1]) as tf.Tensor2D;
  });
  afterAll(() => tf.dispose([patterns, data]));

  it('fitDbm from scratch raises the exact variational bound and lowers the reconstruction error', async () => {
    const dbm = new DBM({ layers: [16, 12, 8], seed: 1 });
    const before = await bound(dbm, patterns);
    // Uniform model: every pattern has probability 2^-16.
    expect(before).toBeCloseTo(-16 * Math.LN2, 2);
    const { history, trainer } = await fitDbm(dbm, data, { epochs: 30, batchSize: 10, learningRate: 0.05, initVisibleBias: true, monitorExamples: 30, seed: 6 });
    const after = await bound(dbm, patterns);
    expect(after - before).toBeGreaterThan(2);
    const errors = history.epochs.map((e) => e.reconstructionError as number);
    expect(errors.at(-1)!).toBeLessThan(errors[0]! / 3);
    expect(history.epochs.every((e) => Number.isFinite(e.updateReconstructionError))).toBe(true);
    expect(trainer.updates).toBe(30 * 12);
    trainer.dispose();
    dbm.dispose();
  });

  it('greedy pre-training composes a DBM whose bound fitDbm then raises further', async () => {
    const dbm = new DBM({ layers: [16, 12, 8], seed: 1 });
    const start = await bound(dbm, patterns);
    const seen: Omit<DbmPretrainLayerEnd, 'rbm' | 'history'>[] = [];
    const { histories, composed } = await pretrainDbm(dbm, data, {
      epochs: 30,
      batchSize: 10,
      learningRate: 0.05,
      seed: 3,
      onLayerEnd: ({ layer, copies, scale }) => void seen.push({ layer, copies, scale }),
    });
    expect(composed).toBe(true);
    expect(histories).toHaveLength(2);
    expect(seen).toEqual([
      { layer: 0, copies: { visible: 2, hidden: 1 }, scale: 1 },
      { layer: 1, copies: { visible: 1, hidden: 2 }, scale: 1 },
    ]);
    const pretrained = await bound(dbm, patterns);
    expect(pretrained - start).toBeGreaterThan(2);
    const { trainer } = await fitDbm(dbm, data, { epochs: 20, batchSize: 10, learningRate: 0.005, monitorExamples: 0, seed: 4 });
    const tuned = await bound(dbm, patterns);
    expect(tuned - pretrained).toBeGreaterThan(1);
    trainer.dispose();
    dbm.dispose();
  });

  it('a middle RBM of a three-hidden-layer stack is trained as an ordinary RBM and halved', async () => {
    const dbm = new DBM({ layers: [16, 8, 6, 4], seed: 1 });
    const middle: number[] = [];
    const seen: [number, number, number][] = [];
    await pretrainDbm(dbm, data, {
      epochs: [3, 3, 3],
      batchSize: 20,
      seed: 5,
      onLayerEnd: async ({ layer, rbm, copies, scale }) => {
        seen.push([layer, copies.visible * 10 + copies.hidden, scale]);
        if (layer === 1) middle.push(...(await rbm.params.weights.data()));
      },
    });
    expect(seen).toEqual([
      [0, 21, 1],
      [1, 11, 0.5],
      [2, 12, 1],
    ]);
    const composed = Array.from(await dbm.params.weights[1]!.data());
    composed.forEach((w, i) => expect(w).toBeCloseTo(middle[i]! / 2, 6));
    expect(middle.some((w) => Math.abs(w) > 0.02)).toBe(true);
    dbm.dispose();
  });

  it('a centred DBM trains too, with its offsets following the data', async () => {
    const dbm = new DBM({ layers: [16, 12, 8], seed: 1, centering: true });
    const before = await bound(dbm, patterns);
    const { trainer } = await fitDbm(dbm, data, { epochs: 30, batchSize: 10, learningRate: 0.05, initVisibleBias: true, offsetRate: 0.05, monitorExamples: 0, seed: 6 });
    const after = await bound(dbm, patterns);
    // The same run uncentred (the first test) gains about 3.3 nats; centred, about 5.7.
    expect(after - before).toBeGreaterThan(4);
    // Every pixel is on in half of the patterns: the visible offsets stay at the data's mean.
    const visible = await dbm.state.offsets![0]!.data();
    visible.forEach((o) => expect(o).toBeCloseTo(0.5, 1));
    // The hidden offsets track the mean-field means of the data (a running average of the batches').
    const features = dbm.features(patterns);
    const means = await tf.tidy(() => tf.mean(features, 0)).data();
    features.dispose();
    const offsets = [...(await dbm.state.offsets![1]!.data()), ...(await dbm.state.offsets![2]!.data())];
    offsets.forEach((o, j) => expect(Math.abs(o - means[j]!)).toBeLessThan(0.05));
    expect(Math.max(...Array.from(means, (m) => Math.abs(m - 0.5)))).toBeGreaterThan(0.1);
    trainer.dispose();
    dbm.dispose();
  });

  it('leaks no tensor over a training epoch, a pre-training run and the monitors', async () => {
    const dbm = new DBM({ layers: [16, 12, 8], seed: 1, centering: true, chains: 20 });
    const trainer = createDbmTrainer(dbm, { learningRate: 0.01, rng: 1 });
    await withNoLeaks(() => fitDbm(dbm, data, { epochs: 1, batchSize: 10, trainer, initVisibleBias: true, monitorExamples: 30 }), 'fitDbm epoch');
    await withNoLeaks(() => pretrainDbm(dbm, data, { epochs: 1, batchSize: 30 }), 'pretrainDbm');
    trainer.dispose();
    dbm.dispose();
  });

  it('refuses bad trainer and fit options with a ConfigError', async () => {
    const dbm = new DBM({ layers: [16, 12, 8], seed: 1 });
    const before = tf.memory().numTensors;
    expect(() => createDbmTrainer(dbm, { optimizer: 'adam' as never })).toThrow(ConfigError);
    expect(() => createDbmTrainer(dbm, { offsetRate: 0.1 })).toThrow(ConfigError);
    expect(() => createDbmTrainer(dbm, { gibbsSteps: 0 })).toThrow(ConfigError);
    expect(() => createDbmTrainer(dbm, { optimizer: 'sgd', momentum: 0.9 })).toThrow(ConfigError);
    expect(() => createDbmTrainer(dbm, { learningrate: 0.1 } as never)).toThrow(ConfigError);
    expect(tf.memory().numTensors).toBe(before);
    await expect(fitDbm(dbm, data, { epochs: 1, batchSize: 0 })).rejects.toThrow(ConfigError);
    // A misspelt option is refused even when a trainer is given (no new trainer would see it).
    const given = createDbmTrainer(dbm, { learningRate: 0.01 });
    await expect(fitDbm(dbm, data, { epochs: 1, trainer: given, monitorExample: 0 } as never)).rejects.toThrow(ConfigError);
    expect(given.updates).toBe(0);
    given.dispose();
    await expect(pretrainDbm(dbm, data, { epochs: [1] })).rejects.toThrow(ConfigError);
    await expect(pretrainDbm(dbm, data, { epochs: 1, seeed: 1 } as never)).rejects.toThrow(ConfigError);
    const sgd = createDbmTrainer(dbm, { optimizer: 'sgd', learningRate: 0.01 });
    const w0 = Array.from(await dbm.params.weights[0]!.data());
    sgd.step(patterns).reconstructionError.dispose();
    expect(Array.from(await dbm.params.weights[0]!.data())).not.toEqual(w0);
    sgd.dispose();
    dbm.dispose();
  });
});
