import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { Rng } from '@helmholtz/core';
import { expectAllClose, useBackend } from '@helmholtz/core/testing';
import { ConvolutionalRBM } from '../../src/convolutional/model.js';
import type { ConvolutionalRbmConfig } from '../../src/convolutional/config.js';
import * as brute from './brute-force.js';
import { expectOnlyReturned } from './leaks.js';

// Oracles: enumeration of every allowed hidden state (at most one unit on per pooling block) in
// float64, on models small enough to list them. Three shapes:
// - 'one block': 1-channel 4x4 image, 2 filters 3x3, pooling 2x2 → one block per filter, 25 states;
// - 'four blocks': 2-channel 5x5 image, 1 filter 2x2, pooling 2x2 → 4 blocks, 625 states, so
//   block order, channel sums and the factorisation over blocks are all exercised;
// - 'gaussian': the first shape with real-valued visible units of σ = 0.8.
interface Case {
  name: string;
  config: ConvolutionalRbmConfig;
  weightScale: number;
}

const CASES: Case[] = [
  { name: 'one block', config: { imageShape: [4, 4, 1], filters: 2, filterSize: 3, poolSize: 2 }, weightScale: 0.7 },
  { name: 'four blocks', config: { imageShape: [5, 5, 2], filters: 1, filterSize: 2, poolSize: 2 }, weightScale: 0.9 },
  { name: 'gaussian', config: { imageShape: [4, 4, 1], filters: 2, filterSize: 3, poolSize: 2, visibleUnits: 'gaussian', visibleStd: 0.8 }, weightScale: 0.4 },
];

/** A model with weights and biases large enough that every probability is far from 0.5 and from 0/1. */
function makeModel(c: Case, seed: number): ConvolutionalRBM {
  const model = new ConvolutionalRBM({ ...c.config, seed });
  const rng = new Rng(seed + 100);
  tf.tidy(() => {
    model.params.filters.assign(rng.normalTensor(model.params.filters.shape, 0, c.weightScale));
    model.params.visibleBias.assign(rng.normalTensor(model.params.visibleBias.shape, 0, 0.5));
    model.params.hiddenBias.assign(rng.normalTensor(model.params.hiddenBias.shape, -0.5, 0.5));
  });
  return model;
}

function plain(model: ConvolutionalRBM): brute.PlainCrbm {
  const { imageShape, filters, filterSize, poolSize, visibleUnits, visibleStd } = model.config;
  return {
    height: imageShape[0],
    width: imageShape[1],
    channels: imageShape[2],
    filters,
    filterSize,
    poolSize,
    weights: Float64Array.from(model.params.filters.dataSync()),
    visibleBias: Float64Array.from(model.params.visibleBias.dataSync()),
    hiddenBias: Float64Array.from(model.params.hiddenBias.dataSync()),
    gaussianStd: visibleUnits === 'gaussian' ? visibleStd! : null,
  };
}

/** `n` images: bits, or N(0.3, 1) values for Gaussian units. */
function images(model: ConvolutionalRBM, n: number, seed: number): tf.Tensor4D {
  const rng = new Rng(seed);
  const shape: [number, number, number, number] = [n, ...model.imageShape];
  return tf.tidy(() => (model.binaryVisible ? rng.bernoulli(tf.fill(shape, 0.5) as tf.Tensor4D) : rng.normalTensor(shape, 0.3, 1)));
}

function rows(t: tf.Tensor): Float64Array[] {
  const n = t.shape[0]!;
  const data = t.dataSync();
  const size = data.length / n;
  return Array.from({ length: n }, (_, i) => Float64Array.from(data.subarray(i * size, (i + 1) * size)));
}

