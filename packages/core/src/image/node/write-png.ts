import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';
import type * as tf from '@tensorflow/tfjs-core';
import { encodePng } from '../png.js';
import type { PixelImage } from '../pixels.js';

let sequence = 0;

/**
 * Writes an image as a PNG file. The bytes go to a temporary sibling first and are renamed
 * over `path`, so a viewer that watches the file (or a crash) never sees half a PNG.
 */
export async function writePng(path: string, image: tf.Tensor3D | PixelImage): Promise<void> {
  const bytes = await encodePng(image);
  await mkdir(dirname(path), { recursive: true });
  sequence += 1;
  const temp = `${path}.tmp-${process.pid}-${sequence}`;
  try {
    await writeFile(temp, bytes);
    await rename(temp, path);
  } catch (e) {
    await rm(temp, { force: true });
    throw e;
  }
}
