import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { CheckpointError, ConfigError, memoryCheckpoint, Rng, ShapeError } from '@helmholtz/core';
import { expectAllClose, useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { BernoulliRBM } from '../../src/rbm/bernoulli.js';
import { GaussianBernoulliRBM } from '../../src/rbm/gaussian.js';
import { createRbmTrainer } from '../../src/training/trainer.js';
import { fitRbm } from '../../src/training/fit.js';
import { freeEnergyGap, pseudoLikelihood, reconstructionError } from '../../src/training/monitors.js';
import { initVisibleBiasFromData } from '../../src/training/visible-bias.js';
import { loadRbmTraining, saveRbmTraining } from '../../src/training/checkpoint.js';

function binaryData(n: number, visible: number, seed: number): tf.Tensor2D {
  // Two prototypes with 10% of bits flipped: structure an RBM can learn.
  const rng = new Rng(seed);
  const protos = [0, 1].map(() => Array.from({ length: visible }, () => (rng.next() < 0.5 ? 1 : 0)));
  const rows: number[][] = [];
  for (let i = 0; i < n; i++) rows.push((protos[i % 2] as number[]).map((b) => (rng.next() < 0.1 ? 1 - b : b)));
  return tf.tensor2d(rows);
}

describe.each(['cpu', 'wasm'])('RBM training on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('a CD-1 epoch leaves tf.memory().numTensors unchanged, and so do the monitors', async () => {
    const data = binaryData(64, 12, 1);
    const rbm = new BernoulliRBM({ visible: 12, hidden: 5, seed: 1 });
    const trainer = createRbmTrainer(rbm, { method: 'pcd', chains: 7, sparsity: { target: 0.2, cost: 0.1 } });
    trainer.step(tf.slice(data, [0, 0], [16, 12])).reconstructionError.dispose(); // optimizer slots exist from here
    await withNoLeaks(async () => {
      for (let i = 0; i < 4; i++) {
        const batch = tf.slice(data, [i * 16, 0], [16, 12]);
        trainer.step(batch).reconstructionError.dispose();
        batch.dispose();
      }
      await reconstructionError(rbm, data);
      await pseudoLikelihood(rbm, data, 3);
      await freeEnergyGap(rbm, data, data);
    });
    trainer.dispose();
    rbm.dispose();
    data.dispose();
  });

  it('CD-1 on two noisy prototypes raises the pseudo-likelihood and lowers the reconstruction error', async () => {
    const data = binaryData(200, 20, 2);
    const rbm = new BernoulliRBM({ visible: 20, hidden: 8, seed: 2 });
    initVisibleBiasFromData(rbm, data);
    const errorBefore = await reconstructionError(rbm, data);
    const plBefore = await pseudoLikelihood(rbm, data, 5);
    const { history, trainer } = await fitRbm(rbm, data, { epochs: 15, batchSize: 20, learningRate: 0.1, seed: 3, initVisibleBias: false });
    const errorAfter = await reconstructionError(rbm, data);
    const plAfter = await pseudoLikelihood(rbm, data, 5);
    expect(errorAfter).toBeLessThan(errorBefore * 0.5);
    expect(plAfter).toBeGreaterThan(plBefore + 3);
    const last = history.epochs.at(-1) as Record<string, number>;
    expect(last.reconstructionError).toBeCloseTo(errorAfter, 4);
    expect(Number.isFinite(last.pseudoLikelihood)).toBe(true);
    trainer.dispose();
    rbm.dispose();
    data.dispose();
  });
});

