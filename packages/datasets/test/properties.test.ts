import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DataError, ShapeError } from '@helmholtz/core';
import { useBackend } from '@helmholtz/core/testing';
import fc from 'fast-check';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadMnist as loadMnistBrowser } from '../src/browser/idx-loaders.js';
import { readBytes } from '../src/browser/read-bytes.js';
import { Dataset, type BatchOptions } from '../src/dataset.js';
import { parseIdx } from '../src/idx.js';
import { loadMnist } from '../src/node/mnist.js';
import { readMaybeGzip } from '../src/node/read-bytes.js';

// A fixed seed, so CI runs the same cases every time; FC_SEED=<n> explores others.
fc.configureGlobal({ seed: Number(process.env['FC_SEED'] ?? 20261123) });

// Every case below ends in a result or a typed error, never another exception; a run longer
// than RUN_LIMIT_MS fails as a hang. MAX_BYTES is the bound handed to every reader: nothing
// they return, and no buffer they allocate for inflated data, may exceed it.
const MAX_BYTES = 4096;
const RUN_LIMIT_MS = 2000;

function typed(e: unknown): boolean {
  return e instanceof DataError || e instanceof ConfigError || e instanceof ShapeError;
}

/** Fails the property with the stray error itself, so its stack is shown. */
function expectTyped(e: unknown): void {
  if (!typed(e)) throw e;
}

const TYPE_SIZES: Record<number, number> = { 0x08: 1, 0x09: 1, 0x0b: 2, 0x0c: 4, 0x0d: 4, 0x0e: 8 };

function idxHeader(code: number, shape: number[]): Uint8Array {
  const out = new Uint8Array(4 + 4 * shape.length);
  const view = new DataView(out.buffer);
  out[2] = code;
  out[3] = shape.length;
  shape.forEach((d, i) => view.setUint32(4 + 4 * i, d >>> 0, false));
  return out;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array<ArrayBuffer> {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

// Dimensions: mostly small, with the edges that break naive products (0, 2^31, 2^32 − 1).
const dimension = fc.oneof(
  { weight: 6, arbitrary: fc.integer({ min: 0, max: 6 }) },
  { weight: 1, arbitrary: fc.constantFrom(0, 1, 255, 256, 65536, 2 ** 31, 2 ** 32 - 1) },
  { weight: 1, arbitrary: fc.nat() },
);
const typeCode = fc.oneof({ weight: 6, arbitrary: fc.constantFrom(0x08, 0x09, 0x0b, 0x0c, 0x0d, 0x0e) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) });

/** A header, a body whose length is off by `delta` from what the header says, then byte mutations. */
const idxCase = fc.record({
  code: typeCode,
  shape: fc.array(dimension, { minLength: 1, maxLength: 4 }),
  delta: fc.oneof({ weight: 3, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: -9, max: 9 }) }),
  mutations: fc.oneof({ weight: 2, arbitrary: fc.constant<[number, number][]>([]) }, { weight: 1, arbitrary: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 3 }) }),
  maxBytes: fc.integer({ min: 1, max: MAX_BYTES }),
});

function buildIdx(c: { code: number; shape: number[]; delta: number; mutations: [number, number][] }): { bytes: Uint8Array; declared: number | null } {
  const header = idxHeader(c.code, c.shape);
  const size = TYPE_SIZES[c.code];
  const elements = c.shape.reduce((p, d) => p * d, 1);
  // Bodies are built only when they are small; the others keep a short body (the header lies).
  const declared = size !== undefined && elements * size <= 2 * MAX_BYTES ? header.length + elements * size : null;
  const bodyLength = Math.max(0, (declared === null ? 16 : declared - header.length) + c.delta);
  const bytes = concat(header, Uint8Array.from({ length: bodyLength }, (_, i) => (i * 31) & 255));
  for (const [at, value] of c.mutations) if (bytes.length) bytes[at % bytes.length] = value;
  return { bytes, declared };
}

