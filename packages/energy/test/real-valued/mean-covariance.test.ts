import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, loadModel, memoryCheckpoint, Rng, saveModel, ShapeError } from '@helmholtz/core';
import { expectAllClose, expectNoLeaks, useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyModels } from '../../src/models.js';
import { MeanCovarianceRBM, type MeanCovarianceRbmConfig } from '../../src/real-valued/mean-covariance.js';
import { createMeanCovarianceTrainer, type FreeEnergyTrainer } from '../../src/real-valued/trainer.js';
import { gaussianBaseline, logSumExp, nearLines, quadrature2d, sampleMoments, twoLines } from './support.js';

interface Plain {
  c: number[][];
  p: number[][];
  bc: number[];
  w: number[][];
  bm: number[];
  bv: number[];
  eps: number;
}

function plainParams(model: MeanCovarianceRBM): Plain {
  const { factors, pooling, covarianceBias, meanWeights, meanBias, visibleBias } = model.params;
  return {
    c: factors.arraySync(),
    p: pooling.arraySync(),
    bc: covarianceBias.arraySync(),
    w: meanWeights ? meanWeights.arraySync() : model.params.visibleBias.arraySync().map(() => []),
    bm: meanBias ? meanBias.arraySync() : [],
    bv: visibleBias.arraySync(),
    eps: model.config.normalizerOffset ?? 0.5,
  };
}

/** E(v, h^c, h^m) of the documented energy, written out in float64. */
function plainEnergy(q: Plain, v: number[], hc: number[], hm: number[]): number {
  const d = v.length;
  const norm = Math.sqrt(v.reduce((s, x) => s + x * x, 0) / d + q.eps);
  const vbar = v.map((x) => x / norm);
  let e = 0;
  for (let i = 0; i < d; i++) e += 0.5 * v[i]! * v[i]! - q.bv[i]! * v[i]!;
  const responses = q.c[0]!.map((_, f) => vbar.reduce((s, x, i) => s + q.c[i]![f]! * x, 0) ** 2);
  hc.forEach((h, k) => {
    const pooled = responses.reduce((s, r, f) => s + q.p[f]![k]! * r, 0);
    e -= h * (q.bc[k]! - 0.5 * pooled);
  });
  hm.forEach((h, j) => {
    e -= h * (q.bm[j]! + v.reduce((s, x, i) => s + q.w[i]![j]! * x, 0));
  });
  return e;
}

/** All binary vectors of length n. */
function states(n: number): number[][] {
  return Array.from({ length: 2 ** n }, (_, m) => Array.from({ length: n }, (_, i) => (m >> i) & 1));
}

function assignRandom(model: MeanCovarianceRBM, seed: number): void {
  const rng = new Rng(seed);
  const { factors, pooling, covarianceBias, meanWeights, meanBias, visibleBias } = model.params;
  tf.tidy(() => {
    factors.assign(rng.normalTensor(factors.shape) as tf.Tensor2D);
    pooling.assign(tf.abs(rng.normalTensor(pooling.shape, 0, 2)) as tf.Tensor2D);
    covarianceBias.assign(rng.normalTensor(covarianceBias.shape) as tf.Tensor1D);
    meanWeights?.assign(rng.normalTensor(meanWeights.shape) as tf.Tensor2D);
    meanBias?.assign(rng.normalTensor(meanBias.shape) as tf.Tensor1D);
    visibleBias.assign(rng.normalTensor(visibleBias.shape, 0, 0.5) as tf.Tensor1D);
  });
}

