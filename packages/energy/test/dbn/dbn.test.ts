import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, flattenParams, loadModel, memoryCheckpoint, Rng, saveModel, ShapeError } from '@helmholtz/core';
import { expectAllClose, expectNoLeaks, useBackend } from '@helmholtz/core/testing';
import { DBN } from '../../src/dbn/dbn.js';
import { energyModels } from '../../src/models.js';
import { BernoulliRBM } from '../../src/rbm/bernoulli.js';
import { GaussianBernoulliRBM } from '../../src/rbm/gaussian.js';

/** Gives every bias of the DBN random values, so that tests see biases at work. */
function randomiseBiases(dbn: DBN, seed: number): void {
  const rng = new Rng(seed);
  tf.tidy(() => {
    for (const rbm of dbn.rbms) {
      rbm.params.visibleBias.assign(rng.normalTensor([rbm.visible], 0, 0.5));
      rbm.params.hiddenBias.assign(rng.normalTensor([rbm.hidden], 0, 0.5));
    }
  });
}

describe('DBN config', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([
    ['no layers', {}],
    ['one layer', { layers: [16] }],
    ['a zero layer', { layers: [16, 0] }],
    ['a fractional layer', { layers: [16, 2.5, 4] }],
    ['layers not an array', { layers: 16 }],
    ['an unknown key', { layers: [16, 8], hiden: 4 }],
    ['an unknown visible type', { layers: [16, 8], visibleType: 'poisson' }],
    ['learnVariance on binary units', { layers: [16, 8], learnVariance: true }],
    ['initialStd on binary units', { layers: [16, 8], initialStd: 0.5 }],
    ['an image shape of the wrong size', { layers: [16, 8], imageShape: [3, 5] }],
    ['a negative seed', { layers: [16, 8], seed: -1 }],
    ['a negative initial scale', { layers: [16, 8], initialScale: -0.1 }],
  ])('refuses %s with a ConfigError', (_name, config) => {
    const before = tf.memory().numTensors;
    expect(() => new DBN(config as never)).toThrow(ConfigError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('builds one RBM per layer pair, Gaussian at the bottom when asked, params keyed by layer', () => {
    const dbn = new DBN({ layers: [6, 5, 4, 3], visibleType: 'gaussian', learnVariance: true, seed: 3, imageShape: [2, 3] });
    expect(dbn.depth).toBe(3);
    expect(dbn.rbms[0]).toBeInstanceOf(GaussianBernoulliRBM);
    expect(dbn.rbms[1]).toBeInstanceOf(BernoulliRBM);
    expect(dbn.rbms[2]).toBeInstanceOf(BernoulliRBM);
    expect(dbn.rbms.map((r) => [r.visible, r.hidden])).toEqual([
      [6, 5],
      [5, 4],
      [4, 3],
    ]);
    expect(dbn.rbms[0]?.config.imageShape).toEqual([2, 3]);
    expect([...flattenParams(dbn.params).keys()]).toEqual([
      'layers/0/weights',
      'layers/0/visibleBias',
      'layers/0/hiddenBias',
      'layers/0/logVariance',
      'layers/1/weights',
      'layers/1/visibleBias',
      'layers/1/hiddenBias',
      'layers/2/weights',
      'layers/2/visibleBias',
      'layers/2/hiddenBias',
    ]);
    // Each layer draws its own seed: two same-sized layers do not start equal.
    const same = new DBN({ layers: [4, 4, 4], seed: 1 });
    const [a, b] = same.rbms.map((r) => r.params.weights.dataSync());
    expect(Array.from(a as Float32Array)).not.toEqual(Array.from(b as Float32Array));
    same.dispose();
    dbn.dispose();
  });
});

describe.each(['cpu', 'wasm'])('DBN passes and sampling on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('encode, decode and reconstruct compose the RBMs’ conditionals layer by layer', () => {
    const dbn = new DBN({ layers: [7, 5, 3], seed: 2, initialScale: 1 });
    randomiseBiases(dbn, 4);
    const x = new Rng(5).bernoulli(tf.fill([6, 7], 0.5) as tf.Tensor2D);
    const [r0, r1] = dbn.rbms as [BernoulliRBM, BernoulliRBM];
    const code = dbn.encode(x);
    const expected = tf.tidy(() => r1.hiddenProbabilities(r0.hiddenProbabilities(x)));
    expectAllClose(code.dataSync(), expected.dataSync(), 1e-6);
    const decoded = dbn.decode(code);
    const expectedDecoded = tf.tidy(() => r0.visibleMean(r1.visibleMean(code)));
    expectAllClose(decoded.dataSync(), expectedDecoded.dataSync(), 1e-6);
    const reconstruction = dbn.reconstruct(x);
    expectAllClose(reconstruction.dataSync(), decoded.dataSync(), 1e-6);
    const middle = dbn.propagateUp(x, { to: 1 });
    expectAllClose(middle.dataSync(), tf.tidy(() => r0.hiddenProbabilities(x)).dataSync(), 1e-6);
    const sampled = dbn.propagateUp(x, { to: 2, mode: 'samples', rng: 1 });
    expect(new Set(sampled.dataSync())).toEqual(new Set([0, 1]));
    expect(() => dbn.encode(tf.zeros([2, 6]))).toThrow(ShapeError);
    expect(() => dbn.propagateUp(x, { to: 3 })).toThrow(ConfigError);
    expect(() => dbn.decode(tf.zeros([2, 5]))).toThrow(ShapeError);
    tf.dispose([x, code, expected, decoded, expectedDecoded, reconstruction, middle, sampled]);
    dbn.dispose();
  });

  it('samples have shape [n, visible] and lie in [0, 1], from noise and from data, with no tensor left behind', () => {
    const dbn = new DBN({ layers: [9, 6, 5, 4], seed: 1, initialScale: 1 });
    randomiseBiases(dbn, 2);
    const data = new Rng(3).bernoulli(tf.fill([5, 9], 0.3) as tf.Tensor2D);
    dbn.sample(2, { rng: 0, steps: 1 }).dispose(); // kernels warmed up outside the leak check
    expectNoLeaks(() => {
      dbn.sample(5, { rng: 7, steps: 20 }).dispose();
      dbn.sample(5, { rng: 7, steps: 20, output: 'sample' }).dispose();
      dbn.sample(5, { rng: 8, steps: 3, start: data }).dispose();
    });
    const means = dbn.sample(5, { rng: 7, steps: 20 });
    const bits = dbn.sample(5, { rng: 7, steps: 20, output: 'sample' });
    const fromData = dbn.sample(5, { rng: 8, steps: 3, start: data });
    for (const s of [means, bits, fromData]) {
      expect(s.shape).toEqual([5, 9]);
      for (const v of s.dataSync()) expect(v >= 0 && v <= 1).toBe(true);
    }
    for (const v of bits.dataSync()) expect(v === 0 || v === 1).toBe(true);
    // Means are strictly inside (0, 1): they are probabilities, not draws.
    expect(Array.from(means.dataSync()).some((v) => v > 0 && v < 1)).toBe(true);
    const again = dbn.sample(5, { rng: 7, steps: 20 });
    expect(Array.from(again.dataSync())).toEqual(Array.from(means.dataSync()));
    expect(() => dbn.sample(0, { rng: 1 })).toThrow(ConfigError);
    expect(() => dbn.sample(2, { rng: 1, start: data })).toThrow(ShapeError);
    expect(() => dbn.sample(2, { rng: 1, output: 'bits' as never })).toThrow(ConfigError);
    tf.dispose([data, means, bits, fromData, again]);
    dbn.dispose();
  });

  it('a Gaussian DBN samples finite real values; a one-RBM DBN samples exactly as its RBM does', () => {
    const dbn = new DBN({ layers: [4, 6, 3], visibleType: 'gaussian', seed: 1, initialScale: 0.5 });
    const s = dbn.sample(8, { rng: 2, steps: 10, output: 'sample' });
    expect(s.shape).toEqual([8, 4]);
    for (const v of s.dataSync()) expect(Number.isFinite(v)).toBe(true);
    expect(Array.from(s.dataSync()).some((v) => v < 0 || v > 1)).toBe(true);
    const single = new DBN({ layers: [5, 3], seed: 4, initialScale: 1 });
    const ours = single.sample(4, { rng: 9, steps: 5 });
    const rbms = (single.rbms[0] as BernoulliRBM).sample(4, { rng: 9, steps: 5, output: 'mean' });
    expect(ours.shape).toEqual([4, 5]);
    expect(Array.from(ours.dataSync())).toEqual(Array.from(rbms.dataSync()));
    tf.dispose([s, ours, rbms]);
    single.dispose();
    dbn.dispose();
  });
});

