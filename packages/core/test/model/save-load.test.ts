import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  CheckpointError,
  createOptimizer,
  isGenerativeModel,
  loadCheckpoint,
  loadModel,
  memoryCheckpoint,
  modelCapabilities,
  Rng,
  saveCheckpoint,
  saveModel,
  type GenerativeModel,
  type ParameterGroupOptimizer,
} from '../../src/index.js';
import { TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';
import { IndependentBernoulli, tinyModels } from './independent-bernoulli.js';

const values = (t: tf.Tensor) => Array.from(t.dataSync());
const data = { dataset: 'toy', split: 'test', binarization: 'none (binary data)' };

async function trained(seed: number) {
  const model = new IndependentBernoulli({ features: 6, chains: 3 });
  const optimizer = createOptimizer({ kind: 'adam', learningRate: 0.1 }, model.params);
  const rng = new Rng(seed);
  const x = tf.tensor2d([1, 1, 0, 0, 1, 0, 1, 0, 0, 0, 1, 1, 1, 1, 1, 0, 0, 0], [3, 6]);
  for (let i = 0; i < 5; i++) optimizer.minimize(() => tf.neg(tf.mean(model.logProbability(x))) as tf.Scalar).dispose();
  model.state.chains.assign(model.sample(3, { rng }));
  return { model, optimizer, rng, x };
}

describe.each(TEST_BACKENDS)('saveModel / loadModel on %s', (backend) => {
  it('a model round trips: same params, state, likelihood, optimizer and samples after loading', async () => {
    await useBackend(backend);
    const { model, optimizer, rng, x } = await trained(4);
    expect(isGenerativeModel(model)).toBe(true);
    expect(modelCapabilities(model)).toEqual({ sample: true, encode: false, decode: false, reconstruct: true, logLikelihood: true });
    const target = memoryCheckpoint();
    await withNoLeaks(() => saveModel(target, model, { optimizers: { adam: optimizer }, rng, extra: { note: 'toy' }, metadata: { epoch: 1, step: 5 } }));
    expect(target.artifacts!.weightSpecs!.map((s) => s.name)).toEqual([
      'params/logits',
      'state/chains',
      'optimizers/adam/iter',
      'optimizers/adam/logits/m',
      'optimizers/adam/logits/v',
    ]);

    const loaded = await loadModel<IndependentBernoulli>(target, tinyModels, {
      optimizers: (m) => ({ adam: createOptimizer({ kind: 'adam', learningRate: 0.1 }, m.params) }),
    });
    const copy = loaded.model;
    expect(copy).not.toBe(model);
    expect(copy.config).toEqual(model.config);
    expect(values(copy.params.logits)).toEqual(values(model.params.logits));
    expect(values(copy.state.chains)).toEqual(values(model.state.chains));
    expect(loaded.extra).toEqual({ note: 'toy' });
    expect(loaded.metadata).toEqual({ epoch: 1, step: 5 });
    expect((loaded.optimizers.adam as ParameterGroupOptimizer).iterations).toBe(5);

    // The saved generator resumes the stream: both draw the same samples.
    const a = model.sample(4, { rng });
    const b = copy.sample(4, { rng: loaded.rng! });
    expect(values(b)).toEqual(values(a));
    const before = await model.logLikelihood(x, { data });
    const after = await copy.logLikelihood(x, { data });
    expect(after).toEqual(before);
    expect(after.kind).toBe('exact');
    expect(after.protocol).toMatchObject({ ...data, examples: 3, method: 'exact' });

    // Training goes on identically from the restored optimizer.
    const stepOf = (m: IndependentBernoulli, o: ParameterGroupOptimizer) =>
      o.minimize(() => tf.neg(tf.mean(m.logProbability(x))) as tf.Scalar).dispose();
    stepOf(model, optimizer);
    stepOf(copy, loaded.optimizers.adam as ParameterGroupOptimizer);
    expect(values(copy.params.logits)).toEqual(values(model.params.logits));

    tf.dispose([a, b, x]);
    optimizer.dispose();
    (loaded.optimizers.adam as ParameterGroupOptimizer).dispose();
    model.dispose();
    copy.dispose();
  });

  it('loading leaves no tensors behind beyond the model and optimizers it returns', async () => {
    await useBackend(backend);
    const { model, optimizer, x } = await trained(5);
    const target = memoryCheckpoint();
    await saveModel(target, model, { optimizers: { adam: optimizer } });
    const before = tf.memory().numTensors;
    const loaded = await loadModel(target, tinyModels, { optimizers: (m) => ({ adam: createOptimizer({ kind: 'adam', learningRate: 0.1 }, m.params) }) });
    (loaded.optimizers.adam as ParameterGroupOptimizer).dispose();
    loaded.model.dispose();
    expect(tf.memory().numTensors).toBe(before);
    optimizer.dispose();
    model.dispose();
    x.dispose();
  });

  it('an unknown kind, a non-model checkpoint and a refused optimizer are CheckpointErrors that dispose what was built', async () => {
    await useBackend(backend);
    const { model, optimizer, x } = await trained(6);
    const target = memoryCheckpoint();
    await saveModel(target, model, { optimizers: { adam: optimizer } });
    await expect(loadModel(target, {})).rejects.toThrow(/holds a 'independent-bernoulli' model, and the factories given know no kind/);
    await expect(loadModel(target, { vae: tinyModels['independent-bernoulli']! })).rejects.toThrow(/know 'vae'/);

    const plain = memoryCheckpoint();
    await saveCheckpoint(plain, { params: model.params, config: model.config });
    await expect(loadModel(plain, tinyModels)).rejects.toThrow(/written by saveCheckpoint, not saveModel/);

    const before = tf.memory().numTensors;
    let built: GenerativeModel<unknown> | null = null;
    const error = await loadModel(target, tinyModels, {
      optimizers: (m) => ((built = m), { adam: createOptimizer({ kind: 'momentum', learningRate: 0.1 }, m.params) }),
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect(String(error)).toMatch(/optimizer 'adam': no slot "logits\/momentum"/);
    expect(built).not.toBeNull();
    expect(tf.memory().numTensors).toBe(before);

    // A factory whose model disagrees with the saved config is refused, naming the field.
    const drifting = { 'independent-bernoulli': () => new IndependentBernoulli({ features: 6, chains: 4 }) };
    await expect(loadModel(target, drifting)).rejects.toThrow(/config\.chains: expected 4, found 3/);
    expect(tf.memory().numTensors).toBe(before);

    // The parameters of a model checkpoint load into a bare tree with `from`.
    const bare = new IndependentBernoulli({ features: 6, chains: 3 });
    await loadCheckpoint(target, { params: bare.params, config: bare.config, from: 'params', ignoreExtraWeights: true });
    expect(values(bare.params.logits)).toEqual(values(model.params.logits));
    bare.dispose();
    optimizer.dispose();
    model.dispose();
    x.dispose();
  });

  it('a config that is not plain JSON is refused before anything is written', async () => {
    await useBackend(backend);
    const model = new IndependentBernoulli({ features: 2, chains: 1 });
    const target = memoryCheckpoint();
    const withFunction = Object.assign(Object.create(Object.getPrototypeOf(model)), model, {
      config: { features: 2, chains: 1, activation: () => 0 },
    }) as GenerativeModel;
    await expect(saveModel(target, withFunction)).rejects.toThrow(/config\.activation is a function/);
    const withNaN = Object.assign(Object.create(Object.getPrototypeOf(model)), model, { config: { features: 2, chains: Number.NaN } }) as GenerativeModel;
    await expect(saveModel(target, withNaN)).rejects.toThrow(/config\.chains is NaN/);
    expect(target.artifacts).toBeNull();
    model.dispose();
  });
});
