import { ConfigError, DataError } from '@helmholtz/core';
import { isGzip } from '../idx.js';
import { BoundedBytes, IDX_HEADER_PEEK, checkReadOptions, gzipFailure, tooLarge, withCause, type ReadOptions } from '../read-limits.js';

export type { ReadOptions };

/** Where bytes come from in a browser: a URL to fetch, a `File` or `Blob` (e.g. from an input element), or bytes. */
export type ByteSource = string | URL | Blob | ArrayBuffer | Uint8Array;

/** The kinds of {@link ByteSource}, for messages that refuse anything else. */
export const BYTE_SOURCE_KINDS = 'a URL or path string, a URL, a Blob or File, an ArrayBuffer or a Uint8Array';

export function isByteSource(value: unknown): value is ByteSource {
  return (
    typeof value === 'string' ||
    value instanceof URL ||
    value instanceof ArrayBuffer ||
    value instanceof Uint8Array ||
    (typeof Blob !== 'undefined' && value instanceof Blob)
  );
}

function describe(source: ByteSource, role: string): string {
  if (typeof source === 'string') return source;
  if (source instanceof URL) return source.href;
  const name = typeof Blob !== 'undefined' && source instanceof Blob ? (source as File).name : undefined;
  return name || `${role} (${typeof Blob !== 'undefined' && source instanceof Blob ? 'Blob' : 'bytes'})`;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes.subarray(0, 2), (b) => b.toString(16).padStart(2, '0')).join(' ');
}

function checkGzipName(where: string, head: Uint8Array): void {
  if (where.toLowerCase().endsWith('.gz') && !isGzip(head)) {
    throw new DataError(where, `expected gzip data (magic 1f 8b) for a .gz file, found ${hex(head) || 'an empty file'}`);
  }
}

/** Reads from `reader` until at least `n` bytes came or the stream ended. */
async function peek(reader: ReadableStreamDefaultReader<Uint8Array>, n: number): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let length = 0;
  while (length < n) {
    const { done, value } = await reader.read();
    if (done) break;
    chunks.push(value);
    length += value.length;
  }
  const head = new Uint8Array(length);
  let at = 0;
  for (const c of chunks) {
    head.set(c, at);
    at += c.length;
  }
  return head;
}

/**
 * The bytes already peeked, then the rest of `reader`, as one stream. A failure of the source
 * (a dropped connection) is noted in `failed` so it is not blamed on the gzip data.
 */
function resume(head: Uint8Array, reader: ReadableStreamDefaultReader<Uint8Array>, failed: { source?: unknown }): ReadableStream<Uint8Array> {
  return new ReadableStream<Uint8Array>({
    start(controller) {
      if (head.length) controller.enqueue(head);
    },
    async pull(controller) {
      try {
        const { done, value } = await reader.read();
        if (done) controller.close();
        else controller.enqueue(value);
      } catch (e) {
        failed.source = e;
        throw e;
      }
    },
    cancel(reason) {
      return reader.cancel(reason);
    },
  });
}

async function drain(stream: ReadableStream<Uint8Array>, sink: BoundedBytes, where: string, inflating: boolean, failed: { source?: unknown }): Promise<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      sink.push(value);
    }
  } catch (e) {
    // Stop the decoder and the download: nothing more is wanted from them.
    reader.cancel(e).catch(() => undefined);
    if (e instanceof DataError) throw e;
    if (failed.source !== undefined) {
      throw withCause(new DataError(where, `reading failed after ${sink.received} bytes: ${(failed.source as Error)?.message ?? String(failed.source)}`), failed.source);
    }
    if (inflating) throw gzipFailure(where, e, sink.received);
    throw withCause(new DataError(where, `reading failed after ${sink.received} bytes: ${(e as Error)?.message ?? String(e)}`), e);
  }
  return sink.bytes();
}

/** Reads a stream, gunzipping it on the way when its first bytes are the gzip magic number. */
async function readStream(stream: ReadableStream<Uint8Array>, where: string, limits: Required<ReadOptions>): Promise<Uint8Array> {
  const reader = stream.getReader();
  const failed: { source?: unknown } = {};
  let head: Uint8Array;
  try {
    head = await peek(reader, 2);
  } catch (e) {
    throw withCause(new DataError(where, `reading failed: ${(e as Error)?.message ?? String(e)}`), e);
  }
  checkGzipName(where, head);
  const gzip = isGzip(head);
  if (gzip && typeof DecompressionStream === 'undefined') {
    reader.cancel().catch(() => undefined);
    throw new DataError(where, 'gzip data, and this environment has no DecompressionStream: decompress the file first');
  }
  const raw = resume(head, reader, failed);
  const content = gzip ? raw.pipeThrough(new DecompressionStream('gzip') as unknown as ReadableWritablePair<Uint8Array, Uint8Array>) : raw;
  return drain(content, new BoundedBytes(where, limits.maxBytes, limits.format, gzip), where, gzip, failed);
}

/**
 * Reads all bytes of a source, gunzipping them when they are gzip (detected from the content).
 *
 * Bounded by `options.maxBytes` (default 256 MiB): a plain source larger than that is refused
 * (a Blob or bytes before reading, a download as soon as it passes the bound), and gzip data is
 * inflated as a stream that is cancelled at the bound. With `format: 'idx'` the IDX header is
 * checked on the first bytes: a header announcing more than `maxBytes` is refused at once and
 * reading stops at the length it announces. All of these are DataErrors that name the source.
 */
export async function readBytes(source: ByteSource, role = 'data', options: ReadOptions = {}): Promise<{ bytes: Uint8Array; where: string }> {
  if (!isByteSource(source)) throw new ConfigError(`readBytes source (${String(role)})`, BYTE_SOURCE_KINDS, source);
  const limits = checkReadOptions(options);
  const where = describe(source, String(role));
  if (source instanceof Uint8Array || source instanceof ArrayBuffer) {
    const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
    checkGzipName(where, bytes);
    if (isGzip(bytes)) return { bytes: await readStream(new Blob([bytes as Uint8Array<ArrayBuffer>]).stream(), where, limits), where };
    if (bytes.length > limits.maxBytes) throw tooLarge(where, bytes.length, limits, bytes);
    return { bytes, where };
  }
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    let head: Uint8Array;
    try {
      head = new Uint8Array(await source.slice(0, IDX_HEADER_PEEK).arrayBuffer());
    } catch (e) {
      throw withCause(new DataError(where, `reading failed: ${(e as Error)?.message ?? String(e)}`), e);
    }
    if (isGzip(head)) return { bytes: await readStream(source.stream(), where, limits), where };
    checkGzipName(where, head);
    if (source.size > limits.maxBytes) throw tooLarge(where, source.size, limits, head);
    try {
      return { bytes: new Uint8Array(await source.arrayBuffer()), where };
    } catch (e) {
      throw withCause(new DataError(where, `reading failed: ${(e as Error)?.message ?? String(e)}`), e);
    }
  }
  let response: Response;
  try {
    response = await fetch(source as string | URL);
  } catch (e) {
    throw withCause(new DataError(where, `fetch failed: ${(e as Error)?.message ?? String(e)}`), e);
  }
  if (!response.ok) {
    response.body?.cancel().catch(() => undefined);
    throw new DataError(where, `fetch failed: HTTP ${response.status} ${response.statusText}`);
  }
  if (!response.body) {
    checkGzipName(where, new Uint8Array(0));
    return { bytes: new Uint8Array(0), where };
  }
  return { bytes: await readStream(response.body as ReadableStream<Uint8Array>, where, limits), where };
}
