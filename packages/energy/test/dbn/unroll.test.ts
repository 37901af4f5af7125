import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError, flattenParams, loadModel, memoryCheckpoint, Rng, saveModel, ShapeError } from '@helmholtz/core';
import { expectAllClose, useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { DBN } from '../../src/dbn/dbn.js';
import { fitDbn } from '../../src/dbn/fit.js';
import { DeepAutoencoder, fineTuneAutoencoder, meanReconstructionLoss, unrollToAutoencoder } from '../../src/dbn/autoencoder.js';
import { DbnClassifier, fineTuneClassifier, unrollToClassifier } from '../../src/dbn/classifier.js';
import { energyModels } from '../../src/models.js';
import { glyphs } from './data.js';

/** A DBN with weights and biases far from zero, so that equalities are not trivially met. */
function randomDbn(config: ConstructorParameters<typeof DBN>[0]): DBN {
  const dbn = new DBN({ initialScale: 0.8, seed: 7, ...config });
  const rng = new Rng(8);
  tf.tidy(() => {
    for (const rbm of dbn.rbms) {
      rbm.params.visibleBias.assign(rng.normalTensor([rbm.visible], 0, 1));
      rbm.params.hiddenBias.assign(rng.normalTensor([rbm.hidden], 0, 1));
    }
    dbn.rbms[0]?.params.logVariance?.assign(rng.normalTensor([dbn.visible], 0, 0.4));
  });
  return dbn;
}

describe.each(['cpu', 'wasm'])('unrolling a DBN on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it.each([
    ['binary', { layers: [12, 9, 6, 4] }],
    ['Gaussian with learned variances', { layers: [7, 6, 3], visibleType: 'gaussian', learnVariance: true }],
  ])('the %s autoencoder before fine-tuning equals the DBN’s deterministic up-down pass', (_name, config) => {
    const dbn = randomDbn(config as never);
    const ae = unrollToAutoencoder(dbn);
    const x = new Rng(1).uniform([10, dbn.visible]) as tf.Tensor2D;
    const [fromDbn, fromAe, codeDbn, codeAe] = [dbn.reconstruct(x), ae.reconstruct(x), dbn.encode(x), ae.encode(x)];
    expectAllClose(fromAe.dataSync(), fromDbn.dataSync(), 1e-5);
    expectAllClose(codeAe.dataSync(), codeDbn.dataSync(), 1e-5);
    // Untied: the decoder's kernels are their own variables, starting as the transposes.
    const k = dbn.depth;
    dbn.rbms.forEach((rbm, i) => {
      const decoder = ae.params.decoder[k - 1 - i];
      expect(decoder?.kernel).not.toBe(rbm.params.weights);
      expectAllClose(decoder?.kernel.dataSync() ?? [], tf.tidy(() => tf.transpose(rbm.params.weights)).dataSync(), 0);
      expect(Array.from(decoder?.bias?.dataSync() ?? [])).toEqual(Array.from(rbm.params.visibleBias.dataSync()));
    });
    tf.dispose([x, fromDbn, fromAe, codeDbn, codeAe]);
    ae.dispose();
    dbn.dispose();
  });

  it('the classifier’s hidden layers start exactly as the RBMs’ recognition weights and hidden biases', () => {
    const dbn = randomDbn({ layers: [10, 8, 5] });
    const classifier = unrollToClassifier(dbn, { classes: 3 });
    dbn.rbms.forEach((rbm, i) => {
      const layer = classifier.params.hidden[i];
      expect(Array.from(layer?.kernel.dataSync() ?? [])).toEqual(Array.from(rbm.params.weights.dataSync()));
      expect(Array.from(layer?.bias?.dataSync() ?? [])).toEqual(Array.from(rbm.params.hiddenBias.dataSync()));
    });
    expect(classifier.params.output.kernel.shape).toEqual([5, 3]);
    const x = new Rng(2).uniform([6, 10]) as tf.Tensor2D;
    const [features, code] = [classifier.features(x), dbn.encode(x)];
    expectAllClose(features.dataSync(), code.dataSync(), 1e-5);
    const probabilities = classifier.classProbabilities(x);
    expectAllClose(tf.tidy(() => tf.sum(probabilities, 1)).dataSync(), [1, 1, 1, 1, 1, 1], 1e-5);
    tf.dispose([x, features, code, probabilities]);
    classifier.dispose();
    dbn.dispose();
  });
});

