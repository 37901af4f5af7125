import type * as tf from '@tensorflow/tfjs-core';
import { DataError, ShapeError } from '../errors.js';

/** An 8-bit image in row-major, interleaved-channel order (what PNG and canvases hold). */
export interface PixelImage {
  data: Uint8Array;
  width: number;
  height: number;
  /** 1 gray, 2 gray+alpha, 3 RGB, 4 RGBA. */
  channels: number;
}

/** Checks that a PixelImage's fields agree with each other. */
export function checkPixelImage(image: PixelImage, what = 'image'): void {
  const { width, height, channels, data } = image;
  if (!Number.isInteger(width) || !Number.isInteger(height) || width < 1 || height < 1) {
    throw new DataError(what, `expected positive integer width and height, got ${width}x${height}`);
  }
  if (!Number.isInteger(channels) || channels < 1 || channels > 4) {
    throw new DataError(what, `expected 1 to 4 channels, got ${channels}`);
  }
  if (data.length !== width * height * channels) {
    throw new DataError(
      what,
      `expected ${width}*${height}*${channels} = ${width * height * channels} bytes of pixels, got ${data.length}`,
    );
  }
}

/**
 * Reads an image tensor `[height, width, channels]` into 8-bit pixels. Float (and bool)
 * tensors are taken as [0, 1] (clipped; NaN becomes 0); int32 tensors (as from
 * `tf.browser.fromPixels`) as 0..255. Async because reading a GPU tensor is.
 */
export async function toUint8Pixels(image: tf.Tensor3D): Promise<PixelImage> {
  if (image.rank !== 3 || image.shape[2] < 1 || image.shape[2] > 4) {
    throw new ShapeError('toUint8Pixels image', '[height, width, channels in 1..4]', image.shape);
  }
  const [height, width, channels] = image.shape;
  const values = await image.data();
  const scale = image.dtype === 'int32' ? 1 : 255;
  const data = new Uint8Array(values.length);
  for (let i = 0; i < values.length; i++) {
    const v = Math.round((values[i] as number) * scale);
    data[i] = v > 255 ? 255 : v > 0 ? v : 0;
  }
  return { data, width, height, channels };
}
