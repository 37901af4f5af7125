import { open, type FileHandle } from 'node:fs/promises';
import { Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { DataError } from '@helmholtz/core';
import { isGzip } from '../idx.js';
import { BoundedBytes, IDX_HEADER_PEEK, checkReadOptions, gzipFailure, tooLarge, withCause, type ReadOptions } from '../read-limits.js';

export type { ReadOptions };

// 256 KiB output chunks inflate MNIST about as fast as gunzipSync (zlib's default 16 KiB takes
// twice as long); the bound and the IDX header are still checked within 256 KiB of inflated data.
const CHUNK_BYTES = 256 * 1024;

function readFailure(path: string, e: unknown): DataError {
  const code = (e as NodeJS.ErrnoException | null)?.code;
  return withCause(new DataError(path, code === 'ENOENT' ? 'file not found' : `cannot read: ${(e as Error)?.message ?? String(e)}`), e);
}

function checkGzipName(path: string, head: Uint8Array): void {
  if (path.toLowerCase().endsWith('.gz') && !isGzip(head)) {
    const found = Array.from(head.subarray(0, 2), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new DataError(path, `expected gzip data (magic 1f 8b) for a .gz file, found ${found || 'an empty file'}`);
  }
}

/** Pipes `source` (raw bytes) through `transform` (gunzip, or nothing) into a bounded sink. */
async function collect(path: string, source: Readable, sink: BoundedBytes, gunzip: boolean): Promise<Uint8Array> {
  let failedIn: 'source' | 'gzip' | undefined;
  // pipeline() reports an AbortError when the last stage fails, so the refusal is kept here.
  let refusal: unknown;
  const into = new Writable({
    write(chunk: Buffer, _encoding, done) {
      try {
        sink.push(chunk);
        done();
      } catch (e) {
        refusal = e;
        done(e as Error);
      }
    },
  });
  source.once('error', () => (failedIn ??= 'source'));
  try {
    if (gunzip) {
      const inflate = createGunzip({ chunkSize: CHUNK_BYTES });
      inflate.once('error', () => (failedIn ??= 'gzip'));
      await pipeline(source, inflate, into);
    } else {
      await pipeline(source, into);
    }
  } catch (e) {
    if (refusal !== undefined) throw refusal;
    if (e instanceof DataError) throw e;
    if (failedIn === 'source' || !gunzip) throw readFailure(path, e);
    throw gzipFailure(path, e, sink.received);
  }
  return sink.bytes();
}

/**
 * Reads a file, gunzipping it when its content is gzip. A name ending in `.gz` whose content
 * is not gzip, or gzip data that does not inflate, is a DataError naming the file.
 *
 * Bounded: a plain file larger than `maxBytes` (default 256 MiB) is refused before it is read,
 * and gzip data is inflated as a stream that stops as soon as it passes `maxBytes`. With
 * `format: 'idx'` the IDX header is checked on the first inflated bytes: a header announcing
 * more than `maxBytes` is refused at once, and inflation stops at the length it announces.
 * So a 1 MB gzip bomb that claims (or holds) a gigabyte costs well under a megabyte.
 */
export async function readMaybeGzip(path: string, options: ReadOptions = {}): Promise<Uint8Array> {
  const limits = checkReadOptions(options);
  const { maxBytes, format } = limits;
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch (e) {
    throw readFailure(path, e);
  }
  try {
    let size: number;
    let regular: boolean;
    try {
      const stats = await handle.stat();
      size = stats.size;
      regular = stats.isFile();
    } catch (e) {
      throw readFailure(path, e);
    }
    if (!regular) {
      // A pipe, a device or a folder has no size to check first (and /dev/zero never ends):
      // read at most maxBytes of it, then treat those bytes as a file's content.
      const raw = await collect(path, handle.createReadStream({ autoClose: false }), new BoundedBytes(path, maxBytes, 'bytes', false), false);
      checkGzipName(path, raw);
      if (!isGzip(raw)) return raw;
      return collect(path, Readable.from([raw]), new BoundedBytes(path, maxBytes, format, true), true);
    }
    const head = new Uint8Array(IDX_HEADER_PEEK);
    let headLength: number;
    try {
      headLength = (await handle.read(head, 0, head.length, 0)).bytesRead;
    } catch (e) {
      throw readFailure(path, e);
    }
    checkGzipName(path, head.subarray(0, headLength));
    if (isGzip(head.subarray(0, headLength))) {
      const file = handle.createReadStream({ start: 0, autoClose: false, highWaterMark: 4 * CHUNK_BYTES });
      return await collect(path, file, new BoundedBytes(path, maxBytes, format, true), true);
    }
    if (size > maxBytes) throw tooLarge(path, size, limits, head.subarray(0, headLength));
    let bytes: Uint8Array;
    try {
      const buffer = await handle.readFile();
      // A view when the Buffer owns its memory; a copy when it is a slice of a larger one
      // (small and empty files), so what is returned never holds more than it shows.
      bytes = buffer.buffer.byteLength === buffer.length ? new Uint8Array(buffer.buffer, buffer.byteOffset, buffer.length) : new Uint8Array(buffer);
    } catch (e) {
      throw readFailure(path, e);
    }
    // The file may have grown since stat.
    if (bytes.length > maxBytes) throw tooLarge(path, bytes.length, limits, bytes);
    return bytes;
  } finally {
    await handle.close().catch(() => undefined);
  }
}
