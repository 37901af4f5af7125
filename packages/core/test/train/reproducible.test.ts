import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import {
  binaryCrossEntropyFromLogits,
  createDense,
  createOptimizer,
  dense,
  disposeParams,
  dropout,
  flattenParams,
  Rng,
  train,
} from '../../src/index.js';
import { TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';

/**
 * A whole training run driven by one seed: initialisation, data order and dropout masks all
 * come from streams split off one Rng. Returns the final parameters and the loss history.
 */
async function run(seed: number): Promise<{ params: Float32Array[]; losses: number[] }> {
  const rng = new Rng(seed);
  const init = rng.split();
  const order = rng.split();
  const noise = rng.split();
  const data = new Rng(99); // the data itself is fixed across runs
  const x = tf.tidy(() => tf.cast(tf.greater(data.uniform([64, 12]), 0.5), 'float32')) as tf.Tensor2D;
  const model = {
    encoder: createDense({ name: 'repro/encoder', inputs: 12, units: 6, rng: init }),
    decoder: createDense({ name: 'repro/decoder', inputs: 6, units: 12, rng: init }),
  };
  const optimizer = createOptimizer({ kind: 'adam', learningRate: 0.01 }, model);
  const history = await train({
    epochs: 3,
    batches: function* () {
      const perm = order.permutation(64);
      for (let i = 0; i < 64; i += 16) {
        yield tf.tidy(() => tf.gather(x, tf.tensor1d(Array.from(perm.subarray(i, i + 16)), 'int32')));
      }
    },
    step: (batch) => ({
      loss: optimizer.minimize(() =>
        tf.tidy(() => {
          const h = dropout(dense(batch as tf.Tensor2D, model.encoder, 'sigmoid'), 0.3, noise, true) as tf.Tensor2D;
          return binaryCrossEntropyFromLogits(dense(h, model.decoder), batch) as tf.Scalar;
        }),
      ),
    }),
  });
  const params = await Promise.all([...flattenParams(model).values()].map(async (v) => (await v.data()) as Float32Array));
  optimizer.dispose();
  disposeParams(model);
  x.dispose();
  return { params, losses: history.epochs.map((e) => e.loss as number) };
}

describe.each(TEST_BACKENDS)('one seed reproduces a training run on %s', (backend) => {
  it('the same seed gives bit-identical parameters and losses; another seed does not', async () => {
    await useBackend(backend);
    const a = await withNoLeaks(() => run(7));
    const b = await run(7);
    const c = await run(8);
    expect(b.losses).toEqual(a.losses);
    a.params.forEach((p, i) => expect(Array.from(b.params[i]!)).toEqual(Array.from(p)));
    expect(c.losses).not.toEqual(a.losses);
    expect(Array.from(c.params[0]!)).not.toEqual(Array.from(a.params[0]!));
  });
});
