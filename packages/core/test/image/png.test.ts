import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { DataError } from '../../src/errors.js';
import { decodePng, encodePng, imageGrid, toUint8Pixels } from '../../src/image/index.js';
import { writePng } from '../../src/image/node/index.js';
import { Rng } from '../../src/random/index.js';
import { TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';

const SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

describe.each(TEST_BACKENDS)('PNG encoding on %s', (backend) => {
  it.each([1, 3, 4])('round trip of a %i-channel tensor gives identical 8-bit pixels', async (channels) => {
    await useBackend(backend);
    const image = new Rng(channels).uniform([5, 7, channels]) as tf.Tensor3D;
    const pixels = await toUint8Pixels(image);
    const png = await withNoLeaks(() => encodePng(image));
    expect(Array.from(png.subarray(0, 8))).toEqual(SIGNATURE);
    const decoded = decodePng(png);
    expect(decoded).toEqual({ width: 7, height: 5, channels, data: pixels.data });
    image.dispose();
  });

  it('toUint8Pixels rounds [0, 1] to 0..255, clips, maps NaN to 0 and takes int32 as 0..255', async () => {
    await useBackend(backend);
    const floats = tf.tensor3d([0, 0.5, 1, -0.2, 1.7, NaN, 0.002, 0.998], [2, 4, 1]);
    const ints = tf.tensor3d([0, 128, 300, -5], [1, 4, 1], 'int32');
    expect(Array.from((await toUint8Pixels(floats)).data)).toEqual([0, 128, 255, 0, 255, 0, 1, 254]);
    expect(Array.from((await toUint8Pixels(ints)).data)).toEqual([0, 128, 255, 0]);
    tf.dispose([floats, ints]);
  });

  it('writePng writes a decodable sample grid and leaves no temporary file', async () => {
    await useBackend(backend);
    const dir = await mkdtemp(join(tmpdir(), 'helmholtz-png-'));
    const images = new Rng(2).uniform([6, 4, 4, 1]) as tf.Tensor4D;
    const grid = imageGrid(images, { columns: 3 });
    const path = join(dir, 'out', 'samples.png');
    await withNoLeaks(() => writePng(path, grid));
    const decoded = decodePng(new Uint8Array(await readFile(path)));
    expect(decoded).toMatchObject({ width: 3 * 5 + 1, height: 2 * 5 + 1, channels: 1 });
    expect(decoded.data).toEqual((await toUint8Pixels(grid)).data);
    expect(await readdir(join(dir, 'out'))).toEqual(['samples.png']);
    tf.dispose([images, grid]);
    await rm(dir, { recursive: true, force: true });
  });
});

describe('PNG validation', () => {
  it('encodePng refuses pixels whose length disagrees with width*height*channels', async () => {
    await expect(encodePng({ data: new Uint8Array(11), width: 2, height: 2, channels: 3 })).rejects.toThrow(
      /expected 2\*2\*3 = 12 bytes of pixels, got 11/,
    );
  });

  it('decodePng refuses bytes without the PNG signature, and corrupt PNGs, with DataError', async () => {
    expect(() => decodePng(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9]))).toThrow(DataError);
    const png = await encodePng({ data: new Uint8Array([0, 255, 255, 0]), width: 2, height: 2, channels: 1 });
    expect(() => decodePng(png.subarray(0, 30))).toThrow(/decodePng: corrupt PNG/);
  });
});