describe('properties: parseIdx', () => {
  it('arbitrary bytes give an IdxArray that matches its header, or a DataError; never more than the input allocated (2,000 cases)', () => {
    const bytesArb = fc.oneof(
      fc.uint8Array({ maxLength: 64 }),
      // Past the magic number more often than chance would get there.
      fc.tuple(typeCode, fc.integer({ min: 0, max: 5 }), fc.uint8Array({ maxLength: 64 })).map(([code, rank, rest]) => concat(Uint8Array.from([0, 0, code, rank]), rest)),
    );
    fc.assert(
      fc.property(bytesArb, fc.integer({ min: 1, max: MAX_BYTES }), (bytes, maxBytes) => {
        let parsed;
        try {
          parsed = parseIdx(bytes, 'arbitrary', { maxBytes });
        } catch (e) {
          expectTyped(e);
          return;
        }
        const elements = parsed.shape.reduce((p, d) => p * d, 1);
        expect(parsed.data.length).toBe(elements);
        expect(4 + 4 * parsed.shape.length + parsed.data.byteLength).toBe(bytes.length);
        expect(bytes.length).toBeLessThanOrEqual(maxBytes);
      }),
      { numRuns: 2000 },
    );
  });

  it('valid headers with mutated dimensions, lengths and bytes: exact files parse to their shape, the rest are DataErrors (2,000 cases)', () => {
    fc.assert(
      fc.property(idxCase, (c) => {
        const { bytes, declared } = buildIdx(c);
        const spanOk = TYPE_SIZES[c.code] !== undefined && 8 + 4 * c.shape.length + c.shape.reduce((p, d) => p * Math.max(d, 1), 1) * TYPE_SIZES[c.code]! <= c.maxBytes;
        const untouched = c.mutations.length === 0 && c.delta === 0;
        let parsed;
        try {
          parsed = parseIdx(bytes, 'mutated', { maxBytes: c.maxBytes });
        } catch (e) {
          expectTyped(e);
          expect(e).toBeInstanceOf(DataError);
          // The oracle: an intact file of a known type whose dimensions fit the bound parses.
          if (untouched && declared !== null && spanOk && declared <= c.maxBytes) throw new Error(`refused a valid file: ${(e as Error).message}`);
          return;
        }
        expect(bytes.length).toBeLessThanOrEqual(c.maxBytes);
        expect(parsed.data.byteLength).toBeLessThanOrEqual(bytes.length);
        if (untouched) expect(parsed.shape).toEqual(c.shape);
      }),
      { numRuns: 2000 },
    );
  });
});

/** A gzip member whose content is an IDX header then `zeros` zero bytes, cut short or not. */
const gzipCase = fc.record({
  idx: idxCase,
  zeros: fc.oneof(fc.integer({ min: 0, max: 64 }), fc.integer({ min: 0, max: 256 * 1024 })),
  cut: fc.oneof({ weight: 4, arbitrary: fc.constant(0) }, { weight: 1, arbitrary: fc.integer({ min: 1, max: 40 }) }),
  format: fc.constantFrom('idx' as const, 'bytes' as const),
});

function buildGzip(c: { idx: Parameters<typeof buildIdx>[0]; zeros: number; cut: number }): Uint8Array {
  const content = concat(buildIdx(c.idx).bytes, new Uint8Array(c.zeros));
  const packed = gzipSync(content, { level: 1 });
  // A copy in a buffer of its own: zlib's output views a larger buffer, which would blur the
  // check on what the readers allocate.
  return new Uint8Array(packed.subarray(0, Math.max(0, packed.length - c.cut)));
}

describe('properties: bounded readers', () => {
  it('readBytes (browser) on gzip bombs and damaged gzip: at most maxBytes returned and allocated, or a DataError (600 cases)', async () => {
    await fc.assert(
      fc.asyncProperty(gzipCase, async (c) => {
        const packed = buildGzip(c);
        try {
          const { bytes } = await readBytes(packed, 'bomb', { maxBytes: MAX_BYTES, format: c.format });
          expect(bytes.length).toBeLessThanOrEqual(MAX_BYTES);
          expect(bytes.buffer.byteLength).toBeLessThanOrEqual(MAX_BYTES);
        } catch (e) {
          expectTyped(e);
        }
      }),
      { numRuns: 600, timeout: RUN_LIMIT_MS, markInterruptAsFailure: true },
    );
  });

  it('readMaybeGzip (Node) on the same files: at most maxBytes returned and allocated, or a DataError (200 cases)', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'helmholtz-properties-'));
    let n = 0;
    await fc.assert(
      fc.asyncProperty(gzipCase, fc.boolean(), async (c, packedName) => {
        const path = join(dir, `${n++}${packedName ? '.gz' : ''}`);
        writeFileSync(path, buildGzip(c));
        try {
          const bytes = await readMaybeGzip(path, { maxBytes: MAX_BYTES, format: c.format });
          expect(bytes.length).toBeLessThanOrEqual(MAX_BYTES);
          expect(bytes.buffer.byteLength).toBeLessThanOrEqual(MAX_BYTES);
        } catch (e) {
          expectTyped(e);
        }
      }),
      { numRuns: 200, timeout: RUN_LIMIT_MS, markInterruptAsFailure: true },
    );
  });
});

