import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError, toRng, type Rng, type RngLike } from '@helmholtz/core';
import { positiveInteger, positiveNumber, rejectUnknownKeys } from '../rbm/config.js';

/** A function of a batch of points `[n, d]` giving one value per row, `[n]`. */
export type RowFunction = (x: tf.Tensor2D) => tf.Tensor1D;

/** Options of {@link hamiltonianMonteCarlo}. */
export interface HmcOptions {
  /** The leapfrog step size ε (the start value when it is adapted). */
  stepSize: number;
  /** Leapfrog steps per trajectory, L (default 20, as Ranzato & Hinton 2010 used for the mcRBM). */
  leapfrogSteps?: number;
  /** Trajectories, each followed by its Metropolis test (default 1). */
  steps?: number;
  /** The generator of the momenta and of the accept/reject draws. */
  rng: RngLike;
  /**
   * A target acceptance rate in (0, 1): after each trajectory the step size is multiplied by
   * 1.02 when the fraction of chains that accepted was above it, by 0.98 otherwise. Adapting during sampling breaks detailed balance a little;
   * use it while burning in. Default: no adaptation.
   */
  adaptStepSize?: number;
  /** `fn` is a log-density (up to a constant) instead of an energy, U(x) = −log p(x) (default false). */
  logDensity?: boolean;
}

/** What {@link hamiltonianMonteCarlo} returns. The caller owns `samples`. */
export interface HmcResult {
  /** The chains' states after the last trajectory, `[n, d]`. */
  samples: tf.Tensor2D;
  /** The fraction of proposals accepted over all chains and trajectories. */
  acceptanceRate: number;
  /** The step size after the last adaptation (the given one without `adaptStepSize`). */
  stepSize: number;
}

/** One trajectory's outcome for every chain; the caller owns the tensors. */
export interface HmcTransition {
  /** The new states `[n, d]` (the proposals where accepted, the old states elsewhere). */
  samples: tf.Tensor2D;
  /** The fraction of chains that accepted, a scalar. */
  acceptance: tf.Scalar;
}

/**
 * One Hamiltonian (hybrid) Monte Carlo transition for each row of `x`, each row its own chain
 * (Duane et al. 1987; Neal 2011, "MCMC using Hamiltonian dynamics", fig. 2): momenta
 * p ~ N(0, I), `leapfrogSteps` leapfrog steps of the dynamics of H(x, p) = U(x) + |p|²/2, and a
 * Metropolis test per row on the change of H. The gradient of U comes from tfjs's autodiff.
 * `stepSize` may be a scalar tensor, so that a trainer adapts it without reading it back.
 */
export function hmcTransition(energy: RowFunction, x: tf.Tensor2D, stepSize: number | tf.Scalar, leapfrogSteps: number, rng: Rng): HmcTransition {
  return tf.tidy(() => {
    const gradient = tf.grad((y: tf.Tensor) => tf.sum(energy(y as tf.Tensor2D)));
    const eps = typeof stepSize === 'number' ? tf.scalar(stepSize) : stepSize;
    const halfEps = tf.mul(eps, 0.5);
    const p0 = rng.normalTensor(x.shape) as tf.Tensor2D;
    const kinetic = (p: tf.Tensor2D) => tf.mul(tf.sum(tf.square(p), 1), 0.5);
    const h0 = tf.add(energy(x), kinetic(p0));
    let position: tf.Tensor2D = x;
    let momentum = tf.sub(p0, tf.mul(halfEps, gradient(position))) as tf.Tensor2D;
    for (let l = 0; l < leapfrogSteps; l++) {
      // Each step's intermediates go at once: only the current position and momentum live on.
      const next = tf.tidy(() => {
        const moved = tf.add(position, tf.mul(eps, momentum)) as tf.Tensor2D;
        const g = gradient(moved);
        const kick = l === leapfrogSteps - 1 ? halfEps : eps;
        return { moved, momentum: tf.sub(momentum, tf.mul(kick, g)) as tf.Tensor2D };
      });
      if (position !== x) position.dispose();
      momentum.dispose();
      position = next.moved;
      momentum = next.momentum;
    }
    const h1 = tf.add(energy(position), kinetic(momentum));
    // Accept where log u < H0 − H1; a NaN (a diverged trajectory) compares false and is rejected.
    const logU = tf.log(rng.uniform([x.shape[0]]));
    const accept = tf.less(logU, tf.sub(h0, h1));
    const samples = tf.where(tf.reshape(accept, [-1, 1]), position, x) as tf.Tensor2D;
    return { samples, acceptance: tf.mean(tf.cast(accept, 'float32')) as tf.Scalar };
  });
}

