import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  CHECKPOINT_FORMAT,
  configMismatch,
  loadCheckpoint,
  memoryCheckpoint,
  restoreFromArtifacts,
  saveCheckpoint,
  toCheckpointArtifacts,
} from '../../src/checkpoint/index.js';
import { CheckpointError } from '../../src/errors.js';
import { flattenParams } from '../../src/params/index.js';
import { Rng } from '../../src/random/index.js';
import { createOptimizer } from '../../src/optim/index.js';
import { expectAllClose, maxRelativeError, TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';
import { adamStep, disposeModel, snapshot, stepDeltas, tinyModel } from './fixtures.js';

describe.each(TEST_BACKENDS)('checkpoints in memory on %s', (backend) => {
  it('round trip restores every leaf (nested, int32, bool, non-trainable) and the JSON config, state and metadata', async () => {
    await useBackend(backend);
    const a = tinyModel(1);
    const b = tinyModel(2);
    const rng = new Rng(5);
    for (let i = 0; i < 10; i++) rng.next();
    const target = memoryCheckpoint();
    const state = { rng: rng.state(), note: 'pcd' };
    await withNoLeaks(() =>
      saveCheckpoint(target, { params: a.params, config: a.config, state, metadata: { epoch: 3, step: 120 } }),
    );
    expect(snapshot(b.params, flattenParams)).not.toEqual(snapshot(a.params, flattenParams));
    const restored = await withNoLeaks(() =>
      loadCheckpoint(target, { params: b.params, validateConfig: (saved) => configMismatch(b.config, saved) }),
    );
    expect(snapshot(b.params, flattenParams)).toEqual(snapshot(a.params, flattenParams));
    expect(b.params.sampler.visits.dtype).toBe('int32');
    expect(b.params.sampler.active.dtype).toBe('bool');
    expect(b.params.sampler.chains.trainable).toBe(false);
    expect(restored.config).toEqual(a.config);
    expect(restored.state).toEqual(state);
    expect(restored.metadata).toEqual({ epoch: 3, step: 120 });
    expect(Number.isNaN(Date.parse(restored.createdAt))).toBe(false);
    // The saved Rng state resumes the same stream.
    const resumed = Rng.fromState((restored.state as { rng: [number, number, number, number] }).rng);
    expect(resumed.next()).toBe(rng.next());
    disposeModel(a);
    disposeModel(b);
  });

  it('weights are named by ParamTree path, not by engine variable name', async () => {
    await useBackend(backend);
    const a = tinyModel(1);
    const b = tinyModel(1); // engine names of b's variables get a _1 suffix
    expect(b.params.encoder.dense1.kernel.name).not.toBe('encoder/dense1/kernel');
    const artifacts = await toCheckpointArtifacts({ params: b.params, config: b.config });
    expect(artifacts.format).toBe(CHECKPOINT_FORMAT);
    expect(artifacts.weightSpecs!.map((s) => s.name)).toEqual([
      'encoder/dense1/kernel',
      'encoder/dense1/bias',
      'sampler/chains',
      'sampler/visits',
      'sampler/active',
    ]);
    expect(artifacts.weightSpecs!.map((s) => s.dtype)).toEqual(['float32', 'float32', 'float32', 'int32', 'bool']);
    // 6 + 2 + 12 floats, 4 int32, 4 bools
    expect((artifacts.weightData as ArrayBuffer).byteLength).toBe(20 * 4 + 4 * 4 + 4);
    disposeModel(a);
    disposeModel(b);
  });

  it('Adam state round trips: the next step after restore equals the original next step (to float32 rounding)', async () => {
    await useBackend(backend);
    const rng = new Rng(11);
    const x = rng.normalTensor([8, 3]) as tf.Tensor2D;
    const y = rng.normalTensor([8, 2]) as tf.Tensor2D;
    const a = tinyModel(1);
    const b = tinyModel(2);
    const adamA = tf.train.adam(0.05);
    const adamB = tf.train.adam(0.05);
    for (let i = 0; i < 3; i++) adamStep(a, adamA, x, y);
    const target = memoryCheckpoint();
    await withNoLeaks(() => saveCheckpoint(target, { params: a.params, config: a.config, optimizers: { adam: adamA } }));
    const names = target.artifacts!.weightSpecs!.filter((s) => s.group === 'optimizer').map((s) => s.name);
    expect(names[0]).toBe('optimizers/adam/iter');
    expect(names).toHaveLength(1 + 2 * 2);

    const before = tf.memory().numTensors;
    await loadCheckpoint(target, { params: b.params, config: b.config, optimizers: { adam: adamB } });
    // The only new tensors are the optimizer's own moment variables (2 per trained variable).
    expect(tf.memory().numTensors - before).toBe(4);

    // A fresh optimizer (no moments) on the same weights takes a different step: the check is not vacuous.
    const c = tinyModel(3);
    const adamC = tf.train.adam(0.05);
    await loadCheckpoint(target, { params: c.params, config: c.config });
    expect(snapshot(b.params, flattenParams)).toEqual(snapshot(a.params, flattenParams));
    const [stepA, stepB, stepC] = stepDeltas([a, b, c], [adamA, adamB, adamC], x, y);
    expectAllClose(stepB!, stepA!, 1e-4, 1e-3);
    expect(maxRelativeError(stepC!, stepA!, 1e-3)).toBeGreaterThan(0.05);
    for (const o of [adamA, adamB, adamC]) o.dispose();
    for (const m of [a, b, c]) disposeModel(m);
    tf.dispose([x, y]);
  });

  it('tfjs passthrough handlers (withSaveHandler, fromMemory) carry a checkpoint', async () => {
    await useBackend(backend);
    const a = tinyModel(1);
    const b = tinyModel(2);
    let captured: tf.io.ModelArtifacts | undefined;
    await saveCheckpoint(
      tf.io.withSaveHandler(async (artifacts) => {
        captured = artifacts;
        return { modelArtifactsInfo: tf.io.getModelArtifactsInfoForJSON(artifacts) };
      }),
      { params: a.params, config: a.config, metadata: { step: 7 } },
    );
    const restored = await loadCheckpoint(tf.io.fromMemory(captured!), { params: b.params, config: b.config });
    expect(snapshot(b.params, flattenParams)).toEqual(snapshot(a.params, flattenParams));
    expect(restored.metadata.step).toBe(7);
    disposeModel(a);
    disposeModel(b);
  });
});

describe.each(TEST_BACKENDS)('checkpoint errors on %s', (backend) => {
  async function saved(seed = 1) {
    const model = tinyModel(seed);
    const target = memoryCheckpoint();
    await saveCheckpoint(target, { params: model.params, config: model.config, optimizers: {} });
    disposeModel(model);
    return target.artifacts!;
  }

  it('shape mismatch names both shapes and leaves every variable unchanged', async () => {
    await useBackend(backend);
    const artifacts = await saved();
    const other = tinyModel(4, 2, 3); // kernel [2, 3] instead of [3, 2]
    const before = snapshot(other.params, flattenParams);
    // Its config differs too (visible 2, not 3); skip that check to reach the shapes.
    const error = await restoreFromArtifacts(artifacts, { params: other.params, ignoreConfig: true }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(
      /weight 'encoder\/dense1\/kernel': the model expects shape \[2, 3\] float32, the checkpoint has shape \[3, 2\] float32/,
    );
    expect(snapshot(other.params, flattenParams)).toEqual(before);
    disposeModel(other);
  });

  it('a weight missing from the checkpoint is named with its expected shape and what the checkpoint has', async () => {
    await useBackend(backend);
    const artifacts = await saved();
    const model = tinyModel(2);
    const extra = tf.variable(tf.zeros([5]), true, 'decoder_bias_for_test');
    const params = { ...model.params, decoder: { bias: extra } };
    await expect(withNoLeaks(() => restoreFromArtifacts(artifacts, { ignoreConfig: true, params }))).rejects.toThrow(
      /weight 'decoder\/bias' \(shape \[5\] float32\) is missing; the checkpoint has encoder\/dense1\/kernel/,
    );
    extra.dispose();
    disposeModel(model);
  });

  it('weights the model lacks are refused unless ignoreExtraWeights', async () => {
    await useBackend(backend);
    const artifacts = await saved();
    const model = tinyModel(2);
    const { sampler, ...rest } = model.params;
    await expect(restoreFromArtifacts(artifacts, { ignoreConfig: true, params: rest })).rejects.toThrow(
      /weights the model lacks: sampler\/chains, sampler\/visits, sampler\/active/,
    );
    await restoreFromArtifacts(artifacts, { ignoreConfig: true, params: rest, ignoreExtraWeights: true });
    const original = tinyModel(1);
    expect(snapshot(rest, flattenParams)).toEqual(snapshot({ encoder: original.params.encoder }, flattenParams));
    // The skipped leaves were not touched.
    expect(snapshot({ sampler }, flattenParams)).not.toEqual(snapshot({ sampler: original.params.sampler }, flattenParams));
    disposeModel(model);
    disposeModel(original);
  });

  it('a config the validator refuses gives CheckpointError naming the field, expected and found', async () => {
    await useBackend(backend);
    const artifacts = await saved();
    const model = tinyModel(2);
    const config = { ...model.config, hidden: 5 };
    const error = await restoreFromArtifacts(artifacts, {
      params: model.params,
      validateConfig: (s) => configMismatch(config, s),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(/saved config does not match the model's: config.hidden: expected 5, found 2/);
    // A validator that throws is reported the same way.
    await expect(
      restoreFromArtifacts(artifacts, {
        params: model.params,
        validateConfig: () => {
          throw new Error('wrong family');
        },
      }),
    ).rejects.toThrow(CheckpointError);
    disposeModel(model);
  });

  it('weight data shorter than the manifest lists gives both byte counts', async () => {
    await useBackend(backend);
    const artifacts = await saved();
    const truncated = { ...artifacts, weightData: (artifacts.weightData as ArrayBuffer).slice(0, 40) };
    const model = tinyModel(2);
    await expect(restoreFromArtifacts(truncated, { params: model.params, config: model.config })).rejects.toThrow(
      /the manifest lists 100 bytes of weights, but the weight data holds 40 bytes/,
    );
    disposeModel(model);
  });

  it('artifacts that are not a Helmholtz checkpoint, or from a newer format, are refused', async () => {
    await useBackend(backend);
    const artifacts = await saved();
    const model = tinyModel(2);
    await expect(restoreFromArtifacts({ ...artifacts, format: 'layers-model' }, { params: model.params, config: model.config })).rejects.toThrow(
      /expected format "helmholtz-checkpoint", found "layers-model"/,
    );
    const newer = { ...artifacts, userDefinedMetadata: { helmholtz: { formatVersion: 3 } } };
    await expect(restoreFromArtifacts(newer, { params: model.params, config: model.config })).rejects.toThrow(/formatVersion <= 2, found 3/);
    disposeModel(model);
  });

  it('optimizer state the optimizer rejects leaves every model variable unchanged', async () => {
    await useBackend(backend);
    const a = tinyModel(1);
    const sgd = createOptimizer({ kind: 'sgd', learningRate: 0.1 }, a.params);
    const artifacts = await toCheckpointArtifacts({ params: a.params, config: a.config, optimizers: { opt: sgd } });
    const b = tinyModel(2);
    const adam = createOptimizer({ kind: 'adam', learningRate: 0.1 }, b.params); // expects 2 slots per variable
    const before = snapshot(b.params, flattenParams);
    const error = await restoreFromArtifacts(artifacts, { params: b.params, config: b.config, optimizers: { opt: adam }, location: 'ckpt' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(/^checkpoint ckpt: optimizer 'opt': no slot "encoder\/dense1\/kernel\/m" for parameter "encoder\/dense1\/kernel".*nothing was changed/);
    expect(adam.iterations).toBe(0);
    expect(snapshot(b.params, flattenParams)).toEqual(before);
    sgd.dispose();
    adam.dispose();
    disposeModel(a);
    disposeModel(b);
  });

  it('an optimizer the checkpoint does not hold is named', async () => {
    await useBackend(backend);
    const artifacts = await saved();
    const model = tinyModel(2);
    const adam = tf.train.adam();
    await expect(restoreFromArtifacts(artifacts, { params: model.params, config: model.config, optimizers: { adam } })).rejects.toThrow(
      /optimizer 'adam' is missing; the checkpoint has optimizers \(none\)/,
    );
    adam.dispose();
    disposeModel(model);
  });

  it('loading an empty memory checkpoint says nothing was saved', async () => {
    await useBackend(backend);
    const model = tinyModel(2);
    await expect(loadCheckpoint(memoryCheckpoint(), { params: model.params, config: model.config })).rejects.toThrow(
      /checkpoint memory: nothing has been saved/,
    );
    disposeModel(model);
  });
});

describe('configMismatch', () => {
  it('finds the first differing field at any depth, or null when equal', () => {
    expect(configMismatch({ a: 1, b: [1, { c: 'x' }] }, { a: 1, b: [1, { c: 'x' }] })).toBeNull();
    expect(configMismatch({ a: 1, b: [1, { c: 'x' }] }, { a: 1, b: [1, { c: 'y' }] })).toBe(
      'config.b[1].c: expected "x", found "y"',
    );
    expect(configMismatch({ a: 1 }, { a: 1, extra: true })).toBe('config.extra: expected nothing, found true');
    expect(configMismatch({ a: 1, skipped: undefined }, { a: 1 })).toBeNull();
    expect(configMismatch({ layers: [1, 2] }, { layers: [1] })).toBe('config.layers: expected 2 entries, found 1');
  });
});
