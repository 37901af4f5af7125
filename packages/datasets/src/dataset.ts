import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DataError, Rng, ShapeError } from '@helmholtz/core';
import { checkIntegerAtLeast, checkSeed } from './checks.js';
import type { Binarization, DatasetProtocol, ValueRange } from './protocol.js';

/** Stored values: raw bytes (images as loaded) or floats (synthetic data, decoded files). */
export type DatasetValues = Uint8Array | Float32Array;

/** How stored values map to the dataset's values in [0, 1] (or its natural units): v * scale + offset. */
export interface ValueMapping {
  scale: number;
  offset: number;
}

export interface DatasetInit {
  name: string;
  /** Example-major values, `size * product(featureShape)` of them. */
  values: DatasetValues;
  /** Shape of one example: `[h, w, c]` for images, `[d]` for points, `[t, f]` for sequences. */
  featureShape: readonly number[];
  labels?: Int32Array;
  numClasses?: number;
  protocol: DatasetProtocol;
  mapping?: ValueMapping;
  /** Position of each example in the source as loaded (default: its own position); kept through subsets. */
  origin?: Int32Array;
}

export interface BatchOptions {
  batchSize: number;
  /** Visit examples in a seeded random order (default false: stored order). */
  shuffle?: boolean;
  /** Seed of the order and of dynamic binarization; required when either is used. */
  seed?: number;
  /**
   * Epoch number: with the same seed, each epoch gets its own order and binarization sample.
   * Required with `shuffle` or dynamic binarization (pass the loop's epoch), so no epoch
   * silently repeats another's order or sample.
   */
  epoch?: number;
  /** Drop a last batch smaller than batchSize (default false). */
  dropRemainder?: boolean;
  /** `'flat'`: `[batch, features]` (default); `'nhwc'`: `[batch, ...featureShape]`. */
  layout?: 'flat' | 'nhwc';
  /** Labels as one-hot float32 `[batch, numClasses]` instead of int32 `[batch]` (default false). */
  oneHot?: boolean;
}

/**
 * One batch. The consumer owns `x` and `y` and disposes them. `x` is a `tf.Tensor2D`
 * `[batch, features]` in the default flat layout (so `dense(batch.x, ...)` needs no cast).
 */
export interface Batch<X extends tf.Tensor = tf.Tensor> {
  x: X;
  y?: tf.Tensor;
  /** Positions of the examples in the dataset. */
  indices: Int32Array;
}

const BATCH_KEYS = ['batchSize', 'shuffle', 'seed', 'epoch', 'dropRemainder', 'layout', 'oneHot'];
const LAYOUTS = ['flat', 'nhwc'];

/**
 * Refuses what would otherwise fall through to a default: an unknown key (a typo such as
 * `shufle`), a layout other than 'flat' and 'nhwc' ('nchw' would quietly give NHWC), and
 * flags that are not booleans ('false' is truthy).
 */
function checkBatchOptions(options: unknown): void {
  if (options === null || typeof options !== 'object' || Array.isArray(options)) {
    throw new ConfigError('batches options', 'an object { batchSize, shuffle?, seed?, epoch?, dropRemainder?, layout?, oneHot? }', options);
  }
  const unknown = Object.keys(options).filter((k) => !BATCH_KEYS.includes(k));
  if (unknown.length) throw new ConfigError('batches options', `keys among ${BATCH_KEYS.join(', ')}`, unknown.join(', '));
  const o = options as Record<string, unknown>;
  if (!Number.isInteger(o.batchSize) || (o.batchSize as number) <= 0) throw new ConfigError('batchSize', 'a positive integer', o.batchSize);
  for (const flag of ['shuffle', 'dropRemainder', 'oneHot']) {
    if (o[flag] !== undefined && typeof o[flag] !== 'boolean') throw new ConfigError(flag, 'true or false', o[flag]);
  }
  if (o.layout !== undefined && !LAYOUTS.includes(o.layout as string)) {
    throw new ConfigError('layout', LAYOUTS.map((l) => `'${l}'`).join(' or '), o.layout);
  }
}

