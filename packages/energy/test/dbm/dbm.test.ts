import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, flattenParams, loadModel, memoryCheckpoint, Rng, saveModel, ShapeError } from '@helmholtz/core';
import { expectNoLeaks, useBackend } from '@helmholtz/core/testing';
import { DBM } from '../../src/dbm/dbm.js';
import { createDbmTrainer } from '../../src/dbm/trainer.js';
import { energyModels } from '../../src/models.js';
import { allRows, bruteForce, energyOf, expectOnlyReturned, readDbm, randomise } from './brute-force.js';

const sigmoid = (x: number) => 1 / (1 + Math.exp(-x));

describe('DBM config', () => {
  beforeAll(() => useBackend('cpu'));

  it.each([
    ['no layers', {}],
    ['one hidden layer (an RBM)', { layers: [16, 8] }],
    ['a zero layer', { layers: [16, 0, 4] }],
    ['a fractional layer', { layers: [16, 2.5, 4] }],
    ['layers not an array', { layers: 16 }],
    ['an unknown key', { layers: [16, 8, 4], hiden: 4 }],
    ['zero chains', { layers: [16, 8, 4], chains: 0 }],
    ['a non-boolean centering', { layers: [16, 8, 4], centering: 'yes' }],
    ['an image shape of the wrong size', { layers: [16, 8, 4], imageShape: [3, 5] }],
    ['a negative seed', { layers: [16, 8, 4], seed: -1 }],
    ['a negative initial scale', { layers: [16, 8, 4], initialScale: -0.1 }],
    ['not an object', null],
  ])('refuses %s with a ConfigError and leaves no tensor', (_name, config) => {
    const before = tf.memory().numTensors;
    expect(() => new DBM(config as never)).toThrow(ConfigError);
    expect(tf.memory().numTensors).toBe(before);
  });

  it('keeps weights, biases, chains and (centred) offsets at named paths', () => {
    const dbm = new DBM({ layers: [6, 5, 4, 3], chains: 7, centering: true, seed: 2 });
    expect([...flattenParams(dbm.params).keys()]).toEqual(['weights/0', 'weights/1', 'weights/2', 'biases/0', 'biases/1', 'biases/2', 'biases/3']);
    expect([...flattenParams(dbm.state).keys()]).toEqual(['chains/0', 'chains/1', 'chains/2', 'chains/3', 'offsets/0', 'offsets/1', 'offsets/2', 'offsets/3']);
    expect(dbm.params.weights.map((w) => w.shape)).toEqual([
      [6, 5],
      [5, 4],
      [4, 3],
    ]);
    expect(dbm.state.chains.map((c) => c.shape)).toEqual([
      [7, 6],
      [7, 5],
      [7, 4],
      [7, 3],
    ]);
    expect(dbm.state.chains.every((c) => !c.trainable)).toBe(true);
    const values = dbm.state.chains[0]!.dataSync();
    expect(values.every((x) => x === 0 || x === 1)).toBe(true);
    dbm.dispose();
    const plain = new DBM({ layers: [6, 5, 4] });
    expect(plain.state.offsets).toBeUndefined();
    expect(plain.chainCount).toBe(100);
    plain.dispose();
  });
});