/** Any value, strings without ':' (so nothing arbitrary is ever fetched over the network). */
const anything = fc.anything().filter((v) => typeof v !== 'string' || !v.includes(':'));

/** Each field: usually one of its valid values, otherwise anything. */
function field<T>(valid: fc.Arbitrary<T>): fc.Arbitrary<unknown> {
  return fc.oneof({ weight: 3, arbitrary: valid }, { weight: 1, arbitrary: anything });
}

const BATCH_FIELDS = ['batchSize', 'shuffle', 'seed', 'epoch', 'dropRemainder', 'layout', 'oneHot'];
const validBatch = fc.record(
  {
    batchSize: fc.integer({ min: 1, max: 12 }),
    shuffle: fc.boolean(),
    seed: fc.integer(),
    epoch: fc.nat(),
    dropRemainder: fc.boolean(),
    layout: fc.constantFrom('flat', 'nhwc'),
    oneHot: fc.boolean(),
  },
  { requiredKeys: ['batchSize'] },
);
// A third valid-looking, a third with one field (or an unknown key) set to anything, a third anything.
const batchOptions: fc.Arbitrary<Record<string, unknown>> = fc.oneof(
  validBatch,
  fc.tuple(validBatch, fc.constantFrom(...BATCH_FIELDS, 'extra'), anything).map(([o, key, value]) => ({ ...o, [key]: value })),
  fc.record(
    {
      batchSize: field(fc.integer({ min: 1, max: 12 })),
      shuffle: field(fc.boolean()),
      seed: field(fc.integer()),
      epoch: field(fc.nat()),
      dropRemainder: field(fc.boolean()),
      layout: field(fc.constantFrom('flat', 'nhwc')),
      oneHot: field(fc.boolean()),
      extra: anything,
    },
    { requiredKeys: [] },
  ),
);

/** The rules of `batches()`, written out independently: what it must accept. */
function validBatchOptions(o: Record<string, unknown>): boolean {
  const bool = (v: unknown) => v === undefined || typeof v === 'boolean';
  if ('extra' in o) return false;
  if (!(Number.isInteger(o.batchSize) && (o.batchSize as number) > 0)) return false;
  if (!bool(o.shuffle) || !bool(o.dropRemainder) || !bool(o.oneHot)) return false;
  if (o.layout !== undefined && o.layout !== 'flat' && o.layout !== 'nhwc') return false;
  if (o.seed !== undefined && !Number.isSafeInteger(o.seed)) return false;
  if (o.epoch !== undefined && !(Number.isSafeInteger(o.epoch) && (o.epoch as number) >= 0)) return false;
  if (o.shuffle === true && (o.seed === undefined || o.epoch === undefined)) return false;
  return true;
}

