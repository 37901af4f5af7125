import { readdir, readFile } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { ConfigError, DataError } from '@helmholtz/core';
import { decode as decodeJpeg } from 'jpeg-js';
import { PNG } from 'pngjs';
import { Dataset } from '../dataset.js';
import { DEFAULT_MAX_BYTES } from '../max-bytes.js';
import { withCause } from '../read-limits.js';

export interface LoadImageFolderOptions {
  /** Output width in pixels: every image is resized to width × height. */
  width: number;
  height: number;
  /** 1 (gray, ITU-R BT.601 luma) or 3 (RGB, the default). Alpha is dropped, not composited. */
  channels?: 1 | 3;
}

export interface ImageFolder {
  /** Images `[height, width, channels]` as bytes, delivered in [0, 1] (byte / 255). */
  dataset: Dataset;
  /** Label i is the i-th sub-folder name in sorted order; empty for a folder of unlabelled images. */
  classNames: string[];
}

/** Lower-case extensions that are decoded; other files are ignored. */
const IMAGE_EXTENSIONS = new Set(['.png', '.jpg', '.jpeg']);

interface RgbaImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Image formats this loader cannot decode: an error, not a silent skip. */
const UNSUPPORTED_IMAGE_EXTENSIONS = new Set(['.gif', '.webp', '.bmp', '.tif', '.tiff', '.avif', '.heic']);

function isImageFile(name: string): boolean {
  return IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

function isUnsupportedImage(name: string): boolean {
  return UNSUPPORTED_IMAGE_EXTENSIONS.has(extname(name).toLowerCase());
}

// Dot-entries (.DS_Store, .git) are tool litter, not data.
function isHidden(name: string): boolean {
  return name.startsWith('.');
}

// Code-unit order (JavaScript's default sort), not the locale's, so every machine agrees.
function sorted(names: string[]): string[] {
  return [...names].sort();
}

async function listEntries(dir: string): Promise<{ folders: string[]; images: string[] }> {
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(dir, code === 'ENOENT' ? 'folder not found' : `cannot list folder: ${(e as Error).message}`);
  }
  const folders: string[] = [];
  const images: string[] = [];
  for (const entry of entries) {
    if (isHidden(entry.name)) continue;
    if (entry.isDirectory()) folders.push(entry.name);
    else if (isImageFile(entry.name)) images.push(entry.name);
    else if (isUnsupportedImage(entry.name)) {
      throw new DataError(join(dir, entry.name), 'an image format this loader cannot decode: convert it to PNG or JPEG, or move it out of the folder');
    }
  }
  return { folders: sorted(folders), images: sorted(images) };
}

/**
 * The decoders' messages, in words. pngjs reports a file that ends early as "There are some
 * read requests waitng on finished stream" (sic) and a damaged one by the check that failed;
 * jpeg-js reports "unknown JPEG marker", "SOI not found" or, on some truncated files, a
 * TypeError from inside its decoder.
 */