describe.each(['cpu', 'wasm'])('DBM inference and sampling on %s', (backend) => {
  beforeAll(() => useBackend(backend));

  it('mean field reaches a fixed point (residual < 1e-5) that satisfies the fixed-point equations', async () => {
    const dbm = new DBM({ layers: [7, 6, 5, 4], seed: 1 });
    randomise(dbm, 11, 0.8);
    const x = new Rng(3).bernoulli(tf.fill([20, 7], 0.5)) as tf.Tensor2D;
    const result = expectOnlyReturned(
      () => dbm.meanField(x, { tolerance: 1e-5, iterations: 500 }),
      (r) => r.layers.length,
    );
    expect(result.converged).toBe(true);
    expect(result.residual).toBeLessThan(1e-5);
    expect(result.iterations % 5 === 0 || result.iterations === 500).toBe(true);
    expect(result.layers.map((m) => m.shape)).toEqual([
      [20, 6],
      [20, 5],
      [20, 4],
    ]);
    // The equations checked in float64 from the read-back numbers: μ_l = σ(b_l + μ_{l−1}W_{l−1} + W_l μ_{l+1}).
    const p = await readDbm(dbm);
    const mu = [await x.array(), ...(await Promise.all(result.layers.map((m) => m.array())))];
    let worst = 0;
    for (let l = 1; l <= 3; l++) {
      for (let r = 0; r < 20; r++) {
        for (let j = 0; j < p.layers[l]!; j++) {
          let input = p.biases[l]![j]!;
          for (let i = 0; i < p.layers[l - 1]!; i++) input += mu[l - 1]![r]![i]! * p.weights[l - 1]![i]![j]!;
          if (l < 3) for (let k = 0; k < p.layers[l + 1]!; k++) input += p.weights[l]![j]![k]! * mu[l + 1]![r]![k]!;
          worst = Math.max(worst, Math.abs(sigmoid(input) - mu[l]![r]![j]!));
        }
      }
    }
    expect(worst).toBeLessThan(5e-5);
    tf.dispose([x, ...result.layers]);
    dbm.dispose();
  });

  it('mean field reports an unconverged run honestly and reads the residual only at the end with tolerance 0', () => {
    const dbm = new DBM({ layers: [7, 6, 5], seed: 1 });
    randomise(dbm, 12, 1.5);
    const x = new Rng(4).bernoulli(tf.fill([5, 7], 0.5)) as tf.Tensor2D;
    const one = dbm.meanField(x, { iterations: 1, tolerance: 1e-12 });
    expect(one.iterations).toBe(1);
    expect(one.converged).toBe(false);
    expect(one.residual).toBeGreaterThan(0);
    const all = dbm.meanField(x, { iterations: 37, tolerance: 0 });
    expect(all.iterations).toBe(37);
    expect(Number.isFinite(all.residual)).toBe(true);
    tf.dispose([x, ...one.layers, ...all.layers]);
    dbm.dispose();
  });

  it('features concatenate every hidden layer’s means and encode is the top layer’s', () => {
    const dbm = new DBM({ layers: [7, 6, 5], seed: 1 });
    randomise(dbm, 13);
    const x = new Rng(5).bernoulli(tf.fill([4, 7], 0.5)) as tf.Tensor2D;
    const features = expectOnlyReturned(() => dbm.features(x));
    expect(features.shape).toEqual([4, 11]);
    const code = dbm.encode(x);
    expect(code.shape).toEqual([4, 5]);
    const top = tf.slice(features, [0, 6], [4, 5]);
    expect(tf.max(tf.abs(tf.sub(top, code))).dataSync()[0]).toBeLessThan(1e-6);
    const recon = dbm.reconstruct(x);
    expect(recon.shape).toEqual([4, 7]);
    tf.dispose([x, features, code, top, recon]);
    dbm.dispose();
  });

  it('samples have the right shape and range from noise, chains and data, and leave nothing behind', () => {
    const dbm = new DBM({ layers: [6, 5, 4], seed: 1, chains: 10 });
    randomise(dbm, 14);
    const data = new Rng(6).bernoulli(tf.fill([3, 6], 0.5)) as tf.Tensor2D;
    for (const start of ['noise', 'chains', data] as const) {
      const n = start === data ? 3 : 8;
      const means = expectOnlyReturned(() => dbm.sample(n, { rng: 1, steps: 20, start }));
      expect(means.shape).toEqual([n, 6]);
      const m = means.dataSync();
      expect(m.every((p) => p >= 0 && p <= 1)).toBe(true);
      const bitsOut = dbm.sample(n, { rng: 1, steps: 20, start, output: 'sample' });
      expect(bitsOut.dataSync().every((b) => b === 0 || b === 1)).toBe(true);
      tf.dispose([means, bitsOut]);
    }
    // Chains are the model's state: sampling from them leaves them as they were.
    const before = dbm.state.chains.map((c) => Array.from(c.dataSync()));
    dbm.sample(5, { rng: 2, steps: 5, start: 'chains' }).dispose();
    expect(dbm.state.chains.map((c) => Array.from(c.dataSync()))).toEqual(before);
    expect(() => dbm.sample(11, { rng: 1, start: 'chains' })).toThrow(ConfigError);
    expect(() => dbm.sample(2, { rng: 1, start: data })).toThrow(ShapeError);
    tf.dispose(data);
    dbm.dispose();
  });

  it('odd-even block Gibbs samples the exact visible marginal of a 4-3-2 DBM', async () => {
    const dbm = new DBM({ layers: [4, 3, 2], seed: 1 });
    randomise(dbm, 15, 1);
    const exact = bruteForce(await readDbm(dbm)).logMarginal.map(Math.exp);
    const n = 4000;
    const samples = dbm.sample(n, { rng: 7, steps: 30, output: 'sample' });
    const rows = (await samples.array()) as number[][];
    samples.dispose();
    const counts = new Array<number>(16).fill(0);
    for (const r of rows) counts[r.reduce((c, b, i) => c + (b << i), 0)]! += 1;
    const tv = counts.reduce((s, c, k) => s + Math.abs(c / n - exact[k]!), 0) / 2;
    // With 4000 exact draws over 16 states the total variation is about 0.03.
    expect(tv).toBeLessThan(0.06);
    dbm.dispose();
  });

  it('conditionals and energy agree with the definition, centred form included', async () => {
    const dbm = new DBM({ layers: [4, 3, 2], centering: true, seed: 1 });
    randomise(dbm, 16, 1);
    const p = await readDbm(dbm);
    const rows = allRows(9).slice(0, 64);
    const states = [tf.tensor2d(rows.map((r) => r.slice(0, 4))), tf.tensor2d(rows.map((r) => r.slice(4, 7))), tf.tensor2d(rows.map((r) => r.slice(7, 9)))] as tf.Tensor2D[];
    // E(x) in the plain form equals the centred energy up to one constant for every state.
    const energies = Array.from(dbm.energy(states).dataSync());
    const centred = rows.map((r) => energyOf(p, [r.slice(0, 4), r.slice(4, 7), r.slice(7, 9)]));
    const shift = centred[0]! - energies[0]!;
    for (let k = 0; k < rows.length; k++) expect(centred[k]! - energies[k]!).toBeCloseTo(shift, 4);
    // p(h1 = 1 | v, h2) from the centred energy difference.
    const cond = (await dbm.conditional(states, 1).array()) as number[][];
    rows.forEach((r, k) => {
      for (let j = 0; j < 3; j++) {
        const on = [r.slice(0, 4), r.slice(4, 7).map((b, i) => (i === j ? 1 : b)), r.slice(7, 9)];
        const off = [r.slice(0, 4), r.slice(4, 7).map((b, i) => (i === j ? 0 : b)), r.slice(7, 9)];
        expect(cond[k]![j]!).toBeCloseTo(sigmoid(energyOf(p, off) - energyOf(p, on)), 5);
      }
    });
    tf.dispose(states);
    dbm.dispose();
  });

  it('setOffsets and setEffectiveBiases change the parameters, not the distribution', async () => {
    const dbm = new DBM({ layers: [4, 3, 2], centering: true, seed: 1 });
    randomise(dbm, 17, 1);
    const before = bruteForce(await readDbm(dbm)).logMarginal;
    const moved = [tf.fill([4], 0.2), tf.fill([3], 0.7), tf.fill([2], 0.4)] as tf.Tensor1D[];
    expectNoLeaks(() => dbm.setOffsets(moved));
    const after = bruteForce(await readDbm(dbm)).logMarginal;
    before.forEach((v, k) => expect(after[k]).toBeCloseTo(v, 4));
    expect(Array.from(dbm.state.offsets![1]!.dataSync())).toEqual(Array(3).fill(Math.fround(0.7)));
    const effective = dbm.effectiveBiases();
    dbm.setEffectiveBiases(effective);
    bruteForce(await readDbm(dbm)).logMarginal.forEach((v, k) => expect(v).toBeCloseTo(before[k]!, 4));
    tf.dispose([...moved, ...effective]);
    dbm.dispose();
  });
});

