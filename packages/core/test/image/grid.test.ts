import * as tf from '@tensorflow/tfjs-core';
import { describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { filterGrid, imageGrid, toUint8Pixels } from '../../src/image/index.js';
import { expectAllClose, TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';

/** Runs `fn` and checks that the only tensor it leaves behind is the one it returns. */
function onlyResult<T extends tf.Tensor>(fn: () => T): T {
  const before = tf.memory().numTensors;
  const result = fn();
  expect(tf.memory().numTensors - before).toBe(1);
  return result;
}

describe.each(TEST_BACKENDS)('imageGrid on %s', (backend) => {
  it('lays out a 2x2 grid of 2x2 images with 1-pixel padding exactly', async () => {
    await useBackend(backend);
    // Image k holds k/10 + pixel index/100, so every output pixel says where it came from.
    const images = tf.tensor4d(
      Array.from({ length: 16 }, (_, i) => Math.floor(i / 4) / 10 + (i % 4) / 100),
      [4, 2, 2, 1],
    );
    const grid = onlyResult(() => imageGrid(images, { padding: 1, padValue: 1 }));
    expect(grid.shape).toEqual([7, 7, 1]);
    const P = 1;
    const expected = [
      [P, P, P, P, P, P, P],
      [P, 0.0, 0.01, P, 0.1, 0.11, P],
      [P, 0.02, 0.03, P, 0.12, 0.13, P],
      [P, P, P, P, P, P, P],
      [P, 0.2, 0.21, P, 0.3, 0.31, P],
      [P, 0.22, 0.23, P, 0.32, 0.33, P],
      [P, P, P, P, P, P, P],
    ];
    expectAllClose(grid, expected.flat(), 1e-6);
    tf.dispose([images, grid]);
  });

  it('fills missing tiles, keeps 3 channels, and maps [min, max] to [0, 1] with clipping', async () => {
    await useBackend(backend);
    // Three 1x1 RGB images in [-1, 1], two columns, no padding: the fourth tile is padValue.
    const images = tf.tensor4d([-1, 0, 1, 2, -2, 0.5, 0, 0, 0], [3, 1, 1, 3]);
    const grid = onlyResult(() => imageGrid(images, { columns: 2, padding: 0, padValue: 0.25, range: [-1, 1] }));
    expect(grid.shape).toEqual([2, 2, 3]);
    expectAllClose(grid, [0, 0.5, 1, 1, 0, 0.75, 0.5, 0.5, 0.5, 0.25, 0.25, 0.25], 1e-6);
    tf.dispose([images, grid]);
  });

  it("'auto' uses the batch's min and max; 'per-image' each image's; a 3-D input is grayscale", async () => {
    await useBackend(backend);
    const images = tf.tensor3d([0, 2, 4, 10, 10, 10], [2, 1, 3]);
    const auto = onlyResult(() => imageGrid(images, { columns: 1, padding: 0, range: 'auto' }));
    expect(auto.shape).toEqual([2, 3, 1]);
    expectAllClose(auto, [0, 0.2, 0.4, 1, 1, 1], 1e-6);
    const perImage = imageGrid(images, { columns: 1, padding: 0, range: 'per-image' });
    expectAllClose(perImage, [0, 0.5, 1, 0, 0, 0], 1e-6);
    tf.dispose([images, auto, perImage]);
  });

  it('rejects bad shapes and options with typed errors', async () => {
    await useBackend(backend);
    const flat = tf.zeros([4, 784]);
    expect(() => imageGrid(flat as unknown as tf.Tensor3D)).toThrow(ShapeError);
    const images = tf.zeros([4, 2, 2, 1]) as tf.Tensor4D;
    expect(() => imageGrid(images, { columns: 0 })).toThrow(ConfigError);
    expect(() => imageGrid(images, { range: [1, 1] })).toThrow(ConfigError);
    expect(() => imageGrid(images, { padValue: 2 })).toThrow(ConfigError);
    tf.dispose([flat, images]);
  });
});

describe.each(TEST_BACKENDS)('filterGrid on %s', (backend) => {
  it('turns each hidden unit column into a per-tile normalised tile of the grid', async () => {
    await useBackend(backend);
    // 4 visible (2x2) x 3 hidden; column j = (j+1) * [0, 1, 2, 3] + j.
    const w = tf.tensor2d(
      Array.from({ length: 12 }, (_, i) => {
        const v = Math.floor(i / 3);
        const j = i % 3;
        return (j + 1) * v + j;
      }),
      [4, 3],
    );
    const grid = onlyResult(() => filterGrid(w, { height: 2, width: 2, columns: 3, padding: 1, padValue: 0 }));
    expect(grid.shape).toEqual([4, 10, 1]);
    const pixels = await withNoLeaks(() => toUint8Pixels(grid));
    // Every tile normalises to [0, 1/3, 2/3, 1] whatever the column's scale and offset.
    const tile = [0, 85, 170, 255];
    const row1 = [0, tile[0], tile[1], 0, tile[0], tile[1], 0, tile[0], tile[1], 0];
    const row2 = [0, tile[2], tile[3], 0, tile[2], tile[3], 0, tile[2], tile[3], 0];
    expect(Array.from(pixels.data)).toEqual([...Array(10).fill(0), ...row1, ...row2, ...Array(10).fill(0)]);
    tf.dispose([w, grid]);
  });

  it('refuses weights whose visible size is not height*width*channels', async () => {
    await useBackend(backend);
    const w = tf.zeros([5, 3]) as tf.Tensor2D;
    expect(() => filterGrid(w, { height: 2, width: 2 })).toThrow(/expected shape \[4, \?\], got \[5, 3\]/);
    w.dispose();
  });
});
