import { ConfigError, DataError } from '@helmholtz/core';
import { readIdxHeader, type IdxHeader } from './idx.js';
import { DEFAULT_MAX_BYTES, checkMaxBytes, formatBytes, raiseHint } from './max-bytes.js';

/** What the readers check while they read. */
export interface ReadOptions {
  /** The most bytes the source may yield after decompression (default {@link DEFAULT_MAX_BYTES}, 256 MiB). */
  maxBytes?: number;
  /**
   * `'idx'`: the content must be an IDX file; its header is checked as soon as it arrives, and
   * reading stops at the length the header announces. `'bytes'` (the default): any content.
   */
  format?: 'idx' | 'bytes';
}

const FORMATS = ['idx', 'bytes'] as const;
const READ_KEYS = ['maxBytes', 'format'];

export function checkReadOptions(options: unknown): Required<ReadOptions> {
  const o = options ?? {};
  if (typeof o !== 'object' || Array.isArray(o)) throw new ConfigError('read options', 'an object { maxBytes?, format? }', o);
  const unknown = Object.keys(o).filter((k) => !READ_KEYS.includes(k));
  if (unknown.length) throw new ConfigError('read options', `keys among ${READ_KEYS.join(', ')}`, unknown.join(', '));
  const { maxBytes, format = 'bytes' } = o as ReadOptions;
  if (!(FORMATS as readonly unknown[]).includes(format)) {
    throw new ConfigError('format', `one of ${FORMATS.map((f) => `'${f}'`).join(', ')}`, format);
  }
  return { maxBytes: checkMaxBytes(maxBytes ?? DEFAULT_MAX_BYTES), format };
}

/** Attaches the error that caused `error` (Error.prototype.cause, ES2022). */
export function withCause<E extends Error>(error: E, cause: unknown): E {
  Object.defineProperty(error, 'cause', { value: cause, writable: true, configurable: true, enumerable: false });
  return error;
}

/**
 * What went wrong while inflating, in words. Node's zlib (which also runs Node's
 * DecompressionStream) says `Z_BUF_ERROR: unexpected end of file` for a cut-off stream and
 * `Z_DATA_ERROR` for damaged data; browsers' decoders word it their own way, so there the
 * message says "truncated or damaged".
 */
export function gzipFailure(where: string, cause: unknown, inflated: number): DataError {
  const code = (cause as { code?: unknown } | null | undefined)?.code;
  const words =
    code === 'Z_BUF_ERROR'
      ? 'the gzip data is truncated: it ends before the compressed stream does (an incomplete download or copy?)'
      : code === 'Z_DATA_ERROR'
        ? 'the gzip data is damaged: it is not a valid deflate stream'
        : 'the gzip data is truncated or damaged and does not inflate';
  const said = cause instanceof Error ? `; the decoder said "${cause.message}"` : '';
  return withCause(new DataError(where, `corrupt gzip data: ${words} (stopped after inflating ${inflated} bytes${said})`), cause);
}

// Room for the largest IDX header: a 4-byte magic number and 255 dimensions of 4 bytes.
const MAX_IDX_HEADER = 4 + 4 * 255;
const FIRST_CAPACITY = 64 * 1024;

/**
 * Collects chunks as they are read or inflated and refuses, as soon as a chunk arrives, more
 * bytes than `maxBytes` or (for IDX content) than the header announces. Storage grows
 * fourfold (fewer copies than doubling; MNIST's 47 MB arrive in five allocations) and never
 * past that limit, so a source that lies about its size costs at most four times what it
 * delivered, never what it claims.
 */
export class BoundedBytes {
  private buffer = new Uint8Array(0);
  private length = 0;
  private header: IdxHeader | undefined;

  constructor(
    private readonly where: string,
    private readonly maxBytes: number,
    private readonly format: 'idx' | 'bytes',
    private readonly inflating: boolean,
  ) {}

  /** Bytes taken so far. */
  get received(): number {
    return this.length;
  }

  push(chunk: Uint8Array): void {
    const total = this.length + chunk.length;
    const doing = this.inflating ? 'inflating' : 'reading';
    if (this.format === 'idx' && !this.header && this.length < MAX_IDX_HEADER) {
      const head = new Uint8Array(Math.min(total, MAX_IDX_HEADER));
      head.set(this.buffer.subarray(0, Math.min(this.length, head.length)));
      if (this.length < head.length) head.set(chunk.subarray(0, head.length - this.length), this.length);
      try {
        this.header = readIdxHeader(head, this.where, { maxBytes: this.maxBytes, complete: false });
      } catch (e) {
        if (!(e instanceof DataError)) throw e;
        throw withCause(new DataError(this.where, `${e.problem} (stopped ${doing} at ${total} bytes)`), e);
      }
    }
    const limit = this.header ? this.header.byteLength : this.maxBytes;
    if (total > limit) {
      throw new DataError(
        this.where,
        this.header
          ? `IDX file has trailing bytes: header says ${this.header.type} [${this.header.shape.join(', ')}], so expected ${this.header.byteLength} bytes, found more (stopped ${doing} at ${total} bytes)`
          : `${this.inflating ? 'the gzip data inflates to' : 'the data holds'} more than maxBytes = ${formatBytes(this.maxBytes)} (stopped ${doing} at ${total} bytes); ${raiseHint()}`,
      );
    }
    if (total > this.buffer.length) {
      const grown = new Uint8Array(Math.max(total, Math.min(limit, Math.max(FIRST_CAPACITY, 4 * this.buffer.length))));
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
    }
    this.buffer.set(chunk, this.length);
    this.length = total;
  }

  /** Everything received, in a buffer of exactly that length. */
  bytes(): Uint8Array {
    return this.buffer.length === this.length ? this.buffer : this.buffer.slice(0, this.length);
  }
}

/**
 * A plain (not compressed) source of `size` bytes over the bound, refused before it is read.
 * For IDX content an oversized header is named in its own words (`head`: the first bytes).
 */
export function tooLarge(where: string, size: number, limits: Required<ReadOptions>, head: Uint8Array): DataError {
  if (limits.format === 'idx') readIdxHeader(head.subarray(0, MAX_IDX_HEADER), where, { maxBytes: limits.maxBytes, complete: false });
  return new DataError(where, `holds ${formatBytes(size)}, more than maxBytes = ${formatBytes(limits.maxBytes)}; ${raiseHint(size)}`);
}

/** Bytes to read from the start of a source so {@link tooLarge} can see a whole IDX header. */
export const IDX_HEADER_PEEK = MAX_IDX_HEADER;
