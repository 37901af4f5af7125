import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, DataError } from '@helmholtz/core';
import { TEST_BACKENDS, useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { describe, expect, expectTypeOf, it } from 'vitest';
import { Dataset, oneHotLabels } from '../src/dataset.js';
import { loadMnist } from '../src/node/mnist.js';
import { take } from '../src/transforms.js';

/** 10 examples of 2x2x1 with value i/10 + pixel/100 and label i % 3. */
function tiny(): Dataset {
  const values = new Float32Array(40);
  for (let i = 0; i < 10; i++) for (let k = 0; k < 4; k++) values[i * 4 + k] = i / 10 + k / 100;
  return new Dataset({
    name: 'tiny',
    values,
    featureShape: [2, 2, 1],
    labels: Int32Array.from({ length: 10 }, (_, i) => i % 3),
    numClasses: 3,
    protocol: { source: 'test', split: 'all', range: '[0,1]', binarization: { kind: 'none' } },
  });
}

async function order(ds: Dataset, options: Parameters<Dataset['batches']>[0]): Promise<number[]> {
  const seen: number[] = [];
  for await (const batch of ds.batches(options)) {
    seen.push(...batch.indices);
    tf.dispose([batch.x, batch.y ?? []]);
  }
  return seen;
}

describe.each(TEST_BACKENDS)('Dataset.batches on %s', (backend) => {
  it('delivers values, labels and shapes in stored order without shuffling', async () => {
    await useBackend(backend);
    const batches = [];
    for await (const b of tiny().batches({ batchSize: 4 })) batches.push(b);
    expect(batches.map((b) => b.x.shape)).toEqual([[4, 4], [4, 4], [2, 4]]);
    expect(Array.from(batches[1]!.indices)).toEqual([4, 5, 6, 7]);
    expect(Array.from(await batches[1]!.x.data())[5]).toBeCloseTo(0.5 + 0.01, 6);
    expect(Array.from(await batches[2]!.y!.data())).toEqual([8 % 3, 9 % 3]);
    expect(batches[0]!.y!.dtype).toBe('int32');
    tf.dispose(batches.flatMap((b) => [b.x, b.y!]));
  });

  it('gives the same order for the same seed and epoch, another for another seed or epoch', async () => {
    await useBackend(backend);
    const ds = tiny();
    const a = await order(ds, { batchSize: 3, shuffle: true, seed: 11, epoch: 0 });
    expect(await order(ds, { batchSize: 3, shuffle: true, seed: 11, epoch: 0 })).toEqual(a);
    expect(await order(ds, { batchSize: 3, shuffle: true, seed: 12, epoch: 0 })).not.toEqual(a);
    expect(await order(ds, { batchSize: 3, shuffle: true, seed: 11, epoch: 1 })).not.toEqual(a);
    expect([...a].sort((x, y) => x - y)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('drops the short last batch on request and lays out NHWC and one-hot labels', async () => {
    await useBackend(backend);
    const shapes: number[][] = [];
    for await (const b of tiny().batches({ batchSize: 4, dropRemainder: true, layout: 'nhwc', oneHot: true })) {
      shapes.push(b.x.shape, b.y!.shape);
      const rowSums = tf.sum(b.y!, 1);
      expect(Array.from(await rowSums.data())).toEqual([1, 1, 1, 1]);
      tf.dispose([b.x, b.y!, rowSums]);
    }
    expect(shapes).toEqual([[4, 2, 2, 1], [4, 3], [4, 2, 2, 1], [4, 3]]);
  });

  it('leaves tf.memory().numTensors unchanged over an epoch of MNIST once batches are disposed', async () => {
    await useBackend(backend);
    const ds = take(await loadMnist({ split: 'test' }), 2000);
    await withNoLeaks(async () => {
      let count = 0;
      for await (const batch of ds.batches({ batchSize: 128, shuffle: true, seed: 3, epoch: 0, oneHot: true })) {
        count += batch.x.shape[0]!;
        tf.dispose([batch.x, batch.y!]);
      }
      expect(count).toBe(2000);
    });
  });
});

describe('Dataset validation', () => {
  const protocol = { source: 'test', split: 'all', range: '[0,1]', binarization: { kind: 'none' } } as const;

  it('names the example holding a NaN value', () => {
    const values = new Float32Array(8);
    values[5] = Number.NaN;
    expect(() => new Dataset({ name: 'bad', values, featureShape: [2], protocol })).toThrow(DataError);
    expect(() => new Dataset({ name: 'bad', values, featureShape: [2], protocol })).toThrow(/example 2 has a non-finite value \(NaN\) at feature 1/);
  });

  it('rejects values that do not divide into examples, wrong label counts and labels out of range', () => {
    expect(() => new Dataset({ name: 'odd', values: new Float32Array(7), featureShape: [2], protocol })).toThrow(/7 values do not split into examples of 2/);
    const values = new Float32Array(6);
    expect(() => new Dataset({ name: 'l', values, featureShape: [2], labels: Int32Array.from([0, 1]), numClasses: 2, protocol })).toThrow(
      /expected 3 labels \(one per example\), found 2/,
    );
    expect(() => new Dataset({ name: 'l', values, featureShape: [2], labels: Int32Array.from([0, 5, 1]), numClasses: 2, protocol })).toThrow(
      /label 1 is 5, expected an integer in \[0, 1\]/,
    );
  });

  it('asks for a seed when shuffling and rejects a bad batch size', async () => {
    const ds = tiny();
    await expect(order(ds, { batchSize: 2, shuffle: true, epoch: 0 })).rejects.toThrow(ConfigError);
    await expect(order(ds, { batchSize: 0 })).rejects.toThrow(/batchSize/);
  });

  it('asks for the epoch when shuffling, as dynamic binarization does, so no epoch repeats an order (issue 6, bug 8)', async () => {
    const ds = tiny();
    await expect(order(ds, { batchSize: 2, shuffle: true, seed: 1 })).rejects.toThrow(/"epoch".*when shuffle is true/);
    const first = await order(ds, { batchSize: 2, shuffle: true, seed: 1, epoch: 0 });
    const second = await order(ds, { batchSize: 2, shuffle: true, seed: 1, epoch: 1 });
    expect(second).not.toEqual(first);
    // The stored order needs neither seed nor epoch.
    expect(await order(ds, { batchSize: 2 })).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
  });

  it('refuses option values outside their sets with a ConfigError listing the accepted ones, leaving no tensor behind', async () => {
    await useBackend('cpu');
    const ds = tiny();
    const refused = async (options: unknown, pattern: RegExp) => {
      const error = await withNoLeaks(() => order(ds, options as Parameters<Dataset['batches']>[0]).catch((e: unknown) => e));
      expect(error).toBeInstanceOf(ConfigError);
      expect((error as Error).message).toMatch(pattern);
    };
    // Each of these used to fall through to a default: 'nchw' and 'FLAT' gave NHWC, 'false' shuffled.
    await refused({ batchSize: 2, layout: 'nchw' }, /"layout": expected 'flat' or 'nhwc', got "nchw"/);
    await refused({ batchSize: 2, layout: 'FLAT' }, /"layout": expected 'flat' or 'nhwc', got "FLAT"/);
    await refused({ batchSize: 2, shuffle: 'false', seed: 1, epoch: 0 }, /"shuffle": expected true or false, got "false"/);
    await refused({ batchSize: 2, dropRemainder: 1 }, /"dropRemainder": expected true or false/);
    await refused({ batchSize: 2, oneHot: 'yes' }, /"oneHot": expected true or false/);
    await refused({ batchSize: 2, shufle: true }, /keys among batchSize, shuffle, seed, epoch, dropRemainder, layout, oneHot, got "shufle"/);
    await refused(null, /"batches options": expected an object/);
    await refused({ batchSize: '4' }, /"batchSize": expected a positive integer, got "4"/);
    // The accepted values still work, layout included.
    const shapes: number[][] = [];
    for await (const b of ds.batches({ batchSize: 10, layout: 'nhwc', shuffle: false, dropRemainder: false, oneHot: false })) {
      shapes.push(b.x.shape);
      tf.dispose([b.x, b.y!]);
    }
    expect(shapes).toEqual([[10, 2, 2, 1]]);
  });

  it('types flat batches as Tensor2D', async () => {
    await useBackend('cpu');
    for await (const batch of tiny().batches({ batchSize: 5 })) {
      expectTypeOf(batch.x).toEqualTypeOf<tf.Tensor2D>();
      expect(batch.x.rank).toBe(2);
      tf.dispose([batch.x, batch.y!]);
    }
  });

  it('makes one-hot rows and rejects out-of-range labels', async () => {
    await useBackend('cpu');
    const t = oneHotLabels([2, 0], 3);
    expect(Array.from(await t.data())).toEqual([0, 0, 1, 1, 0, 0]);
    t.dispose();
    expect(() => oneHotLabels([3], 3)).toThrow(/label 0 is 3/);
  });
});
