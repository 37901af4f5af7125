import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, decodePng } from '@helmholtz/core';
import { useBackend, withNoLeaks } from '@helmholtz/core/testing';
import { BernoulliRBM } from '../src/rbm/bernoulli.js';
import { filterPicture, filterPng, samplePicture, samplePng } from '../src/pictures.js';

describe('pictures of filters and samples', () => {
  beforeAll(() => useBackend('cpu'));

  it("draws one tile per hidden unit from the config's imageShape, each filter normalised on its own", async () => {
    const rbm = new BernoulliRBM({ visible: 6, hidden: 3, imageShape: [2, 3] });
    // Filter j is the ramp 0..5 times (j + 1): after per-tile normalisation all three tiles are equal.
    rbm.params.weights.assign(tf.tensor2d([0, 1, 2, 3, 4, 5].flatMap((v) => [v, 2 * v, 3 * v]), [6, 3]));
    await withNoLeaks(() => filterPicture(rbm, { columns: 3, padding: 1 }).dispose());
    const picture = filterPicture(rbm, { columns: 3, padding: 1 });
    // 1 + 3·(3 + 1) wide, 1 + (2 + 1) high.
    expect(picture.shape).toEqual([4, 13, 1]);
    const values = (await picture.array()) as number[][][];
    const tile = (j: number) => [1, 2].flatMap((r) => [0, 1, 2].map((c) => (values[r] as number[][])[1 + j * 4 + c]![0]));
    expect(tile(0)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1].map((x) => expect.closeTo(x, 6)));
    expect(tile(1)).toEqual(tile(0));
    expect(tile(2)).toEqual(tile(0));
    picture.dispose();
    const png = decodePng(await filterPng(rbm, { limit: 2, columns: 2 }));
    expect([png.width, png.height]).toEqual([9, 4]);
    expect(() => filterPicture(new BernoulliRBM({ visible: 5, hidden: 2 }))).toThrow(ConfigError);
    rbm.dispose();
  });

  it('draws rows of samples as tiles of the given image shape', async () => {
    const rows = tf.tensor2d([
      [0, 1, 0, 1],
      [1, 1, 0, 0],
    ]);
    const picture = samplePicture(rows, { imageShape: [2, 2], padding: 0, columns: 2 });
    expect(picture.shape).toEqual([2, 4, 1]);
    expect(((await picture.array()) as number[][][]).map((r) => r.map((p) => p[0]))).toEqual([
      [0, 1, 1, 1],
      [0, 1, 0, 0],
    ]);
    const png = decodePng(await samplePng(rows, { imageShape: [2, 2], padding: 1 }));
    expect([png.width, png.height]).toEqual([7, 4]);
    expect(() => samplePicture(rows, { imageShape: [3, 3] })).toThrow(ConfigError);
    // Fractional sides whose product is right would fail inside tf.reshape with an untyped error.
    expect(() => samplePicture(rows, { imageShape: [0.5, 8] })).toThrow(ConfigError);
    tf.dispose([rows, picture]);
  });
});
