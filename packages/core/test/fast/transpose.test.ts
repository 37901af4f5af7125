import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import { matMul } from '../../src/fast/matmul.js';
import { transpose2d, TRANSPOSE_KERNEL } from '../../src/fast/transpose.js';
import { TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from '../layers/leak-check.js';

// Square, single row and column, sizes that are and are not multiples of the 4x4 blocks, the
// RBM shapes of the benchmarks, and empty matrices.
const SHAPES: [number, number][] = [
  [1, 1],
  [1, 7],
  [7, 1],
  [3, 5],
  [4, 4],
  [5, 9],
  [256, 784],
  [784, 500],
  [13, 1000],
  [0, 5],
  [5, 0],
];

/** Every element distinct (and exact in float32), so any misplaced element shows. */
function distinct(rows: number, cols: number, dtype: 'float32' | 'int32' = 'float32'): tf.Tensor2D {
  const n = rows * cols;
  const values = Array.from({ length: n }, (_, i) => (dtype === 'int32' ? i - (n >> 1) : (i - n / 2) * 0.5));
  return tf.tensor2d(values, [rows, cols], dtype);
}

/** Index of the first element where the arrays differ (-1 if none), so a failure names it. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

function expectSameTensor(actual: tf.Tensor, expected: tf.Tensor): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.dtype).toBe(expected.dtype);
  expect(firstDifference(actual.dataSync(), expected.dataSync())).toBe(-1);
}

async function kernelNames(fn: () => tf.Tensor | tf.Tensor[]): Promise<string[]> {
  const info = await tf.profile(fn);
  tf.dispose(info.result as tf.Tensor | tf.Tensor[]);
  // Every kernel run, in order (kernelNames lists each name once); '' is a customGrad scope.
  return info.kernels.map((k) => k.name).filter((name) => name !== '');
}

describe.each(TEST_BACKENDS)('transpose2d on %s', (backend) => {
  it.each(SHAPES)('equals tf.transpose exactly for [%i, %i]', async (rows, cols) => {
    await useBackend(backend);
    const x = distinct(rows, cols);
    const ours = expectOnlyReturnedTensors(() => transpose2d(x));
    const reference = tf.transpose(x);
    expectSameTensor(ours, reference);
    tf.dispose([x, ours, reference]);
  });

  it(backend === 'wasm' ? `runs ${TRANSPOSE_KERNEL} for float32 and tf.transpose for int32` : 'runs tf.transpose', async () => {
    await useBackend(backend);
    const x = distinct(6, 10);
    const xi = distinct(6, 10, 'int32');
    expect(await kernelNames(() => transpose2d(x))).toEqual([backend === 'wasm' ? TRANSPOSE_KERNEL : 'Transpose']);
    expect(await kernelNames(() => transpose2d(xi))).toEqual(['Transpose']);
    tf.dispose([x, xi]);
  });

  it('int32 input keeps its dtype and values', async () => {
    await useBackend(backend);
    const x = distinct(5, 9, 'int32');
    const ours = expectOnlyReturnedTensors(() => transpose2d(x));
    const reference = tf.transpose(x);
    expectSameTensor(ours, reference);
    tf.dispose([x, ours, reference]);
  });

  it.each([
    [3, 5],
    [8, 12],
    [13, 7],
  ])('gradient for [%i, %i] is the transposed upstream gradient, exactly, leaving only the gradient', async (rows, cols) => {
    await useBackend(backend);
    const x = distinct(rows, cols);
    // Distinct upstream values, so a gradient that is not the transpose cannot match.
    const dy = tf.tidy(() => tf.add(tf.transpose(distinct(rows, cols)), tf.scalar(0.25)));
    const viaDy = expectOnlyReturnedTensors(() => tf.grad((input: tf.Tensor) => transpose2d(input as tf.Tensor2D))(x, dy));
    const wanted = tf.transpose(dy);
    expectSameTensor(viaDy, wanted);
    // The same through a scalar loss: d/dx sum(xᵀ ⊙ w) = wᵀ.
    const viaSum = expectOnlyReturnedTensors(() => tf.grad((input: tf.Tensor) => tf.sum(tf.mul(transpose2d(input as tf.Tensor2D), dy)))(x));
    expectSameTensor(viaSum, wanted);
    const names = await kernelNames(() => tf.grad((input: tf.Tensor) => transpose2d(input as tf.Tensor2D))(x, dy));
    const fast = backend === 'wasm' ? TRANSPOSE_KERNEL : 'Transpose';
    expect(names.filter((k) => k === fast)).toHaveLength(2);
    tf.dispose([x, dy, viaDy, wanted, viaSum]);
  });

  it('rejects inputs that are not rank 2 with a ShapeError naming the shape', async () => {
    await useBackend(backend);
    const cube = tf.zeros([2, 3, 4]);
    const row = tf.zeros([6]);
    expect(() => transpose2d(cube as unknown as tf.Tensor2D)).toThrow(ShapeError);
    expect(() => transpose2d(cube as unknown as tf.Tensor2D)).toThrow(/transpose2d input: .*rank 2.*got \[2, 3, 4\]/);
    expect(() => transpose2d(row as unknown as tf.Tensor2D)).toThrow(/got \[6\]/);
    tf.dispose([cube, row]);
  });
});

describe("matMul's explicit-transpose path on wasm", () => {
  const FLAGS: [boolean, boolean][] = [
    [true, false],
    [false, true],
    [true, true],
  ];

  // test/fast/matmul.test.ts checks values and gradients against tf.matMul on both backends;
  // this checks that wasm routes the transposes through core's kernel, on shapes with edges.
  it.each(FLAGS)('transposeA=%s transposeB=%s uses the SIMD transpose, equal to tf.matMul of explicit transposes bit for bit', async (ta, tb) => {
    await useBackend('wasm');
    const a = ta ? distinct(37, 13) : distinct(13, 37);
    const b = tf.tidy(() => tf.mul(tb ? distinct(9, 37) : distinct(37, 9), tf.scalar(1 / 64))) as tf.Tensor2D;
    const ours = expectOnlyReturnedTensors(() => matMul(a, b, ta, tb));
    const reference = tf.tidy(() => tf.matMul(ta ? tf.transpose(a) : a, tb ? tf.transpose(b) : b));
    expectSameTensor(ours, reference);
    const forward = await kernelNames(() => matMul(a, b, ta, tb));
    expect(forward).toContain(TRANSPOSE_KERNEL);
    expect(forward).not.toContain('Transpose');
    const backward = await kernelNames(() => tf.grads((x: tf.Tensor, y: tf.Tensor) => matMul(x as tf.Tensor2D, y as tf.Tensor2D, ta, tb))([a, b]));
    expect(backward).toContain(TRANSPOSE_KERNEL);
    expect(backward).not.toContain('Transpose');
    tf.dispose([a, b, ours, reference]);
  });
});

describe('gradients through core kernels, second order included (wasm)', () => {
  beforeAll(() => useBackend('wasm'));

  // A gradient penalty differentiates matMul's gradient, which transposes with core's kernel:
  // the kernel needs its own registered gradient (the README's WGAN-GP snippet found this).
  it("the gradient of a gradient through matMul's transposes equals tf.matMul's", () => {
    const x = tf.tensor2d([0.3, -1.2, 0.7, 2.0, 0.1, -0.4], [2, 3]);
    const w = tf.tensor2d([0.5, -0.2, 0.9, 1.1, -0.7, 0.3, 0.25, 0.6, -1.0, 0.4, 0.8, -0.35], [4, 3]);
    const penalty = (mm: (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D) => (v: tf.Tensor) =>
      tf.tidy(() => {
        const g = tf.grad((input: tf.Tensor) => tf.sum(tf.square(mm(input as tf.Tensor2D, v as tf.Tensor2D))))(x);
        return tf.sum(tf.square(g));
      });
    const ours = tf.grad(penalty((a, b) => matMul(a, b, false, true)))(w);
    const theirs = tf.grad(penalty((a, b) => tf.matMul(a, b, false, true)))(w);
    const [o, t] = [ours.dataSync(), theirs.dataSync()];
    for (let i = 0; i < t.length; i++) expect(o[i]).toBeCloseTo(t[i]!, 4);
    expect(Math.max(...Array.from(t, Math.abs))).toBeGreaterThan(0.1);
    tf.dispose([x, w, ours, theirs]);
  });
});
