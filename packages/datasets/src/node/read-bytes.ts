import { readFile } from 'node:fs/promises';
import { gunzipSync } from 'node:zlib';
import { DataError } from '@helmholtz/core';
import { isGzip } from '../idx.js';

/**
 * Reads a file, gunzipping it when its content is gzip. A name ending in `.gz` whose content
 * is not gzip, or gzip data that does not inflate, is a DataError naming the file.
 */
export async function readMaybeGzip(path: string): Promise<Uint8Array> {
  let bytes: Uint8Array;
  try {
    bytes = new Uint8Array(await readFile(path));
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new DataError(path, code === 'ENOENT' ? 'file not found' : `cannot read: ${(e as Error).message}`);
  }
  const gzipName = path.toLowerCase().endsWith('.gz');
  if (!isGzip(bytes)) {
    if (gzipName) {
      const found = Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, '0')).join(' ');
      throw new DataError(path, `expected gzip data (magic 1f 8b) for a .gz file, found ${found || 'an empty file'}`);
    }
    return bytes;
  }
  try {
    return new Uint8Array(gunzipSync(bytes));
  } catch (e) {
    throw new DataError(path, `corrupt gzip data: ${(e as Error).message}`);
  }
}