describe('fine-tuning the unrolled networks', () => {
  beforeAll(() => useBackend('wasm'));

  it('backprop lowers the unrolled autoencoder’s reconstruction cross-entropy on held-out glyphs', async () => {
    const train = glyphs(400, 1, 0.02);
    const test = glyphs(200, 2, 0.02);
    const dbn = new DBN({ layers: [64, 32, 8], seed: 1, initialScale: 0.05 });
    await fitDbn(dbn, train.x, { epochs: 15, batchSize: 20, learningRate: 0.05, monitorExamples: 0 });
    const ae = unrollToAutoencoder(dbn);
    const before = await meanReconstructionLoss(ae, test.x);
    const { history } = await fineTuneAutoencoder(ae, train.x, { epochs: 30, batchSize: 20, optimizer: { kind: 'adam', learningRate: 1e-2 }, validation: test.x });
    const after = await meanReconstructionLoss(ae, test.x);
    const last = history.epochs.at(-1) as Record<string, number>;
    console.log(`glyph autoencoder 64-32-8: held-out cross-entropy ${before.toFixed(2)} -> ${after.toFixed(2)} nats per image (train loss ${last.loss?.toFixed(2)})`);
    expect(after).toBeLessThan(before * 0.8);
    expect(last.validationLoss).toBeCloseTo(after, 4);
    // The DBN is untouched by fine-tuning.
    const ae2 = unrollToAutoencoder(dbn);
    expect(await meanReconstructionLoss(ae2, test.x)).toBeCloseTo(before, 5);
    tf.dispose([train.x, test.x]);
    ae.dispose();
    ae2.dispose();
    dbn.dispose();
  });

  it('the fine-tuned classifier beats chance (1/4) by a wide margin on held-out glyphs', async () => {
    const train = glyphs(400, 3, 0.02);
    const test = glyphs(200, 4, 0.02);
    const dbn = new DBN({ layers: [64, 32, 16], seed: 2, initialScale: 0.05 });
    await fitDbn(dbn, train.x, { epochs: 15, batchSize: 20, learningRate: 0.05, monitorExamples: 0 });
    const classifier = unrollToClassifier(dbn, { classes: 4 });
    const before = await classifier.accuracy(test.x, test.labels);
    const { history } = await fineTuneClassifier(classifier, train.x, train.labels, {
      epochs: 30,
      batchSize: 20,
      optimizer: { kind: 'adam', learningRate: 1e-2 },
      validation: { x: test.x, labels: test.labels },
    });
    const after = await classifier.accuracy(test.x, test.labels);
    console.log(`glyph classifier 64-32-16-4: held-out accuracy ${before.toFixed(3)} -> ${after.toFixed(3)}`);
    expect(after).toBeGreaterThan(0.9);
    expect((history.epochs.at(-1) as Record<string, number>).validationAccuracy).toBeCloseTo(after, 6);
    const predicted = classifier.predict(test.x);
    expect(predicted.dtype).toBe('int32');
    expect(predicted.shape).toEqual([200]);
    predicted.dispose();
    await expect(fineTuneClassifier(classifier, train.x, train.labels.map((l) => l + 1), { epochs: 1 })).rejects.toThrow(DataError);
    await expect(fineTuneClassifier(classifier, train.x, train.labels.slice(1), { epochs: 1 })).rejects.toThrow();
    await expect(fineTuneClassifier(classifier, train.x, train.labels, { epochs: 1, learningRate: 1 } as never)).rejects.toThrow(ConfigError);
    tf.dispose([train.x, test.x]);
    classifier.dispose();
    dbn.dispose();
  });

  it('a Gaussian autoencoder fine-tunes on the squared error Σ (x − x̂)²', async () => {
    const rng = new Rng(6);
    const { x: bits } = glyphs(200, 6, 0);
    // Real-valued data: glyphs blurred by noise, then standardised per pixel.
    const x = tf.tidy(() => {
      const noisy = tf.add(bits, rng.normalTensor([200, 64], 0, 0.3));
      const { mean, variance } = tf.moments(noisy, 0);
      return tf.div(tf.sub(noisy, mean), tf.sqrt(tf.add(variance, 1e-6))) as tf.Tensor2D;
    });
    const dbn = new DBN({ layers: [64, 32, 8], visibleType: 'gaussian', seed: 5, initialScale: 0.05 });
    await fitDbn(dbn, x, { epochs: 20, batchSize: 20, layers: [{ learningRate: 0.01 }, { learningRate: 0.05 }], monitorExamples: 0 });
    const ae = unrollToAutoencoder(dbn);
    const reconstruction = ae.reconstruct(x);
    const manual = tf.tidy(() => tf.mean(tf.sum(tf.square(tf.sub(x, reconstruction)), 1)));
    const before = await meanReconstructionLoss(ae, x);
    expect(before).toBeCloseTo(manual.dataSync()[0] as number, 2);
    await fineTuneAutoencoder(ae, x, { epochs: 30, batchSize: 20, optimizer: { kind: 'adam', learningRate: 1e-2 } });
    const after = await meanReconstructionLoss(ae, x);
    console.log(`Gaussian autoencoder 64-32-8: squared error ${before.toFixed(2)} -> ${after.toFixed(2)}`);
    expect(after).toBeLessThan(before * 0.8);
    tf.dispose([bits, x, reconstruction, manual]);
    ae.dispose();
    dbn.dispose();
  });

  it('a fine-tuning epoch of either network leaves no tensor behind', async () => {
    const { x, labels } = glyphs(40, 5);
    const dbn = new DBN({ layers: [64, 8, 4], seed: 3 });
    const ae = unrollToAutoencoder(dbn, { codeActivation: 'linear' });
    const classifier = unrollToClassifier(dbn, { classes: 4 });
    await fineTuneAutoencoder(ae, x, { epochs: 1, batchSize: 16 });
    await fineTuneClassifier(classifier, x, labels, { epochs: 1, batchSize: 16 });
    await withNoLeaks(async () => {
      await fineTuneAutoencoder(ae, x, { epochs: 1, batchSize: 16, validation: x });
      await fineTuneClassifier(classifier, x, labels, { epochs: 1, batchSize: 16, validation: { x, labels } });
      // A wrong input is a ShapeError, and the labels' tensor made for it does not stay behind.
      const wrong = tf.zeros([40, 63]) as tf.Tensor2D;
      await expect(classifier.accuracy(wrong, labels)).rejects.toThrow(ShapeError);
      wrong.dispose();
    });
    tf.dispose(x);
    ae.dispose();
    classifier.dispose();
    dbn.dispose();
  });

  it('unrolled networks save and load exactly through energyModels; bad configs are ConfigErrors', async () => {
    const dbn = randomDbn({ layers: [6, 4, 3] });
    for (const model of [unrollToAutoencoder(dbn, { codeActivation: 'linear' }), unrollToClassifier(dbn, { classes: 2, seed: 4 })]) {
      const handler = memoryCheckpoint();
      await saveModel(handler, model);
      const { model: loaded } = await loadModel(handler, energyModels);
      expect(loaded.kind).toBe(model.kind);
      expect(loaded.config).toEqual(model.config);
      const [a, b] = [flattenParams(model.params), flattenParams(loaded.params)];
      expect([...b.keys()]).toEqual([...a.keys()]);
      for (const [path, v] of a) expect(Array.from(b.get(path)?.dataSync() ?? []), path).toEqual(Array.from(v.dataSync()));
      loaded.dispose();
      model.dispose();
    }
    expect(() => new DeepAutoencoder({ layers: [4] })).toThrow(ConfigError);
    expect(() => new DeepAutoencoder({ layers: [4, 2], codeActivation: 'relu' as never })).toThrow(ConfigError);
    expect(() => new DbnClassifier({ layers: [4, 2], classes: 1 })).toThrow(ConfigError);
    expect(() => unrollToClassifier(dbn, { classes: 0 })).toThrow(ConfigError);
    expect(() => unrollToAutoencoder(dbn, { code: 'linear' } as never)).toThrow(ConfigError);
    dbn.dispose();
  });
});
