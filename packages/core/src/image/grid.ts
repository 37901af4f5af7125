import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, ShapeError } from '../errors.js';

/**
 * How pixel values map to [0, 1]: a fixed `[min, max]` (values outside are clipped),
 * `'auto'` (the batch's own min and max), or `'per-image'` (each image's min and max, as
 * filter pictures need). A constant image or batch maps to 0.
 */
export type ImageRange = readonly [number, number] | 'auto' | 'per-image';

export interface ImageGridOptions {
  /** Images per row (default: ceil(sqrt(n)), a near-square grid). */
  columns?: number;
  /** Pixels between tiles and around the grid (default 1). */
  padding?: number;
  /**
   * Value of padding and empty tiles, in output units [0, 1] (default 0.5: mid grey sets
   * tiles apart whether they are mostly black, like MNIST, or mostly white).
   */
  padValue?: number;
  /** Default `[0, 1]`, the range of probabilities and of most samples and reconstructions. */
  range?: ImageRange;
}

function normalise(x: tf.Tensor4D, range: ImageRange): tf.Tensor4D {
  if (range === 'auto' || range === 'per-image') {
    const axes = range === 'auto' ? undefined : [1, 2, 3];
    const lo = tf.min(x, axes, true);
    const span = tf.sub(tf.max(x, axes, true), lo);
    // A zero span gives 0 / tiny = 0 instead of NaN.
    return tf.div(tf.sub(x, lo), tf.maximum(span, 1e-12)) as tf.Tensor4D;
  }
  const [lo, hi] = range;
  return tf.clipByValue(tf.div(tf.sub(x, lo), hi - lo), 0, 1) as tf.Tensor4D;
}

function checkOptions(options: ImageGridOptions, n: number): Required<ImageGridOptions> {
  const columns = options.columns ?? Math.ceil(Math.sqrt(n));
  const padding = options.padding ?? 1;
  const padValue = options.padValue ?? 0.5;
  const range = options.range ?? [0, 1];
  if (!Number.isInteger(columns) || columns < 1) throw new ConfigError('columns', 'a positive integer', columns);
  if (!Number.isInteger(padding) || padding < 0) throw new ConfigError('padding', 'a non-negative integer', padding);
  if (!(padValue >= 0 && padValue <= 1)) throw new ConfigError('padValue', 'a number in [0, 1]', padValue);
  if (Array.isArray(range)) {
    const [lo, hi] = range as [number, number];
    if (!(Number.isFinite(lo) && Number.isFinite(hi) && hi > lo)) {
      throw new ConfigError('range', '[min, max] with finite min < max', range);
    }
  } else if (range !== 'auto' && range !== 'per-image') {
    throw new ConfigError('range', "[min, max], 'auto' or 'per-image'", range);
  }
  return { columns, padding, padValue, range };
}

/**
 * Lays out a batch of images as one picture, row by row: `[n, h, w, c]` (or `[n, h, w]`,
 * taken as grayscale) becomes `[H, W, c]` with `H = rows * (h + padding) + padding` and
 * `W = columns * (w + padding) + padding`, values in [0, 1]. The caller owns the result.
 */
export function imageGrid(images: tf.Tensor4D | tf.Tensor3D, options: ImageGridOptions = {}): tf.Tensor3D {
  if (images.rank !== 3 && images.rank !== 4) {
    throw new ShapeError('imageGrid images', '[n, h, w, c] or [n, h, w]', images.shape, 'reshape flat vectors to [n, h, w, 1]');
  }
  const [n, h, w] = images.shape as number[] as [number, number, number];
  const c = images.rank === 4 ? (images.shape[3] as number) : 1;
  if (n < 1 || c < 1 || c > 4) {
    throw new ShapeError('imageGrid images', '[n >= 1, h, w, c in 1..4]', images.shape);
  }
  const { columns, padding: p, padValue, range } = checkOptions(options, n);
  const rows = Math.ceil(n / columns);
  return tf.tidy(() => {
    let x = tf.reshape(tf.cast(images, 'float32'), [n, h, w, c]) as tf.Tensor4D;
    x = normalise(x, range);
    if (rows * columns > n) x = tf.concat([x, tf.fill([rows * columns - n, h, w, c], padValue)], 0);
    const tiles = tf.pad(x, [[0, 0], [0, p], [0, p], [0, 0]], padValue);
    const grid = tf.reshape(
      tf.transpose(tf.reshape(tiles, [rows, columns, h + p, w + p, c]), [0, 2, 1, 3, 4]),
      [rows * (h + p), columns * (w + p), c],
    );
    return tf.pad(grid, [[p, 0], [p, 0], [0, 0]], padValue) as tf.Tensor3D;
  });
}