function decodeProblem(isPng: boolean, bytes: Buffer, message: string): string {
  if (isPng) {
    const signature = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
    if (bytes.length < 8 || signature.some((b, i) => bytes[i] !== b)) return 'the file does not start with the PNG signature (it is not a PNG image)';
    if (/read requests waitng|waiting on finished stream/i.test(message)) return 'the PNG data is truncated: the file ends before its image data does';
    return 'the PNG data is damaged';
  }
  if (bytes.length < 2 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return 'the file does not start with the JPEG marker FF D8 (it is not a JPEG image)';
  if (/limit exceeded/i.test(message)) return 'the image is larger than one image may be decoded (100 megapixels, 512 MB)';
  return 'the JPEG data is truncated or damaged';
}

/** The most bytes one decoded RGBA image may take (as `maxBytes` for a data file): 67 megapixels. */
const MAX_DECODED_IMAGE_BYTES = DEFAULT_MAX_BYTES;

/**
 * A PNG's IHDR states its size before any pixel is inflated: refuse one whose decoded RGBA
 * would pass the bound (a few hundred bytes can claim 65535 × 65535 pixels, 17 GB). jpeg-js
 * bounds JPEGs itself (100 megapixels, 512 MB by default).
 */
function checkPngSize(path: string, bytes: Buffer): void {
  if (bytes.length < 24 || bytes.toString('latin1', 12, 16) !== 'IHDR') return; // the decoder says what is wrong
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const decoded = width * height * 4;
  if (decoded > MAX_DECODED_IMAGE_BYTES) {
    throw new DataError(
      path,
      `the PNG header says ${width} x ${height} pixels, ${decoded} bytes decoded, more than one image may take ` +
        `(${MAX_DECODED_IMAGE_BYTES} bytes); nothing was decoded`,
    );
  }
}

/** Decodes a PNG or JPEG to 8-bit RGBA (both decoders expand gray and palette images to RGBA). */
function decodeImage(path: string, bytes: Buffer): RgbaImage {
  const isPng = extname(path).toLowerCase() === '.png';
  if (isPng) checkPngSize(path, bytes);
  try {
    if (isPng) {
      const png = PNG.sync.read(bytes);
      return { width: png.width, height: png.height, data: new Uint8Array(png.data.buffer, png.data.byteOffset, png.data.length) };
    }
    const jpeg = decodeJpeg(bytes, { useTArray: true, formatAsRGBA: true });
    return { width: jpeg.width, height: jpeg.height, data: jpeg.data };
  } catch (e) {
    const message = (e as Error)?.message ?? String(e);
    throw withCause(new DataError(path, `cannot decode as ${isPng ? 'PNG' : 'JPEG'}: ${decodeProblem(isPng, bytes, message)} (the decoder said "${message}")`), e);
  }
}

/** RGBA bytes to float channels: RGB, or gray by BT.601 luma 0.299 R + 0.587 G + 0.114 B. */
function toChannels(image: RgbaImage, channels: 1 | 3): Float32Array {
  const pixels = image.width * image.height;
  const out = new Float32Array(pixels * channels);
  const d = image.data;
  for (let p = 0; p < pixels; p++) {
    if (channels === 1) out[p] = 0.299 * d[4 * p]! + 0.587 * d[4 * p + 1]! + 0.114 * d[4 * p + 2]!;
    else for (let c = 0; c < 3; c++) out[3 * p + c] = d[4 * p + c]!;
  }
  return out;
}

/**
 * Bilinear resize with half-pixel centres (tf.image.resizeBilinear with alignCorners false and
 * halfPixelCenters true): output pixel i samples the input at (i + 0.5)·in/out − 0.5, clamped
 * to the edge pixels. Writes rounded bytes into `out` at `at`.
 */
export function resizeBilinearInto(
  src: Float32Array,
  inHeight: number,
  inWidth: number,
  channels: number,
  outHeight: number,
  outWidth: number,
  out: Uint8Array,
  at: number,
): void {
  const source = (i: number, inSize: number, outSize: number): [number, number, number] => {
    const x = Math.min(Math.max(((i + 0.5) * inSize) / outSize - 0.5, 0), inSize - 1);
    const lo = Math.floor(x);
    return [lo, Math.min(lo + 1, inSize - 1), x - lo];
  };
  const columns = Array.from({ length: outWidth }, (_, j) => source(j, inWidth, outWidth));
  for (let i = 0; i < outHeight; i++) {
    const [top, bottom, fy] = source(i, inHeight, outHeight);
    for (let j = 0; j < outWidth; j++) {
      const [left, right, fx] = columns[j]!;
      for (let c = 0; c < channels; c++) {
        const tl = src[(top * inWidth + left) * channels + c]!;
        const tr = src[(top * inWidth + right) * channels + c]!;
        const bl = src[(bottom * inWidth + left) * channels + c]!;
        const br = src[(bottom * inWidth + right) * channels + c]!;
        const upper = tl + (tr - tl) * fx;
        const lower = bl + (br - bl) * fx;
        const v = upper + (lower - upper) * fy;
        out[at + (i * outWidth + j) * channels + c] = Math.min(255, Math.max(0, Math.round(v)));
      }
    }
  }
}

function checkSize(field: string, value: number): number {
  if (!Number.isInteger(value) || value <= 0) throw new ConfigError(field, 'a positive integer', value);
  return value;
}

/**
 * Loads a folder of PNG and JPEG images (extensions .png, .jpg, .jpeg in any case; GIF, WebP,
 * BMP, TIFF, AVIF and HEIC files are an error; other files and dot-entries are ignored; JPEG
 * EXIF orientation is not applied; downscaling is bilinear without antialiasing). Two layouts:
 * - `dir/<class>/<image>`: one sub-folder per class, label i = the i-th folder name in sorted
 *   order (`classNames`); images directly in `dir` beside class folders are an error;
 * - `dir/<image>` with no sub-folders: an unlabelled dataset.
 * Images are converted to `channels`, resized bilinearly to height × width, and stored as bytes
 * (mapping byte / 255). Files are read in sorted order, so the dataset is the same on every
 * machine. A folder without images, a class folder without images, a nested folder inside a
 * class folder or a file that does not decode is a DataError: nothing is skipped silently.
 */
export async function loadImageFolder(dir: string, options: LoadImageFolderOptions): Promise<ImageFolder> {
  const width = checkSize('width', options.width);
  const height = checkSize('height', options.height);
  const channels = options.channels ?? 3;
  if (channels !== 1 && channels !== 3) throw new ConfigError('channels', '1 or 3', channels);

  const top = await listEntries(dir);
  const files: string[] = [];
  const labelList: number[] = [];
  const classNames = top.folders;
  if (classNames.length === 0) {
    files.push(...top.images.map((name) => join(dir, name)));
  } else {
    if (top.images.length > 0) {
      throw new DataError(
        dir,
        `has class folders (${classNames.join(', ')}) and also images outside them (${top.images.slice(0, 3).join(', ')}${top.images.length > 3 ? ', ...' : ''}); move those images into a class folder or elsewhere`,
      );
    }
    for (const [label, name] of classNames.entries()) {
      const classDir = join(dir, name);
      const inner = await listEntries(classDir);
      if (inner.folders.length > 0) {
        throw new DataError(classDir, `nested folders are not read (${inner.folders.join(', ')}); put a class's images directly in its folder`);
      }
      if (inner.images.length === 0) throw new DataError(classDir, 'class folder has no .png, .jpg or .jpeg images');
      for (const image of inner.images) {
        files.push(join(classDir, image));
        labelList.push(label);
      }
    }
  }
  if (files.length === 0) throw new DataError(dir, 'no .png, .jpg or .jpeg images found (and no class sub-folders)');

  const featureSize = height * width * channels;
  const values = new Uint8Array(files.length * featureSize);
  for (const [k, path] of files.entries()) {
    let bytes: Buffer;
    try {
      bytes = await readFile(path);
    } catch (e) {
      throw new DataError(path, `cannot read: ${(e as Error).message}`);
    }
    const image = decodeImage(path, bytes);
    resizeBilinearInto(toChannels(image, channels), image.height, image.width, channels, height, width, values, k * featureSize);
  }

  const dataset = new Dataset({
    name: basename(dir),
    values,
    featureShape: [height, width, channels],
    ...(classNames.length > 0 ? { labels: Int32Array.from(labelList), numClasses: classNames.length } : {}),
    protocol: {
      source: `image folder ${dir}`,
      split: 'all',
      range: '[0,1]',
      binarization: { kind: 'none' },
    },
    mapping: { scale: 1 / 255, offset: 0 },
  });
  return { dataset, classNames };
}