describe.each(['cpu', 'wasm'])('MeanCovarianceRBM on %s', (backend) => {
  let model: MeanCovarianceRBM;
  let v: tf.Tensor2D;
  beforeAll(async () => {
    await useBackend(backend);
    model = new MeanCovarianceRBM({ visible: 3, factors: 4, covarianceHidden: 2, meanHidden: 2, seed: 1, normalizerOffset: 0.3 });
    assignRandom(model, 7);
    v = new Rng(8).normalTensor([6, 3], 0, 1.5) as tf.Tensor2D;
  });
  afterAll(() => {
    model.dispose();
    v.dispose();
  });

  it('energy is the documented formula, and the free energy is −log Σ exp(−E) over all 16 hidden states', () => {
    const q = plainParams(model);
    const rows = v.arraySync();
    const hidden = states(4);
    const expected = rows.map((row) => -logSumExp(hidden.map((h) => -plainEnergy(q, row, h.slice(0, 2), h.slice(2)))));
    const free = model.freeEnergy(v);
    expectAllClose(free, expected, 1e-5);
    // The energy of one hidden state per row, against the same float64 formula.
    const hc = hidden.slice(0, 6).map((h) => h.slice(0, 2));
    const hm = hidden.slice(5, 11).map((h) => h.slice(2));
    const energy = tf.tidy(() => model.energy(v, tf.tensor2d(hc), tf.tensor2d(hm)));
    expectAllClose(energy, rows.map((row, i) => plainEnergy(q, row, hc[i]!, hm[i]!)), 1e-5);
    tf.dispose([free, energy]);
  });

  it('hidden probabilities are the marginals of p(h | v) from the enumeration', () => {
    const q = plainParams(model);
    const rows = v.arraySync();
    const hidden = states(4);
    const expected = rows.map((row) => {
      const logW = hidden.map((h) => -plainEnergy(q, row, h.slice(0, 2), h.slice(2)));
      const logZ = logSumExp(logW);
      return [0, 1, 2, 3].map((u) => hidden.reduce((s, h, m) => s + h[u]! * Math.exp(logW[m]! - logZ), 0));
    });
    const { covariance, mean } = model.hiddenProbabilities(v);
    const encoded = model.encode(v);
    expectAllClose(covariance, expected.map((e) => e.slice(0, 2)).flat(), 1e-5);
    expectAllClose(mean, expected.map((e) => e.slice(2)).flat(), 1e-5);
    expectAllClose(encoded, expected.flat(), 1e-6);
    tf.dispose([covariance, mean, encoded]);
  });
});

