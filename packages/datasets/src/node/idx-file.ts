import { parseIdx, type IdxArray } from '../idx.js';
import { checkMaxBytes } from '../max-bytes.js';
import { readMaybeGzip } from './read-bytes.js';

/**
 * Reads and parses an IDX file, plain or gzip (detected from the content), of at most
 * `maxBytes` bytes after decompression (default 256 MiB; see {@link readMaybeGzip}).
 */
export async function loadIdxFile(path: string, options: { maxBytes?: number } = {}): Promise<IdxArray> {
  const maxBytes = checkMaxBytes(options?.maxBytes);
  return parseIdx(await readMaybeGzip(path, { maxBytes, format: 'idx' }), path, { maxBytes });
}
