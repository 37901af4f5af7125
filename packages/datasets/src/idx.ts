import { ConfigError, DataError } from '@helmholtz/core';
import { checkMaxBytes, formatBytes, raiseHint } from './max-bytes.js';

/** IDX element types (the third byte of the magic number) and their sizes in bytes. */
const IDX_TYPES = {
  0x08: { name: 'uint8', bytes: 1 },
  0x09: { name: 'int8', bytes: 1 },
  0x0b: { name: 'int16', bytes: 2 },
  0x0c: { name: 'int32', bytes: 4 },
  0x0d: { name: 'float32', bytes: 4 },
  0x0e: { name: 'float64', bytes: 8 },
} as const;

export type IdxType = (typeof IDX_TYPES)[keyof typeof IDX_TYPES]['name'];

export interface IdxArray {
  type: IdxType;
  /** Dimensions from the header, e.g. `[60000, 28, 28]`. */
  shape: number[];
  /** The values in row-major order: a Uint8Array for uint8 data (no copy), otherwise a typed array in host order. */
  data: Uint8Array | Int8Array | Int16Array | Int32Array | Float32Array | Float64Array;
}

/** What an IDX header announces. */
export interface IdxHeader {
  type: IdxType;
  shape: number[];
  /** Bytes of the header: 4 + 4 · rank. */
  headerBytes: number;
  /** Bytes of the whole file the header describes: header plus product(shape) elements. */
  byteLength: number;
}

export interface ParseIdxOptions {
  /** The largest file accepted, in bytes (default 256 MiB: `DEFAULT_MAX_BYTES`). */
  maxBytes?: number;
}

function product(shape: readonly number[], zeroAsOne: boolean): bigint {
  return shape.reduce((p, d) => p * BigInt(zeroAsOne && d === 0 ? 1 : d), 1n);
}

/**
 * Reads the header at the start of `bytes` and checks that it can describe a real file.
 * With `complete: false` (bytes still arriving) it returns undefined until the whole header is
 * there; with `complete: true` a short header is an error. Rules, each a DataError:
 * - the magic number is 00 00 <type> <rank>, the type one of IDX's six, rank at least 1;
 * - the file the header describes (header + product of the dimensions · element size) holds
 *   at most `maxBytes` bytes;
 * - the same product with every 0 dimension counted as 1 stays within `maxBytes` too: an empty
 *   array is a legitimate file, but `[0, 4294967295, 4294967295]` cannot come from any data
 *   set, and its other dimensions would wreck whatever is built on the shape.
 * Products are computed exactly (BigInt), so no dimensions can overflow them.
 */
export function readIdxHeader(bytes: Uint8Array, source: string, options: ParseIdxOptions & { complete: boolean }): IdxHeader | undefined {
  const maxBytes = checkMaxBytes(options.maxBytes);
  if (bytes.length < 4) {
    if (!options.complete) return undefined;
    throw new DataError(source, `not an IDX file: expected at least a 4-byte header, found ${bytes.length} bytes`);
  }
  if (bytes[0] !== 0 || bytes[1] !== 0) {
    const found = Array.from(bytes.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    const gz = bytes[0] === 0x1f && bytes[1] === 0x8b ? ' (this is gzip data: decompress it first)' : '';
    throw new DataError(source, `not an IDX file: expected magic number 00 00 <type> <dims>, found ${found}${gz}`);
  }
  const code = bytes[2]!;
  const type = IDX_TYPES[code as keyof typeof IDX_TYPES];
  if (!type) {
    throw new DataError(source, `unknown IDX element type 0x${code.toString(16)}; expected one of 08, 09, 0b, 0c, 0d, 0e`);
  }
  const rank = bytes[3]!;
  if (rank === 0) throw new DataError(source, 'IDX header declares 0 dimensions');
  const headerBytes = 4 + 4 * rank;
  if (bytes.length < headerBytes) {
    if (!options.complete) return undefined;
    throw new DataError(source, `truncated IDX header: expected ${headerBytes} bytes for ${rank} dimensions, found ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const described = `header says ${type.name} [${shape.join(', ')}]`;
  const fileBytes = BigInt(headerBytes) + product(shape, false) * BigInt(type.bytes);
  if (fileBytes > BigInt(maxBytes)) {
    throw new DataError(
      source,
      `IDX ${described}, a file of ${formatBytes(fileBytes)}, more than maxBytes = ${formatBytes(maxBytes)}; ${raiseHint(fileBytes)}`,
    );
  }
  const spanBytes = BigInt(headerBytes) + product(shape, true) * BigInt(type.bytes);
  if (spanBytes > BigInt(maxBytes)) {
    throw new DataError(
      source,
      `IDX ${described}: an empty array, but its non-zero dimensions alone make ${formatBytes(spanBytes)}, more than maxBytes = ${formatBytes(maxBytes)}; ` +
        'expected dimensions whose product, zeros counted as 1, fits in maxBytes (no real file has such a header)',
    );
  }
  return { type: type.name, shape, headerBytes, byteLength: Number(fileBytes) };
}

/**
 * Parses an IDX file (the format of MNIST and Fashion-MNIST): a 4-byte magic number
 * (0, 0, element type, number of dimensions), big-endian 32-bit dimensions, then the values,
 * big-endian. Checks everything: a bad magic number, a truncated header, a header that cannot
 * describe a file within `maxBytes` (see {@link readIdxHeader}), and a body whose length is
 * not exactly what the dimensions say each give a DataError naming `source`, what was expected
 * and what was found. Never a silently short dataset, and never an allocation larger than
 * `bytes` itself.
 */
export function parseIdx(bytes: Uint8Array, source: string, options: ParseIdxOptions = {}): IdxArray {
  if (!(bytes instanceof Uint8Array)) throw new ConfigError('parseIdx bytes', 'a Uint8Array (the file\'s bytes)', bytes);
  if (options === null || typeof options !== 'object') throw new ConfigError('parseIdx options', 'an object { maxBytes? }', options);
  const header = readIdxHeader(bytes, source, { maxBytes: options.maxBytes, complete: true })!;
  const { shape, headerBytes } = header;
  const type = Object.values(IDX_TYPES).find((t) => t.name === header.type)!;
  const count = (header.byteLength - headerBytes) / type.bytes;
  const expected = header.byteLength;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes.length !== expected) {
    const what = bytes.length < expected ? 'truncated' : 'has trailing bytes';
    throw new DataError(
      source,
      `IDX file ${what}: header says ${type.name} [${shape.join(', ')}], so expected ${expected} bytes, found ${bytes.length}`,
    );
  }
  const body = headerBytes;
  switch (type.name) {
    case 'uint8':
      return { type: type.name, shape, data: bytes.subarray(body) };
    case 'int8':
      return { type: type.name, shape, data: new Int8Array(bytes.buffer, bytes.byteOffset + body, count).slice() };
    default: {
      const data =
        type.name === 'int16'
          ? new Int16Array(count)
          : type.name === 'int32'
            ? new Int32Array(count)
            : type.name === 'float32'
              ? new Float32Array(count)
              : new Float64Array(count);
      for (let i = 0; i < count; i++) {
        const at = body + i * type.bytes;
        data[i] =
          type.name === 'int16'
            ? view.getInt16(at, false)
            : type.name === 'int32'
              ? view.getInt32(at, false)
              : type.name === 'float32'
                ? view.getFloat32(at, false)
                : view.getFloat64(at, false);
      }
      return { type: type.name, shape, data };
    }
  }
}

/** True when `bytes` start with the gzip magic number 1f 8b. */
export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}