describe('MeanCovarianceRBM sampling and training (wasm)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('HMC samples of a 2-D model have the moments of exp(−F)/Z computed by quadrature', () => {
    const model = new MeanCovarianceRBM({ visible: 2, factors: 2, covarianceHidden: 2, meanHidden: 1 });
    const unit = (deg: number) => [Math.cos((deg * Math.PI) / 180), Math.sin((deg * Math.PI) / 180)];
    const [c1, c2] = [unit(30), unit(100)];
    model.params.factors.assign(tf.tensor2d([[c1![0]!, c2![0]!], [c1![1]!, c2![1]!]]));
    model.params.pooling.assign(tf.tensor2d([[6, 0], [0, 3]]));
    model.params.covarianceBias.assign(tf.tensor1d([3, 2]));
    model.params.meanWeights!.assign(tf.tensor2d([[1.5], [-1]]));
    model.params.meanBias!.assign(tf.tensor1d([-0.5]));
    model.params.visibleBias.assign(tf.tensor1d([0.3, -0.2]));
    const exact = quadrature2d((x) => model.freeEnergy(x), 7, 281);
    const t0 = performance.now();
    const samples = model.sample(2000, { rng: 11, steps: 40 });
    const { mean, second } = sampleMoments(samples);
    console.log(`mcRBM HMC, 2000 chains x 40 trajectories: ${(performance.now() - t0).toFixed(0)} ms; E[v] ${mean.map((x) => x.toFixed(3))} (quadrature ${exact.mean.map((x) => x.toFixed(3))}); E[vvᵀ] ${second.flat().map((x) => x.toFixed(3))} (quadrature ${exact.second.flat().map((x) => x.toFixed(3))})`);
    // The exact density is far from Gaussian (second moments differ from the N(b, I) start by ~0.5).
    for (let a = 0; a < 2; a++) {
      expect(Math.abs(mean[a]! - exact.mean[a]!)).toBeLessThan(0.07);
      for (let b = 0; b < 2; b++) expect(Math.abs(second[a]![b]! - exact.second[a]![b]!)).toBeLessThan(0.1);
    }
    samples.dispose();
    model.dispose();
  });

  it('CD-1 with HMC negatives learns two crossing lines that no Gaussian fits (held-out log-likelihood by quadrature)', () => {
    const train = twoLines(2000, 1);
    const test = twoLines(1000, 2);
    const model = new MeanCovarianceRBM({ visible: 2, factors: 4, covarianceHidden: 4, meanHidden: 0, seed: 1 });
    const heldOut = () => -tf.tidy(() => tf.mean(model.freeEnergy(test)).dataSync()[0]!) - quadrature2d((x) => model.freeEnergy(x)).logZ;
    const gaussian = gaussianBaseline(train, test);
    const before = heldOut();
    const samplesBefore = model.sample(1000, { rng: 4, steps: 30, leapfrogSteps: 10 });
    const trainer = createMeanCovarianceTrainer(model, { optimizer: { kind: 'adam', learningRate: 0.1 }, rng: 5, stepSize: 0.2, leapfrogSteps: 10 });
    const t0 = performance.now();
    const acceptance: number[] = [];
    for (let u = 0; u < 200; u++) {
      const batch = tf.slice(train, [(u % 20) * 100, 0], [100, 2]);
      const out = trainer.step(batch);
      if (u % 20 === 19) acceptance.push(out.acceptance!.dataSync()[0]!);
      tf.dispose([batch, ...Object.values(out)]);
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = heldOut();
    const samplesAfter = model.sample(1000, { rng: 4, steps: 30, leapfrogSteps: 10 });
    const [nearBefore, nearAfter, nearData] = [nearLines(samplesBefore, 0.25), nearLines(samplesAfter, 0.25), nearLines(test, 0.25)];
    console.log(`mcRBM 200 CD-1 updates: ${seconds.toFixed(1)} s; held-out log-lik ${before.toFixed(3)} -> ${after.toFixed(3)} (ML Gaussian ${gaussian.toFixed(3)});`,
      `samples within 0.25 of a line: ${nearBefore.toFixed(2)} -> ${nearAfter.toFixed(2)} (data ${nearData.toFixed(2)}); acceptance ${acceptance.map((a) => a.toFixed(2)).join(' ')}`);
    // Constraints hold after every update.
    expect(Math.min(...model.params.pooling.dataSync())).toBeGreaterThanOrEqual(0);
    expectAllClose(tf.tidy(() => tf.sum(tf.square(model.params.factors), 0)), [1, 1, 1, 1], 1e-5);
    expect(after - before).toBeGreaterThan(0.3);
    expect(after - gaussian).toBeGreaterThan(0.25);
    expect(nearAfter - nearBefore).toBeGreaterThan(0.15);
    tf.dispose([train, test, samplesBefore, samplesAfter]);
    trainer.dispose();
    model.dispose();
  });

  it('saveModel/loadModel round-trips the model and its trainer (step size, Adam slots): the next update is identical', async () => {
    const config: MeanCovarianceRbmConfig = { visible: 3, factors: 3, covarianceHidden: 2, meanHidden: 2, seed: 3, normalizerOffset: 0.2, imageShape: [1, 3] };
    const options = { optimizer: { kind: 'adam', learningRate: 0.05 } as const, rng: 9, leapfrogSteps: 5 };
    const data = new Rng(2).normalTensor([20, 3]) as tf.Tensor2D;
    const model = new MeanCovarianceRBM(config);
    const trainer = createMeanCovarianceTrainer(model, options);
    for (let u = 0; u < 4; u++) tf.dispose(Object.values(trainer.step(data)));
    const handler = memoryCheckpoint();
    await saveModel(handler, model, { optimizers: { trainer }, rng: trainer.rng });
    const loaded = await loadModel<MeanCovarianceRBM>(handler, energyModels, { optimizers: (m) => ({ trainer: createMeanCovarianceTrainer(m, options) }) });
    const copy = loaded.model;
    const copyTrainer = loaded.optimizers.trainer as FreeEnergyTrainer;
    copyTrainer.useRng(loaded.rng!);
    expect(copy).toBeInstanceOf(MeanCovarianceRBM);
    expect(copy.config).toEqual(config);
    expect(copyTrainer.negativePhase.state.stepSize!.dataSync()[0]).toBe(trainer.negativePhase.state.stepSize!.dataSync()[0]);
    tf.dispose(Object.values(trainer.step(data)));
    tf.dispose(Object.values(copyTrainer.step(data)));
    for (const key of Object.keys(model.params) as (keyof typeof model.params)[]) {
      expect(Array.from(copy.params[key]!.dataSync())).toEqual(Array.from(model.params[key]!.dataSync()));
    }
    const a = model.sample(4, { rng: 1, steps: 3 });
    const b = copy.sample(4, { rng: 1, steps: 3 });
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, data]);
    [trainer, copyTrainer].forEach((t) => t.dispose());
    [model, copy].forEach((m) => m.dispose());
  });

  it('leaves no tensor behind: updates, sampling, free energy, features', async () => {
    const data = new Rng(2).normalTensor([16, 3]) as tf.Tensor2D;
    await withNoLeaks(async () => {
      const model = new MeanCovarianceRBM({ visible: 3, factors: 3, covarianceHidden: 2, meanHidden: 1 });
      const trainer = createMeanCovarianceTrainer(model, { leapfrogSteps: 3 });
      expectNoLeaks(() => {
        for (let u = 0; u < 3; u++) tf.dispose(Object.values(trainer.step(data)));
        tf.dispose([model.sample(5, { rng: 1, steps: 2 }), model.sample(16, { rng: 1, steps: 1, start: data }), model.freeEnergy(data), model.encode(data)]);
        const { covariance, mean } = model.hiddenProbabilities(data);
        tf.dispose([covariance, mean, model.normalizedInput(data), model.meanLogits(data)]);
      });
      trainer.dispose();
      model.dispose();
    });
    data.dispose();
  });

  it('refuses bad configs and inputs with typed errors', () => {
    const base: MeanCovarianceRbmConfig = { visible: 2, factors: 2, covarianceHidden: 2, meanHidden: 0 };
    const bad: unknown[] = [
      { ...base, factors: 0 },
      { ...base, covarianceHidden: 1.5 },
      { ...base, meanHidden: -1 },
      { ...base, normalizerOffset: 0 },
      { ...base, initialScale: -1 },
      { ...base, imageShape: [3, 3] },
      { ...base, hidden: 4 },
      { visible: 2, factors: 2, covarianceHidden: 2 },
      null,
    ];
    for (const config of bad) expect(() => new MeanCovarianceRBM(config as MeanCovarianceRbmConfig), JSON.stringify(config)).toThrow(ConfigError);
    const model = new MeanCovarianceRBM(base);
    const x = tf.zeros([3, 3]) as tf.Tensor2D;
    expect(() => model.freeEnergy(x)).toThrow(ShapeError);
    expect(() => model.sample(0, { rng: 1 })).toThrow(ConfigError);
    expect(() => model.sample(2, { rng: 1, adaptStepSize: 1.5 })).toThrow(ConfigError);
    expect(() => model.sample(2, { rng: 1, start: x })).toThrow(ShapeError);
    expect(() => model.sample(2, { rng: 1, temperature: 2 })).toThrow(ConfigError);
    expect(() => createMeanCovarianceTrainer(model, { targetAcceptance: 1 })).toThrow(ConfigError);
    expect(() => createMeanCovarianceTrainer(model, { leapfrogSteps: 0 })).toThrow(ConfigError);
    expect(() => createMeanCovarianceTrainer(model, { gibbsSteps: 1 } as never)).toThrow(ConfigError);
    const trainer = createMeanCovarianceTrainer(model);
    expect(() => trainer.step(x)).toThrow(ShapeError);
    trainer.dispose();
    expect(() => trainer.step(tf.zeros([2, 2]) as tf.Tensor2D)).toThrow(ConfigError);
    x.dispose();
    model.dispose();
  });
});
