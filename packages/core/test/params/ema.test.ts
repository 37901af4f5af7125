import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { loadCheckpoint, memoryCheckpoint, saveCheckpoint } from '../../src/checkpoint/index.js';
import { ConfigError } from '../../src/errors.js';
import { createParameterAverage } from '../../src/params/ema.js';
import { createVariable, disposeParams, flattenParams, type ParamTree } from '../../src/params/tree.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';

/** Bit patterns of a float32 tensor: "restored exactly" means these are equal. */
function bits(t: tf.Tensor): number[] {
  return Array.from(new Uint32Array(Float32Array.from(t.dataSync()).buffer));
}

function treeBits(tree: ParamTree): Record<string, number[]> {
  return Object.fromEntries([...flattenParams(tree)].map(([path, v]) => [path, bits(v)]));
}

/** A small nested tree with a non-trainable leaf, drawn from `seed`. */
function makeParams(prefix: string, seed: number): { enc: { kernel: tf.Variable; bias: tf.Variable }; stats: tf.Variable } {
  const rng = new Rng(seed);
  return {
    enc: {
      kernel: createVariable(rng.normalTensor([2, 3]), `${prefix}/enc/kernel`),
      bias: createVariable(rng.normalTensor([3]), `${prefix}/enc/bias`),
    },
    stats: createVariable(rng.normalTensor([4]), `${prefix}/stats`, false),
  };
}

/** Assigns to every leaf a value drawn from `rng`, as an optimizer step would. */
function step(tree: ParamTree, rng: Rng): void {
  for (const v of flattenParams(tree).values()) tf.tidy(() => v.assign(rng.normalTensor(v.shape)));
}