describe('DBN checkpoints', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([
    ['binary', { layers: [8, 6, 4], seed: 5, imageShape: [2, 4] }],
    ['Gaussian with learned variances', { layers: [5, 4, 3, 2], visibleType: 'gaussian', learnVariance: true, initialStd: 0.7, seed: 6 }],
  ])('save and load round-trip a %s DBN exactly through energyModels', async (_name, config) => {
    const dbn = new DBN(config as never);
    randomiseBiases(dbn, 11);
    if (dbn.rbms[0]?.params.logVariance) dbn.rbms[0].params.logVariance.assign(tf.tensor1d([0.1, -0.2, 0.3, 0, 0.5]));
    const handler = memoryCheckpoint();
    await saveModel(handler, dbn);
    const { model } = await loadModel<DBN>(handler, energyModels);
    expect(model).toBeInstanceOf(DBN);
    expect(model.config).toEqual(dbn.config);
    const saved = flattenParams(dbn.params);
    const loaded = flattenParams(model.params);
    expect([...loaded.keys()]).toEqual([...saved.keys()]);
    for (const [path, v] of saved) expect(Array.from(loaded.get(path)?.dataSync() ?? []), path).toEqual(Array.from(v.dataSync()));
    model.dispose();
    dbn.dispose();
  });
});
