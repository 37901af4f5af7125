import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@helmholtz/core';
import { expectAllClose, expectNoLeaks, useBackend } from '@helmholtz/core/testing';
import { ConvolutionalRBM } from '../../src/convolutional/model.js';
import type { ConvolutionalRbmConfig } from '../../src/convolutional/config.js';

function randomModel(config: ConvolutionalRbmConfig, hiddenBias: number, weightScale = 0.5): ConvolutionalRBM {
  const model = new ConvolutionalRBM(config);
  const rng = new Rng(config.seed ?? 0);
  tf.tidy(() => {
    model.params.filters.assign(rng.normalTensor(model.params.filters.shape, 0, weightScale));
    model.params.visibleBias.assign(rng.normalTensor(model.params.visibleBias.shape, 0, 0.5));
    model.params.hiddenBias.assign(tf.fill(model.params.hiddenBias.shape, hiddenBias));
  });
  return model;
}

/** For each block of each detection state, how many units are on ([n·blocks] numbers), in plain loops. */
function unitsOnPerBlock(h: tf.Tensor4D, p: number): number[] {
  const [n, height, width, k] = h.shape;
  const data = h.dataSync();
  const out: number[] = [];
  for (let b = 0; b < n; b++)
    for (let bi = 0; bi < height / p; bi++)
      for (let bj = 0; bj < width / p; bj++)
        for (let f = 0; f < k; f++) {
          let on = 0;
          for (let di = 0; di < p; di++) for (let dj = 0; dj < p; dj++) on += data[((b * height + bi * p + di) * width + bj * p + dj) * k + f]!;
          out.push(on);
        }
  return out;
}

describe.each(['cpu', 'wasm'])('convolutional RBM sampling on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('every sample has at most one detection unit on per block, and the pooling state is on exactly where one is', () => {
    // Hidden biases of +2 would turn most units of a block on if they were independent.
    const model = randomModel({ imageShape: [12, 12, 2], filters: 3, filterSize: 5, poolSize: 2, seed: 1 }, 2);
    const rng = new Rng(2);
    const v = model.noiseVisible(64, rng);
    const h = model.sampleHidden(v, rng);
    const counts = unitsOnPerBlock(h, 2);
    expect(Math.max(...counts)).toBe(1);
    expect(counts.filter((c) => c === 1).length / counts.length).toBeGreaterThan(0.8);
    const pooled = model.poolHidden(h);
    expect(Array.from(pooled.dataSync())).toEqual(counts);
    // Chains keep the constraint at every step, and the values are bits.
    const state = model.gibbs(v, 5, rng);
    expect(Math.max(...unitsOnPerBlock(state.hidden, 2))).toBe(1);
    expect(Array.from(state.visible.dataSync()).every((x) => x === 0 || x === 1)).toBe(true);
    tf.dispose([v, h, pooled, state.visible, state.visibleMean, state.hidden]);
    model.dispose();
  });

  it('a block draws each of its p² + 1 outcomes with its posterior probability (20,000 draws, 3x3 pooling)', () => {
    const model = randomModel({ imageShape: [5, 5, 1], filters: 1, filterSize: 3, poolSize: 3, seed: 3 }, 0.3, 0.8);
    const rng = new Rng(4);
    const draws = 20_000;
    const image = model.noiseVisible(1, rng);
    const probs = Array.from(model.hiddenProbabilities(image).dataSync());
    const off = 1 - probs.reduce((a, b) => a + b, 0);
    const v = tf.tile(image, [draws, 1, 1, 1]) as tf.Tensor4D;
    const h = model.sampleHidden(v, rng);
    const data = h.dataSync();
    const freq = new Array<number>(10).fill(0);
    for (let d = 0; d < draws; d++) {
      let which = 9;
      for (let u = 0; u < 9; u++) if (data[d * 9 + u] === 1) which = u;
      freq[which]!++;
    }
    [...probs, off].forEach((p, i) => {
      const sd = Math.sqrt((p * (1 - p)) / draws);
      expect(Math.abs(freq[i]! / draws - p)).toBeLessThan(4.5 * sd + 1e-4);
    });
    // Not a degenerate block: at least three outcomes are common.
    expect([...probs, off].filter((p) => p > 0.05).length).toBeGreaterThanOrEqual(3);
    tf.dispose([image, v, h]);
    model.dispose();
  });

  it('Gaussian visible samples have the conditional mean and the configured standard deviation', () => {
    const model = randomModel({ imageShape: [6, 6, 1], filters: 2, filterSize: 3, poolSize: 2, visibleUnits: 'gaussian', visibleStd: 0.5, seed: 5 }, 0);
    const rng = new Rng(6);
    const h = model.sampleHidden(model.noiseVisible(1, rng), rng);
    const hs = tf.tile(h, [4000, 1, 1, 1]) as tf.Tensor4D;
    const mean = model.visibleMean(h);
    const v = model.sampleVisible(hs, rng);
    const residual = tf.sub(v, mean);
    const empiricalMean = tf.mean(residual, 0);
    const empiricalStd = tf.sqrt(tf.mean(tf.square(residual)));
    expect(Math.max(...Array.from(empiricalMean.dataSync(), Math.abs))).toBeLessThan(0.04);
    expect(Math.abs((empiricalStd.dataSync()[0] as number) - 0.5)).toBeLessThan(0.01);
    tf.dispose([h, hs, mean, v, residual, empiricalMean, empiricalStd]);
    model.dispose();
  });

  it('sample returns images of the model shape from noise and from given images, leaving no tensor behind', () => {
    const model = randomModel({ imageShape: [8, 8, 1], filters: 2, filterSize: 3, poolSize: 3, seed: 7 }, -1);
    const start = model.noiseVisible(3, new Rng(8));
    const fromNoise = model.sample(4, { rng: 9, steps: 3 });
    const fromStart = model.sample(3, { rng: 10, steps: 2, start, output: 'mean' });
    expect(fromNoise.shape).toEqual([4, 8, 8, 1]);
    expect(fromStart.shape).toEqual([3, 8, 8, 1]);
    expect(Array.from(fromNoise.dataSync()).every((x) => x === 0 || x === 1)).toBe(true);
    expect(Array.from(fromStart.dataSync()).every((x) => x > 0 && x < 1)).toBe(true);
    expect(start.isDisposed).toBe(false);
    tf.dispose([fromNoise, fromStart]);
    expectNoLeaks(() => {
      model.sample(2, { rng: 11, steps: 2 }).dispose();
      const s = model.gibbs(start, 2, new Rng(12));
      tf.dispose([s.visible, s.visibleMean, s.hidden]);
      tf.dispose(Object.values(model.posterior(start)));
      model.reconstruct(start).dispose();
      model.encode(start).dispose();
      tf.tidy(() => model.decode(model.encode(start))).dispose();
    });
    start.dispose();
    model.dispose();
  });
});