describe.each(TEST_BACKENDS)('createParameterAverage on %s', (backend) => {
  it('after n updates towards constant parameters the average is p + dⁿ(p₀ − p), for every leaf', async () => {
    await useBackend(backend);
    const params = makeParams('m', 1);
    const initial = new Map([...flattenParams(params)].map(([path, v]) => [path, Array.from(v.dataSync())]));
    const ema = createParameterAverage(params, { decay: 0.8, name: 'ema' });
    expect(flattenParams(ema.averages).size).toBe(3);
    step(params, new Rng(2));
    const n = 7;
    expectNoLeaks(() => {
      for (let i = 0; i < n; i++) ema.update();
    });
    const averages = flattenParams(ema.averages);
    for (const [path, v] of flattenParams(params)) {
      const p = Array.from(v.dataSync());
      const p0 = initial.get(path)!;
      expectAllClose(averages.get(path)!, p.map((pi, i) => pi + 0.8 ** n * (p0[i]! - pi)), 1e-5);
    }
    expect(ema.updates.dataSync()[0]).toBe(n);
    expect(ema.updates.dtype).toBe('int32');
    ema.dispose();
    disposeParams(params);
  });

  it('warm-up uses d_t = min(decay, (1 + t)/(10 + t)): from 1 towards 0 the average is Π d_t', async () => {
    await useBackend(backend);
    const w = createVariable(tf.ones([2]), 'w');
    // With decay 0.5 the warm-up ends at t = 8, where (1 + t)/(10 + t) reaches 0.5.
    const ema = createParameterAverage({ w }, { decay: 0.5, warmup: true, name: 'ema' });
    tf.tidy(() => w.assign(tf.zeros([2])));
    let product = 1;
    let previous = 1;
    for (let t = 0; t < 12; t++) {
      ema.update();
      const d = Math.min(0.5, (1 + t) / (10 + t));
      product *= d;
      const avg = (ema.averages.w as tf.Variable).dataSync();
      expectAllClose(avg, [product, product], 1e-5, 0);
      // Each update's own decay, read back as the ratio of successive averages.
      expect(avg[0]! / previous).toBeCloseTo(d, 5);
      previous = avg[0]!;
    }
    expect(product).toBeCloseTo(0.1 * (2 / 11) * (3 / 12) * (4 / 13) * (5 / 14) * (6 / 15) * (7 / 16) * (8 / 17) * 0.5 ** 4, 12);
    ema.dispose();
    w.dispose();
  });

  it('averages are non-trainable copies under prefixed engine names; update changes no tensor count', async () => {
    await useBackend(backend);
    const params = makeParams('g', 3);
    const first = createParameterAverage(params, { decay: 0.9, name: 'gEma' });
    const second = createParameterAverage(params, { decay: 0.9, name: 'gEma' });
    const leaves = flattenParams(first.averages);
    expect([...leaves.keys()]).toEqual(['enc/kernel', 'enc/bias', 'stats']);
    expect(leaves.get('enc/kernel')!.name).toBe('gEma/averages/enc/kernel');
    expect(first.updates.name).toBe('gEma/updates');
    // A second instance under the same name gets its own engine names.
    expect(flattenParams(second.averages).get('enc/kernel')!.name).not.toBe('gEma/averages/enc/kernel');
    for (const [path, avg] of leaves) {
      expect(avg.trainable).toBe(false);
      expect(avg).not.toBe(flattenParams(params).get(path));
      expect(bits(avg)).toEqual(bits(flattenParams(params).get(path)!));
    }
    expect(first.updates.trainable).toBe(false);
    expect(Object.keys(first.state)).toEqual(['averages', 'updates']);
    expect(first.state.averages).toBe(first.averages);
    step(params, new Rng(4));
    const before = tf.memory().numTensors;
    for (let i = 0; i < 5; i++) first.update();
    expect(tf.memory().numTensors).toBe(before);
    first.dispose();
    second.dispose();
    expect(tf.memory().numTensors).toBe(before - 2 * 4);
    disposeParams(params);
  });

  it('withAveragedParams puts the averages in the live parameters and restores the originals bit for bit, even when fn throws', async () => {
    await useBackend(backend);
    const params = makeParams('g', 5);
    const ema = createParameterAverage(params, { decay: 0.5, name: 'ema' });
    step(params, new Rng(6));
    ema.update();
    const live = treeBits(params);
    const averaged = treeBits(ema.averages);
    expect(averaged).not.toEqual(live);
    await withNoLeaks(async () => {
      // Synchronous, returning a tensor computed from the averaged weights.
      const out = ema.withAveragedParams(() => {
        expect(treeBits(params)).toEqual(averaged);
        return tf.sum(params.enc.kernel);
      });
      const expected = tf.sum(flattenParams(ema.averages).get('enc/kernel')!);
      expect(bits(out)).toEqual(bits(expected));
      tf.dispose([out, expected]);
      expect(treeBits(params)).toEqual(live);
      // Throwing, after writing to a live parameter: both the swap and the write are undone.
      expect(() =>
        ema.withAveragedParams(() => {
          tf.tidy(() => params.stats.assign(tf.zeros([4])));
          throw new RangeError('sampling failed');
        }),
      ).toThrow(RangeError);
      expect(treeBits(params)).toEqual(live);
      // Asynchronous: averaged across an await, restored when the promise settles.
      const value = await ema.withAveragedParams(async () => {
        await new Promise((r) => setTimeout(r, 1));
        expect(treeBits(params)).toEqual(averaged);
        return 42;
      });
      expect(value).toBe(42);
      expect(treeBits(params)).toEqual(live);
      await expect(
        ema.withAveragedParams(async () => {
          await Promise.resolve();
          throw new RangeError('async failure');
        }),
      ).rejects.toThrow(RangeError);
      expect(treeBits(params)).toEqual(live);
    });
    // The averages themselves never moved.
    expect(treeBits(ema.averages)).toEqual(averaged);
    ema.dispose();
    disposeParams(params);
  });

  it('refuses update, copyTo and a nested swap while withAveragedParams runs', async () => {
    await useBackend(backend);
    const params = makeParams('g', 7);
    const ema = createParameterAverage(params, { decay: 0.5, name: 'ema' });
    step(params, new Rng(8));
    const live = treeBits(params);
    ema.withAveragedParams(() => {
      expect(() => ema.update()).toThrow(/update\(\) during withAveragedParams/);
      expect(() => ema.copyTo()).toThrow(ConfigError);
      expect(() => ema.withAveragedParams(() => 0)).toThrow(/withAveragedParams\(\) during withAveragedParams/);
    });
    expect(treeBits(params)).toEqual(live);
    expect(ema.updates.dataSync()[0]).toBe(0);
    ema.dispose();
    disposeParams(params);
  });

  it('copyTo writes the averages into another tree with the same paths (a sampling copy)', async () => {
    await useBackend(backend);
    const params = makeParams('g', 9);
    const copy = makeParams('copy', 10);
    const ema = createParameterAverage(params, { decay: 0.25, name: 'ema' });
    step(params, new Rng(11));
    ema.update();
    expectNoLeaks(() => ema.copyTo(copy));
    expect(treeBits(copy)).toEqual(treeBits(ema.averages));
    ema.copyTo();
    expect(treeBits(params)).toEqual(treeBits(ema.averages));
    const wrong = { enc: { kernel: createVariable(tf.zeros([3, 2]), 'wrong') } };
    expect(() => ema.copyTo(wrong)).toThrow(ConfigError);
    ema.dispose();
    for (const tree of [params, copy, wrong]) disposeParams(tree);
  });

  it('saved in a checkpoint and restored, the average and its warm-up continue as if never interrupted', async () => {
    await useBackend(backend);
    const schedule = (i: number) => new Rng(100 + i);
    // Uninterrupted: 5 updates.
    const paramsA = makeParams('a', 12);
    const emaA = createParameterAverage(paramsA, { decay: 0.9, warmup: true, name: 'a/ema' });
    for (let i = 0; i < 5; i++) {
      step(paramsA, schedule(i));
      emaA.update();
    }
    // Interrupted after 3, saved with the model, restored into a fresh model and average.
    const paramsB = makeParams('b', 12);
    const emaB = createParameterAverage(paramsB, { decay: 0.9, warmup: true, name: 'b/ema' });
    for (let i = 0; i < 3; i++) {
      step(paramsB, schedule(i));
      emaB.update();
    }
    const handler = memoryCheckpoint();
    await saveCheckpoint(handler, { params: { model: paramsB, ema: emaB.state }, config: {} });
    const paramsC = makeParams('c', 99);
    const emaC = createParameterAverage(paramsC, { decay: 0.9, warmup: true, name: 'c/ema' });
    await loadCheckpoint(handler, { params: { model: paramsC, ema: emaC.state }, config: {} });
    expect(emaC.updates.dataSync()[0]).toBe(3);
    for (let i = 3; i < 5; i++) {
      step(paramsC, schedule(i));
      emaC.update();
    }
    expect(emaC.updates.dataSync()[0]).toBe(5);
    expect(treeBits(emaC.averages)).toEqual(treeBits(emaA.averages));
    for (const e of [emaA, emaB, emaC]) e.dispose();
    for (const p of [paramsA, paramsB, paramsC]) disposeParams(p);
  });

  it('a variable reachable by two paths (tied weights) is averaged once; include leaves out other leaves', async () => {
    await useBackend(backend);
    const shared = createVariable(tf.ones([2]), 'shared');
    const counter = createVariable(tf.scalar(3, 'int32'), 'counter', false);
    const params = { encoder: { w: shared }, decoder: { w: shared }, counter };
    expect(() => createParameterAverage(params, { decay: 0.9, name: 'ema' })).toThrow(/dtype of counter/);
    const ema = createParameterAverage(params, { decay: 0.9, name: 'ema', include: (_, v) => v.dtype === 'float32' });
    expect([...flattenParams(ema.averages).keys()]).toEqual(['encoder/w']);
    tf.tidy(() => shared.assign(tf.fill([2], 3)));
    ema.update();
    const avg = flattenParams(ema.averages).get('encoder/w')!;
    expectAllClose(avg, [0.9 + 0.1 * 3, 0.9 + 0.1 * 3], 1e-6);
    ema.withAveragedParams(() => expect(bits(params.decoder.w)).toEqual(bits(avg)));
    expectAllClose(shared, [3, 3], 0);
    ema.copyTo();
    expect(bits(params.decoder.w)).toEqual(bits(avg));
    ema.dispose();
    tf.dispose([shared, counter]);
  });

  it('a tree with arrays (a DBN\'s layers) gets averages at the same paths', async () => {
    await useBackend(backend);
    const params = { layers: [{ W: createVariable(tf.ones([2, 2]), 'l0/W') }, { W: createVariable(tf.zeros([2]), 'l1/W') }] };
    const ema = createParameterAverage(params, { decay: 0.5, name: 'ema' });
    expect([...flattenParams(ema.averages).keys()]).toEqual(['layers/0/W', 'layers/1/W']);
    tf.tidy(() => params.layers[1]!.W.assign(tf.fill([2], 4)));
    ema.update();
    expectAllClose(flattenParams(ema.averages).get('layers/1/W')!, [2, 2], 0);
    ema.withAveragedParams(() => expectAllClose(params.layers[1]!.W, [2, 2], 0));
    expectAllClose(params.layers[1]!.W, [4, 4], 0);
    ema.dispose();
    disposeParams(params);
  });

  it('refuses bad options with a ConfigError', async () => {
    await useBackend(backend);
    const params = makeParams('g', 13);
    const before = tf.memory().numTensors;
    expect(() => createParameterAverage(params, { decay: 1.5, name: 'ema' })).toThrow(/decay": expected a number in \[0, 1\]/);
    expect(() => createParameterAverage(params, { decay: Number.NaN, name: 'ema' })).toThrow(ConfigError);
    expect(() => createParameterAverage(params, { decay: 0.9, name: '' })).toThrow(ConfigError);
    expect(() => createParameterAverage(params, { decay: 0.9, name: 'ema', warmup: 1 as never })).toThrow(ConfigError);
    expect(() => createParameterAverage(params, { decay: 0.9, name: 'ema', decayRate: 0.9 } as never)).toThrow(/got "decayRate"/);
    expect(() => createParameterAverage({}, { decay: 0.9, name: 'ema' })).toThrow(/at least one float32 leaf/);
    expect(tf.memory().numTensors).toBe(before);
    disposeParams(params);
  });
});

describe('parameter average after dispose', () => {
  it('refuses update, copyTo and withAveragedParams with a ConfigError, leaving the live parameters usable', async () => {
    const { createParameterAverage } = await import('../../src/params/ema.js');
    const { createVariable } = await import('../../src/params/tree.js');
    const w = createVariable(tf.tensor1d([1, 2]), 'emaDisposed/w');
    const ema = createParameterAverage({ w }, { decay: 0.9, name: 'emaDisposed' });
    ema.dispose();
    ema.dispose(); // twice is harmless
    expect(() => ema.update()).toThrow(/after dispose\(\)/);
    expect(() => ema.copyTo()).toThrow(/after dispose\(\)/);
    expect(() => ema.withAveragedParams(() => 0)).toThrow(/after dispose\(\)/);
    expect(Array.from(w.dataSync())).toEqual([1, 2]);
    w.dispose();
  });
});