function product(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

/**
 * Seed of one stream of an epoch: a chain of generators, so every input (seeds, epoch,
 * purpose) changes the result and none can cancel another (as `a ^ b` would for a = b).
 */
export function epochSeed(seeds: readonly number[], epoch: number, purpose: number): number {
  let key = new Rng(purpose).nextSeed();
  for (const s of [...seeds, epoch]) key = new Rng(key).nextSeed() ^ new Rng(s).nextSeed();
  return new Rng(key >>> 0).nextSeed();
}

/**
 * A dataset held as typed arrays in JavaScript memory: it owns no tensors, so there is nothing
 * to dispose. Tensors are made per batch by {@link Dataset.batches}. Transforms (`scale`,
 * `binarize`, `take`, `split`...) return new datasets and record themselves in `protocol`,
 * which is what results computed on the dataset must report.
 */
export class Dataset {
  readonly name: string;
  readonly values: DatasetValues;
  readonly featureShape: readonly number[];
  readonly labels: Int32Array | undefined;
  readonly numClasses: number;
  readonly protocol: DatasetProtocol;
  readonly mapping: ValueMapping;
  readonly size: number;
  readonly featureSize: number;
  readonly origin: Int32Array | undefined;

  constructor(init: DatasetInit) {
    this.name = init.name;
    this.values = init.values;
    this.featureShape = Object.freeze([...init.featureShape]);
    this.labels = init.labels;
    this.numClasses = init.numClasses ?? 0;
    this.protocol = init.protocol;
    this.mapping = init.mapping ?? { scale: 1, offset: 0 };
    this.featureSize = product(init.featureShape);
    this.origin = init.origin;
    if (!Number.isInteger(this.featureSize) || this.featureSize <= 0) {
      throw new ShapeError(`dataset '${this.name}' feature shape`, 'positive integer dimensions', [...init.featureShape]);
    }
    if (init.values.length % this.featureSize !== 0) {
      throw new DataError(
        init.name,
        `${init.values.length} values do not split into examples of ${this.featureSize} (${init.featureShape.join('x')})`,
      );
    }
    this.size = init.values.length / this.featureSize;
    if (init.labels) {
      if (init.labels.length !== this.size) {
        throw new DataError(init.name, `expected ${this.size} labels (one per example), found ${init.labels.length}`);
      }
      for (let i = 0; i < init.labels.length; i++) {
        const label = init.labels[i]!;
        if (!(label >= 0 && label < this.numClasses)) {
          throw new DataError(init.name, `label ${i} is ${label}, expected an integer in [0, ${this.numClasses - 1}]`);
        }
      }
    }
    if (init.values instanceof Float32Array) {
      for (let i = 0; i < init.values.length; i++) {
        if (!Number.isFinite(init.values[i]!)) {
          const example = Math.floor(i / this.featureSize);
          throw new DataError(init.name, `example ${example} has a non-finite value (${init.values[i]}) at feature ${i % this.featureSize}`);
        }
      }
    }
  }

  /** A copy of this dataset with some fields replaced (the transforms' building block). */
  with(changes: Partial<DatasetInit>): Dataset {
    return new Dataset({
      name: this.name,
      values: this.values,
      featureShape: this.featureShape,
      labels: this.labels,
      numClasses: this.numClasses,
      protocol: this.protocol,
      mapping: this.mapping,
      origin: this.origin,
      ...changes,
    });
  }

  /** The examples at `indices`, in that order, as a new dataset (protocol notes `note`). */
  select(indices: ArrayLike<number>, note: string): Dataset {
    const f = this.featureSize;
    const values = new (this.values.constructor as Uint8ArrayConstructor | Float32ArrayConstructor)(indices.length * f);
    const labels = this.labels ? new Int32Array(indices.length) : undefined;
    const origin = new Int32Array(indices.length);
    for (let i = 0; i < indices.length; i++) {
      const j = indices[i]!;
      if (!(j >= 0 && j < this.size)) throw new ConfigError('indices', `integers in [0, ${this.size - 1}]`, j);
      values.set(this.values.subarray(j * f, (j + 1) * f), i * f);
      if (labels) labels[i] = this.labels![j]!;
      origin[i] = this.originOf(j);
    }
    return this.with({
      values,
      labels,
      origin,
      protocol: { ...this.protocol, subset: [...(this.protocol.subset ?? []), note] },
    });
  }

  /** The dataset's values of example `index` as floats, after mapping and range (no dynamic binarization). */
  example(index: number): Float32Array {
    const out = new Float32Array(this.featureSize);
    this.fill(out, 0, index, null);
    return out;
  }

  /** Position of example `index` in the source as loaded, whatever subsets were taken since. */
  originOf(index: number): number {
    return this.origin ? this.origin[index]! : index;
  }

  /** Per-class example counts (empty when unlabelled). */
  classCounts(): number[] {
    const counts = new Array<number>(this.numClasses).fill(0);
    if (this.labels) for (const l of this.labels) counts[l]!++;
    return counts;
  }

  private fill(out: Float32Array, at: number, index: number, rng: Rng | null): void {
    const f = this.featureSize;
    const { scale, offset } = this.mapping;
    const [lo, hi] = rangeBounds(this.protocol.range);
    const span = hi - lo;
    const src = this.values;
    const base = index * f;
    if (rng) {
      // Dynamic binarization: a fresh Bernoulli sample of each intensity in [0, 1].
      for (let k = 0; k < f; k++) {
        const p = src[base + k]! * scale + offset;
        out[at + k] = (rng.next() < p ? 1 : 0) * span + lo;
      }
    } else {
      for (let k = 0; k < f; k++) out[at + k] = (src[base + k]! * scale + offset) * span + lo;
    }
  }

  /**
   * The dataset in batches: an async iterator of `{ x, y, indices }` whose tensors the consumer
   * disposes. The same options (seed, epoch) give the same batches in every run and process.
   */
  batches(options: BatchOptions & { layout?: 'flat' }): AsyncGenerator<Batch<tf.Tensor2D>>;
  batches(options: BatchOptions): AsyncGenerator<Batch>;
  async *batches(options: BatchOptions): AsyncGenerator<Batch> {
    checkBatchOptions(options);
    const { batchSize, shuffle = false, epoch = 0, dropRemainder = false, layout = 'flat', oneHot = false } = options;
    const dynamic = this.protocol.binarization.kind === 'dynamic';
    if ((shuffle || dynamic) && options.seed === undefined) {
      throw new ConfigError('seed', shuffle ? 'a seed when shuffle is true' : 'a seed for dynamic binarization', undefined);
    }
    if (oneHot && !this.labels) throw new ConfigError('oneHot', 'a labelled dataset', `'${this.name}' has no labels`);
    // Shuffling and dynamic binarization must be told the epoch: a default of 0 would quietly
    // give every epoch the same order (or the same sample: the fixed protocol under another name).
    if ((shuffle || dynamic) && options.epoch === undefined) {
      const why = shuffle ? 'the epoch number when shuffle is true (each epoch gets its own order)' : 'the epoch number for dynamic binarization';
      throw new ConfigError('epoch', why, undefined);
    }
    if (options.epoch !== undefined) checkIntegerAtLeast('epoch', options.epoch, 0);
    if (options.seed !== undefined) checkSeed(options.seed);
    const seed = options.seed ?? 0;
    const order = shuffle ? new Rng(epochSeed([seed], epoch, 1)).permutation(this.size) : Int32Array.from({ length: this.size }, (_, i) => i);
    const binarization = this.protocol.binarization;
    const noise = dynamic && binarization.kind === 'dynamic' ? new Rng(epochSeed([binarization.seed, seed], epoch, 2)) : null;
    const f = this.featureSize;
    for (let start = 0; start < this.size; start += batchSize) {
      const n = Math.min(batchSize, this.size - start);
      if (n < batchSize && dropRemainder) break;
      const indices = order.slice(start, start + n);
      const data = new Float32Array(n * f);
      for (let i = 0; i < n; i++) this.fill(data, i * f, indices[i]!, noise);
      const x = tf.tensor(data, layout === 'flat' ? [n, f] : [n, ...this.featureShape], 'float32');
      let y: tf.Tensor | undefined;
      if (this.labels) {
        const labels = new Int32Array(n);
        for (let i = 0; i < n; i++) labels[i] = this.labels[indices[i]!]!;
        y = oneHot ? oneHotLabels(labels, this.numClasses) : tf.tensor1d(labels, 'int32');
      }
      yield y ? { x, y, indices } : { x, indices };
    }
  }

  /** Everything at once as one batch (small datasets): `{ x, y }` the caller disposes. */
  toTensors(options?: Omit<BatchOptions, 'batchSize' | 'dropRemainder'> & { layout?: 'flat' }): Promise<Batch<tf.Tensor2D>>;
  toTensors(options: Omit<BatchOptions, 'batchSize' | 'dropRemainder'>): Promise<Batch>;
  async toTensors(options: Omit<BatchOptions, 'batchSize' | 'dropRemainder'> = {}): Promise<Batch> {
    for await (const batch of this.batches({ ...options, batchSize: Math.max(1, this.size) })) return batch;
    throw new DataError(this.name, 'the dataset is empty');
  }
}

export function rangeBounds(range: ValueRange): [number, number] {
  return range === '[-1,1]' ? [-1, 1] : [0, 1];
}

/** One-hot float32 `[n, numClasses]` from integer labels; a label out of range is a DataError. */
export function oneHotLabels(labels: ArrayLike<number>, numClasses: number): tf.Tensor2D {
  const out = new Float32Array(labels.length * numClasses);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (!(Number.isInteger(l) && l >= 0 && l < numClasses)) {
      throw new DataError('oneHotLabels', `label ${i} is ${l}, expected an integer in [0, ${numClasses - 1}]`);
    }
    out[i * numClasses + l] = 1;
  }
  return tf.tensor2d(out, [labels.length, numClasses]);
}

export type { Binarization };
