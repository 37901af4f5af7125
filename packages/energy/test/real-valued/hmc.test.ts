import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng, ShapeError } from '@helmholtz/core';
import { expectNoLeaks, useBackend } from '@helmholtz/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import { hamiltonianMonteCarlo } from '../../src/real-valued/hmc.js';

// A correlated 2-D Gaussian: Σ = [[1, 0.8], [0.8, 1]] around μ = (1, −2).
const MEAN = [1, -2];
const COV = [
  [1, 0.8],
  [0.8, 1],
];
const det = COV[0]![0]! * COV[1]![1]! - COV[0]![1]! * COV[1]![0]!;
const PRECISION = [
  [COV[1]![1]! / det, -COV[0]![1]! / det],
  [-COV[1]![0]! / det, COV[0]![0]! / det],
];

function gaussianEnergy(x: tf.Tensor2D): tf.Tensor1D {
  return tf.tidy(() => {
    const centred = tf.sub(x, tf.tensor1d(MEAN));
    return tf.mul(tf.sum(tf.mul(tf.matMul(centred, tf.tensor2d(PRECISION)), centred), 1), 0.5) as tf.Tensor1D;
  });
}

function moments(x: Float32Array, n: number): { mean: number[]; cov: number[][] } {
  const mean = [0, 0];
  for (let i = 0; i < n; i++) for (let j = 0; j < 2; j++) mean[j]! += x[i * 2 + j]! / n;
  const cov = [
    [0, 0],
    [0, 0],
  ];
  for (let i = 0; i < n; i++) for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) cov[a]![b]! += ((x[i * 2 + a]! - mean[a]!) * (x[i * 2 + b]! - mean[b]!)) / (n - 1);
  return { mean, cov };
}

describe.each(['cpu', 'wasm'])('hamiltonianMonteCarlo on %s', (backend) => {
  beforeAll(async () => {
    await useBackend(backend);
  });

  it('samples a correlated 2-D Gaussian with its mean and covariance', () => {
    const chains = 2000;
    const start = tf.zeros([chains, 2]) as tf.Tensor2D;
    const { samples, acceptanceRate, stepSize } = hamiltonianMonteCarlo(gaussianEnergy, start, { stepSize: 0.2, leapfrogSteps: 10, steps: 30, rng: 3 });
    const { mean, cov } = moments(samples.dataSync() as Float32Array, chains);
    tf.dispose([start, samples]);
    // 2000 independent chains: the standard error of a mean is 0.022, of a covariance entry about 0.03.
    for (let j = 0; j < 2; j++) expect(Math.abs(mean[j]! - MEAN[j]!)).toBeLessThan(0.1);
    for (let a = 0; a < 2; a++) for (let b = 0; b < 2; b++) expect(Math.abs(cov[a]![b]! - COV[a]![b]!)).toBeLessThan(0.12);
    expect(acceptanceRate).toBeGreaterThan(0.5);
    expect(stepSize).toBe(0.2);
  });

  it('the Metropolis test keeps the target exact at a step size where plain leapfrog dynamics would not', () => {
    // For U = x²/2, leapfrog with ε = 1.6 conserves ½x²(1 − ε²/4) + ½p² instead of H: without
    // the accept/reject step the chains would settle at variance 1/(1 − 0.64) ≈ 2.8.
    const start = tf.zeros([4000, 1]) as tf.Tensor2D;
    const energy = (x: tf.Tensor2D) => tf.tidy(() => tf.mul(tf.sum(tf.square(x), 1), 0.5) as tf.Tensor1D);
    const { samples, acceptanceRate } = hamiltonianMonteCarlo(energy, start, { stepSize: 1.6, leapfrogSteps: 3, steps: 40, rng: 5 });
    const x = samples.dataSync();
    let sum = 0;
    let squares = 0;
    for (const value of x) {
      sum += value;
      squares += value * value;
    }
    const variance = squares / x.length - (sum / x.length) ** 2;
    expect(Math.abs(variance - 1)).toBeLessThan(0.1);
    expect(acceptanceRate).toBeLessThan(0.95);
    tf.dispose([start, samples]);
  });
});

