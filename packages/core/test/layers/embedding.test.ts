import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, DataError, ShapeError } from '../../src/errors.js';
import { createDense, dense } from '../../src/layers/dense.js';
import { createEmbedding, embedding, embeddingNormal, type EmbeddingParams } from '../../src/layers/embedding.js';
import { disposeParams } from '../../src/params/tree.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from './leak-check.js';

const IDS = [3, 0, 3, 4, 1, 3]; // id 3 three times, id 2 never

/** Brute force: row i of the result is table[ids[i]]. */
function lookup(table: number[][], ids: number[]): number[] {
  return ids.flatMap((id) => table[id]!);
}

/** Brute force: ∂<embedding(ids), up>/∂table adds up[i] into row ids[i]. */
function scatter(count: number, dims: number, ids: number[], up: number[][]): number[] {
  const out = new Array<number>(count * dims).fill(0);
  ids.forEach((id, i) => {
    for (let d = 0; d < dims; d++) out[id * dims + d]! += up[i]![d]!;
  });
  return out;
}

describe('createEmbedding', () => {
  it('makes a [count, dims] table named after the layer, N(0, 1) by default, the same for one seed', async () => {
    await useBackend('cpu');
    const p = createEmbedding({ name: 'cond/label', count: 500, dims: 8, rng: 4 });
    const q = createEmbedding({ name: 'cond/label', count: 500, dims: 8, rng: 4 });
    expect(p.table.shape).toEqual([500, 8]);
    expect(p.table.name).toBe('cond/label/table');
    expect(q.table.name).not.toBe(p.table.name); // unique in the engine
    const v = Array.from(p.table.dataSync());
    const mean = v.reduce((a, b) => a + b, 0) / v.length;
    const variance = v.reduce((a, b) => a + (b - mean) ** 2, 0) / v.length;
    // 4,000 draws: the standard error of the mean is 0.016, of the variance about 0.022.
    expect(Math.abs(mean)).toBeLessThan(0.07);
    expect(Math.abs(variance - 1)).toBeLessThan(0.1);
    expectAllClose(q.table, v, 0);
    disposeParams(p);
    disposeParams(q);
  });

  it('takes another initializer by name or function', async () => {
    await useBackend('cpu');
    const p = createEmbedding({ name: 'e', count: 3, dims: 2, init: 'ones', rng: 0 });
    expectAllClose(p.table, [1, 1, 1, 1, 1, 1], 0);
    const q = createEmbedding({ name: 'f', count: 3, dims: 2, init: embeddingNormal, rng: 0 });
    expect(q.table.shape).toEqual([3, 2]);
    disposeParams(p);
    disposeParams(q);
  });

  it('refuses sizes that are not positive integers and an empty name', () => {
    expect(() => createEmbedding({ name: 'e', count: 0, dims: 2, rng: 0 })).toThrow(ConfigError);
    expect(() => createEmbedding({ name: 'e', count: 3, dims: 1.5, rng: 0 })).toThrow('invalid config "dims"');
    expect(() => createEmbedding({ name: '', count: 3, dims: 2, rng: 0 })).toThrow(ConfigError);
  });
});

