import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError, loadModel, memoryCheckpoint, saveModel } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { FullyVisibleBoltzmannMachine } from '../../src/fvbm/model.js';
import { createFvbmTrainer, fitFvbm, type FvbmTrainerOptions } from '../../src/fvbm/training.js';
import { energyModels } from '../../src/models.js';
import { dataMoments, exactDraws, machineOf, meanLogLikelihood, moments, randomize } from './brute-force.js';

function maxAbsDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
  return worst;
}

/** The best model without couplings (independent units at the data's means): what the couplings must beat. */
function independentLogLikelihood(rows: number[][]): number {
  const n = rows[0]!.length;
  const q = Array.from({ length: n }, (_, i) => rows.reduce((a, r) => a + r[i]!, 0) / rows.length);
  return rows.reduce((a, r) => a + r.reduce((b, x, i) => b + Math.log(x ? q[i]! : 1 - q[i]!), 0), 0) / rows.length;
}

describe('FVBM training on draws from a known 5-unit machine', () => {
  let rows: number[][];
  let teacherLogLikelihood: number;
  let optimum: number;

  beforeAll(async () => {
    await useBackend('cpu');
    const teacher = new FullyVisibleBoltzmannMachine({ units: 5 });
    const m = randomize(teacher, 21, 1, 0.8);
    teacher.dispose();
    rows = exactDraws(m, 2000, 4);
    teacherLogLikelihood = meanLogLikelihood(m, rows);
  });

  it('exact maximum likelihood matches the data moments to 1e-3 and is at least as likely as the true model on its own samples', async () => {
    const data = tf.tensor2d(rows);
    const model = new FullyVisibleBoltzmannMachine({ units: 5, seed: 1 });
    const { history, trainer } = await fitFvbm(model, data, { epochs: 300, method: 'exact', learningRate: 0.5, momentum: 0.9, monitorExamples: 2000 });
    const learned = machineOf(model);
    optimum = meanLogLikelihood(learned, rows);
    const target = dataMoments(rows, 5);
    const got = moments(learned);
    // The likelihood's gradient is the moment difference: zero at the optimum.
    expect(maxAbsDifference(got.mean, target.mean)).toBeLessThan(1e-3);
    expect(maxAbsDifference(got.second, target.second)).toBeLessThan(1e-3);
    expect(optimum).toBeGreaterThan(teacherLogLikelihood - 0.01);
    // The couplings matter on this data: the independent-units fit is far below.
    expect(independentLogLikelihood(rows)).toBeLessThan(optimum - 0.05);
    // The per-epoch monitor is the exact log-likelihood (float32), and the step's loss too.
    const last = history.epochs.at(-1)!;
    expect(Math.abs((last.trainLogLikelihood as number) - optimum)).toBeLessThan(1e-4);
    expect(Math.abs((last.logLikelihood as number) - optimum)).toBeLessThan(1e-4);
    trainer.dispose();
    data.dispose();
    model.dispose();
  });

  it('pseudo-likelihood, a consistent estimator, lands within 1e-3 nats of the maximum-likelihood fit', async () => {
    const data = tf.tensor2d(rows);
    const model = new FullyVisibleBoltzmannMachine({ units: 5, seed: 1 });
    const { trainer, history } = await fitFvbm(model, data, { epochs: 200, method: 'pseudo-likelihood', learningRate: 0.5, momentum: 0.9, monitorExamples: 0 });
    expect(history.epochs.at(-1)!.pseudoLikelihood).toBeDefined();
    expect(meanLogLikelihood(machineOf(model), rows)).toBeGreaterThan(optimum - 1e-3);
    trainer.dispose();
    data.dispose();
    model.dispose();
  });

  it('PCD with 500 persistent chains and an annealed rate lands within 0.005 nats of the maximum-likelihood fit', async () => {
    const data = tf.tensor2d(rows);
    const model = new FullyVisibleBoltzmannMachine({ units: 5, seed: 1 });
    const { trainer } = await fitFvbm(model, data, {
      epochs: 10,
      method: 'pcd',
      batchSize: 100,
      // Annealed, so the chains' noise in the last updates is small (0.0008 to 0.0013 nats short over seeds 0-3).
      learningRate: { kind: 'linear', from: 0.3, to: 0.01, steps: 200 },
      momentum: 0.9,
      chains: 500,
      monitorExamples: 0,
    });
    const fit = meanLogLikelihood(machineOf(model), rows);
    expect(fit).toBeGreaterThan(optimum - 0.005);
    trainer.dispose();
    data.dispose();
    model.dispose();
  });
});

