// Float64 oracles and data for the real-valued models' tests.
import * as tf from '@tensorflow/tfjs-core';
import { Rng } from '@helmholtz/core';

/** log Σ exp(x), in float64. */
export function logSumExp(values: ArrayLike<number>): number {
  let max = -Infinity;
  for (let i = 0; i < values.length; i++) max = Math.max(max, values[i]!);
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += Math.exp(values[i]! - max);
  return max + Math.log(sum);
}

/**
 * Points on two lines through the origin at ±45°: a standard normal coordinate along the line,
 * N(0, noise²) across it. No single Gaussian fits it (its ML Gaussian is about N(0, ½ I)).
 */
export function twoLines(n: number, seed: number, noise = 0.1): tf.Tensor2D {
  const rng = new Rng(seed);
  const out = new Float32Array(n * 2);
  for (let i = 0; i < n; i++) {
    const angle = i % 2 === 0 ? Math.PI / 4 : -Math.PI / 4;
    const t = rng.normal();
    const e = rng.normal() * noise;
    out[2 * i] = t * Math.cos(angle) - e * Math.sin(angle);
    out[2 * i + 1] = t * Math.sin(angle) + e * Math.cos(angle);
  }
  return tf.tensor2d(out, [n, 2]);
}

/** Mean log-density of the rows of `test` under the Gaussian fitted by maximum likelihood to `train`, in float64. */
export function gaussianBaseline(train: tf.Tensor2D, test: tf.Tensor2D): number {
  const x = train.dataSync();
  const [n, d] = train.shape;
  if (d !== 2) throw new Error('2-D only');
  const mean = [0, 0];
  for (let i = 0; i < n; i++) for (let j = 0; j < 2; j++) mean[j]! += x[i * 2 + j]! / n;
  const c = [0, 0, 0];
  for (let i = 0; i < n; i++) {
    const a = x[i * 2]! - mean[0]!;
    const b = x[i * 2 + 1]! - mean[1]!;
    c[0]! += (a * a) / n;
    c[1]! += (a * b) / n;
    c[2]! += (b * b) / n;
  }
  const det = c[0]! * c[2]! - c[1]! * c[1]!;
  const y = test.dataSync();
  let total = 0;
  for (let i = 0; i < test.shape[0]; i++) {
    const a = y[i * 2]! - mean[0]!;
    const b = y[i * 2 + 1]! - mean[1]!;
    const q = (c[2]! * a * a - 2 * c[1]! * a * b + c[0]! * b * b) / det;
    total += -Math.log(2 * Math.PI) - 0.5 * Math.log(det) - 0.5 * q;
  }
  return total / test.shape[0];
}

/** A square grid over [−limit, limit]², `[m², 2]`, and its cell area. */
export function grid2d(limit: number, m: number): { points: Float32Array; cell: number } {
  const h = (2 * limit) / (m - 1);
  const points = new Float32Array(m * m * 2);
  for (let a = 0; a < m; a++) {
    for (let b = 0; b < m; b++) {
      points[2 * (a * m + b)] = -limit + a * h;
      points[2 * (a * m + b) + 1] = -limit + b * h;
    }
  }
  return { points, cell: h * h };
}

/**
 * The normalised density exp(−F(v))/Z of a 2-D model on a grid (midpoint rule over
 * [−limit, limit]²): log Z, and the mean and second moments E[v], E[vvᵀ].
 */
export function quadrature2d(freeEnergy: (v: tf.Tensor2D) => tf.Tensor1D, limit = 6, m = 241): { logZ: number; mean: number[]; second: number[][] } {
  const { points, cell } = grid2d(limit, m);
  const f = tf.tidy(() => freeEnergy(tf.tensor2d(points, [m * m, 2])).dataSync() as Float32Array);
  const logWeights = Array.from(f, (x) => -x);
  const logZ = logSumExp(logWeights) + Math.log(cell);
  const mean = [0, 0];
  const second = [
    [0, 0],
    [0, 0],
  ];
  for (let i = 0; i < m * m; i++) {
    const p = Math.exp(logWeights[i]! - logZ) * cell;
    const x = [points[2 * i]!, points[2 * i + 1]!];
    for (let a = 0; a < 2; a++) {
      mean[a]! += p * x[a]!;
      for (let b = 0; b < 2; b++) second[a]![b]! += p * x[a]! * x[b]!;
    }
  }
  return { logZ, mean, second };
}

/** Sample mean and second moments of the rows of a `[n, 2]` tensor. */
export function sampleMoments(x: tf.Tensor2D): { mean: number[]; second: number[][] } {
  const v = x.dataSync();
  const n = x.shape[0];
  const mean = [0, 0];
  const second = [
    [0, 0],
    [0, 0],
  ];
  for (let i = 0; i < n; i++) {
    for (let a = 0; a < 2; a++) {
      mean[a]! += v[i * 2 + a]! / n;
      for (let b = 0; b < 2; b++) second[a]![b]! += (v[i * 2 + a]! * v[i * 2 + b]!) / n;
    }
  }
  return { mean, second };
}

/** Fraction of the rows of `x` `[n, 2]` closer than `distance` to one of the lines at ±45°. */
export function nearLines(x: tf.Tensor2D, distance: number): number {
  const v = x.dataSync();
  let near = 0;
  for (let i = 0; i < x.shape[0]; i++) {
    const a = v[2 * i]!;
    const b = v[2 * i + 1]!;
    // Distances to the lines y = x and y = −x.
    if (Math.min(Math.abs(a - b), Math.abs(a + b)) / Math.SQRT2 < distance) near++;
  }
  return near / x.shape[0];
}
