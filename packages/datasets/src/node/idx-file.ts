import { parseIdx, type IdxArray } from '../idx.js';
import { readMaybeGzip } from './read-bytes.js';

/** Reads and parses an IDX file, plain or gzip (detected from the content). */
export async function loadIdxFile(path: string): Promise<IdxArray> {
  return parseIdx(await readMaybeGzip(path), path);
}
