import { execFileSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError } from '@helmholtz/core';
import { useBackend } from '@helmholtz/core/testing';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Dataset } from '../src/dataset.js';
import { fnv1a } from '../src/hash.js';
import { loadMnist } from '../src/node/mnist.js';
import { binarize, filterClasses, labelledPerClass, scale, splitValidation, take } from '../src/transforms.js';

let mnist: Dataset;
beforeAll(async () => {
  await useBackend('cpu');
  mnist = take(await loadMnist({ split: 'test' }), 500);
});

async function firstBatch(ds: Dataset, options: Partial<Parameters<Dataset['batches']>[0]> = {}): Promise<Float32Array> {
  for await (const b of ds.batches({ batchSize: ds.size, ...options })) {
    const data = (await b.x.data()) as Float32Array;
    tf.dispose([b.x, b.y ?? []]);
    return data;
  }
  throw new Error('empty');
}

const FIXED_SCRIPT = (src: string) => `
import { loadMnist } from ${JSON.stringify(join(src, 'node/mnist.ts'))};
import { binarize, take } from ${JSON.stringify(join(src, 'transforms.ts'))};
import { fnv1a } from ${JSON.stringify(join(src, 'hash.ts'))};
const ds = binarize(take(await loadMnist({ split: 'test' }), 500), { kind: 'fixed-stochastic', seed: 123 });
console.log(fnv1a(ds.values));
`;

describe('binarization protocols', () => {
  it('threshold: a pixel is 1 exactly when its intensity exceeds the threshold', async () => {
    const binary = binarize(mnist, { kind: 'threshold', threshold: 0.5 });
    expect(binary.protocol.binarization).toEqual({ kind: 'threshold', threshold: 0.5 });
    const grey = await firstBatch(mnist);
    const bits = await firstBatch(binary);
    let wrong = 0;
    for (let i = 0; i < grey.length; i++) if (bits[i] !== (grey[i]! > 0.5 ? 1 : 0)) wrong++;
    expect(wrong).toBe(0);
    expect(bits.reduce((n, v) => n + v, 0)).toBeGreaterThan(10_000); // not all zeros
  });

  it('fixed-stochastic: one sample, identical across runs and processes, with the pixel intensities as its mean', async () => {
    const a = binarize(mnist, { kind: 'fixed-stochastic', seed: 123 });
    const b = binarize(mnist, { kind: 'fixed-stochastic', seed: 123 });
    const c = binarize(mnist, { kind: 'fixed-stochastic', seed: 124 });
    expect(fnv1a(a.values as Uint8Array)).toBe(fnv1a(b.values as Uint8Array));
    expect(fnv1a(a.values as Uint8Array)).not.toBe(fnv1a(c.values as Uint8Array));
    // The same bytes in another process (and the constant recorded when this test was written).
    const dir = mkdtempSync(join(tmpdir(), 'fixed-binarization-'));
    const script = join(dir, 'hash.mts');
    writeFileSync(script, FIXED_SCRIPT(fileURLToPath(new URL('../src/', import.meta.url))));
    const child = execFileSync(process.execPath, ['--import', 'tsx', script], { encoding: 'utf8' }).trim();
    expect(Number(child)).toBe(fnv1a(a.values as Uint8Array));
    expect(fnv1a(a.values as Uint8Array)).toBe(FIXED_STOCHASTIC_HASH);
    // Unbiased: the mean of the bits matches the mean intensity (392,000 pixels).
    const grey = await firstBatch(mnist);
    const mean = (xs: ArrayLike<number>) => {
      let sum = 0;
      for (let i = 0; i < xs.length; i++) sum += xs[i]!;
      return sum / xs.length;
    };
    expect(Math.abs(mean(a.values) - mean(grey))).toBeLessThan(0.003);
    // Batches deliver the stored sample every epoch.
    expect(Array.from(await firstBatch(a, { epoch: 0 }))).toEqual(Array.from(await firstBatch(a, { epoch: 3 })));
  });

  it('dynamic: a fresh sample each epoch, the same one for the same seed and epoch', async () => {
    const d = binarize(mnist, { kind: 'dynamic', seed: 5 });
    expect(d.values).toBe(mnist.values); // intensities are kept
    const e0 = await firstBatch(d, { seed: 1, epoch: 0 });
    const e0again = await firstBatch(d, { seed: 1, epoch: 0 });
    const e1 = await firstBatch(d, { seed: 1, epoch: 1 });
    expect(Array.from(e0)).toEqual(Array.from(e0again));
    const differing = e0.reduce((n, v, i) => n + (v !== e1[i] ? 1 : 0), 0);
    expect(differing).toBeGreaterThan(1000);
    expect(new Set(e0)).toEqual(new Set([0, 1]));
    await expect(firstBatch(d)).rejects.toThrow(/seed for dynamic binarization/);
    await expect(firstBatch(d, { seed: 1 })).rejects.toThrow(/the epoch number for dynamic binarization/);
    await expect(firstBatch(d, { seed: 1, epoch: 0.5 })).rejects.toThrow(/epoch/);
  });

  it('dynamic: the binarization seed and the batch seed do not cancel (1,1 differs from 2,2)', async () => {
    const one = await firstBatch(binarize(mnist, { kind: 'dynamic', seed: 1 }), { seed: 1, epoch: 0 });
    const two = await firstBatch(binarize(mnist, { kind: 'dynamic', seed: 2 }), { seed: 2, epoch: 0 });
    const swapped = await firstBatch(binarize(mnist, { kind: 'dynamic', seed: 2 }), { seed: 1, epoch: 0 });
    const flipped = await firstBatch(binarize(mnist, { kind: 'dynamic', seed: 1 }), { seed: 2, epoch: 0 });
    expect(Array.from(one)).not.toEqual(Array.from(two));
    expect(Array.from(swapped)).not.toEqual(Array.from(flipped));
  });

  it('fixed-stochastic: an image gets the same sample whether subsets are taken before or after', () => {
    const seed = { kind: 'fixed-stochastic', seed: 123 } as const;
    const before = binarize(filterClasses(mnist, [3]), seed);
    const after = filterClasses(binarize(mnist, seed), [3]);
    expect(Buffer.from(before.values).equals(Buffer.from(after.values))).toBe(true);
    expect(before.size).toBeGreaterThan(10);
  });

  it('refuses to binarize twice or data outside [0, 1]', () => {
    const once = binarize(mnist, { kind: 'threshold', threshold: 0.5 });
    expect(() => binarize(once, { kind: 'threshold', threshold: 0.5 })).toThrow(ConfigError);
    expect(() => binarize(mnist, { kind: 'threshold', threshold: 2 })).toThrow(/threshold/);
  });
});

