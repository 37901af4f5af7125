import { ConfigError, Rng } from '@helmholtz/core';
import { Dataset, epochSeed } from './dataset.js';
import { checkSeed } from './checks.js';
import { fnv1a } from './hash.js';
import type { Binarization, ValueRange } from './protocol.js';

/** Delivers values in [0, 1] or, by 2v − 1, in [-1, 1] (e.g. for a GAN with a tanh output). */
export function scale(ds: Dataset, range: ValueRange): Dataset {
  if (range !== '[0,1]' && range !== '[-1,1]') throw new ConfigError('range', "'[0,1]' or '[-1,1]'", range);
  return ds.with({ protocol: { ...ds.protocol, range } });
}

function checkIntensities(ds: Dataset, what: string): void {
  const { scale: s, offset } = ds.mapping;
  let lo = Infinity;
  let hi = -Infinity;
  for (let i = 0; i < ds.values.length; i++) {
    const v = ds.values[i]! * s + offset;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo < 0 || hi > 1) {
    throw new ConfigError(what, `a dataset of intensities in [0, 1]`, `'${ds.name}' with values in [${lo}, ${hi}]`);
  }
}

/**
 * Binarizes images whose intensities are in [0, 1] with one of the three protocols of the
 * literature. The protocol is recorded in `protocol.binarization`.
 * - `threshold`: value > threshold becomes 1 (computed now);
 * - `fixed-stochastic`: value v becomes 1 with probability v, sampled once now; an image's
 *   sample depends only on `seed`, its source and split and its position in the source, so
 *   the same seed gives the same bytes in every process, before or after taking subsets;
 * - `dynamic`: the dataset keeps its intensities and `batches()` draws a fresh sample per epoch.
 */
export function binarize(ds: Dataset, binarization: Exclude<Binarization, { kind: 'none' }>): Dataset {
  const kind = (binarization as { kind?: unknown } | null)?.kind;
  if (kind !== 'threshold' && kind !== 'fixed-stochastic' && kind !== 'dynamic') {
    throw new ConfigError('binarization.kind', "'threshold', 'fixed-stochastic' or 'dynamic'", typeof binarization === 'object' && binarization !== null ? kind : binarization);
  }
  if (ds.protocol.binarization.kind !== 'none') {
    throw new ConfigError('binarize', 'a dataset that is not binarized yet', ds.protocol.binarization);
  }
  checkIntensities(ds, 'binarize');
  const { scale: s, offset } = ds.mapping;
  const protocol = { ...ds.protocol, binarization };
  switch (binarization.kind) {
    case 'threshold': {
      const t = binarization.threshold;
      if (typeof t !== 'number' || !(t >= 0 && t <= 1)) throw new ConfigError('threshold', 'a number in [0, 1]', t);
      const values = new Uint8Array(ds.values.length);
      for (let i = 0; i < values.length; i++) values[i] = ds.values[i]! * s + offset > t ? 1 : 0;
      return ds.with({ values, mapping: { scale: 1, offset: 0 }, protocol });
    }
    case 'fixed-stochastic': {
      // Each image's sample depends only on the seed, the source and split, and the image's
      // position in the source: the same bytes whether subsets are taken before or after, and
      // unrelated draws for the training and test images of one seed.
      const source = fnv1a(new TextEncoder().encode(`${ds.protocol.source}|${ds.protocol.split}`));
      const seed = checkSeed(binarization.seed);
      const f = ds.featureSize;
      const values = new Uint8Array(ds.values.length);
      for (let e = 0; e < ds.size; e++) {
        const rng = new Rng(epochSeed([seed, source], ds.originOf(e), 3));
        for (let k = e * f; k < (e + 1) * f; k++) values[k] = rng.next() < ds.values[k]! * s + offset ? 1 : 0;
      }
      return ds.with({ values, mapping: { scale: 1, offset: 0 }, protocol });
    }
    case 'dynamic':
      checkSeed(binarization.seed);
      return ds.with({ protocol });
    default:
      throw new ConfigError('binarization.kind', "'threshold', 'fixed-stochastic' or 'dynamic'", (binarization as { kind: unknown }).kind);
  }
}

