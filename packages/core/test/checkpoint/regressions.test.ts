import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  createOptimizer,
  createVariable,
  disposeParams,
  flattenParams,
  loadCheckpoint,
  memoryCheckpoint,
  Rng,
  saveCheckpoint,
  toCheckpointArtifacts,
  type ParamTree,
} from '../../src/index.js';
import { expectAllClose, TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';

const values = (v: tf.Tensor) => Array.from(v.dataSync());

function rbm(prefix: string, seed: number, visible = 4, hidden = 3) {
  const rng = new Rng(seed);
  return {
    W: createVariable(rng.normalTensor([visible, hidden]), `${prefix}/W`),
    visibleBias: createVariable(rng.normalTensor([visible]), `${prefix}/visibleBias`),
    hiddenBias: createVariable(rng.normalTensor([hidden]), `${prefix}/hiddenBias`),
  };
}

describe.each(TEST_BACKENDS)('checkpoint regressions on %s', (backend) => {
  it('float32 variables made from bool, int32 and float32 tensors round trip with their values (bug 1)', async () => {
    await useBackend(backend);
    const rng = new Rng(3);
    // PCD chains the way core's README makes them: Bernoulli draws (a cast from bool on cpu).
    const chains = createVariable(rng.bernoulli(tf.fill([4, 8], 0.5)), 'bug1/chains', false);
    const fromBool = createVariable(tf.cast(tf.tensor1d([true, false, true, true], 'bool'), 'float32'), 'bug1/fromBool', false);
    const fromInt = createVariable(tf.cast(tf.tensor1d([1, 2, 3, 7], 'int32'), 'float32'), 'bug1/fromInt', false);
    const plain = createVariable(tf.tensor1d([0.5, -1.25]), 'bug1/plain');
    const params: ParamTree = { chains, fromBool, fromInt, plain };
    const expected = Object.fromEntries([...flattenParams(params)].map(([k, v]) => [k, values(v)]));
    const target = memoryCheckpoint();
    await saveCheckpoint(target, { params, config: {} });
    const bytes = (target.artifacts!.weightData as ArrayBuffer).byteLength;
    expect(bytes).toBe((32 + 4 + 4 + 2) * 4);
    const copy = Object.fromEntries(
      [...flattenParams(params)].map(([k, v]) => [k, createVariable(tf.zerosLike(v), `bug1copy/${k}`, v.trainable)]),
    );
    await loadCheckpoint(target, { ignoreConfig: true, params: copy });
    for (const [k, v] of flattenParams(copy)) expect(values(v)).toEqual(expected[k]);
    expect(values(copy.fromInt as tf.Variable)).toEqual([1, 2, 3, 7]);
    disposeParams(params);
    disposeParams(copy);
  });

  it('a checkpoint refused by its second optimizer leaves the first optimizer and every variable unchanged (bug 3)', async () => {
    await useBackend(backend);
    const gen = rbm('b3gen', 1);
    const disc = rbm('b3disc', 2);
    const optG = createOptimizer({ kind: 'adam', learningRate: 0.1 }, gen);
    const optD = createOptimizer({ kind: 'adam', learningRate: 0.1 }, disc);
    for (let i = 0; i < 3; i++) {
      optG.minimize(() => tf.sum(tf.square(gen.W)) as tf.Scalar).dispose();
      optD.minimize(() => tf.sum(tf.square(disc.W)) as tf.Scalar).dispose();
    }
    const target = memoryCheckpoint();
    await saveCheckpoint(target, { params: { gen, disc }, config: {}, optimizers: { generator: optG, discriminator: optD } });

    const gen2 = rbm('b3gen2', 5);
    const disc2 = rbm('b3disc2', 6);
    const freshG = createOptimizer({ kind: 'adam', learningRate: 0.1 }, gen2);
    // The discriminator's optimizer is of another kind: its state cannot be restored.
    const freshD = createOptimizer({ kind: 'momentum', learningRate: 0.1 }, disc2);
    const before = values(gen2.W);
    const error = await loadCheckpoint(target, {
      ignoreConfig: true,
      params: { gen: gen2, disc: disc2 },
      optimizers: { generator: freshG, discriminator: freshD },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(/optimizer 'discriminator': .*nothing was changed/);
    expect(freshG.iterations).toBe(0);
    expect(values(freshG.slotVariables().get('W/m')!)).toEqual(new Array(12).fill(0));
    expect(values(gen2.W)).toEqual(before);
    [optG, optD, freshG, freshD].forEach((o) => o.dispose());
    [gen, disc, gen2, disc2].forEach((p) => disposeParams(p));
  });

  it('optimizer state restores by parameter path through a checkpoint, whatever the key order (bug 2)', async () => {
    await useBackend(backend);
    const a = rbm('b2a', 1);
    const b = rbm('b2b', 2);
    const reordered = { hiddenBias: b.hiddenBias, W: b.W, visibleBias: b.visibleBias };
    const optA = createOptimizer({ kind: 'adam', learningRate: 0.05 }, a);
    const loss = (p: typeof a) => () => tf.add(tf.sum(tf.square(p.W)), tf.sum(tf.square(tf.sub(p.hiddenBias, 1)))) as tf.Scalar;
    for (let i = 0; i < 3; i++) optA.minimize(loss(a)).dispose();
    const target = memoryCheckpoint();
    await saveCheckpoint(target, { params: a, config: {}, optimizers: { adam: optA } });
    const optB = createOptimizer({ kind: 'adam', learningRate: 0.05 }, reordered);
    await withNoLeaks(() => loadCheckpoint(target, { ignoreConfig: true, params: reordered, optimizers: { adam: optB } }));
    expect(optB.iterations).toBe(3);
    for (let i = 0; i < 2; i++) {
      optA.minimize(loss(a)).dispose();
      optB.minimize(loss(b)).dispose();
    }
    expectAllClose(b.W, values(a.W), 1e-6);
    expectAllClose(b.hiddenBias, values(a.hiddenBias), 1e-6);
    // A tree with another parameter name is refused, naming it.
    const renamed = { weights: b.W, visibleBias: b.visibleBias, hiddenBias: b.hiddenBias };
    const optC = createOptimizer({ kind: 'adam', learningRate: 0.05 }, renamed);
    await expect(loadCheckpoint(target, { ignoreConfig: true, params: a, optimizers: { adam: optC } })).rejects.toThrow(/no slot "weights\/m" for parameter "weights"/);
    [optA, optB, optC].forEach((o) => o.dispose());
    disposeParams(a);
    disposeParams(b);
  });

  it('a DBN (an array of layers) loads the RBM of its first layer: into, allowMissing', async () => {
    await useBackend(backend);
    const layer0 = rbm('dbnLayer0', 1);
    const target = memoryCheckpoint();
    await saveCheckpoint(target, { params: layer0, config: { visible: 4, hidden: 3 } });
    const dbn = { layers: [rbm('dbn0', 7), rbm('dbn1', 8, 3, 2)] };
    const untouched = values(dbn.layers[1]!.W);
    // Without allowMissing, the DBN's second layer is missing from the RBM checkpoint.
    await expect(loadCheckpoint(target, { ignoreConfig: true, params: dbn })).rejects.toThrow(/weight 'layers\/0\/W' .* is missing.*allowMissing/);
    const restored = await withNoLeaks(() => loadCheckpoint(target, { ignoreConfig: true, params: dbn, into: 'layers/0' }));
    expect(restored.loaded).toEqual(['layers/0/W', 'layers/0/visibleBias', 'layers/0/hiddenBias']);
    expect(values(dbn.layers[0]!.W)).toEqual(values(layer0.W));
    expect(values(dbn.layers[1]!.W)).toEqual(untouched);
    // The same through allowMissing on a checkpoint saved under the DBN's names.
    const dbnTarget = memoryCheckpoint();
    await saveCheckpoint(dbnTarget, { params: { layers: [layer0] }, config: {} });
    const fresh = { layers: [rbm('dbnB0', 9), rbm('dbnB1', 10, 3, 2)] };
    const partial = await loadCheckpoint(dbnTarget, { ignoreConfig: true, params: fresh, allowMissing: true });
    expect(partial.missing).toEqual(['layers/1/W', 'layers/1/visibleBias', 'layers/1/hiddenBias']);
    expect(values(fresh.layers[0]!.hiddenBias)).toEqual(values(layer0.hiddenBias));
    // And the other way: one layer of a DBN checkpoint into a standalone RBM.
    const single = rbm('single', 11);
    await loadCheckpoint(dbnTarget, { ignoreConfig: true, params: single, from: 'layers/0' });
    expect(values(single.W)).toEqual(values(layer0.W));
    await expect(loadCheckpoint(dbnTarget, { ignoreConfig: true, params: single, from: 'layers/5' })).rejects.toThrow(/no weights under 'layers\/5\/'/);
    await expect(loadCheckpoint(target, { ignoreConfig: true, params: dbn, into: 'layers/9' })).rejects.toThrow(/the model has no subtree 'layers\/9'/);
    // A wrong shape is still refused under allowMissing.
    const wrong = { layers: [rbm('dbnW0', 1, 5, 3)] };
    await expect(loadCheckpoint(dbnTarget, { ignoreConfig: true, params: wrong, allowMissing: true })).rejects.toThrow(/expects shape \[5, 3\]/);
    [layer0, ...dbn.layers, ...fresh.layers, single, ...wrong.layers].forEach((p) => disposeParams(p));
  });

  it('tied weights load whatever the key order, and into a subtree that reaches them by its own path', async () => {
    await useBackend(backend);
    const kernel = createVariable(tf.tensor2d([[1, 2]]), 'tiedOrder/kernel');
    const bias = createVariable(tf.tensor1d([3]), 'tiedOrder/bias');
    const saved = memoryCheckpoint();
    await saveCheckpoint(saved, { params: { encoder: { kernel }, decoder: { kernel, bias } }, config: {} });
    expect(saved.artifacts!.weightSpecs!.map((w) => w.name)).toEqual(['encoder/kernel', 'decoder/bias']);
    // Keys in the other order: the kernel's first path is decoder/kernel now.
    const k2 = createVariable(tf.zeros([1, 2]), 'tiedOrder/kernel2');
    const b2 = createVariable(tf.zeros([1]), 'tiedOrder/bias2');
    await loadCheckpoint(saved, { ignoreConfig: true, params: { decoder: { kernel: k2, bias: b2 }, encoder: { kernel: k2 } } });
    expect(values(k2)).toEqual([1, 2]);
    expect(values(b2)).toEqual([3]);
    // Only the decoder subtree: its kernel is the tied one, found under encoder/kernel.
    const k3 = createVariable(tf.zeros([1, 2]), 'tiedOrder/kernel3');
    const b3 = createVariable(tf.zeros([1]), 'tiedOrder/bias3');
    // From the whole model's checkpoint, the decoder's subtree has only its bias under decoder/:
    // the tied kernel was saved as encoder/kernel. It is reported missing, never skipped silently.
    const partial = await loadCheckpoint(saved, {
      ignoreConfig: true,
      params: { encoder: { kernel: k3 }, decoder: { kernel: k3, bias: b3 } },
      from: 'decoder',
      into: 'decoder',
      allowMissing: true,
    });
    expect(partial.loaded).toEqual(['decoder/bias']);
    expect(partial.missing).toEqual(['decoder/kernel']);
    // Saved from the decoder alone, both load, the kernel through its decoder path.
    const decoderOnly = memoryCheckpoint();
    await saveCheckpoint(decoderOnly, { params: { kernel, bias }, config: {} });
    const done = await loadCheckpoint(decoderOnly, { ignoreConfig: true, params: { encoder: { kernel: k3 }, decoder: { kernel: k3, bias: b3 } }, into: 'decoder' });
    expect(done.loaded).toEqual(['decoder/kernel', 'decoder/bias']);
    expect(values(k3)).toEqual([1, 2]);
    await expect(loadCheckpoint(decoderOnly, { ignoreConfig: true, params: { decoder: { kernel: k3 } }, into: 'decoder/kernel' })).rejects.toThrow(
      /a leaf, not a subtree, at 'decoder\/kernel'/,
    );
    tf.dispose([kernel, bias, k2, b2, k3, b3]);
  });

  it('a variable reachable by two paths (tied weights) is saved and counted once', async () => {
    await useBackend(backend);
    const kernel = createVariable(tf.ones([3, 2]), 'tiedCkpt/kernel');
    const params: ParamTree = { encoder: { kernel }, decoder: { kernel } };
    const artifacts = await toCheckpointArtifacts({ params, config: {} });
    expect(artifacts.weightSpecs!.map((s) => s.name)).toEqual(['encoder/kernel']);
    kernel.dispose();
  });
});
