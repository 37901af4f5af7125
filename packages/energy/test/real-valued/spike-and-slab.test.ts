import * as tf from '@tensorflow/tfjs-core';
import { CheckpointError, ConfigError, loadModel, memoryCheckpoint, Rng, saveModel, ShapeError } from '@helmholtz/core';
import { expectAllClose, expectNoLeaks, useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { energyModels } from '../../src/models.js';
import { SpikeAndSlabRBM, type SpikeAndSlabRbmConfig } from '../../src/real-valued/spike-and-slab.js';
import { createSpikeAndSlabTrainer, type FreeEnergyTrainer } from '../../src/real-valued/trainer.js';
import { gaussianBaseline, logSumExp, nearLines, quadrature2d, sampleMoments, twoLines } from './support.js';

interface Plain {
  w: number[][]; // [V][H]
  b: number[];
  alpha: number[];
  lambda: number[];
  phi: number[][]; // [H][V]
}

function plainParams(model: SpikeAndSlabRBM): Plain {
  const { weights, hiddenBias, logSlabPrecision, logVisiblePrecision, hiddenPrecision } = model.params;
  return {
    w: weights.arraySync(),
    b: hiddenBias.arraySync(),
    alpha: logSlabPrecision.arraySync().map(Math.exp),
    lambda: logVisiblePrecision.arraySync().map(Math.exp),
    phi: hiddenPrecision ? hiddenPrecision.arraySync() : hiddenBias.arraySync().map(() => logVisiblePrecision.arraySync().map(() => 0)),
  };
}

/** E(v, s, h) of the documented energy, in float64. */
function plainEnergy(q: Plain, v: number[], s: number[], h: number[]): number {
  let e = 0;
  v.forEach((x, d) => {
    const precision = q.lambda[d]! + h.reduce((acc, hi, i) => acc + hi * q.phi[i]![d]!, 0);
    e += 0.5 * precision * x * x;
  });
  h.forEach((hi, i) => {
    const wv = v.reduce((acc, x, d) => acc + q.w[d]![i]! * x, 0);
    e += -hi * s[i]! * wv + 0.5 * q.alpha[i]! * s[i]! ** 2 - q.b[i]! * hi;
  });
  return e;
}

/** log ∫∫ exp(−E(v, s, h)) ds₁ ds₂ by the midpoint rule on a grid around the slabs' conditional mean. */
function logSlabIntegral(q: Plain, v: number[], h: number[]): number {
  const m = 321;
  const centre = h.map((hi, i) => (hi * v.reduce((acc, x, d) => acc + q.w[d]![i]! * x, 0)) / q.alpha[i]!);
  const half = q.alpha.map((a) => 9 / Math.sqrt(a));
  const step = half.map((r) => (2 * r) / (m - 1));
  const values: number[] = [];
  for (let a = 0; a < m; a++) {
    for (let c = 0; c < m; c++) {
      const s = [centre[0]! - half[0]! + a * step[0]!, centre[1]! - half[1]! + c * step[1]!];
      values.push(-plainEnergy(q, v, s, h));
    }
  }
  return logSumExp(values) + Math.log(step[0]! * step[1]!);
}

const SPIKES = [
  [0, 0],
  [1, 0],
  [0, 1],
  [1, 1],
];

function makeTinyModel(): SpikeAndSlabRBM {
  const model = new SpikeAndSlabRBM({ visible: 2, hidden: 2, hiddenPrecision: true, slabPrecision: 1.5 });
  // Filters at ±45° that make some spike states strongly correlated Gaussians; Φ keeps M_h positive definite.
  model.params.weights.assign(tf.tensor2d([[1.2, 0.9], [1.1, -1.0]]));
  model.params.hiddenBias.assign(tf.tensor1d([-0.5, 0.4]));
  model.params.logVisiblePrecision.assign(tf.log(tf.tensor1d([2.2, 1.8])));
  model.params.hiddenPrecision!.assign(tf.tensor2d([[0.3, 0.5], [0.2, 0.1]]));
  return model;
}

describe.each(['cpu', 'wasm'])('SpikeAndSlabRBM on %s', (backend) => {
  let model: SpikeAndSlabRBM;
  let v: tf.Tensor2D;
  beforeAll(async () => {
    await useBackend(backend);
    model = makeTinyModel();
    v = tf.tensor2d([[0.3, -0.8], [1.5, 1.2], [-2, 0.4], [0, 0]]);
  });
  afterAll(() => {
    model.dispose();
    v.dispose();
  });

  it('free energy equals −log Σ_h ∫∫ exp(−E) ds by quadrature over the slabs; energy is the documented formula', () => {
    const q = plainParams(model);
    const rows = v.arraySync();
    const expected = rows.map((row) => -logSumExp(SPIKES.map((h) => logSlabIntegral(q, row, h))));
    const free = model.freeEnergy(v);
    expectAllClose(free, expected, 2e-5);
    const s = [[0.5, -1], [2, 0.1], [-0.3, 0.7], [1, 1]];
    const energy = tf.tidy(() => model.energy(v, tf.tensor2d(s), tf.tensor2d(SPIKES)));
    expectAllClose(energy, rows.map((row, i) => plainEnergy(q, row, s[i]!, SPIKES[i]!)), 1e-5);
    tf.dispose([free, energy]);
  });

  it('p(h | v) equals the marginals of the spikes from the same quadrature', () => {
    const q = plainParams(model);
    const expected = v.arraySync().map((row) => {
      const logW = SPIKES.map((h) => logSlabIntegral(q, row, h));
      const logZ = logSumExp(logW);
      return [0, 1].map((i) => SPIKES.reduce((acc, h, m) => acc + h[i]! * Math.exp(logW[m]! - logZ), 0));
    });
    const p = model.hiddenProbabilities(v);
    expectAllClose(p, expected.flat(), 1e-5);
    p.dispose();
  });

  it('exact log Z equals the quadrature of exp(−F(v)) over the plane, and log-likelihood is −F − log Z', async () => {
    const logZ = await model.exactLogPartition();
    const numeric = quadrature2d((x) => model.freeEnergy(x), 9, 361);
    expect(Math.abs(logZ - numeric.logZ)).toBeLessThan(2e-4);
    const estimate = await model.logLikelihood(v, { data: { dataset: 'toy', split: 'test', binarization: 'none (real-valued)' } });
    const free = model.freeEnergy(v);
    const expected = -Array.from(free.dataSync()).reduce((a, b) => a + b, 0) / 4 - logZ;
    free.dispose();
    expect(estimate.kind).toBe('exact');
    expect(estimate.protocol.method).toBe('exact');
    expect(estimate.value).toBeCloseTo(expected, 5);
  });

  it('p(s | v, h) and p(v | s, h) samples have the moments of the formulas', () => {
    const q = plainParams(model);
    const n = 20000;
    const row = [0.7, -0.4];
    const h = [1, 0];
    const s = [0.8, -1.3];
    const rng = new Rng(21);
    const [slab, visible] = tf.tidy(() => {
      const vs = tf.tile(tf.tensor2d([row]), [n, 1]) as tf.Tensor2D;
      const hs = tf.tile(tf.tensor2d([h]), [n, 1]) as tf.Tensor2D;
      const ss = tf.tile(tf.tensor2d([s]), [n, 1]) as tf.Tensor2D;
      return [model.sampleSlab(vs, hs, rng), model.sampleVisible(ss, hs, rng)];
    });
    const moments = (t: tf.Tensor2D) => {
      const x = t.dataSync();
      return [0, 1].map((j) => {
        let mean = 0;
        for (let i = 0; i < n; i++) mean += x[i * 2 + j]! / n;
        let variance = 0;
        for (let i = 0; i < n; i++) variance += (x[i * 2 + j]! - mean) ** 2 / (n - 1);
        return { mean, variance };
      });
    };
    const slabMoments = moments(slab);
    const visibleMoments = moments(visible);
    [0, 1].forEach((i) => {
      const mean = (h[i]! * (q.w[0]![i]! * row[0]! + q.w[1]![i]! * row[1]!)) / q.alpha[i]!;
      expect(Math.abs(slabMoments[i]!.mean - mean)).toBeLessThan(0.03);
      expect(slabMoments[i]!.variance / (1 / q.alpha[i]!)).toBeCloseTo(1, 1);
    });
    [0, 1].forEach((d) => {
      const precision = q.lambda[d]! + h[0]! * q.phi[0]![d]! + h[1]! * q.phi[1]![d]!;
      const mean = (q.w[d]![0]! * s[0]! * h[0]! + q.w[d]![1]! * s[1]! * h[1]!) / precision;
      expect(Math.abs(visibleMoments[d]!.mean - mean)).toBeLessThan(0.02);
      expect(visibleMoments[d]!.variance * precision).toBeCloseTo(1, 1);
    });
    tf.dispose([slab, visible]);
  });
});

describe('SpikeAndSlabRBM sampling and training (wasm)', () => {
  beforeAll(async () => {
    await useBackend('wasm');
  });

  it('block Gibbs samples have the second moments of the exact mixture Σ_h π_h M_h⁻¹', () => {
    const model = makeTinyModel();
    const q = plainParams(model);
    // p(v | h) = N(0, M_h⁻¹), p(h) ∝ exp(bᵀh) det(M_h)^−½ (the slab constants are the same for every h).
    const parts = SPIKES.map((h) => {
      const m = [0, 1].map((a) =>
        [0, 1].map((c) => (a === c ? q.lambda[a]! + h[0]! * q.phi[0]![a]! + h[1]! * q.phi[1]![a]! : 0) - [0, 1].reduce((acc, i) => acc + (h[i]! * q.w[a]![i]! * q.w[c]![i]!) / q.alpha[i]!, 0)),
      );
      const det = m[0]![0]! * m[1]![1]! - m[0]![1]! * m[1]![0]!;
      const inverse = [[m[1]![1]! / det, -m[0]![1]! / det], [-m[1]![0]! / det, m[0]![0]! / det]];
      return { logWeight: h[0]! * q.b[0]! + h[1]! * q.b[1]! - 0.5 * Math.log(det), inverse };
    });
    const logNorm = logSumExp(parts.map((p) => p.logWeight));
    const exact = [0, 1].map((a) => [0, 1].map((c) => parts.reduce((acc, p) => acc + Math.exp(p.logWeight - logNorm) * p.inverse[a]![c]!, 0)));
    const t0 = performance.now();
    const samples = model.sample(4000, { rng: 5, steps: 100 });
    const { mean, second } = sampleMoments(samples);
    console.log(`ssRBM Gibbs, 4000 chains x 100 steps: ${(performance.now() - t0).toFixed(0)} ms; E[vvᵀ] ${second.flat().map((x) => x.toFixed(3))} (exact ${exact.flat().map((x) => x.toFixed(3))})`);
    for (let a = 0; a < 2; a++) {
      expect(Math.abs(mean[a]!)).toBeLessThan(0.05);
      for (let c = 0; c < 2; c++) expect(Math.abs(second[a]![c]! - exact[a]![c]!)).toBeLessThan(0.06);
    }
    samples.dispose();
    model.dispose();
  });

  it('CD-1 learns two crossing lines that no Gaussian fits (exact held-out log-likelihood)', async () => {
    const train = twoLines(2000, 1);
    const test = twoLines(1000, 2);
    const protocol = { data: { dataset: 'two lines at ±45°, noise 0.1', split: 'held-out', binarization: 'none (real-valued)' } };
    const model = new SpikeAndSlabRBM({ visible: 2, hidden: 4, seed: 1, initialScale: 0.1 });
    const gaussian = gaussianBaseline(train, test);
    const before = (await model.logLikelihood(test, protocol)).value;
    const samplesBefore = model.sample(1000, { rng: 4, steps: 50 });
    const trainer = createSpikeAndSlabTrainer(model, { optimizer: { kind: 'adam', learningRate: 0.05 }, rng: 5 });
    const t0 = performance.now();
    for (let u = 0; u < 300; u++) {
      const batch = tf.slice(train, [(u % 20) * 100, 0], [100, 2]);
      tf.dispose([batch, ...Object.values(trainer.step(batch))]);
    }
    const seconds = (performance.now() - t0) / 1000;
    const after = (await model.logLikelihood(test, protocol)).value;
    const samplesAfter = model.sample(1000, { rng: 4, steps: 50 });
    const [nearBefore, nearAfter] = [nearLines(samplesBefore, 0.25), nearLines(samplesAfter, 0.25)];
    console.log(`ssRBM 300 CD-1 updates: ${seconds.toFixed(1)} s; held-out log-lik ${before.toFixed(3)} -> ${after.toFixed(3)} (ML Gaussian ${gaussian.toFixed(3)}); samples within 0.25 of a line ${nearBefore.toFixed(2)} -> ${nearAfter.toFixed(2)}`);
    expect(after - before).toBeGreaterThan(0.3);
    expect(after - gaussian).toBeGreaterThan(0.25);
    expect(nearAfter - nearBefore).toBeGreaterThan(0.15);
    tf.dispose([train, test, samplesBefore, samplesAfter]);
    trainer.dispose();
    model.dispose();
  });

  it('an improper model (a spike adds more variance than Λ allows) has log Z = Infinity and refuses a log-likelihood', async () => {
    const model = new SpikeAndSlabRBM({ visible: 2, hidden: 2 });
    // With only spike 0 on, M = I − w wᵀ has eigenvalue 1 − |w|² = −1 along w.
    model.params.weights.assign(tf.tensor2d([[1, 0.1], [1, 0]]));
    expect(await model.exactLogPartition()).toBe(Infinity);
    const x = tf.zeros([2, 2]) as tf.Tensor2D;
    await expect(model.logLikelihood(x, { data: { dataset: 'toy', split: 'test', binarization: 'none' } })).rejects.toThrow(/spikes \{0\}/);
    x.dispose();
    model.dispose();
  });

  it('saveModel/loadModel round-trips the model and its trainer: the next update is identical', async () => {
    const config: SpikeAndSlabRbmConfig = { visible: 3, hidden: 2, seed: 4, hiddenPrecision: true, slabPrecision: 2, initialVisiblePrecision: 1.5, learnVisiblePrecision: true, initialScale: 0.3 };
    const options = { optimizer: { kind: 'momentum', learningRate: 0.01, momentum: 0.9 } as const, rng: 3, gibbsSteps: 2 };
    const data = new Rng(2).normalTensor([20, 3]) as tf.Tensor2D;
    const model = new SpikeAndSlabRBM(config);
    const trainer = createSpikeAndSlabTrainer(model, options);
    for (let u = 0; u < 4; u++) tf.dispose(Object.values(trainer.step(data)));
    const handler = memoryCheckpoint();
    await saveModel(handler, model, { optimizers: { trainer }, rng: trainer.rng });
    const loaded = await loadModel<SpikeAndSlabRBM>(handler, energyModels, { optimizers: (m) => ({ trainer: createSpikeAndSlabTrainer(m, options) }) });
    const copy = loaded.model;
    const copyTrainer = loaded.optimizers.trainer as FreeEnergyTrainer;
    copyTrainer.useRng(loaded.rng!);
    expect(copy).toBeInstanceOf(SpikeAndSlabRBM);
    expect(copy.config).toEqual(config);
    tf.dispose(Object.values(trainer.step(data)));
    tf.dispose(Object.values(copyTrainer.step(data)));
    for (const key of Object.keys(model.params) as (keyof typeof model.params)[]) {
      expect(Array.from(copy.params[key]!.dataSync())).toEqual(Array.from(model.params[key]!.dataSync()));
    }
    // Φ stays non-negative after updates that push it down.
    expect(Math.min(...model.params.hiddenPrecision!.dataSync())).toBeGreaterThanOrEqual(0);
    expect(model.params.logSlabPrecision.trainable).toBe(false);
    expect(await copy.exactLogPartition()).toBe(await model.exactLogPartition());
    const a = model.sample(4, { rng: 1, steps: 3 });
    const b = copy.sample(4, { rng: 1, steps: 3 });
    expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    tf.dispose([a, b, data]);
    [trainer, copyTrainer].forEach((t) => t.dispose());
    [model, copy].forEach((m) => m.dispose());
  });

  it('leaves no tensor behind: updates, Gibbs sampling, conditionals, log-likelihood', async () => {
    const data = new Rng(2).normalTensor([16, 3]) as tf.Tensor2D;
    await withNoLeaks(async () => {
      const model = new SpikeAndSlabRBM({ visible: 3, hidden: 2, hiddenPrecision: true });
      const trainer = createSpikeAndSlabTrainer(model, { gibbsSteps: 2 });
      expectNoLeaks(() => {
        for (let u = 0; u < 3; u++) tf.dispose(Object.values(trainer.step(data)));
        const state = model.gibbs(data, 2, trainer.rng);
        tf.dispose([state.visible, state.hidden, state.slab]);
        tf.dispose([model.sample(5, { rng: 1, steps: 2 }), model.sample(16, { rng: 1, steps: 1, start: data }), model.freeEnergy(data), model.encode(data)]);
        const h = model.sampleHidden(data, trainer.rng);
        tf.dispose([h, model.slabMean(data, h), model.visibleMean(h, h), model.energy(data, h, h)]);
      });
      await model.logLikelihood(data, { data: { dataset: 'noise', split: 'test', binarization: 'none (real-valued)' } });
      trainer.dispose();
      model.dispose();
    });
    data.dispose();
  });

  it('refuses bad configs and inputs with typed errors', async () => {
    const base: SpikeAndSlabRbmConfig = { visible: 2, hidden: 2 };
    const bad: unknown[] = [
      { ...base, hidden: 0 },
      { ...base, visible: 2.5 },
      { ...base, slabPrecision: 0 },
      { ...base, initialVisiblePrecision: -1 },
      { ...base, learnVisiblePrecision: 'yes' },
      { ...base, hiddenPrecision: 1 },
      { ...base, imageShape: [2, 2] },
      { ...base, factors: 2 },
      'ssrbm',
    ];
    for (const config of bad) expect(() => new SpikeAndSlabRBM(config as SpikeAndSlabRbmConfig), JSON.stringify(config)).toThrow(ConfigError);
    const model = new SpikeAndSlabRBM(base);
    const x = tf.zeros([3, 3]) as tf.Tensor2D;
    const h = tf.zeros([2, 2]) as tf.Tensor2D;
    const v = tf.zeros([3, 2]) as tf.Tensor2D;
    expect(() => model.freeEnergy(x)).toThrow(ShapeError);
    expect(() => model.slabMean(v, h)).toThrow(ShapeError);
    expect(() => model.visibleMean(x, h)).toThrow(ShapeError);
    expect(() => model.sample(2, { rng: 1, steps: 0 })).toThrow(ConfigError);
    expect(() => model.sample(2, { rng: 1, start: x })).toThrow(ShapeError);
    expect(() => createSpikeAndSlabTrainer(model, { gibbsSteps: 0 })).toThrow(ConfigError);
    expect(() => createSpikeAndSlabTrainer(model, { leapfrogSteps: 3 } as never)).toThrow(ConfigError);
    // Before the 2^hidden enumeration, not a TypeError after it.
    await expect(model.logLikelihood(v, undefined as never)).rejects.toThrow(ConfigError);
    await expect(model.logLikelihood(v, {} as never)).rejects.toThrow(/options\.data/);
    // A checkpoint entry named like an Object.prototype member is not sampler state.
    const trainer = createSpikeAndSlabTrainer(model);
    const weights = await trainer.getWeights();
    for (const name of ['sampler/constructor', 'sampler/toString']) {
      expect(() => trainer.validateWeights([...weights, { name, tensor: h }])).toThrow(CheckpointError);
    }
    tf.dispose(weights.map((w) => w.tensor));
    trainer.dispose();
    const big = new SpikeAndSlabRBM({ visible: 2, hidden: 17 });
    await expect(big.exactLogPartition()).rejects.toThrow(ConfigError);
    tf.dispose([x, h, v]);
    model.dispose();
    big.dispose();
  });
});
