import * as tf from '@tensorflow/tfjs-core';
import { convertIndexedToRgb, decode, encode, hasPngSignature } from 'fast-png';
import { DataError } from '../errors.js';
import { checkPixelImage, toUint8Pixels, type PixelImage } from './pixels.js';

/**
 * Encodes an image as PNG bytes with fast-png (pure JavaScript, maintained, the same code
 * in Node and browsers, no canvas and no native module). A tensor `[h, w, c]` is read with
 * {@link toUint8Pixels} first.
 */
export async function encodePng(image: tf.Tensor3D | PixelImage): Promise<Uint8Array> {
  const pixels = image instanceof tf.Tensor ? await toUint8Pixels(image) : image;
  checkPixelImage(pixels, 'encodePng image');
  return encode({
    width: pixels.width,
    height: pixels.height,
    data: pixels.data,
    depth: 8,
    channels: pixels.channels,
  });
}

/**
 * Decodes PNG bytes to 8-bit pixels: palette images become RGB(A), 16-bit samples keep
 * their high byte. Throws DataError on anything that is not a PNG.
 */
export function decodePng(bytes: Uint8Array | ArrayBuffer): PixelImage {
  const view = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  if (!hasPngSignature(view)) throw new DataError('decodePng', 'expected the PNG signature 89 50 4E 47 0D 0A 1A 0A');
  let png: ReturnType<typeof decode>;
  try {
    png = decode(view);
  } catch (e) {
    throw new DataError('decodePng', `corrupt PNG (${(e as Error).message})`);
  }
  const { width, height } = png;
  if (png.palette) {
    const data = convertIndexedToRgb(png);
    return { data, width, height, channels: data.length / (width * height) };
  }
  if (png.depth === 8) return { data: new Uint8Array(png.data), width, height, channels: png.channels };
  if (png.depth === 16) {
    return { data: Uint8Array.from(png.data, (v) => v >> 8), width, height, channels: png.channels };
  }
  throw new DataError('decodePng', `expected 8- or 16-bit samples, got ${png.depth}-bit`);
}
