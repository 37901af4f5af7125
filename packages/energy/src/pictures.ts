import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, encodePng, filterGrid, imageGrid, ShapeError, type ImageGridOptions } from '@helmholtz/core';

/** Where the picture's image shape comes from: the option, else the model's `config.imageShape`. */
function shapeOf(imageShape: readonly number[] | undefined, fallback: readonly number[] | undefined, visible: number, what: string): [number, number, number] {
  const shape = imageShape ?? fallback;
  if (shape === undefined) {
    throw new ConfigError(`${what}.imageShape`, `[height, width] or [height, width, channels] (or imageShape in the model's config), ${visible} values in all`, undefined);
  }
  const [height, width, channels = 1] = shape as number[];
  const dimensionsOk = Array.isArray(shape) && (shape.length === 2 || shape.length === 3) && shape.every((d) => Number.isInteger(d) && d > 0);
  if (!dimensionsOk || (height as number) * (width as number) * channels !== visible) {
    throw new ConfigError(`${what}.imageShape`, `[height, width] or [height, width, channels] with ${visible} values in all`, shape);
  }
  return [height as number, width as number, channels];
}

export interface PictureOptions extends ImageGridOptions {
  /** `[height, width]` or `[height, width, channels]` of one visible vector; default: the model's `config.imageShape`. */
  imageShape?: number[];
  /** Tiles to draw at most (default: all). */
  limit?: number;
}

/** Anything with weights `[visible, hidden]` and an optional image shape in its config: an RBM, a DBN layer. */
export interface HasFilters {
  readonly config: { imageShape?: number[] };
  readonly params: { weights: tf.Tensor2D };
}

/**
 * The filters of a model with weights `[visible, hidden]` as one picture `[H, W, channels]` in
 * [0, 1]: one tile per hidden unit, each normalised on its own (what an RBM learned to detect).
 */
export function filterPicture(model: HasFilters, options: PictureOptions = {}): tf.Tensor3D {
  const weights = model.params.weights;
  const [height, width, channels] = shapeOf(options.imageShape, model.config.imageShape, weights.shape[0], 'filterPicture');
  const limit = options.limit ?? weights.shape[1];
  if (!Number.isInteger(limit) || limit < 1) throw new ConfigError('filterPicture.limit', 'a positive integer', limit);
  const { imageShape: _shape, limit: _limit, ...grid } = options;
  return tf.tidy(() => {
    const shown = limit < weights.shape[1] ? tf.slice(weights, [0, 0], [weights.shape[0], limit]) : weights;
    return filterGrid(shown, { ...grid, height, width, channels });
  });
}

/**
 * Rows of visible vectors (samples, negative particles, reconstructions) `[n, visible]` as one
 * picture `[H, W, channels]`, values clipped to `options.range` (default [0, 1]).
 */
export function samplePicture(rows: tf.Tensor2D, options: PictureOptions & { imageShape: number[] }): tf.Tensor3D {
  if (!(rows instanceof tf.Tensor) || rows.rank !== 2) throw new ShapeError('samplePicture rows', [null, null], rows instanceof tf.Tensor ? rows.shape : []);
  const [height, width, channels] = shapeOf(options.imageShape, undefined, rows.shape[1], 'samplePicture');
  const limit = options.limit ?? rows.shape[0];
  if (!Number.isInteger(limit) || limit < 1) throw new ConfigError('samplePicture.limit', 'a positive integer', limit);
  const { imageShape: _shape, limit: _limit, ...grid } = options;
  return tf.tidy(() => {
    const shown = limit < rows.shape[0] ? tf.slice(rows, [0, 0], [limit, rows.shape[1]]) : rows;
    return imageGrid(tf.reshape(shown, [shown.shape[0], height, width, channels]) as tf.Tensor4D, grid);
  });
}

/** {@link filterPicture} encoded as PNG bytes. */
export async function filterPng(model: HasFilters, options: PictureOptions = {}): Promise<Uint8Array> {
  const picture = filterPicture(model, options);
  try {
    return await encodePng(picture);
  } finally {
    picture.dispose();
  }
}

/** {@link samplePicture} encoded as PNG bytes. */
export async function samplePng(rows: tf.Tensor2D, options: PictureOptions & { imageShape: number[] }): Promise<Uint8Array> {
  const picture = samplePicture(rows, options);
  try {
    return await encodePng(picture);
  } finally {
    picture.dispose();
  }
}
