import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, DataError } from '@helmholtz/core';
import { expectAllClose, expectNoLeaks, useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { FullyVisibleBoltzmannMachine } from '../../src/fvbm/model.js';
import { bits, conditional, logPartition, machineOf, moments, negEnergy, randomize } from './brute-force.js';

const DATA = { dataset: 'toy', split: 'train', binarization: 'none (binary data)' };

describe.each(['cpu', 'wasm'])('fully-visible Boltzmann machine against brute force on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('energy, conditionals and pseudo-likelihood of every state of a 6-unit machine agree with float64 enumeration', () => {
    const model = new FullyVisibleBoltzmannMachine({ units: 6 });
    const m = randomize(model, 1, 1.5, 1);
    const states = Array.from({ length: 64 }, (_, s) => bits(s, 6));
    const x = tf.tensor2d(states);
    expectNoLeaks(() => {
      const energy = model.energy(x);
      const cond = model.conditionalProbabilities(x);
      const pl = model.pseudoLogLikelihood(x);
      expectAllClose(energy, states.map((s) => -negEnergy(m, s)), 1e-5);
      expectAllClose(cond, states.flatMap((s) => s.map((_, i) => conditional(m, s, i))), 1e-5);
      const plExpected = states.map((s) => s.reduce((a, xi, i) => a + Math.log(xi ? conditional(m, s, i) : 1 - conditional(m, s, i)), 0));
      expectAllClose(pl, plExpected, 1e-5);
      tf.dispose([energy, cond, pl]);
    });
    x.dispose();
    model.dispose();
  });

  it.each([
    ['in one chunk', 10, undefined],
    ['in 64 chunks of 16 states', 10, 16],
    ['one state per chunk', 5, 1],
  ])('log Z of a machine with strong couplings matches enumeration %s', async (_, units, chunkSize) => {
    const model = new FullyVisibleBoltzmannMachine({ units: units as number });
    const m = randomize(model, 2, 2, 1);
    const expected = logPartition(m);
    const logZ = await withNoLeaks(() => model.logPartition({ chunkSize: chunkSize as number | undefined }));
    expect(Math.abs(logZ - expected)).toBeLessThan(2e-5 * Math.max(1, Math.abs(expected)));
    const oracle = moments(m);
    expectNoLeaks(() => {
      const stats = model.exactStatistics({ chunkSize: chunkSize as number | undefined });
      expect(Math.abs(stats.logPartition.dataSync()[0]! - expected)).toBeLessThan(1e-4 * Math.max(1, Math.abs(expected)));
      expectAllClose(stats.mean, oracle.mean, 2e-5);
      expectAllClose(stats.second, oracle.second, 2e-5);
      tf.dispose([stats.logPartition, stats.mean, stats.second]);
    });
    model.dispose();
  });

  it('uses only the symmetric off-diagonal part of a weight matrix assigned by hand', async () => {
    const model = new FullyVisibleBoltzmannMachine({ units: 4 });
    const w = [0.3, 1, -2, 0.5, 0, 5, 0.25, -1, 1, 0, -7, 2, 0.5, 0.5, 0.75, 9];
    tf.tidy(() => model.params.weights.assign(tf.tensor2d(w, [4, 4])));
    const m = machineOf(model);
    const u = model.couplings();
    expectAllClose(u, m.u, 1e-7);
    expect(m.u[1]).toBeCloseTo(0.5, 7); // (1 + 0) / 2
    expect(m.u[0]).toBe(0);
    expect(Math.abs((await model.logPartition()) - logPartition(m))).toBeLessThan(1e-5);
    u.dispose();
    model.dispose();
  });

  it('logLikelihood is exact: the mean of −E(x) − log Z, with its protocol', async () => {
    const model = new FullyVisibleBoltzmannMachine({ units: 7 });
    const m = randomize(model, 3);
    const rows = [bits(5, 7), bits(77, 7), bits(127, 7), bits(0, 7)];
    const x = tf.tensor2d(rows);
    const estimate = await withNoLeaks(() => model.logLikelihood(x, { data: DATA }));
    const logZ = logPartition(m);
    const expected = rows.reduce((a, r) => a + negEnergy(m, r) - logZ, 0) / rows.length;
    expect(Math.abs(estimate.value - expected)).toBeLessThan(1e-4);
    expect(estimate.kind).toBe('exact');
    expect(estimate.protocol).toMatchObject({ ...DATA, method: 'exact', examples: 4 });
    x.dispose();
    model.dispose();
  });
});

describe('fully-visible Boltzmann machine refusals', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it.each<[string, unknown, RegExp]>([
    ['zero units', { units: 0 }, /units.*positive integer/],
    ['an unknown field', { units: 3, visible: 3 }, /fvbm\.visible.*known fields/],
    ['a negative initial scale', { units: 3, initialScale: -0.1 }, /initialScale.*>= 0/],
    ['an image shape of the wrong size', { units: 6, imageShape: [2, 2] }, /imageShape.*6 elements/],
    ['no config at all', undefined, /config object/],
  ])('rejects %s with a ConfigError', (_, config, message) => {
    const build = () => new FullyVisibleBoltzmannMachine(config as never);
    expect(build).toThrow(ConfigError);
    expect(build).toThrow(message);
  });

  it('refuses to enumerate more units than maxUnits, saying what to use instead', async () => {
    const model = new FullyVisibleBoltzmannMachine({ units: 21 });
    await expect(model.logPartition()).rejects.toThrow(/at most 20 units.*pseudo-likelihood/);
    expect(() => model.exactStatistics({ maxUnits: 27 })).toThrow(/maxUnits.*from 1 to 26/);
    model.dispose();
  });

  it('refuses grey levels in logLikelihood and states of the wrong width', async () => {
    const model = new FullyVisibleBoltzmannMachine({ units: 3 });
    const grey = tf.tensor2d([[0, 0.5, 1]]);
    await expect(model.logLikelihood(grey, { data: DATA })).rejects.toThrow(DataError);
    const wide = tf.zeros([2, 4]) as tf.Tensor2D;
    expect(() => model.energy(wide)).toThrow(/expected shape \[\?, 3\], got \[2, 4\]/);
    tf.dispose([grey, wide]);
    model.dispose();
  });
});
