import { Rng } from '@helmholtz/core';
import { Dataset } from '../dataset.js';
import { syntheticProtocol } from '../checks.js';

export interface GaussianMixture {
  /** Points, featureShape `[2]`; `labels` holds each point's mode index. */
  dataset: Dataset;
  /** Mode centres, `[modes * 2]` as (x, y) pairs; mode i is at `centres[2i], centres[2i + 1]`. */
  centres: Float32Array;
}

/**
 * Equal-weight mixture of isotropic 2-D Gaussians on given centres: per point, a uniform mode
 * index, then two normal draws. Shared by the ring and the grid, the mode-collapse
 * benchmarks of the GAN literature (Metz et al. 2017, unrolled GANs).
 */
export function sampleGaussianMixture(
  name: string,
  description: string,
  centres: Float32Array,
  std: number,
  count: number,
  seed: number,
): GaussianMixture {
  const modes = centres.length / 2;
  const rng = new Rng(seed);
  const values = new Float32Array(count * 2);
  const labels = new Int32Array(count);
  for (let k = 0; k < count; k++) {
    const mode = rng.int(modes);
    labels[k] = mode;
    values[2 * k] = centres[2 * mode]! + std * rng.normal();
    values[2 * k + 1] = centres[2 * mode + 1]! + std * rng.normal();
  }
  const dataset = new Dataset({ name, values, featureShape: [2], labels, numClasses: modes, protocol: syntheticProtocol(description) });
  return { dataset, centres };
}
