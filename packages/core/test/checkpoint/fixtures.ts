import * as tf from '@tensorflow/tfjs-core';
import { matMul } from '../../src/fast/index.js';
import { createVariable, disposeParams, type ParamTree } from '../../src/params/index.js';
import { Rng } from '../../src/random/index.js';

/**
 * A small model with what checkpoints must carry: nested names, float32 and int32 and bool
 * leaves, and non-trainable persistent chains.
 */
export interface TinyModel {
  config: { visible: number; hidden: number; chains: number };
  params: ParamTree & {
    encoder: { dense1: { kernel: tf.Variable; bias: tf.Variable } };
    sampler: { chains: tf.Variable; visits: tf.Variable; active: tf.Variable };
  };
}

export function tinyModel(seed: number, visible = 3, hidden = 2): TinyModel {
  const rng = new Rng(seed);
  const chains = 4;
  return {
    config: { visible, hidden, chains },
    params: {
      encoder: {
        dense1: {
          kernel: createVariable(rng.normalTensor([visible, hidden]), 'encoder/dense1/kernel'),
          bias: createVariable(rng.normalTensor([hidden]), 'encoder/dense1/bias'),
        },
      },
      sampler: {
        chains: createVariable(rng.uniform([chains, visible]), 'sampler/chains', false),
        visits: createVariable(rng.uniform([chains], 0, 1000, 'int32'), 'sampler/visits', false),
        active: createVariable(tf.tensor1d([true, false, true, true], 'bool'), 'sampler/active', false),
      },
    },
  };
}

export function disposeModel(model: TinyModel): void {
  disposeParams(model.params);
}

/** Snapshot of every leaf's values, to compare models after a round trip. */
export function snapshot(params: ParamTree, flatten: (p: ParamTree) => Map<string, tf.Variable>): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const [path, v] of flatten(params)) out[path] = Array.from(v.dataSync() as ArrayLike<number>);
  return out;
}

/** One Adam step on a least-squares loss of the model's dense layer. */
export function adamStep(model: TinyModel, optimizer: tf.Optimizer, x: tf.Tensor2D, y: tf.Tensor2D): void {
  const { kernel, bias } = model.params.encoder.dense1;
  const cost = optimizer.minimize(
    () => tf.mean(tf.square(tf.sub(tf.add(matMul(x, kernel as tf.Tensor2D), bias), y))) as tf.Scalar,
    false,
    [kernel, bias],
  );
  cost?.dispose();
}

/**
 * The change one Adam step makes to each model, as flat arrays. A restored Adam rebuilds
 * beta^t with pow() where the original multiplied step by step, so the two updates agree
 * to float32 rounding (about 1e-5 relative), not bit for bit.
 */
export function stepDeltas(
  models: TinyModel[],
  optimizers: tf.Optimizer[],
  x: tf.Tensor2D,
  y: tf.Tensor2D,
): number[][] {
  return models.map((m, i) => {
    const { kernel, bias } = m.params.encoder.dense1;
    const before = [...kernel.dataSync(), ...bias.dataSync()];
    adamStep(m, optimizers[i]!, x, y);
    const after = [...kernel.dataSync(), ...bias.dataSync()];
    return after.map((v, j) => v - before[j]!);
  });
}
