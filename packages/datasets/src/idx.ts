import { DataError } from '@helmholtz/core';

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

/**
 * Parses an IDX file (the format of MNIST and Fashion-MNIST): a 4-byte magic number
 * (0, 0, element type, number of dimensions), big-endian 32-bit dimensions, then the values,
 * big-endian. Checks everything: a bad magic number, a truncated header, and a body whose length
 * is not exactly what the dimensions say each give a DataError naming `source`, what was
 * expected and what was found. Never a silently short dataset.
 */
export function parseIdx(bytes: Uint8Array, source: string): IdxArray {
  if (bytes.length < 4) {
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
    throw new DataError(source, `truncated IDX header: expected ${headerBytes} bytes for ${rank} dimensions, found ${bytes.length}`);
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const shape: number[] = [];
  for (let i = 0; i < rank; i++) shape.push(view.getUint32(4 + 4 * i, false));
  const count = shape.reduce((a, b) => a * b, 1);
  const expected = headerBytes + count * type.bytes;
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