describe('convolutional RBM on cpu and wasm', () => {
  it('give the same probabilities, free energies and statistics, and the same samples for the same seed', async () => {
    const results: Record<string, Record<string, Float32Array>> = {};
    for (const backend of ['cpu', 'wasm']) {
      await useBackend(backend);
      const model = randomModel({ imageShape: [12, 10, 2], filters: 3, filterSize: 5, poolSize: 2, seed: 13 }, -0.5, 0.3);
      const rng = new Rng(14);
      const v = model.noiseVisible(6, rng);
      const out = tf.tidy(() => {
        const { detection, pooling } = model.posterior(v);
        const stats = model.statistics(v, detection);
        const chain = model.gibbs(v, 4, rng);
        return {
          detection,
          pooling,
          freeEnergy: model.freeEnergy(v),
          mean: model.visibleMean(detection),
          filters: stats.filters,
          chainHidden: chain.hidden,
          chainVisible: chain.visible,
        };
      });
      results[backend] = Object.fromEntries(Object.entries(out).map(([k, t]) => [k, t.dataSync() as Float32Array]));
      tf.dispose([v, ...Object.values(out)]);
      model.dispose();
    }
    const [cpu, wasm] = [results.cpu!, results.wasm!];
    for (const key of ['detection', 'pooling', 'freeEnergy', 'mean', 'filters']) expectAllClose(wasm[key]!, cpu[key]!, 1e-5);
    expect(Array.from(wasm.chainHidden!)).toEqual(Array.from(cpu.chainHidden!));
    expect(Array.from(wasm.chainVisible!)).toEqual(Array.from(cpu.chainVisible!));
  });
});
