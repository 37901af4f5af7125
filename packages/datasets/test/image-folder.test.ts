import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ConfigError, DataError } from '@helmholtz/core';
import * as tf from '@tensorflow/tfjs-core';
import '@tensorflow/tfjs-backend-cpu';
import { encode as encodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadImageFolder, resizeBilinearInto } from '../src/node/image-folder.js';

type Rgba = [number, number, number, number];

function freshDir(): string {
  return mkdtempSync(join(tmpdir(), 'helmholtz-image-folder-'));
}

/** A PNG whose pixel (i, j) has colour pixel(i, j). */
function pngBytes(width: number, height: number, pixel: (i: number, j: number) => Rgba): Buffer {
  const png = new PNG({ width, height });
  for (let i = 0; i < height; i++) for (let j = 0; j < width; j++) png.data.set(pixel(i, j), 4 * (i * width + j));
  return PNG.sync.write(png);
}

function jpegBytes(width: number, height: number, colour: Rgba): Buffer {
  const data = new Uint8Array(width * height * 4);
  for (let p = 0; p < width * height; p++) data.set(colour, 4 * p);
  return encodeJpeg({ width, height, data }, 95).data;
}

const uniform = (colour: Rgba) => () => colour;

describe('loadImageFolder', () => {
  it('labels images by sorted class folder name and reads files in sorted order', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'zebra'));
    mkdirSync(join(dir, 'apple'));
    writeFileSync(join(dir, 'zebra', 'b.png'), pngBytes(3, 3, uniform([30, 30, 30, 255])));
    writeFileSync(join(dir, 'zebra', 'a.PNG'), pngBytes(5, 4, uniform([20, 20, 20, 255])));
    writeFileSync(join(dir, 'apple', 'x.png'), pngBytes(2, 2, uniform([10, 10, 10, 255])));
    writeFileSync(join(dir, 'apple', 'notes.txt'), 'not an image');

    const { dataset, classNames } = await loadImageFolder(dir, { width: 2, height: 2, channels: 1 });
    expect(classNames).toEqual(['apple', 'zebra']);
    expect(dataset.size).toBe(3);
    expect(dataset.numClasses).toBe(2);
    expect(Array.from(dataset.labels!)).toEqual([0, 1, 1]);
    // Sorted order within a class: a.PNG (20) before b.png (30); the .txt file is ignored.
    expect(Array.from(dataset.values)).toEqual([10, 10, 10, 10, 20, 20, 20, 20, 30, 30, 30, 30]);
    expect(dataset.protocol).toMatchObject({ source: `image folder ${dir}`, split: 'all', range: '[0,1]' });
  });

  it('reads files directly in the folder as an unlabelled dataset', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'one.png'), pngBytes(4, 4, uniform([0, 0, 0, 255])));
    writeFileSync(join(dir, 'two.jpeg'), jpegBytes(8, 8, [200, 200, 200, 255]));
    const { dataset, classNames } = await loadImageFolder(dir, { width: 3, height: 3 });
    expect(classNames).toEqual([]);
    expect(dataset.labels).toBeUndefined();
    expect(dataset.size).toBe(2);
  });

  it('keeps a uniform colour through resizing, with shape [height, width, 3] and mapping 1/255', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'a.png'), pngBytes(7, 5, uniform([12, 130, 250, 40])));
    const { dataset } = await loadImageFolder(dir, { width: 4, height: 6, channels: 3 });
    expect(dataset.featureShape).toEqual([6, 4, 3]);
    expect(dataset.values).toBeInstanceOf(Uint8Array);
    expect(dataset.mapping).toEqual({ scale: 1 / 255, offset: 0 });
    // Alpha (40) is dropped, not blended.
    for (let p = 0; p < 24; p++) expect(Array.from(dataset.values.subarray(3 * p, 3 * p + 3))).toEqual([12, 130, 250]);
    expect(dataset.example(0)[1]).toBeCloseTo(130 / 255, 6);
  });

  it('decodes JPEG (.jpg, upper case too) to approximately its colour', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'photo.JPG'), jpegBytes(16, 16, [200, 100, 50, 255]));
    const { dataset } = await loadImageFolder(dir, { width: 4, height: 4 });
    expect(dataset.size).toBe(1);
    for (let p = 0; p < 16; p++) {
      const [r, g, b] = dataset.values.subarray(3 * p, 3 * p + 3);
      expect(Math.abs(r! - 200)).toBeLessThanOrEqual(4);
      expect(Math.abs(g! - 100)).toBeLessThanOrEqual(4);
      expect(Math.abs(b! - 50)).toBeLessThanOrEqual(4);
    }
  });

  it('upscales 2x2 to 4x4 bilinearly with half-pixel centres (hand computation)', async () => {
    // Input [[0, 0], [0, 160]]: output rows and columns sample the input at 0, 0.25, 0.75, 1
    // (clamped from -0.25 and 1.25), so output (i, j) = 160 · w_i · w_j.
    const dir = freshDir();
    writeFileSync(join(dir, 'a.png'), pngBytes(2, 2, (i, j) => (i === 1 && j === 1 ? [160, 160, 160, 255] : [0, 0, 0, 255])));
    const { dataset } = await loadImageFolder(dir, { width: 4, height: 4, channels: 1 });
    expect(Array.from(dataset.values)).toEqual([
      0, 0, 0, 0,
      0, 10, 30, 40,
      0, 30, 90, 120,
      0, 40, 120, 160,
    ]);
  });

  it('converts to gray with 0.299 R + 0.587 G + 0.114 B', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'a.png'), pngBytes(2, 1, (_i, j) => (j === 0 ? [255, 0, 0, 255] : [10, 200, 30, 255])));
    const { dataset } = await loadImageFolder(dir, { width: 2, height: 1, channels: 1 });
    expect(dataset.featureShape).toEqual([1, 2, 1]);
    // 0.299·255 = 76.245 → 76; 2.99 + 117.4 + 3.42 = 123.81 → 124.
    expect(Array.from(dataset.values)).toEqual([76, 124]);
  });

  it('fails with a DataError naming the folder when it has no readable images', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'readme.txt'), 'nothing to see');
    const error = await loadImageFolder(dir, { width: 2, height: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as DataError).message).toContain(dir);
  });

  it('refuses an image format it cannot decode instead of skipping it', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'a.png'), pngBytes(2, 2, uniform([1, 2, 3, 255])));
    writeFileSync(join(dir, 'b.GIF'), 'GIF89a');
    const error = await loadImageFolder(dir, { width: 2, height: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toContain(join(dir, 'b.GIF'));
    expect((error as Error).message).toMatch(/cannot decode: convert it to PNG or JPEG/);
  });

  it('fails with a DataError naming the file and the decoder message for a corrupt PNG', async () => {
    const dir = freshDir();
    mkdirSync(join(dir, 'cats'));
    writeFileSync(join(dir, 'cats', 'good.png'), pngBytes(2, 2, uniform([1, 2, 3, 255])));
    const corrupt = Buffer.from('definitely not a png');
    writeFileSync(join(dir, 'cats', 'broken.png'), corrupt);
    let decoderMessage = '';
    try {
      PNG.sync.read(corrupt);
    } catch (e) {
      decoderMessage = (e as Error).message;
    }
    expect(decoderMessage).not.toBe('');
    const error = await loadImageFolder(dir, { width: 2, height: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    const message = (error as DataError).message;
    expect(message).toContain(join(dir, 'cats', 'broken.png'));
    expect(message).toContain('cannot decode as PNG: the file does not start with the PNG signature');
    expect(message).toContain(`the decoder said "${decoderMessage}"`);
    expect((error as Error).cause).toBeInstanceOf(Error);
    expect(((error as Error).cause as Error).message).toBe(decoderMessage);
  });

  it('says in words that a PNG is truncated instead of passing on the decoder\'s "read requests waitng on finished stream"', async () => {
    const dir = freshDir();
    const whole = pngBytes(4, 4, uniform([9, 9, 9, 255]));
    writeFileSync(join(dir, 'cut.png'), whole.subarray(0, whole.length - 20));
    const error = await loadImageFolder(dir, { width: 2, height: 2 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    const message = (error as Error).message;
    expect(message).toContain(`${join(dir, 'cut.png')}: cannot decode as PNG: the PNG data is truncated: the file ends before its image data does`);
    expect(((error as Error).cause as Error).message).toMatch(/read requests waitng on finished stream/);
  });

  it('refuses a PNG whose header claims more pixels than one image may take, before inflating anything', async () => {
    const dir = freshDir();
    const bomb = Buffer.from(pngBytes(4, 4, uniform([9, 9, 9, 255])));
    // IHDR width and height (bytes 16-23): 65535 x 65535 pixels, 17 GB of RGBA in ~100 bytes.
    bomb.writeUInt32BE(65535, 16);
    bomb.writeUInt32BE(65535, 20);
    writeFileSync(join(dir, 'bomb.png'), bomb);
    const started = Date.now();
    await expect(loadImageFolder(dir, { width: 2, height: 2 })).rejects.toThrow(
      /bomb\.png: the PNG header says 65535 x 65535 pixels, 17179344900 bytes decoded, more than one image may take \(268435456 bytes\); nothing was decoded/,
    );
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('fails with a DataError for a corrupt JPEG', async () => {
    const dir = freshDir();
    writeFileSync(join(dir, 'broken.jpg'), Buffer.from([0xff, 0xd8, 0xff, 0x00, 1, 2, 3]));
    await expect(loadImageFolder(dir, { width: 2, height: 2 })).rejects.toThrow(/broken\.jpg: cannot decode as JPEG: the JPEG data is truncated or damaged/);
  });

  it('fails on an empty class folder and on images beside class folders', async () => {
    const empty = freshDir();
    mkdirSync(join(empty, 'a'));
    mkdirSync(join(empty, 'b'));
    writeFileSync(join(empty, 'a', 'x.png'), pngBytes(2, 2, uniform([1, 2, 3, 255])));
    await expect(loadImageFolder(empty, { width: 2, height: 2 })).rejects.toThrow(new RegExp(`${join(empty, 'b')}: class folder has no`));

    const mixed = freshDir();
    mkdirSync(join(mixed, 'a'));
    writeFileSync(join(mixed, 'a', 'x.png'), pngBytes(2, 2, uniform([1, 2, 3, 255])));
    writeFileSync(join(mixed, 'stray.png'), pngBytes(2, 2, uniform([1, 2, 3, 255])));
    await expect(loadImageFolder(mixed, { width: 2, height: 2 })).rejects.toThrow(/stray\.png/);
  });

  it('fails with a DataError for a missing folder and a ConfigError for bad sizes or channels', async () => {
    await expect(loadImageFolder(join(freshDir(), 'missing'), { width: 2, height: 2 })).rejects.toThrow(DataError);
    const dir = freshDir();
    await expect(loadImageFolder(dir, { width: 0, height: 2 })).rejects.toThrow(ConfigError);
    await expect(loadImageFolder(dir, { width: 2, height: 2.5 })).rejects.toThrow(ConfigError);
    await expect(loadImageFolder(dir, { width: 2, height: 2, channels: 4 as 3 })).rejects.toThrow(ConfigError);
  });
});

describe('resizeBilinearInto', () => {
  beforeAll(async () => {
    await tf.setBackend('cpu');
  });

  it.each([
    [5, 7, 3, 4],
    [5, 7, 11, 9],
    [4, 4, 4, 4],
    [3, 6, 7, 2],
  ])('matches tf.image.resizeBilinear(halfPixelCenters) from %ix%i to %ix%i', (inH, inW, outH, outW) => {
    const channels = 2;
    const src = Float32Array.from({ length: inH * inW * channels }, (_, i) => (i * 37) % 256);
    const out = new Uint8Array(outH * outW * channels);
    resizeBilinearInto(src, inH, inW, channels, outH, outW, out, 0);
    const want = tf.tidy(() =>
      tf.image.resizeBilinear(tf.tensor3d(src, [inH, inW, channels]), [outH, outW], false, true).dataSync(),
    );
    for (let i = 0; i < out.length; i++) expect(Math.abs(out[i]! - want[i]!)).toBeLessThanOrEqual(0.5 + 1e-3);
  });
});
