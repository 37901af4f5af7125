import { DataError } from '@helmholtz/core';
import { isGzip } from '../idx.js';

/** Where bytes come from in a browser: a URL to fetch, a `File` or `Blob` (e.g. from an input element), or bytes. */
export type ByteSource = string | URL | Blob | ArrayBuffer | Uint8Array;

function describe(source: ByteSource, role: string): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  const name = typeof Blob !== 'undefined' && source instanceof Blob ? (source as File).name : undefined;
  return name || `${role} (${typeof Blob !== 'undefined' && source instanceof Blob ? 'Blob' : 'bytes'})`;
}

async function gunzip(bytes: Uint8Array, where: string): Promise<Uint8Array> {
  if (typeof DecompressionStream === 'undefined') {
    throw new DataError(where, 'gzip data, and this environment has no DecompressionStream: decompress the file first');
  }
  try {
    const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new DecompressionStream('gzip'));
    return new Uint8Array(await new Response(stream).arrayBuffer());
  } catch (e) {
    throw new DataError(where, `corrupt gzip data: ${(e as Error).message}`);
  }
}

/** Reads all bytes of a source, gunzipping them when they are gzip (detected from the content). */
export async function readBytes(source: ByteSource, role = 'data'): Promise<{ bytes: Uint8Array; where: string }> {
  const where = describe(source, role);
  let bytes: Uint8Array;
  if (source instanceof Uint8Array) bytes = source;
  else if (source instanceof ArrayBuffer) bytes = new Uint8Array(source);
  else if (typeof Blob !== 'undefined' && source instanceof Blob) bytes = new Uint8Array(await source.arrayBuffer());
  else {
    let response: Response;
    try {
      response = await fetch(source as string | URL);
    } catch (e) {
      throw new DataError(where, `fetch failed: ${(e as Error).message}`);
    }
    if (!response.ok) throw new DataError(where, `fetch failed: HTTP ${response.status} ${response.statusText}`);
    bytes = new Uint8Array(await response.arrayBuffer());
  }
  if (where.toLowerCase().endsWith('.gz') && !isGzip(bytes)) {
    throw new DataError(where, `expected gzip data (magic 1f 8b) for a .gz file, found ${Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, '0')).join(' ') || 'an empty file'}`);
  }
  return { bytes: isGzip(bytes) ? await gunzip(bytes, where) : bytes, where };
}