describe('hamiltonianMonteCarlo options (cpu)', () => {
  beforeAll(async () => {
    await useBackend('cpu');
  });

  it('a log-density gives the same chains as the energy −log p, draw for draw', () => {
    const start = tf.zeros([50, 2]) as tf.Tensor2D;
    const a = hamiltonianMonteCarlo(gaussianEnergy, start, { stepSize: 0.3, leapfrogSteps: 5, steps: 5, rng: 8 });
    const b = hamiltonianMonteCarlo((x) => tf.tidy(() => tf.neg(gaussianEnergy(x))), start, { stepSize: 0.3, leapfrogSteps: 5, steps: 5, rng: 8, logDensity: true });
    expect(Array.from(b.samples.dataSync())).toEqual(Array.from(a.samples.dataSync()));
    expect(b.acceptanceRate).toBe(a.acceptanceRate);
    tf.dispose([start, a.samples, b.samples]);
  });

  it('step-size adaptation brings an unstable step size down to the target acceptance rate', () => {
    // The precision's largest eigenvalue is 1/0.2 = 5: leapfrog is unstable for ε > 2/√5 ≈ 0.89, and ε = 1.5 accepts almost nothing.
    const start = tf.zeros([200, 2]) as tf.Tensor2D;
    const adapted = hamiltonianMonteCarlo(gaussianEnergy, start, { stepSize: 1.5, leapfrogSteps: 10, steps: 150, rng: 2, adaptStepSize: 0.8 });
    expect(adapted.stepSize).toBeLessThan(0.89);
    const fixed = hamiltonianMonteCarlo(gaussianEnergy, adapted.samples, { stepSize: adapted.stepSize, leapfrogSteps: 10, steps: 20, rng: 3 });
    expect(fixed.acceptanceRate).toBeGreaterThan(0.6);
    expect(fixed.acceptanceRate).toBeLessThan(0.97);
    const unadapted = hamiltonianMonteCarlo(gaussianEnergy, start, { stepSize: 1.5, leapfrogSteps: 10, steps: 20, rng: 3 });
    expect(unadapted.acceptanceRate).toBeLessThan(0.1);
    tf.dispose([start, adapted.samples, fixed.samples, unadapted.samples]);
  });

  it('leaves no tensor behind, also when the energy function is refused', () => {
    const start = tf.zeros([10, 2]) as tf.Tensor2D;
    expectNoLeaks(() => {
      tf.dispose(hamiltonianMonteCarlo(gaussianEnergy, start, { stepSize: 0.3, leapfrogSteps: 4, steps: 3, rng: 1, adaptStepSize: 0.9 }).samples);
    });
    expectNoLeaks(() => {
      expect(() => hamiltonianMonteCarlo((x) => tf.sum(x, 0) as tf.Tensor1D, start, { stepSize: 0.3, rng: 1 })).toThrow(ShapeError);
    });
    start.dispose();
  });

  it('refuses bad options with ConfigError and bad shapes with ShapeError', () => {
    const start = tf.zeros([10, 2]) as tf.Tensor2D;
    const bad: unknown[] = [
      { stepSize: 0, rng: 1 },
      { stepSize: 0.1, leapfrogSteps: 0, rng: 1 },
      { stepSize: 0.1, steps: 1.5, rng: 1 },
      { stepSize: 0.1, adaptStepSize: 1, rng: 1 },
      { stepSize: 0.1, logDensity: 'yes', rng: 1 },
      { stepSize: 0.1, rng: 1, temperature: 2 },
      { stepSize: 0.1, rng: 1.5 },
      null,
    ];
    for (const options of bad) expect(() => hamiltonianMonteCarlo(gaussianEnergy, start, options as never), JSON.stringify(options)).toThrow(ConfigError);
    expect(() => hamiltonianMonteCarlo('energy' as never, start, { stepSize: 0.1, rng: 1 })).toThrow(ConfigError);
    const flat = tf.zeros([4]);
    expect(() => hamiltonianMonteCarlo(gaussianEnergy, flat as never, { stepSize: 0.1, rng: 1 })).toThrow(ShapeError);
    tf.dispose([start, flat]);
  });
});