describe('DBM checkpoints', () => {
  beforeAll(() => useBackend('cpu'));

  it('saveModel/loadModel round-trip parameters, chains, offsets and the trainer’s state exactly', async () => {
    const dbm = new DBM({ layers: [6, 5, 4], chains: 9, centering: true, seed: 3 });
    const data = new Rng(8).bernoulli(tf.fill([12, 6], 0.4)) as tf.Tensor2D;
    const trainer = createDbmTrainer(dbm, { rng: 5, learningRate: 0.05 });
    for (let k = 0; k < 3; k++) trainer.step(data).reconstructionError.dispose();
    const handler = memoryCheckpoint();
    await saveModel(handler, dbm, { optimizers: { trainer }, rng: trainer.rng });
    const loaded = await loadModel<DBM>(handler, energyModels, { optimizers: (m) => ({ trainer: createDbmTrainer(m, { rng: 5, learningRate: 0.05 }) }) });
    const model = loaded.model;
    expect(model).toBeInstanceOf(DBM);
    expect(model.config).toEqual(dbm.config);
    const same = (a: tf.Tensor, b: tf.Tensor) => expect(Array.from(b.dataSync())).toEqual(Array.from(a.dataSync()));
    dbm.params.weights.forEach((w, l) => same(w, model.params.weights[l]!));
    dbm.params.biases.forEach((b, l) => same(b, model.params.biases[l]!));
    dbm.state.chains.forEach((c, l) => same(c, model.state.chains[l]!));
    dbm.state.offsets!.forEach((o, l) => same(o, model.state.offsets![l]!));
    // The chains moved away from their initial state, so the round trip is not trivially true.
    const fresh = new DBM({ layers: [6, 5, 4], chains: 9, centering: true, seed: 3 });
    expect(Array.from(fresh.state.chains[0]!.dataSync())).not.toEqual(Array.from(dbm.state.chains[0]!.dataSync()));
    fresh.dispose();
    // Resumed training takes the very same next update.
    const resumed = loaded.optimizers.trainer as ReturnType<typeof createDbmTrainer>;
    resumed.useRng(loaded.rng!);
    expect(resumed.updates).toBe(3);
    trainer.step(data).reconstructionError.dispose();
    resumed.step(data).reconstructionError.dispose();
    dbm.params.weights.forEach((w, l) => same(w, model.params.weights[l]!));
    dbm.state.chains.forEach((c, l) => same(c, model.state.chains[l]!));
    tf.dispose(data);
    trainer.dispose();
    resumed.dispose();
    dbm.dispose();
    model.dispose();
  });
});