describe('properties: options', () => {
  let tiny: Dataset;
  beforeAll(async () => {
    await useBackend('cpu');
    tiny = new Dataset({
      name: 'tiny',
      values: Float32Array.from({ length: 7 * 4 }, (_, i) => (i % 11) / 10),
      featureShape: [2, 2, 1],
      labels: Int32Array.from({ length: 7 }, (_, i) => i % 3),
      numClasses: 3,
      protocol: { source: 'test', split: 'all', range: '[0,1]', binarization: { kind: 'none' } },
    });
  });

  it('batches() with arbitrary option values: every example once in valid batches exactly when the options are valid, else a ConfigError; no tensor left (1,500 cases)', async () => {
    const before = tf.memory().numTensors;
    await fc.assert(
      fc.asyncProperty(batchOptions, async (options) => {
        const valid = validBatchOptions(options);
        const seen: number[] = [];
        try {
          for await (const b of tiny.batches(options as unknown as BatchOptions)) {
            const n = b.indices.length;
            const layout = (options.layout as string | undefined) ?? 'flat';
            expect(b.x.shape).toEqual(layout === 'flat' ? [n, 4] : [n, 2, 2, 1]);
            expect(b.y!.shape).toEqual(options.oneHot === true ? [n, 3] : [n]);
            seen.push(...b.indices);
            tf.dispose([b.x, b.y!]);
          }
        } catch (e) {
          expectTyped(e);
          expect(e).toBeInstanceOf(ConfigError);
          if (valid) throw new Error(`refused valid options ${fc.stringify(options)}: ${(e as Error).message}`);
          return;
        }
        if (!valid) throw new Error(`accepted invalid options ${fc.stringify(options)}`);
        const size = options.batchSize as number;
        const expected = options.dropRemainder === true ? Math.floor(7 / size) * size : 7;
        expect(seen.length).toBe(expected);
        expect(new Set(seen).size).toBe(expected);
        expect(tf.memory().numTensors).toBe(before);
      }),
      { numRuns: 1500, timeout: RUN_LIMIT_MS, markInterruptAsFailure: true },
    );
    expect(tf.memory().numTensors).toBe(before);
  });

  const images = concat(idxHeader(0x08, [2, 2, 2]), Uint8Array.from([0, 255, 1, 2, 3, 4, 5, 6]));
  const labels = concat(idxHeader(0x08, [2]), Uint8Array.from([1, 9]));
  const source = fc.oneof(
    fc.constant(images),
    fc.constant(labels),
    fc.constant(new Uint8Array(gzipSync(images))),
    fc.constant(new Blob([images])),
    fc.constant(new File([gzipSync(images)], 'images.gz')),
    fc.constant(new File([images], 'not-really.gz')),
    gzipCase.map((c) => buildGzip(c)),
    fc.uint8Array({ maxLength: 32 }),
    fc.string().filter((s) => !s.includes(':')),
    anything,
  );
  // The valid pair in its forms (plain, gzip, Blob, File), then anything in one field, then anything.
  const validLoad = fc.record(
    {
      split: fc.constantFrom('train', 'test'),
      images: fc.constantFrom<unknown>(images, new Uint8Array(gzipSync(images)), new Blob([images]), new File([gzipSync(images)], 'images.gz')),
      labels: fc.constantFrom<unknown>(labels, new Blob([labels]), new File([gzipSync(labels)], 'labels.gz')),
      maxBytes: fc.integer({ min: 24, max: MAX_BYTES }),
    },
    { requiredKeys: ['images', 'labels'] },
  );
  const loadOptions: fc.Arbitrary<{ options: Record<string, unknown>; valid: boolean }> = fc.oneof(
    validLoad.map((options) => ({ options, valid: true })),
    fc
      .tuple(validLoad, fc.constantFrom('split', 'images', 'labels', 'maxBytes', 'dir', 'extra'), fc.oneof(source, anything))
      .map(([o, key, value]) => ({ options: { ...o, [key]: value }, valid: false })),
    fc
      .record(
        { split: field(fc.constantFrom('train', 'test')), images: source, labels: source, maxBytes: field(fc.integer({ min: 1, max: MAX_BYTES })), dir: anything, extra: anything },
        { requiredKeys: [] },
      )
      .map((options) => ({ options, valid: false })),
  );

  it('loadMnist (browser) with arbitrary option values: a small labelled dataset or a typed error, and always a dataset for valid options (500 cases)', async () => {
    await fc.assert(
      fc.asyncProperty(loadOptions, async ({ options, valid }) => {
        try {
          const ds = await loadMnistBrowser(options as never);
          expect(ds.values.length).toBeLessThanOrEqual(MAX_BYTES);
          expect(ds.labels!.length).toBe(ds.size);
          expect(options.extra).toBeUndefined();
          expect(options.dir).toBeUndefined();
        } catch (e) {
          expectTyped(e);
          if (valid) throw new Error(`refused valid options ${fc.stringify(options)}: ${(e as Error).message}`);
        }
      }),
      { numRuns: 500, timeout: RUN_LIMIT_MS, markInterruptAsFailure: true },
    );
  });

  it('loadMnist (Node) with arbitrary paths, folders and options: a typed error, never the embedded data by accident (200 cases)', async () => {
    const path = fc.string().filter((s) => !s.includes(':')).map((s) => join(tmpdir(), 'helmholtz-no-such-folder', s));
    const nodeOptions = fc.record(
      {
        split: field(fc.constantFrom('train', 'test')),
        images: fc.oneof(path, source),
        labels: fc.oneof(path, source),
        maxBytes: field(fc.integer({ min: 1, max: MAX_BYTES })),
        dir: fc.oneof(path, anything.filter((v) => v !== undefined)),
      },
      { requiredKeys: ['images', 'dir'] },
    );
    await fc.assert(
      fc.asyncProperty(nodeOptions, async (options) => {
        // With both images and dir given, the only acceptable outcome is a ConfigError or a DataError.
        const error = await loadMnist(options as never).then(
          () => null,
          (e: unknown) => e,
        );
        expect(error).not.toBeNull();
        expectTyped(error);
      }),
      { numRuns: 200, timeout: RUN_LIMIT_MS, markInterruptAsFailure: true },
    );
  });
});