describe.each(['cpu', 'wasm'])('the binary fast path on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('gives the same update as the generic path when every unit is deterministic (saturated weights), for CD-2, PCD and sparsity', async () => {
    // A BernoulliRBM under another kind takes the generic, row-per-example path.
    class GenericRBM extends BernoulliRBM {
      override readonly kind = 'generic-test-rbm' as 'bernoulli-rbm';
    }
    for (const options of [{ gibbsSteps: 2 }, { method: 'pcd' as const, chains: 5, gibbsSteps: 1 }, { sparsity: { target: 0.2, cost: 0.3 } }]) {
      const models = [new BernoulliRBM({ visible: 7, hidden: 5, seed: 1 }), new GenericRBM({ visible: 7, hidden: 5, seed: 1 })];
      const signs = new Rng(2);
      const w = tf.tensor2d(Array.from({ length: 35 }, () => (signs.next() < 0.5 ? -30 : 30)), [7, 5]);
      // Biases of 15 keep every total input at least 15 away from 0, so every probability is 0 or 1.
      for (const m of models) {
        m.params.weights.assign(w);
        m.params.visibleBias.assign(tf.fill([7], 15) as tf.Tensor1D);
        m.params.hiddenBias.assign(tf.fill([5], 15) as tf.Tensor1D);
      }
      const data = tf.tensor2d(Array.from({ length: 6 * 7 }, () => (signs.next() < 0.5 ? 0 : 1)), [6, 7]);
      const trainers = models.map((m) => createRbmTrainer(m, { ...options, rng: 3 }));
      if (trainers[0]!.chains) trainers[1]!.chains!.assign(trainers[0]!.chains);
      for (let i = 0; i < 2; i++) for (const t of trainers) t.step(data).reconstructionError.dispose();
      for (const name of ['weights', 'visibleBias', 'hiddenBias'] as const) {
        const [a, b] = await Promise.all(models.map((m) => m.params[name].data()));
        // Equal up to float32 rounding (the two layouts sum in different orders).
        expectAllClose(a!, b!, 1e-6);
      }
      tf.dispose([w, data]);
      for (const t of trainers) t.dispose();
      for (const m of models) m.dispose();
    }
  });
});