describe.each(['cpu', 'wasm'])('FVBM trainer state on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it.each(['exact', 'pseudo-likelihood', 'pcd'] as const)('%s updates leave no tensors behind and keep the couplings symmetric with a zero diagonal', async (method) => {
    const model = new FullyVisibleBoltzmannMachine({ units: 6, seed: 2, initialScale: 0.3 });
    const data = tf.tidy(() => tf.cast(tf.greater(tf.randomUniform([40, 6], 0, 1, 'float32', 3), 0.5), 'float32')) as tf.Tensor2D;
    const trainer = createFvbmTrainer(model, { method, chains: 10, gibbsSweeps: 2, order: 'random', weightDecay: 0.01 });
    await withNoLeaks(async () => {
      for (let k = 0; k < 3; k++) {
        const losses = trainer.step(data);
        for (const loss of Object.values(losses)) expect(Number.isFinite(loss.dataSync()[0])).toBe(true);
        tf.dispose(Object.values(losses));
      }
    });
    const w = model.params.weights.arraySync();
    for (let i = 0; i < 6; i++) {
      expect(w[i]![i] === 0).toBe(true);
      for (let j = 0; j < 6; j++) expect(w[i]![j]).toBeCloseTo(w[j]![i]!, 6);
    }
    trainer.dispose();
    data.dispose();
    model.dispose();
  });

  it('a PCD checkpoint (parameters, momentum, chains, generator) resumes exactly', async () => {
    const options: FvbmTrainerOptions = { method: 'pcd', chains: 8, learningRate: 0.1, rng: 5 };
    const model = new FullyVisibleBoltzmannMachine({ units: 4, seed: 3, initialScale: 0.5 });
    const data = tf.tensor2d([
      [1, 0, 1, 0],
      [1, 1, 1, 0],
      [0, 1, 0, 1],
    ]);
    const trainer = createFvbmTrainer(model, options);
    tf.dispose(Object.values(trainer.step(data)));
    const where = memoryCheckpoint();
    await saveModel(where, model, { optimizers: { trainer }, rng: trainer.rng, metadata: { step: 1 } });
    const loaded = await loadModel<FullyVisibleBoltzmannMachine>(where, energyModels, { optimizers: (m) => ({ trainer: createFvbmTrainer(m, options) }) });
    const copy = loaded.model;
    const resumed = loaded.optimizers.trainer as ReturnType<typeof createFvbmTrainer>;
    resumed.useRng(loaded.rng!);
    expect(copy.kind).toBe('fvbm');
    expect(copy.config).toEqual(model.config);
    expect(resumed.chains!.arraySync()).toEqual(trainer.chains!.arraySync());
    for (let k = 0; k < 2; k++) {
      tf.dispose(Object.values(trainer.step(data)));
      tf.dispose(Object.values(resumed.step(data)));
    }
    expect(copy.params.weights.arraySync()).toEqual(model.params.weights.arraySync());
    expect(copy.params.bias.arraySync()).toEqual(model.params.bias.arraySync());
    expect(resumed.chains!.arraySync()).toEqual(trainer.chains!.arraySync());
    // An exact trainer has no chains to take: refused, nothing assigned.
    await expect(loadModel(where, energyModels, { optimizers: (m) => ({ trainer: createFvbmTrainer(m as FullyVisibleBoltzmannMachine, { method: 'exact' }) }) })).rejects.toThrow(CheckpointError);
    [trainer, resumed].forEach((t) => t.dispose());
    [model, copy].forEach((m) => m.dispose());
    data.dispose();
  });
});

describe('FVBM trainer refusals', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it.each<[string, FvbmTrainerOptions, number, RegExp]>([
    ['an unknown method', { method: 'cd' as never }, 4, /method.*'exact', 'pseudo-likelihood' or 'pcd'/],
    ['exact training of a machine too large to enumerate', { method: 'exact' }, 21, /at most 20 units.*pseudo-likelihood/],
    ['zero sweeps', { method: 'pcd', gibbsSweeps: 0 }, 4, /gibbsSweeps.*positive integer/],
    ['a negative weight decay', { weightDecay: -1 }, 4, /weightDecay.*>= 0/],
    ['an unknown option', { steps: 3 } as never, 4, /fvbm trainer\.steps/],
  ])('rejects %s with a ConfigError', (_, options, units, message) => {
    const model = new FullyVisibleBoltzmannMachine({ units });
    const build = () => createFvbmTrainer(model, options);
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
    model.dispose();
  });

  it('defaults to pseudo-likelihood above 20 units', () => {
    const model = new FullyVisibleBoltzmannMachine({ units: 24 });
    const trainer = createFvbmTrainer(model);
    expect(trainer.method).toBe('pseudo-likelihood');
    trainer.dispose();
    model.dispose();
  });

  it('fitFvbm refuses grey-level data', async () => {
    const model = new FullyVisibleBoltzmannMachine({ units: 2 });
    const data = tf.tensor2d([[0.2, 1]]);
    await expect(fitFvbm(model, data, { epochs: 1 })).rejects.toThrow(/binary values/);
    data.dispose();
    model.dispose();
  });
});