function checkCount(field: string, n: number, max: number): number {
  if (!Number.isInteger(n) || n < 0 || n > max) throw new ConfigError(field, `an integer in [0, ${max}]`, n);
  return n;
}

/** The first `n` examples. */
export function take(ds: Dataset, n: number): Dataset {
  checkCount('n', n, ds.size);
  return ds.select(Int32Array.from({ length: n }, (_, i) => i), `first ${n}`);
}

/** The examples of the given classes, in stored order (labels keep their values). */
export function filterClasses(ds: Dataset, classes: readonly number[]): Dataset {
  if (!ds.labels) throw new ConfigError('filterClasses', 'a labelled dataset', `'${ds.name}' has no labels`);
  const present = ds.classCounts().flatMap((count, label) => (count > 0 ? [label] : []));
  const has = `labels of '${ds.name}' (${present.join(', ') || 'none'})`;
  if (!Array.isArray(classes) || classes.length === 0) throw new ConfigError('classes', `a non-empty array of ${has}`, classes);
  for (const c of classes) {
    // A label the dataset does not hold would give an empty (or quietly smaller) subset.
    if (!Number.isInteger(c) || !present.includes(c)) throw new ConfigError('classes', `integers among the ${has}`, c);
  }
  const wanted = new Set(classes);
  const indices: number[] = [];
  ds.labels.forEach((l, i) => {
    if (wanted.has(l)) indices.push(i);
  });
  return ds.select(indices, `classes ${[...wanted].sort((a, b) => a - b).join(',')}`);
}

/**
 * A deterministic split into training and validation parts: a seeded permutation, the first
 * `validation` examples of it form the validation set; both keep stored order.
 */
export function splitValidation(ds: Dataset, options: { validation: number; seed: number }): { train: Dataset; validation: Dataset } {
  if (options === null || typeof options !== 'object') throw new ConfigError('splitValidation options', 'an object { validation, seed }', options);
  const n = checkCount('validation', options.validation, ds.size);
  const order = new Rng(checkSeed(options.seed)).permutation(ds.size);
  const held = order.slice(0, n).sort();
  const kept = order.slice(n).sort();
  const note = `${n} of ${ds.size} held out for validation with seed ${options.seed}`;
  return {
    train: ds.select(kept, `training part: ${note}`),
    validation: ds.select(held, `validation part: ${note}`),
  };
}

/**
 * Semi-supervised split: `perClass` labelled examples of each class, chosen with `seed`,
 * and everything else as the unlabelled part (its labels dropped so they cannot leak).
 */
export function labelledPerClass(ds: Dataset, perClass: number, seed: number): { labelled: Dataset; unlabelled: Dataset } {
  if (!ds.labels) throw new ConfigError('labelledPerClass', 'a labelled dataset', `'${ds.name}' has no labels`);
  const counts = ds.classCounts();
  const smallest = Math.min(...counts.filter((c) => c > 0));
  checkCount('perClass', perClass, smallest);
  const order = new Rng(checkSeed(seed)).permutation(ds.size);
  const taken = new Array<number>(ds.numClasses).fill(0);
  const labelled: number[] = [];
  const unlabelled: number[] = [];
  for (const i of order) {
    const l = ds.labels[i]!;
    if (taken[l]! < perClass) {
      taken[l]!++;
      labelled.push(i);
    } else unlabelled.push(i);
  }
  labelled.sort((a, b) => a - b);
  unlabelled.sort((a, b) => a - b);
  const note = `${perClass} labelled per class, seed ${seed}`;
  const rest = ds.select(unlabelled, `unlabelled part: ${note}`);
  return {
    labelled: ds.select(labelled, `labelled part: ${note}`),
    unlabelled: rest.with({ labels: undefined }),
  };
}
