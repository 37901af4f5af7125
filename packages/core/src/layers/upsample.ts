import * as tf from '@tensorflow/tfjs-core';
import { ShapeError } from '../errors.js';
import { positiveInteger } from './params.js';

/**
 * Nearest-neighbour upsampling of NHWC images by an integer factor: each pixel becomes a
 * factor×factor block. Done with reshape and tile rather than an image-resize kernel, so the
 * values are exact and every backend takes the same path.
 */
export function upsampleNearest(x: tf.Tensor4D, factor: number | [number, number]): tf.Tensor4D {
  const [fh, fw] = typeof factor === 'number' ? [factor, factor] : factor;
  positiveInteger('factor', fh);
  positiveInteger('factor', fw);
  if (x.rank !== 4) throw new ShapeError('upsampleNearest input', '[batch, height, width, channels]', x.shape);
  const [b, h, w, c] = x.shape;
  return tf.tidy(() => {
    // Two rank-3 tiles (columns, then rows) rather than one rank-6 tile: tfjs has no
    // gradient for tile above rank 4.
    const wide = tf.reshape(tf.tile(tf.reshape(x, [b * h * w, 1, c]), [1, fw, 1]), [b * h, 1, w * fw * c]);
    return tf.reshape(tf.tile(wide, [1, fh, 1]), [b, h * fh, w * fw, c]) as tf.Tensor4D;
  });
}
