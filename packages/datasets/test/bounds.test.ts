import { existsSync, mkdtempSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { ConfigError, DataError } from '@helmholtz/core';
import { describe, expect, it } from 'vitest';
import { loadMnist as loadMnistBrowser } from '../src/browser/idx-loaders.js';
import { readBytes } from '../src/browser/read-bytes.js';
import { DEFAULT_MAX_BYTES } from '../src/max-bytes.js';
import { loadIdxFile } from '../src/node/idx-file.js';
import { loadMnist } from '../src/node/mnist.js';
import { readMaybeGzip } from '../src/node/read-bytes.js';
import type { ReadOptions } from '../src/read-limits.js';

const KiB = 1024;
const MiB = 1024 * KiB;
// Readers check each chunk as it is inflated: Node's in 256 KiB chunks, DecompressionStream's
// in smaller ones. A reader that stops "early" stops within one chunk.
const CHUNK = 256 * KiB;

/** An IDX uint8 header for `shape`, followed by `body` zero bytes: what a gzip bomb inflates to. */
function idxWithZeros(shape: number[], body: number): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length + body);
  const view = new DataView(out.buffer);
  out[2] = 0x08;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d, false));
  return out;
}

const dir = mkdtempSync(join(tmpdir(), 'helmholtz-bounds-'));
let files = 0;

type Reader = (bytes: Uint8Array, name: string, options?: ReadOptions) => Promise<Uint8Array>;

// The same cases through both readers: Node's (a file on disk) and the browser's (a File object).
const READERS: [string, Reader][] = [
  [
    'readMaybeGzip (Node)',
    async (bytes, name, options) => {
      const path = join(dir, `${files++}-${name}`);
      writeFileSync(path, bytes);
      return readMaybeGzip(path, options);
    },
  ],
  ['readBytes (browser)', async (bytes, name, options) => (await readBytes(new File([bytes as Uint8Array<ArrayBuffer>], name), 'images', options)).bytes],
];

async function failure(promise: Promise<unknown>): Promise<Error> {
  const outcome = await promise.then(
    () => null,
    (e: unknown) => e as Error,
  );
  if (!outcome) throw new Error('expected a rejection, got a result');
  return outcome;
}

/** The byte count in "(stopped inflating at N bytes)". */
function stoppedAt(message: string): number {
  const m = /stopped (?:inflating|reading) at (\d+) bytes/.exec(message);
  if (!m) throw new Error(`no "stopped ... at N bytes" in: ${message}`);
  return Number(m[1]);
}