describe('RBM training details (wasm)', () => {
  beforeAll(() => useBackend('wasm'));
  const owned: { dispose(): void }[] = [];
  afterEach(() => {
    for (const o of owned.splice(0)) o.dispose();
  });

  it('initVisibleBiasFromData sets log(p/(1−p)) of each unit, clipped, and the data mean for Gaussian units', async () => {
    const data = tf.tensor2d([
      [1, 0, 1],
      [1, 0, 0],
      [1, 0, 1],
      [0, 0, 1],
    ]);
    const rbm = new BernoulliRBM({ visible: 3, hidden: 2 });
    owned.push(rbm, data);
    initVisibleBiasFromData(rbm, data);
    const b = Array.from(await rbm.params.visibleBias.data());
    expect(b[0]).toBeCloseTo(Math.log(0.75 / 0.25), 5);
    expect(b[1]).toBeCloseTo(Math.log(1e-3 / (1 - 1e-3)), 3);
    expect(b[2]).toBeCloseTo(Math.log(3), 5);
    const g = new GaussianBernoulliRBM({ visible: 3, hidden: 2 });
    owned.push(g);
    initVisibleBiasFromData(g, data);
    expect(Array.from(await g.params.visibleBias.data())).toEqual([0.75, 0, 0.75]);
  });

  it('a Gaussian-Bernoulli RBM learns a two-cluster real-valued set: samples land on both clusters', async () => {
    const rng = new Rng(4);
    const centres = [
      [2, 2, -2, -2],
      [-2, -2, 2, 2],
    ];
    const rows: number[][] = [];
    for (let i = 0; i < 400; i++) rows.push((centres[i % 2] as number[]).map((c) => c + 0.3 * rng.normal()));
    const data = tf.tensor2d(rows);
    const rbm = new GaussianBernoulliRBM({ visible: 4, hidden: 6, seed: 5, initialScale: 0.1 });
    owned.push(rbm, data);
    const { trainer } = await fitRbm(rbm, data, { epochs: 60, batchSize: 20, learningRate: 0.01, seed: 6 });
    owned.push(trainer);
    const samples = rbm.sample(200, { rng: 7, steps: 200, output: 'mean' });
    const values = (await samples.array()) as number[][];
    samples.dispose();
    // Assign each sample to the nearer centre; both must get a fair share, and most samples must be near one.
    const near = [0, 0];
    let close = 0;
    for (const s of values) {
      const d = centres.map((c) => Math.hypot(...c.map((ci, i) => ci - (s[i] as number))));
      const k = (d[0] as number) < (d[1] as number) ? 0 : 1;
      near[k]! += 1;
      if (Math.min(...d) < 1.5) close++;
    }
    expect(Math.min(...near)).toBeGreaterThan(40);
    expect(close).toBeGreaterThan(160);
  });

  it('saveRbmTraining/loadRbmTraining round-trip parameters, momentum, PCD chains, sparsity estimates and the generator exactly', async () => {
    const data = binaryData(40, 10, 8);
    const rbm = new BernoulliRBM({ visible: 10, hidden: 4, seed: 9 });
    const options = { method: 'pcd' as const, chains: 6, sparsity: { target: 0.1, cost: 0.05 }, rng: 10 };
    const trainer = createRbmTrainer(rbm, options);
    owned.push(rbm, trainer, data);
    for (let i = 0; i < 3; i++) trainer.step(data).reconstructionError.dispose();
    const store = memoryCheckpoint();
    await saveRbmTraining(store, trainer, { epoch: 3, step: 3 });
    // Continue the original and the restored copy by one more update: both must agree bit for bit.
    const loaded = await loadRbmTraining(store, options);
    owned.push(loaded.model, loaded.trainer);
    expect(loaded.metadata).toMatchObject({ epoch: 3, step: 3 });
    expect(Array.from(await (loaded.trainer.chains as tf.Variable).data())).toEqual(Array.from(await (trainer.chains as tf.Variable).data()));
    trainer.step(data).reconstructionError.dispose();
    loaded.trainer.step(data).reconstructionError.dispose();
    for (const name of ['weights', 'visibleBias', 'hiddenBias'] as const) {
      expect(Array.from(await loaded.model.params[name].data())).toEqual(Array.from(await rbm.params[name].data()));
    }
    expect(Array.from(await (loaded.trainer.chains as tf.Variable).data())).toEqual(Array.from(await (trainer.chains as tf.Variable).data()));
    // A checkpoint of a PCD trainer does not load into a CD one.
    await expect(loadRbmTraining(store, { method: 'cd' })).rejects.toThrow(CheckpointError);
    await expect(loadRbmTraining(store, { method: 'cd' })).rejects.toThrow(/persistent chains/);
  });

  it('fitRbm resumed through saveRbmTraining/loadRbmTraining (saved options, trainer, initialEpoch) continues the run bit for bit', async () => {
    const data = binaryData(40, 10, 12);
    owned.push(data);
    // 4 batches per epoch: fitRbm's default momentum goes from 0.5 to 0.9 at update 20, in epoch 5,
    // after the checkpoint, so the resumed trainer must have the same switch (not createRbmTrainer's 1000).
    const fitOptions = { batchSize: 10, method: 'pcd' as const, chains: 8, seed: 4, monitorExamples: 0 };
    const straight = new BernoulliRBM({ visible: 10, hidden: 4, seed: 13 });
    const whole = await fitRbm(straight, data, { ...fitOptions, epochs: 8 });
    owned.push(straight, whole.trainer);
    expect(whole.trainer.options.momentumSwitch).toBe(20);

    const split = new BernoulliRBM({ visible: 10, hidden: 4, seed: 13 });
    const first = await fitRbm(split, data, { ...fitOptions, epochs: 3 });
    owned.push(split, first.trainer);
    const store = memoryCheckpoint();
    await saveRbmTraining(store, first.trainer, { epoch: 3, step: first.history.steps });
    const loaded = await loadRbmTraining(store);
    owned.push(loaded.model, loaded.trainer);
    expect(loaded.trainer.options).toMatchObject({ method: 'pcd', chains: 8, momentumSwitch: 20 });
    // The resumed run does not re-initialise the visible biases (resuming), and draws what the whole run drew.
    await fitRbm(loaded.model, data, { ...fitOptions, epochs: 8, trainer: loaded.trainer, initialEpoch: 3 });
    for (const name of ['weights', 'visibleBias', 'hiddenBias'] as const) {
      expect(Array.from(await loaded.model.params[name].data())).toEqual(Array.from(await straight.params[name].data()));
    }
    // A trainer belongs to its model: fitting another RBM with it is refused before anything changes.
    await expect(fitRbm(split, data, { ...fitOptions, epochs: 9, trainer: loaded.trainer, initialEpoch: 8 })).rejects.toThrow(ConfigError);
  });

  it('a sparsity target pulls the mean hidden activation down to it, on the binary and on the generic (Gaussian) path', async () => {
    const binary = binaryData(40, 10, 14);
    const real = tf.tidy(() => tf.sub(tf.mul(binary, 2), 1) as tf.Tensor2D);
    owned.push(binary, real);
    const meanActivation = async (rbm: BernoulliRBM | GaussianBernoulliRBM, x: tf.Tensor2D): Promise<number> => {
      const m = tf.tidy(() => tf.mean(rbm.hiddenProbabilities(x)));
      const value = (await m.data())[0] as number;
      m.dispose();
      return value;
    };
    for (const [make, x] of [
      [() => new BernoulliRBM({ visible: 10, hidden: 6, seed: 15 }), binary],
      [() => new GaussianBernoulliRBM({ visible: 10, hidden: 6, seed: 15 }), real],
    ] as const) {
      const activations: number[] = [];
      for (const sparsity of [undefined, { target: 0.05, cost: 1 }]) {
        const rbm = make();
        const trainer = createRbmTrainer(rbm, { learningRate: 0.05, rng: 16, ...(sparsity ? { sparsity } : {}) });
        owned.push(rbm, trainer);
        for (let i = 0; i < 150; i++) trainer.step(x).reconstructionError.dispose();
        activations.push(await meanActivation(rbm, x));
      }
      const [free, sparse] = activations as [number, number];
      expect(free).toBeGreaterThan(0.3);
      expect(sparse).toBeLessThan(0.12);
    }
  });

  it('samples have the requested shape and are binary; bad arguments are typed errors', async () => {
    const rbm = new BernoulliRBM({ visible: 6, hidden: 3, seed: 11, initialScale: 1 });
    owned.push(rbm);
    const s = rbm.sample(5, { rng: 1, steps: 3 });
    expect(s.shape).toEqual([5, 6]);
    expect([...(await s.data())].every((x) => x === 0 || x === 1)).toBe(true);
    s.dispose();
    const m = rbm.sample(4, { rng: 1, steps: 2, output: 'mean' });
    expect([...(await m.data())].every((x) => x > 0 && x < 1)).toBe(true);
    m.dispose();
    expect(() => new BernoulliRBM({ visible: 0, hidden: 3 })).toThrow(ConfigError);
    expect(() => new BernoulliRBM({ visible: 4, hidden: 3, imageShape: [3, 3] })).toThrow(/imageShape/);
    expect(() => new BernoulliRBM({ visible: 4, hidden: 3, hiden: 2 } as never)).toThrow(/hiden/);
    expect(() => createRbmTrainer(rbm, { method: 'pc' as never })).toThrow(ConfigError);
    expect(() => createRbmTrainer(rbm, { sparsity: { target: 1.5, cost: 0.1 } })).toThrow(/target/);
    const trainer = createRbmTrainer(rbm);
    owned.push(trainer);
    const wrong = tf.zeros([2, 5]) as tf.Tensor2D;
    expect(() => trainer.step(wrong)).toThrow(ShapeError);
    wrong.dispose();
    expect(() => rbm.sample(0, { rng: 1 })).toThrow(ConfigError);
  });
});