describe.each(TEST_BACKENDS)('embedding on %s', (backend) => {
  function setup(): { p: EmbeddingParams; table: number[][] } {
    const p = createEmbedding({ name: 'emb', count: 5, dims: 3, rng: 9 });
    return { p, table: p.table.arraySync() as number[][] };
  }

  it('returns the table rows of int32, float32, array and typed-array ids alike', async () => {
    await useBackend(backend);
    const { p, table } = setup();
    const want = lookup(table, IDS);
    const int = tf.tensor1d(IDS, 'int32');
    const float = tf.tensor1d(IDS, 'float32');
    for (const ids of [int, float, IDS, Int32Array.from(IDS), Float32Array.from(IDS)]) {
      const rows = expectOnlyReturnedTensors(() => embedding(ids, p));
      expect(rows.shape).toEqual([IDS.length, 3]);
      expectAllClose(rows, want, 0); // a lookup: exact
      rows.dispose();
    }
    tf.dispose([int, float]);
    disposeParams(p);
  });

  it('gradient with respect to the table scatters the upstream gradient; repeated ids accumulate', async () => {
    await useBackend(backend);
    const { p } = setup();
    const rng = new Rng(5);
    const up = Array.from({ length: IDS.length }, () => Array.from({ length: 3 }, () => rng.normal()));
    const upstream = tf.tensor2d(up);
    for (const ids of [IDS, tf.tensor1d(IDS, 'int32')]) {
      expectNoLeaks(() => {
        // A weighted sum makes every upstream entry distinct, so a misplaced row shows.
        const { value, grads } = tf.variableGrads(() => tf.sum(tf.mul(embedding(ids, p), upstream)) as tf.Scalar, [p.table]);
        const g = grads[p.table.name]!;
        expectAllClose(g, scatter(5, 3, IDS, up), 1e-6);
        // Row 2 was never looked up: its gradient is exactly zero.
        expect(Array.from(g.dataSync().slice(6, 9))).toEqual([0, 0, 0]);
        tf.dispose([value, g]);
      });
      if (ids instanceof tf.Tensor) ids.dispose();
    }
    upstream.dispose();
    disposeParams(p);
  });

  it('keeps the gradient when the ids are made inside the loss function', async () => {
    await useBackend(backend);
    const { p } = setup();
    expectNoLeaks(() => {
      // The ids tensor dies with the forward pass, before backprop reads it.
      const loss = () => tf.sum(embedding(tf.tensor1d([1, 1, 4], 'int32'), p)) as tf.Scalar;
      const { value, grads } = tf.variableGrads(loss, [p.table]);
      expectAllClose(grads[p.table.name]!, scatter(5, 3, [1, 1, 4], [[1, 1, 1], [1, 1, 1], [1, 1, 1]]), 0);
      tf.dispose([value, ...Object.values(grads)]);
    });
    disposeParams(p);
  });

  it('trains a conditional model: class → embedding → dense regresses per-class targets with Adam', async () => {
    await useBackend(backend);
    const rng = new Rng(17);
    const emb = createEmbedding({ name: 'toy/label', count: 6, dims: 4, rng });
    const head = createDense({ name: 'toy/head', inputs: 4, units: 2, rng });
    const targets = [
      [1, -1],
      [2, 0],
      [-1, 3],
      [0, 0],
      [-2, -2],
      [5, 5],
    ];
    const labels = Array.from({ length: 64 }, () => rng.int(5)); // class 5 never appears
    const y = tf.tensor2d(labels.map((c) => targets[c]!));
    const ids = tf.tensor1d(labels, 'int32');
    const unseenRow = Array.from(emb.table.dataSync().slice(20, 24));
    const optimizer = tf.train.adam(0.05);
    const vars = [emb.table, head.kernel, head.bias!];
    const loss = () => tf.mean(tf.square(tf.sub(dense(embedding(ids, emb), head), y))) as tf.Scalar;
    const before = tf.tidy(() => loss().dataSync()[0]!);
    const step = () => {
      const { value, grads } = tf.variableGrads(loss, vars);
      optimizer.applyGradients(Object.entries(grads).map(([name, tensor]) => ({ name, tensor })));
      tf.dispose([value, ...Object.values(grads)]);
    };
    step(); // Adam makes its two moment slots per variable on the first step
    expectNoLeaks(() => {
      for (let i = 1; i < 150; i++) step();
    }, 'training steps');
    const after = tf.tidy(() => loss().dataSync()[0]!);
    expect(before).toBeGreaterThan(1);
    expect(after).toBeLessThan(0.01 * before);
    // Adam moves a parameter only where its gradient was ever non-zero.
    expectAllClose(emb.table.dataSync().slice(20, 24), unseenRow, 0);
    optimizer.dispose();
    tf.dispose([y, ids]);
    disposeParams(emb);
    disposeParams(head);
  });

  it('refuses ids of the wrong rank or dtype, and bad ids given as arrays', async () => {
    await useBackend(backend);
    const { p } = setup();
    const matrix = tf.zeros([2, 1], 'int32');
    const flags = tf.tensor1d([true, false], 'bool');
    expect(() => embedding(matrix as tf.Tensor1D, p)).toThrow(ShapeError);
    expect(() => embedding(matrix as tf.Tensor1D, p)).toThrow("embedding 'emb' ids: expected shape [?], got [2, 1]");
    expect(() => embedding(flags, p)).toThrow(DataError);
    expect(() => embedding(flags, p)).toThrow('got dtype bool');
    for (const bad of [[0, 5], [-1], [1.5], [Number.NaN]]) {
      expectNoLeaks(() => expect(() => embedding(bad, p)).toThrow(DataError));
    }
    expect(() => embedding([0, 2, 5, 1], p)).toThrow("embedding 'emb' ids: expected integer ids in [0, 4], got 5 at position 2");
    tf.dispose([matrix, flags]);
    disposeParams(p);
  });

  it('checks tensor ids only when asked (a read back), then with a DataError', async () => {
    await useBackend(backend);
    const { p } = setup();
    const outOfRange = tf.tensor1d([0, 7], 'int32');
    const fractional = tf.tensor1d([0, 2.5], 'float32');
    expectNoLeaks(() => {
      expect(() => embedding(outOfRange, p, { checkIds: true })).toThrow(DataError);
      expect(() => embedding(fractional, p, { checkIds: true })).toThrow('got 2.5 at position 1');
    });
    // Unchecked, the cpu and wasm gather kernels still refuse an id out of range, as a plain Error.
    expect(() => embedding(outOfRange, p)).toThrow(/index value 7/);
    // and a fractional float id is truncated.
    const truncated = embedding(fractional, p);
    expectAllClose(truncated, lookup(p.table.arraySync() as number[][], [0, 2]), 0);
    tf.dispose([outOfRange, fractional, truncated]);
    disposeParams(p);
  });
});

describe('embedding gradient parity', () => {
  it('cpu (tfjs gather gradient) and wasm (one-hot product) give the same table gradient through a nonlinear loss', async () => {
    const run = async (backend: string) => {
      await useBackend(backend);
      const p = createEmbedding({ name: 'par', count: 7, dims: 5, rng: 2 });
      const ids = tf.tensor1d([6, 0, 6, 2, 2, 2, 5], 'int32');
      const { value, grads } = tf.variableGrads(() => tf.sum(tf.softplus(tf.mul(embedding(ids, p), 3))) as tf.Scalar, [p.table]);
      const g = Array.from(grads[p.table.name]!.dataSync());
      tf.dispose([ids, value, ...Object.values(grads)]);
      disposeParams(p);
      return g;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    expectAllClose(wasm, cpu, 1e-5);
    expect(cpu.slice(5, 10).every((v) => v === 0)).toBe(true); // id 1 unused
  });
});
