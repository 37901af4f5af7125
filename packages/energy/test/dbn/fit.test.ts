import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { DBN } from '../../src/dbn/dbn.js';
import { fitDbn } from '../../src/dbn/fit.js';
import { reconstructionError } from '../../src/training/monitors.js';
import { barsAndStripes } from './data.js';

const DATA = { dataset: 'bars-and-stripes-4x4', split: 'train', binarization: 'none (binary)' };

describe('greedy layer-wise training of a DBN', () => {
  beforeAll(() => useBackend('wasm'));

  it('on 4x4 bars and stripes: each layer’s reconstruction error falls, layer 2 learns from layer 1’s probabilities, and the bound rises', async () => {
    const patterns = barsAndStripes();
    const x = tf.tensor2d(patterns);
    const data = tf.tensor2d(patterns.flatMap((p) => [p, p, p, p]));
    const dbn = new DBN({ layers: [16, 24, 12], seed: 1, initialScale: 0.1 });
    const boundBefore = await dbn.logLikelihood(x, { data: DATA, rng: 1, samples: 100 });
    const before: number[] = [];
    const after: number[] = [];
    let secondLayerInputMatches = false;
    const { histories, completedLayers } = await fitDbn(dbn, data, {
      epochs: [300, 300],
      batchSize: 20,
      learningRate: 0.05,
      weightDecay: 0,
      monitorExamples: 0,
      seed: 2,
      onLayerBegin: async ({ layer, rbm, data: input }) => {
        before[layer] = await reconstructionError(rbm, input);
        if (layer === 1) {
          const expected = (dbn.rbms[0] as DBN['rbms'][number]).hiddenProbabilities(data);
          const [a, b] = [await input.data(), await expected.data()];
          secondLayerInputMatches = a.length === b.length && a.every((v, i) => v === b[i]);
          expected.dispose();
        }
      },
      onLayerEnd: async ({ layer, rbm, data: input }) => {
        after[layer] = await reconstructionError(rbm, input);
      },
    });
    const boundAfter = await dbn.logLikelihood(x, { data: DATA, rng: 1, samples: 100 });
    console.log(
      `bars and stripes DBN 16-24-12: reconstruction error layer 0 ${before[0]?.toFixed(3)} -> ${after[0]?.toFixed(3)}, ` +
        `layer 1 ${before[1]?.toFixed(3)} -> ${after[1]?.toFixed(3)}; bound ${boundBefore.value.toFixed(3)} -> ${boundAfter.value.toFixed(3)} (optimum ${(-Math.log(30)).toFixed(3)})`,
    );
    expect(completedLayers).toBe(2);
    expect(histories.map((h) => h.epochs.length)).toEqual([300, 300]);
    expect(secondLayerInputMatches).toBe(true);
    expect(after[0]).toBeLessThan((before[0] as number) * 0.5);
    expect(after[1]).toBeLessThan((before[1] as number) * 0.5);
    expect(boundAfter.value).toBeGreaterThan(boundBefore.value + 3);
    expect(boundAfter.value).toBeLessThan(-Math.log(30));
    tf.dispose([x, data]);
    dbn.dispose();
  });

  it("with propagate: 'samples' the upper layer trains on binary draws; startLayer keeps the layers below", async () => {
    const data = tf.tensor2d(barsAndStripes());
    const dbn = new DBN({ layers: [16, 8, 4, 3], seed: 3 });
    const seen: number[][] = [];
    const trained: number[] = [];
    await fitDbn(dbn, data, {
      epochs: 2,
      batchSize: 10,
      propagate: 'samples',
      monitorExamples: 0,
      onLayerBegin: async ({ layer, data: input }) => {
        trained.push(layer);
        if (layer > 0) seen.push(Array.from(new Set(await input.data())).sort());
      },
    });
    expect(trained).toEqual([0, 1, 2]);
    for (const values of seen) expect(values).toEqual([0, 1]);
    const bottom = Array.from(dbn.rbms[0]?.params.weights.dataSync() ?? []);
    const resumed = await fitDbn(dbn, data, { epochs: [1, 1, 1], batchSize: 10, monitorExamples: 0, startLayer: 2, onLayerBegin: ({ layer }) => void trained.push(layer) });
    expect(trained.slice(3)).toEqual([2]);
    expect(resumed).toMatchObject({ completedLayers: 3 });
    expect(Array.from(dbn.rbms[0]?.params.weights.dataSync() ?? [])).toEqual(bottom);
    const controller = new AbortController();
    controller.abort();
    const aborted = await fitDbn(dbn, data, { epochs: 1, monitorExamples: 0, signal: controller.signal });
    expect(aborted.completedLayers).toBe(0);
    expect(aborted.histories).toHaveLength(1);
    tf.dispose(data);
    dbn.dispose();
  });

  it('an epoch of every layer, monitors and validation included, leaves no tensor behind', async () => {
    const data = tf.tensor2d(barsAndStripes());
    const validation = tf.slice(data, [0, 0], [10, 16]);
    const dbn = new DBN({ layers: [16, 6, 4], visibleType: 'gaussian', seed: 4 });
    // One warm-up call so kernels and their constants exist before counting.
    await fitDbn(dbn, data, { epochs: 1, batchSize: 8, monitorExamples: 0 });
    await withNoLeaks(async () => {
      await fitDbn(dbn, data, { epochs: 1, batchSize: 8, validation, propagate: 'samples', method: 'pcd', chains: 5, layers: [{ learningRate: 0.001 }] });
    });
    tf.dispose([data, validation]);
    dbn.dispose();
  });

  it.each([
    ['an epochs list of the wrong length', { epochs: [1] }],
    ['zero epochs', { epochs: 0 }],
    ['an unknown propagation', { epochs: 1, propagate: 'means' }],
    ['an unknown option', { epochs: 1, epoch: 3 }],
    ['an unknown per-layer option', { epochs: 1, layers: [{ epochs: 2 }] }],
    ['more per-layer entries than layers', { epochs: 1, layers: [{}, {}, {}] }],
    ['a start layer past the top', { epochs: 1, startLayer: 2 }],
    ['a bad trainer option', { epochs: 1, method: 'pt' }],
  ])('refuses %s with a ConfigError', async (_name, options) => {
    const data = tf.tensor2d(barsAndStripes());
    const dbn = new DBN({ layers: [16, 4, 3] });
    const before = tf.memory().numTensors;
    await expect(fitDbn(dbn, data, options as never)).rejects.toThrow(ConfigError);
    expect(tf.memory().numTensors).toBe(before);
    tf.dispose(data);
    dbn.dispose();
  });
});