describe.each(READERS)('%s bounds what it inflates', (_, read) => {
  it('refuses an IDX header that announces more than maxBytes on the first inflated bytes (a 1 GB claim in a 4 KB file)', async () => {
    const bomb = gzipSync(idxWithZeros([1000, 1000, 1000], 4 * MiB), { level: 9 });
    expect(bomb.length).toBeLessThan(8 * KiB);
    const error = await failure(read(bomb, 'bomb.idx.gz', { format: 'idx' }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toContain('header says uint8 [1000, 1000, 1000], a file of 1000000016 bytes');
    expect(error.message).toContain(`more than maxBytes = ${DEFAULT_MAX_BYTES} bytes (256 MiB)`);
    expect(error.message).toContain('pass maxBytes of at least 1000000016');
    expect(stoppedAt(error.message)).toBeLessThanOrEqual(CHUNK);
  });

  it('stops inflating once more bytes arrive than the IDX header allows', async () => {
    const bomb = gzipSync(idxWithZeros([16], 8 * MiB));
    const error = await failure(read(bomb, 'trailing.gz', { format: 'idx' }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/IDX file has trailing bytes: header says uint8 \[16\], so expected 24 bytes, found more/);
    expect(stoppedAt(error.message)).toBeLessThanOrEqual(CHUNK);
  });

  it('stops inflating any content at maxBytes, and takes content of exactly maxBytes', async () => {
    const content = new Uint8Array(MiB).map((_, i) => i % 251);
    const packed = gzipSync(content);
    const whole = await read(packed, 'exact.gz', { maxBytes: MiB });
    expect(whole.length).toBe(MiB);
    expect(Buffer.from(whole).equals(Buffer.from(content))).toBe(true);
    const error = await failure(read(packed, 'one-less.gz', { maxBytes: MiB - 1 }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/the gzip data inflates to more than maxBytes = 1048575 bytes .* pass a larger maxBytes/);
    const bomb = gzipSync(new Uint8Array(16 * MiB));
    const stopped = stoppedAt((await failure(read(bomb, 'zeros.gz', { maxBytes: MiB }))).message);
    expect(stopped).toBeGreaterThan(MiB);
    expect(stopped).toBeLessThanOrEqual(MiB + CHUNK);
  });

  it('refuses a plain source larger than maxBytes, naming the header when it is IDX', async () => {
    const plain = idxWithZeros([2 * MiB], 2 * MiB);
    expect((await failure(read(plain, 'plain.idx', { maxBytes: MiB }))).message).toMatch(/holds 2097160 bytes \(2\.00 MiB\), more than maxBytes = 1048576 bytes \(1 MiB\); if the file is genuine, pass maxBytes of at least 2097160/);
    expect((await failure(read(plain, 'plain.idx', { maxBytes: MiB, format: 'idx' }))).message).toMatch(
      /header says uint8 \[2097152\], a file of 2097160 bytes \(2\.00 MiB\), more than maxBytes = 1048576 bytes \(1 MiB\)/,
    );
    expect(await read(plain, 'plain.idx', { maxBytes: 2 * MiB + 8, format: 'idx' })).toHaveLength(2 * MiB + 8);
  });

  it('says in words that gzip data is truncated or damaged, keeping the decoder error as its cause', async () => {
    const packed = gzipSync(new Uint8Array(64 * KiB).map((_, i) => (i * 7) % 256));
    const cut = await failure(read(packed.subarray(0, packed.length - 100), 'cut.gz'));
    expect(cut).toBeInstanceOf(DataError);
    expect(cut.message).toMatch(/cut\.gz: corrupt gzip data: the gzip data is truncated: it ends before the compressed stream does/);
    expect(cut.cause).toBeInstanceOf(Error);
    const damaged = Uint8Array.from(packed);
    for (let i = 12; i < 40; i++) damaged[i] = 0xff;
    const bad = await failure(read(damaged, 'bad.gz'));
    expect(bad).toBeInstanceOf(DataError);
    expect(bad.message).toMatch(/bad\.gz: corrupt gzip data: the gzip data is (damaged|truncated)/);
    expect(bad.cause).toBeInstanceOf(Error);
  });

  it('refuses bad options with a ConfigError listing what is accepted', async () => {
    const bytes = idxWithZeros([1], 1);
    for (const maxBytes of [0, -1, 1.5, Number.NaN, 2 ** 60, '1024' as unknown as number]) {
      const error = await failure(read(bytes, 'x.idx', { maxBytes }));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toMatch(/"maxBytes": expected a positive integer number of bytes/);
    }
    const format = await failure(read(bytes, 'x.idx', { format: 'IDX' as 'idx' }));
    expect(format).toBeInstanceOf(ConfigError);
    expect(format.message).toMatch(/"format": expected one of 'idx', 'bytes', got "IDX"/);
    expect(await failure(read(bytes, 'x.idx', { maxbytes: 1 } as ReadOptions))).toBeInstanceOf(ConfigError);
  });
});

describe('readMaybeGzip on what is not a regular file', () => {
  it.skipIf(!existsSync('/dev/zero'))('stops reading an endless device at maxBytes', async () => {
    const error = await failure(readMaybeGzip('/dev/zero', { maxBytes: MiB }));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/\/dev\/zero: the data holds more than maxBytes = 1048576 bytes \(1 MiB\) \(stopped reading at \d+ bytes\)/);
  });

  it('names a folder it cannot read', async () => {
    const error = await failure(readMaybeGzip(dir));
    expect(error).toBeInstanceOf(DataError);
    expect(error.message).toMatch(/cannot read: EISDIR/);
  });
});

describe('loaders pass maxBytes on', () => {
  const labels = idxWithZeros([3], 3);
  const images = idxWithZeros([3, 2, 2], 12);

  it('loadMnist (Node and browser) and loadIdxFile refuse a bomb under the default bound and accept the option', async () => {
    const bomb = gzipSync(idxWithZeros([70_000, 70_000], 16 * MiB), { level: 9 });
    const bombPath = join(dir, 'bomb-images.gz');
    const labelsPath = join(dir, 'labels-3');
    writeFileSync(bombPath, bomb);
    writeFileSync(labelsPath, labels);
    for (const attempt of [
      () => loadMnist({ images: bombPath, labels: labelsPath }),
      () => loadMnistBrowser({ images: new File([bomb], 'bomb-images.gz'), labels }),
      () => loadIdxFile(bombPath),
    ]) {
      const error = await failure(attempt());
      expect(error).toBeInstanceOf(DataError);
      expect(error.message).toMatch(/bomb-images\.gz: IDX header says uint8 \[70000, 70000\], a file of 4900000012 bytes/);
    }
    const small = await loadMnist({ images: new Uint8Array(gzipSync(images)), labels, maxBytes: 64 });
    expect(small.size).toBe(3);
    const tight = await failure(loadMnistBrowser({ images, labels, maxBytes: 24 }));
    expect(tight).toBeInstanceOf(DataError);
    expect(tight.message).toMatch(/images \(bytes\): IDX header says uint8 \[3, 2, 2\], a file of 28 bytes, more than maxBytes = 24 bytes; if the file is genuine, pass maxBytes of at least 28/);
    expect(await failure(loadIdxFile(join(dir, 'nope'), { maxBytes: 0 }))).toBeInstanceOf(ConfigError);
    expect(await failure(loadMnist({ images, labels, maxBytes: -5 }))).toBeInstanceOf(ConfigError);
  });

  it('stops a download that passes the bound, gzip or plain', async () => {
    let served = 0;
    const server = createServer((req, res) => {
      // 32 MiB in 64 KiB writes, unless the client goes away first.
      const chunk = new Uint8Array(64 * KiB);
      let left = 512;
      if (req.url === '/plain') chunk.set(idxWithZeros([16], 0));
      const pump = (): void => {
        while (left > 0) {
          left--;
          served += chunk.length;
          if (!res.write(chunk)) return void res.once('drain', pump);
        }
        res.end();
      };
      res.on('close', () => (left = 0));
      pump();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    try {
      const plain = await failure(readBytes(`${base}/plain`, 'images', { format: 'idx' }));
      expect(plain).toBeInstanceOf(DataError);
      expect(plain.message).toMatch(/\/plain: IDX file has trailing bytes: header says uint8 \[16\]/);
      expect(stoppedAt(plain.message)).toBeLessThanOrEqual(MiB);
      const zeros = await failure(readBytes(`${base}/zeros`, 'data', { maxBytes: MiB }));
      expect(zeros.message).toMatch(/\/zeros: the data holds more than maxBytes = 1048576 bytes/);
      await new Promise((resolve) => setTimeout(resolve, 50));
      expect(served).toBeLessThan(32 * MiB);
    } finally {
      server.close();
    }
  });
});
