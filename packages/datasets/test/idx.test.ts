import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError, DataError } from '@helmholtz/core';
import { describe, expect, it } from 'vitest';
import { parseIdx } from '../src/idx.js';
import { loadIdxFile } from '../src/node/idx-file.js';

/** An IDX file built by hand: magic 00 00 type rank, big-endian dims, big-endian body. */
function idx(type: number, shape: number[], body: Uint8Array): Uint8Array {
  const header = new Uint8Array(4 + 4 * shape.length);
  const view = new DataView(header.buffer);
  header[2] = type;
  header[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  const out = new Uint8Array(header.length + body.length);
  out.set(header);
  out.set(body, header.length);
  return out;
}

function bigEndian(values: number[], bytes: number, write: (v: DataView, at: number, x: number) => void): Uint8Array {
  const out = new Uint8Array(values.length * bytes);
  const view = new DataView(out.buffer);
  values.forEach((x, i) => write(view, i * bytes, x));
  return out;
}

describe('parseIdx', () => {
  it('reads uint8 data and its shape', () => {
    const parsed = parseIdx(idx(0x08, [2, 3], Uint8Array.from([1, 2, 3, 4, 5, 255])), 'a.idx');
    expect(parsed.type).toBe('uint8');
    expect(parsed.shape).toEqual([2, 3]);
    expect(Array.from(parsed.data)).toEqual([1, 2, 3, 4, 5, 255]);
  });

  it('reads big-endian int16, int32, float32 and float64 data', () => {
    const i16 = bigEndian([-2, 300], 2, (v, at, x) => v.setInt16(at, x, false));
    expect(Array.from(parseIdx(idx(0x0b, [2], i16), 'x').data)).toEqual([-2, 300]);
    const i32 = bigEndian([-70000, 5], 4, (v, at, x) => v.setInt32(at, x, false));
    expect(Array.from(parseIdx(idx(0x0c, [2], i32), 'x').data)).toEqual([-70000, 5]);
    const f32 = bigEndian([0.5, -1.25], 4, (v, at, x) => v.setFloat32(at, x, false));
    expect(Array.from(parseIdx(idx(0x0d, [1, 2], f32), 'x').data)).toEqual([0.5, -1.25]);
    const f64 = bigEndian([Math.PI], 8, (v, at, x) => v.setFloat64(at, x, false));
    expect(parseIdx(idx(0x0e, [1], f64), 'x').data[0]).toBe(Math.PI);
    const i8 = Uint8Array.from([0xff, 0x01]);
    expect(Array.from(parseIdx(idx(0x09, [2], i8), 'x').data)).toEqual([-1, 1]);
  });

  it('rejects a bad magic number, naming the file and the bytes found', () => {
    const bytes = idx(0x08, [2], Uint8Array.from([1, 2]));
    bytes[0] = 0x50;
    expect(() => parseIdx(bytes, 'weird.idx')).toThrow(DataError);
    expect(() => parseIdx(bytes, 'weird.idx')).toThrow(/weird\.idx: not an IDX file: expected magic number 00 00 <type> <dims>, found 50 00 08 01/);
  });

  it('says that gzip data must be decompressed first', () => {
    expect(() => parseIdx(gzipSync(idx(0x08, [1], Uint8Array.from([1]))), 'f')).toThrow(/gzip data: decompress it first/);
  });

  it('rejects an unknown element type and an empty header', () => {
    expect(() => parseIdx(idx(0x07, [1], Uint8Array.from([1])), 'f')).toThrow(/unknown IDX element type 0x7/);
    expect(() => parseIdx(Uint8Array.from([0, 0]), 'f')).toThrow(/expected at least a 4-byte header, found 2 bytes/);
  });

  it('rejects a truncated header, a truncated body and trailing bytes with expected and found lengths', () => {
    const full = idx(0x08, [3, 2], Uint8Array.from([1, 2, 3, 4, 5, 6]));
    expect(() => parseIdx(full.subarray(0, 9), 'h')).toThrow(/truncated IDX header: expected 12 bytes for 2 dimensions, found 9/);
    expect(() => parseIdx(full.subarray(0, full.length - 1), 'b')).toThrow(
      /b: IDX file truncated: header says uint8 \[3, 2\], so expected 18 bytes, found 17/,
    );
    const longer = new Uint8Array(full.length + 3);
    longer.set(full);
    expect(() => parseIdx(longer, 't')).toThrow(/IDX file has trailing bytes: .* expected 18 bytes, found 21/);
  });
});

describe('parseIdx refuses headers that cannot describe a real file', () => {
  /** Just a header: what a file of 8 + 4 · rank bytes claiming `shape` holds. */
  const header = (type: number, shape: number[]) => idx(type, shape, new Uint8Array(0));

  it('refuses [0, 4294967295, 4294967295]: an empty array whose other dimensions are absurd', () => {
    const bytes = header(0x08, [0, 4294967295, 4294967295]);
    expect(() => parseIdx(bytes, 'z')).toThrow(DataError);
    expect(() => parseIdx(bytes, 'z')).toThrow(
      /z: IDX header says uint8 \[0, 4294967295, 4294967295\]: an empty array, but its non-zero dimensions alone make 18446744065119617041 bytes .* more than maxBytes = 268435456 bytes \(256 MiB\); expected dimensions whose product, zeros counted as 1, fits in maxBytes/,
    );
    // A genuinely empty file of MNIST's shape is still read.
    expect(parseIdx(header(0x08, [0, 28, 28]), 'empty').shape).toEqual([0, 28, 28]);
  });

  it('refuses a product beyond Number.MAX_SAFE_INTEGER, counted exactly', () => {
    const bytes = header(0x0e, [4294967295, 4294967295, 2]);
    // 4294967295² · 2 · 8 + 16 bytes, far past 2^53: computed with BigInt, not rounded.
    const exact = (4294967295n * 4294967295n * 2n * 8n + 16n).toString();
    expect(() => parseIdx(bytes, 'big')).toThrow(new RegExp(`big: IDX header says float64 \\[4294967295, 4294967295, 2\\], a file of ${exact} bytes`));
    expect(() => parseIdx(bytes, 'big', { maxBytes: Number.MAX_SAFE_INTEGER })).toThrow(DataError);
  });

  it('refuses a header asking for more than maxBytes, saying how to raise it, and accepts the same file under a larger bound', () => {
    const bytes = idx(0x0b, [3, 5], new Uint8Array(30));
    expect(() => parseIdx(bytes, 'small', { maxBytes: 39 })).toThrow(
      /small: IDX header says int16 \[3, 5\], a file of 42 bytes, more than maxBytes = 39 bytes; if the file is genuine, pass maxBytes of at least 42/,
    );
    expect(parseIdx(bytes, 'small', { maxBytes: 42 }).shape).toEqual([3, 5]);
    expect(() => parseIdx(bytes, 'small', { maxBytes: 41 })).toThrow(DataError);
  });

  it('refuses a body whose length is not what the header says, even by one byte, and bad arguments with a ConfigError', () => {
    const bytes = idx(0x0c, [2], new Uint8Array(8));
    expect(() => parseIdx(bytes.subarray(0, 15), 'short')).toThrow(/short: IDX file truncated: header says int32 \[2\], so expected 16 bytes, found 15/);
    expect(() => parseIdx(bytes, 'x', { maxBytes: 0 })).toThrow(ConfigError);
    expect(() => parseIdx(bytes, 'x', { maxBytes: 2 ** 53 })).toThrow(/"maxBytes": expected a positive integer number of bytes, at most 9007199254740991/);
    expect(() => parseIdx([0, 0, 8, 1] as unknown as Uint8Array, 'x')).toThrow(ConfigError);
  });
});

describe('loadIdxFile', () => {
  const dir = mkdtempSync(join(tmpdir(), 'idx-'));
  const bytes = idx(0x08, [2, 2], Uint8Array.from([9, 8, 7, 6]));

  it('reads plain and gzip files alike, detecting gzip from the content', async () => {
    writeFileSync(join(dir, 'plain.idx'), bytes);
    writeFileSync(join(dir, 'packed.idx.gz'), gzipSync(bytes));
    writeFileSync(join(dir, 'packed-without-suffix'), gzipSync(bytes));
    for (const name of ['plain.idx', 'packed.idx.gz', 'packed-without-suffix']) {
      expect(Array.from((await loadIdxFile(join(dir, name))).data)).toEqual([9, 8, 7, 6]);
    }
  });

  it('rejects a .gz file that is not gzip', async () => {
    writeFileSync(join(dir, 'fake.gz'), bytes);
    const error = await loadIdxFile(join(dir, 'fake.gz')).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DataError);
    expect((error as Error).message).toMatch(/fake\.gz: expected gzip data \(magic 1f 8b\) for a \.gz file, found 00 00/);
  });

  it('rejects corrupt gzip data and a missing file', async () => {
    const broken = gzipSync(bytes).subarray(0, 12);
    writeFileSync(join(dir, 'broken.gz'), broken);
    await expect(loadIdxFile(join(dir, 'broken.gz'))).rejects.toThrow(/broken\.gz: corrupt gzip data/);
    await expect(loadIdxFile(join(dir, 'nope.idx'))).rejects.toThrow(/nope\.idx: file not found/);
  });
});
