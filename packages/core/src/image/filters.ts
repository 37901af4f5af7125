import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { imageGrid, type ImageGridOptions } from './grid.js';

export interface FilterGridOptions extends ImageGridOptions {
  height: number;
  width: number;
  /** Channels per pixel (default 1). */
  channels?: number;
}

/**
 * Pictures a weight matrix `[visible, hidden]` (an RBM's or a dense layer's) as one tile per
 * hidden unit: column j, read as a row-major `[height, width, channels]` image, becomes tile
 * j. Each tile is min-max normalised on its own (`range: 'per-image'` unless given), since
 * filters differ in scale and what matters is each one's pattern.
 */
export function filterGrid(weights: tf.Tensor2D, options: FilterGridOptions): tf.Tensor3D {
  const { height, width, channels = 1 } = options;
  const visible = height * width * channels;
  if (weights.rank !== 2 || weights.shape[0] !== visible) {
    throw new ShapeError(
      'filterGrid weights',
      [visible, null],
      weights.shape,
      `each column must be one filter of height*width*channels = ${height}*${width}*${channels} values`,
    );
  }
  const hidden = weights.shape[1];
  const tiles = tf.tidy(() => tf.reshape(tf.transpose(weights), [hidden, height, width, channels]) as tf.Tensor4D);
  try {
    return imageGrid(tiles, { ...options, range: options.range ?? 'per-image' });
  } finally {
    tiles.dispose();
  }
}