describe.each(['cpu', 'wasm'])('convolutional RBM against enumeration on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  describe.each(CASES)('$name', (c) => {
    it('p(h | v) of every detection unit and p(pooling off | v) equal the marginals over all allowed hidden states', () => {
      const model = makeModel(c, 1);
      const m = plain(model);
      const v = images(model, 6, 2);
      const { detection, pooling } = expectOnlyReturned(() => model.posterior(v));
      const viaMethods = expectOnlyReturned(() => ({ d: model.hiddenProbabilities(v), p: model.poolingProbabilities(v) }));
      const vs = rows(v);
      const d = rows(detection);
      const pool = rows(pooling);
      let spread = 0;
      vs.forEach((x, i) => {
        const exact = brute.posterior(m, x);
        expectAllClose(d[i]!, exact.detection, 2e-6, 1e-3);
        // p(pooling on) = 1 − p(block all off); the pooling layer is [H'/p, W'/p, K], the order of brute.blocks.
        expectAllClose(pool[i]!, exact.poolingOff.map((off) => 1 - off), 2e-6, 1e-3);
        spread = Math.max(spread, ...exact.detection);
      });
      // The oracle is only a test if the probabilities are not all tiny.
      expect(spread).toBeGreaterThan(0.2);
      expectAllClose(viaMethods.d, detection, 0);
      expectAllClose(viaMethods.p, pooling, 0);
      tf.dispose([v, detection, pooling, viaMethods.d, viaMethods.p]);
      model.dispose();
    });

    it('free energy equals −log Σ_h exp(−E(v, h)) over the allowed hidden states', () => {
      const model = makeModel(c, 3);
      const m = plain(model);
      const v = images(model, 8, 4);
      const f = expectOnlyReturned(() => model.freeEnergy(v));
      const exact = rows(v).map((x) => brute.posterior(m, x).freeEnergy);
      expectAllClose(f, exact, 2e-6);
      tf.dispose([v, f]);
      model.dispose();
    });

    it('energy equals the definition on allowed states and is +∞ when a block has two units on', () => {
      const model = makeModel(c, 5);
      const m = plain(model);
      const states = brute.allowedStates(m);
      const picked = [0, 1, states.length - 1, Math.floor(states.length / 2)].map((i) => states[i]!);
      const v = images(model, picked.length + 1, 6);
      const bad = new Float64Array(picked[0]!.length);
      const [first] = brute.blocks(m);
      bad[first![0]!] = 1;
      bad[first![1]!] = 1;
      const hs = tf.tensor4d(Float32Array.from([...picked, bad].flatMap((h) => [...h])), [picked.length + 1, ...model.detectionShape]);
      const e = expectOnlyReturned(() => model.energy(v, hs));
      const got = e.dataSync();
      const vs = rows(v);
      expectAllClose(got.slice(0, picked.length), picked.map((h, i) => brute.energy(m, vs[i]!, h)), 2e-6);
      expect(got[picked.length]).toBe(Infinity);
      tf.dispose([v, hs, e]);
      model.dispose();
    });

    it('E[v | h] is the full convolution of the detection units with the filters, written out', () => {
      const model = makeModel(c, 7);
      const m = plain(model);
      const states = brute.allowedStates(m);
      const picked = [1, 2, states.length - 1].map((i) => states[i]!);
      // Probabilities as well as states: decode takes either.
      const soft = Float64Array.from(picked[0]!, (_, t) => ((t * 37) % 11) / 11);
      const all = [...picked, soft];
      const hs = tf.tensor4d(Float32Array.from(all.flatMap((h) => [...h])), [all.length, ...model.detectionShape]);
      const mean = expectOnlyReturned(() => model.visibleMean(hs));
      const expected = all.map((h) => brute.visibleInputs(m, h).map((a) => (model.binaryVisible ? 1 / (1 + Math.exp(-a)) : a)));
      expectAllClose(mean, expected.flatMap((x) => [...x]), 2e-6);
      tf.dispose([hs, mean]);
      model.dispose();
    });

    it('the statistics are the batch sums of −∂E/∂θ, the filter one a correlation of s(v) with h', () => {
      const model = makeModel(c, 9);
      const m = plain(model);
      const v = images(model, 3, 10);
      const h = tf.tidy(() => model.hiddenProbabilities(v));
      const stats = expectOnlyReturned(() => model.statistics(v, h));
      const vs = rows(v);
      const hs = rows(h);
      const [dh, dw] = brute.detectionSize(m);
      const f = m.filterSize;
      const s2 = m.gaussianStd === null ? 1 : m.gaussianStd ** 2;
      const filters = new Float64Array(f * f * m.channels * m.filters);
      const visibleBias = new Float64Array(m.channels);
      const hiddenBias = new Float64Array(m.filters);
      vs.forEach((x, n) => {
        for (let a = 0; a < f; a++)
          for (let b = 0; b < f; b++)
            for (let ch = 0; ch < m.channels; ch++)
              for (let k = 0; k < m.filters; k++)
                for (let i = 0; i < dh; i++)
                  for (let j = 0; j < dw; j++)
                    filters[((a * f + b) * m.channels + ch) * m.filters + k]! +=
                      (x[((i + a) * m.width + (j + b)) * m.channels + ch]! / s2) * hs[n]![(i * dw + j) * m.filters + k]!;
        x.forEach((value, t) => {
          const ch = t % m.channels;
          visibleBias[ch]! += m.gaussianStd === null ? value : (value - m.visibleBias[ch]!) / s2;
        });
        hs[n]!.forEach((value, t) => {
          hiddenBias[t % m.filters]! += value;
        });
      });
      expectAllClose(stats.filters, filters, 1e-5);
      expectAllClose(stats.visibleBias, visibleBias, 1e-5);
      expectAllClose(stats.hiddenBias, hiddenBias, 1e-5);
      tf.dispose([v, h, stats.filters, stats.visibleBias, stats.hiddenBias]);
      model.dispose();
    });
  });

  it('hidden free energy equals −log Σ_v exp(−E(v, h)) over all 2^16 binary images, and both free energies give one log Z', () => {
    const model = makeModel(CASES[0]!, 11);
    const m = plain(model);
    const states = brute.allowedStates(m);
    const all = brute.allBinaryImages(m);
    // E(v, h) = E(v, 0) − h·I(v): one pass over the images gives every state's energy.
    const logWeights = states.map(() => new Float64Array(all.length));
    all.forEach((v, i) => {
      const I = brute.inputs(m, v);
      const base = brute.energy(m, v, states[0]!);
      states.forEach((h, s) => {
        let e = base;
        for (let t = 0; t < h.length; t++) e -= h[t]! * I[t]!;
        logWeights[s]![i] = -e;
      });
    });
    const exact = logWeights.map((w) => -brute.logSumExp(w));
    const hs = tf.tensor4d(Float32Array.from(states.flatMap((h) => [...h])), [states.length, ...model.detectionShape]);
    const fh = expectOnlyReturned(() => model.hiddenFreeEnergy(hs));
    expectAllClose(fh, exact, 2e-6);
    // log Z = log Σ_h exp(−F(h)) = log Σ_v exp(−F(v)).
    const flat = new Float32Array(all.length * all[0]!.length);
    all.forEach((v, i) => flat.set(v, i * v.length));
    const vs = tf.tensor4d(flat, [all.length, ...model.imageShape]);
    const fv = model.freeEnergy(vs);
    const fromVisible = brute.logSumExp(Array.from(fv.dataSync(), (x) => -x));
    const fromHidden = brute.logSumExp(Array.from(fh.dataSync(), (x) => -x));
    expect(Math.abs(fromVisible - fromHidden)).toBeLessThan(2e-4);
    tf.dispose([hs, fh, vs, fv]);
    model.dispose();
  });

  it('Gaussian hidden free energy equals the Gaussian integral, checked by a 1-pixel quadrature', () => {
    // −log ∫ exp(−E(v, h)) dv in closed form against a numerical integral: with one pixel the
    // integral is one-dimensional (a 1x1 image, a 1x1 filter, no pooling).
    const model = new ConvolutionalRBM({ imageShape: [1, 1, 1], filters: 2, filterSize: 1, poolSize: 1, visibleUnits: 'gaussian', visibleStd: 0.7 });
    tf.tidy(() => {
      model.params.filters.assign(tf.tensor4d([0.8, -0.5], [1, 1, 1, 2]));
      model.params.visibleBias.assign(tf.tensor1d([0.3]));
      model.params.hiddenBias.assign(tf.tensor1d([-0.2, 0.4]));
    });
    const m = plain(model);
    const states = [new Float64Array([0, 0]), new Float64Array([1, 0]), new Float64Array([0, 1]), new Float64Array([1, 1])];
    const exact = states.map((h) => {
      let sum = 0;
      const dv = 1e-3;
      for (let v = -10; v <= 10; v += dv) sum += Math.exp(-brute.energy(m, Float64Array.of(v), h)) * dv;
      return -Math.log(sum);
    });
    const hs = tf.tensor4d(Float32Array.from(states.flatMap((h) => [...h])), [4, 1, 1, 2]);
    const fh = model.hiddenFreeEnergy(hs);
    expectAllClose(fh, exact, 1e-5);
    tf.dispose([hs, fh]);
    model.dispose();
  });

  it('free energy and block probabilities stay finite and exact for inputs of several hundred', () => {
    const model = makeModel(CASES[0]!, 13);
    tf.tidy(() => model.params.filters.assign(tf.mul(model.params.filters, 300)));
    const m = plain(model);
    const v = images(model, 4, 14);
    const f = model.freeEnergy(v);
    const d = model.hiddenProbabilities(v);
    const p = model.poolingProbabilities(v);
    expect([...f.dataSync(), ...d.dataSync(), ...p.dataSync()].every(Number.isFinite)).toBe(true);
    const vs = rows(v);
    const exact = vs.map((x) => brute.posterior(m, x));
    expectAllClose(f, exact.map((e) => e.freeEnergy), 1e-6);
    expectAllClose(d, exact.flatMap((e) => [...e.detection]), 1e-5, 1e-3);
    tf.dispose([v, f, d, p]);
    model.dispose();
  });
});