const HMC_KEYS = ['stepSize', 'leapfrogSteps', 'steps', 'rng', 'adaptStepSize', 'logDensity'];

/** Validates a target acceptance rate. */
export function acceptanceTarget(field: string, value: unknown): number {
  if (typeof value !== 'number' || !(value > 0 && value < 1)) throw new ConfigError(field, 'a target acceptance rate strictly between 0 and 1, e.g. 0.9', value);
  return value;
}

/**
 * Hamiltonian (hybrid) Monte Carlo from the rows of `x0` (not changed), one independent chain per
 * row, for any density given by a tfjs function of a batch: an energy U(x) = −log p(x) + const
 * (an RBM's free energy, say) or, with `logDensity: true`, log p(x) + const. Gradients come from
 * `tf.grad`, so `fn` must be differentiable with respect to its input.
 *
 * ```ts no-run
 * const { samples, acceptanceRate } = hamiltonianMonteCarlo((v) => mcrbm.freeEnergy(v), start, { stepSize: 0.05, steps: 100, rng: 1 });
 * ```
 *
 * Reads back two numbers at the end (the acceptance rate and the step size); nothing else leaves
 * the device.
 */
export function hamiltonianMonteCarlo(fn: RowFunction, x0: tf.Tensor2D, options: HmcOptions): HmcResult {
  if (typeof fn !== 'function') throw new ConfigError('hamiltonianMonteCarlo fn', 'a function of a [n, d] batch returning [n] energies', fn);
  if (!(x0 instanceof tf.Tensor) || x0.rank !== 2 || x0.shape[0] === 0) throw new ShapeError('hamiltonianMonteCarlo x0', [null, null], x0 instanceof tf.Tensor ? x0.shape : [], 'one row per chain, at least one');
  if (options === null || typeof options !== 'object') throw new ConfigError('hamiltonianMonteCarlo options', 'an object { stepSize, rng, ... }', options);
  rejectUnknownKeys('hamiltonianMonteCarlo', options, HMC_KEYS);
  let stepSize = positiveNumber('hamiltonianMonteCarlo.stepSize', options.stepSize);
  const leapfrogSteps = positiveInteger('hamiltonianMonteCarlo.leapfrogSteps', options.leapfrogSteps ?? 20);
  const steps = positiveInteger('hamiltonianMonteCarlo.steps', options.steps ?? 1);
  const target = options.adaptStepSize === undefined ? null : acceptanceTarget('hamiltonianMonteCarlo.adaptStepSize', options.adaptStepSize);
  if (options.logDensity !== undefined && typeof options.logDensity !== 'boolean') throw new ConfigError('hamiltonianMonteCarlo.logDensity', 'true or false', options.logDensity);
  const rng = toRng(options.rng);
  const energy: RowFunction = options.logDensity === true ? (x) => tf.tidy(() => tf.neg(fn(x))) : fn;
  const checked: RowFunction = (x) => {
    const u = energy(x);
    if (!(u instanceof tf.Tensor) || u.rank !== 1 || u.shape[0] !== x.shape[0]) {
      throw new ShapeError('hamiltonianMonteCarlo fn result', [x.shape[0]], u instanceof tf.Tensor ? u.shape : [], 'one energy per row of the batch');
    }
    return u;
  };

  let x = tf.clone(x0);
  let accepted = tf.scalar(0);
  // The step size stays on the device while it adapts, so the loop never waits for a read.
  let eps = tf.scalar(stepSize);
  try {
    for (let t = 0; t < steps; t++) {
      const { samples, acceptance } = hmcTransition(checked, x, eps, leapfrogSteps, rng);
      const next = tf.tidy(() => ({
        accepted: tf.add(accepted, acceptance) as tf.Scalar,
        eps: target === null ? tf.clone(eps) : (tf.mul(eps, tf.where(tf.greater(acceptance, target), tf.scalar(1.02), tf.scalar(0.98))) as tf.Scalar),
      }));
      tf.dispose([x, accepted, eps, acceptance]);
      x = samples;
      accepted = next.accepted;
      eps = next.eps;
    }
    const acceptanceRate = accepted.dataSync()[0]! / steps;
    if (target !== null) stepSize = eps.dataSync()[0]!;
    return { samples: x, acceptanceRate, stepSize };
  } catch (error) {
    x.dispose();
    throw error;
  } finally {
    tf.dispose([accepted, eps]);
  }
}