describe('scaling and subsets', () => {
  it('maps intensities to [-1, 1] by 2v - 1 and records it', async () => {
    const grey = await firstBatch(mnist);
    const symmetric = scale(mnist, '[-1,1]');
    expect(symmetric.protocol.range).toBe('[-1,1]');
    const values = await firstBatch(symmetric);
    for (let i = 0; i < 2000; i += 37) expect(values[i]).toBeCloseTo(2 * grey[i]! - 1, 6);
  });

  it('splits deterministically into disjoint parts that cover the data', () => {
    const a = splitValidation(mnist, { validation: 100, seed: 9 });
    const b = splitValidation(mnist, { validation: 100, seed: 9 });
    expect(a.validation.size).toBe(100);
    expect(a.train.size).toBe(400);
    expect(Buffer.from(a.validation.values).equals(Buffer.from(b.validation.values))).toBe(true);
    const c = splitValidation(mnist, { validation: 100, seed: 10 });
    expect(Buffer.from(a.validation.values).equals(Buffer.from(c.validation.values))).toBe(false);
    const hashes = (ds: Dataset) => Array.from({ length: ds.size }, (_, i) => `${fnv1a(ds.values as Uint8Array, i * 784, (i + 1) * 784)}`);
    const all = new Set([...hashes(a.train), ...hashes(a.validation)]);
    expect(all).toEqual(new Set(hashes(mnist)));
    expect(a.validation.protocol.subset).toEqual(['first 500', 'validation part: 100 of 500 held out for validation with seed 9']);
  });

  it('takes N labelled examples per class of a class subset (absent classes do not count)', () => {
    const { labelled } = labelledPerClass(filterClasses(mnist, [3, 5]), 5, 1);
    expect(labelled.classCounts().filter((c) => c > 0)).toEqual([5, 5]);
  });

  it('takes N labelled examples per class and drops the labels of the rest', () => {
    const { labelled, unlabelled } = labelledPerClass(mnist, 10, 4);
    expect(labelled.classCounts()).toEqual(new Array(10).fill(10));
    expect(unlabelled.size).toBe(400);
    expect(unlabelled.labels).toBeUndefined();
    expect(() => labelledPerClass(mnist, 1000, 4)).toThrow(/perClass/);
  });

  it('filters classes and takes the first N in stored order', () => {
    const threes = filterClasses(mnist, [3]);
    expect(threes.classCounts()[3]).toBe(threes.size);
    expect(threes.size).toBe(mnist.classCounts()[3]);
    expect(take(mnist, 7).labels).toEqual(mnist.labels!.subarray(0, 7));
    expect(() => take(mnist, 501)).toThrow(ConfigError);
  });

  it('refuses classes the dataset does not hold (instead of an empty or quietly smaller set), listing the labels it has', () => {
    expect(() => filterClasses(mnist, [42])).toThrow(ConfigError);
    expect(() => filterClasses(mnist, [42])).toThrow(/"classes": expected integers among the labels of 'mnist-test' \(0, 1, 2, 3, 4, 5, 6, 7, 8, 9\), got 42/);
    const threes = filterClasses(mnist, [3]);
    expect(() => filterClasses(threes, [3, 5])).toThrow(/labels of 'mnist-test' \(3\), got 5/);
    expect(() => filterClasses(mnist, [2.5])).toThrow(/got 2\.5/);
    expect(() => filterClasses(mnist, ['3' as unknown as number])).toThrow(/got "3"/);
    expect(() => filterClasses(mnist, [])).toThrow(/"classes": expected a non-empty array of labels/);
    expect(() => filterClasses(mnist, 3 as unknown as number[])).toThrow(ConfigError);
    expect(filterClasses(mnist, [3, 3]).size).toBe(threes.size);
  });

  it('refuses a binarization that is not one of the three protocols', () => {
    expect(() => binarize(mnist, null as never)).toThrow(/"binarization.kind": expected 'threshold', 'fixed-stochastic' or 'dynamic', got null/);
    expect(() => binarize(mnist, { kind: 'Threshold', threshold: 0.5 } as never)).toThrow(/got "Threshold"/);
    expect(() => binarize(mnist, { kind: 'threshold', threshold: '0.5' } as never)).toThrow(/"threshold": expected a number in \[0, 1\], got "0.5"/);
  });
});

/** fnv1a of MNIST test[0:500] after fixed-stochastic binarization with seed 123, computed once. */
const FIXED_STOCHASTIC_HASH = 3272696328;
