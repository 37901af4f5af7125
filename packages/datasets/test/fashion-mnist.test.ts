import { describe, expect, it } from 'vitest';
import { fashionMnistSplit, identicalGroups } from '../src/fashion-split.js';
import { fnv1a } from '../src/hash.js';
import { loadFashionMnist } from '../src/node/fashion-mnist.js';

describe('loadFashionMnist', () => {
  it('splits the 70,000 images (70,002 entries less 2 empty ones) into 60,000 training and 10,000 test images, 1,000 test images per class', async () => {
    const [train, test] = await Promise.all([loadFashionMnist({ split: 'train' }), loadFashionMnist({ split: 'test' })]);
    expect(test.size).toBe(10_000);
    expect(train.size).toBe(60_000);
    expect(test.classCounts()).toEqual(new Array(10).fill(1000));
    expect(train.classCounts()).toEqual(new Array(10).fill(6000));
    expect(train.featureShape).toEqual([28, 28, 1]);
    expect(test.protocol.split).toMatch(/test of the Helmholtz split v1/);
    expect(test.protocol.source).toContain('empty entries left out: 0/1000, 0/7001');
  });

  it('never has the same image on both sides', async () => {
    const [train, test] = await Promise.all([loadFashionMnist({ split: 'train' }), loadFashionMnist({ split: 'test' })]);
    const testImages = new Map<number, number[]>();
    for (let i = 0; i < test.size; i++) {
      const h = fnv1a(test.values as Uint8Array, i * 784, (i + 1) * 784);
      testImages.set(h, [...(testImages.get(h) ?? []), i]);
    }
    let shared = 0;
    for (let i = 0; i < train.size; i++) {
      const candidates = testImages.get(fnv1a(train.values as Uint8Array, i * 784, (i + 1) * 784)) ?? [];
      for (const j of candidates) {
        const a = train.values.subarray(i * 784, (i + 1) * 784);
        const b = test.values.subarray(j * 784, (j + 1) * 784);
        if (a.every((v, k) => v === b[k])) shared++;
      }
    }
    expect(shared).toBe(0);
  });

  it('finds the exact duplicates (54 among the images; the two empty entries are the 55th) and keeps each group on one side', async () => {
    const [train, test] = await Promise.all([loadFashionMnist({ split: 'train' }), loadFashionMnist({ split: 'test' })]);
    const all = new Uint8Array((train.size + test.size) * 784);
    all.set(train.values as Uint8Array);
    all.set(test.values as Uint8Array, train.values.length);
    const { groups } = identicalGroups(all, 784);
    const duplicates = groups.reduce((n, g) => n + g.length - 1, 0);
    expect(duplicates).toBe(54);
    for (const g of groups) {
      const sides = new Set(g.map((i) => i < train.size));
      expect(sides.size).toBe(1);
    }
  });
});

describe('fashionMnistSplit', () => {
  it('keeps identical images together and sends mixed-label groups to training', () => {
    // 4 distinct 1-byte "images" in class 0 and a pair that appears under two labels.
    const values = Uint8Array.from([1, 1, 2, 3, 4, 9, 9]);
    const labels = Int32Array.from([0, 0, 0, 0, 0, 0, 1]);
    const { train, test } = fashionMnistSplit(values, labels, 2);
    const side = (i: number) => (test.includes(i) ? 'test' : 'train');
    expect(side(0)).toBe(side(1));
    expect(side(5)).toBe('train');
    expect(side(6)).toBe('train');
    expect(train.length + test.length).toBe(values.length);
  });
});
