import { ConfigError } from '@helmholtz/core';

/**
 * The most bytes a loader takes from one source, after decompression: 256 MiB. MNIST's and
 * Fashion-MNIST's largest file (60,000 training images) is 47,040,016 bytes, so the default
 * leaves more than five times that; EMNIST's largest file (about 547 MB) needs a larger bound.
 * A gzip file can inflate a thousand-fold (a 1 MB file to 1 GB), so without a bound a small
 * download could exhaust memory.
 */
export const DEFAULT_MAX_BYTES = 256 * 1024 * 1024;

/** A bound in bytes: a positive safe integer (larger ones cannot be counted exactly). */
export function checkMaxBytes(value: unknown): number {
  if (value === undefined) return DEFAULT_MAX_BYTES;
  if (!Number.isSafeInteger(value) || (value as number) <= 0) {
    throw new ConfigError('maxBytes', `a positive integer number of bytes, at most ${Number.MAX_SAFE_INTEGER} (default ${DEFAULT_MAX_BYTES})`, value);
  }
  return value as number;
}

/** 268435456 → "268435456 bytes (256 MiB)": exact, and readable in binary units when large. */
export function formatBytes(n: number | bigint): string {
  const units = ['KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let value = Number(n);
  if (value < 1024) return `${n} bytes`;
  let unit = -1;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${n} bytes (${Number.isInteger(value) ? value : value.toPrecision(3)} ${units[unit]})`;
}

/** The sentence every bound error ends with: how to let a genuine large file through. */
export function raiseHint(needed?: number | bigint): string {
  const at = needed === undefined ? 'a larger maxBytes' : `maxBytes of at least ${needed}`;
  return `if the file is genuine, pass ${at} (an option of loadMnist, loadFashionMnist, loadIdxFile, readBytes, readMaybeGzip and parseIdx)`;
}

