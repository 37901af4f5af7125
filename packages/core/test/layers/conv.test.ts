import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import {
  conv2d,
  conv2dTranspose,
  convOutputSize,
  convTransposeOutputSize,
  createConv2d,
  createConv2dTranspose,
  type Padding,
} from '../../src/layers/index.js';
import { conv2dFilterGradient } from '../../src/fast/index.js';
import { disposeParams } from '../../src/params/tree.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, expectNoLeaks, TEST_BACKENDS, useBackend } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from './leak-check.js';

function dot(a: tf.Tensor, b: tf.Tensor): number {
  return tf.tidy(() => tf.sum(tf.mul(a, b)).dataSync()[0]!);
}

describe.each(TEST_BACKENDS)('conv2d on %s', (backend) => {
  it.each([
    ['same', 1, [2, 7, 6, 5]],
    ['same', 2, [2, 4, 3, 5]],
    ['valid', 1, [2, 5, 4, 5]],
    ['valid', 2, [2, 3, 2, 5]],
  ] as [Padding, number, number[]][])('padding %s stride %i gives shape %j for a 7x6 input', async (padding, s, want) => {
    await useBackend(backend);
    const p = createConv2d({ name: 'c', inputChannels: 3, filters: 5, kernelSize: 3, rng: 1 });
    const x = tf.zeros([2, 7, 6, 3]) as tf.Tensor4D;
    const y = expectOnlyReturnedTensors(() => conv2d(x, p, { padding, strides: s }));
    expect(y.shape).toEqual(want);
    expect(convOutputSize(7, 3, s, padding)).toBe(want[1]);
    tf.dispose([x, y]);
    disposeParams(p);
  });

  it('equals a hand-computed 3x3 cross-correlation, with bias and activation', async () => {
    await useBackend(backend);
    const p = createConv2d({ name: 'hand', inputChannels: 1, filters: 1, kernelSize: 3, rng: 1 });
    p.kernel.assign(tf.tensor4d([1, 0, -1, 2, 0, -2, 1, 0, -1], [3, 3, 1, 1])); // Sobel x
    p.bias!.assign(tf.tensor1d([1]));
    const image = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]; // 4x4, ramp
    const x = tf.tensor4d(image, [1, 4, 4, 1]);
    const valid = conv2d(x, p, { padding: 'valid' });
    // Each 3x3 window of the ramp: Σ rows (1,2,1)·(left − right) = 4·(−2) = −8, plus bias 1.
    expectAllClose(valid, [-7, -7, -7, -7], 1e-6);
    const same = conv2d(x, p, { padding: 'same', activation: 'relu' });
    // Top-left output (zero padding): window rows [0,0,0],[0,1,2],[0,5,6] → 0·... = −(2·2 + 6) = −10 → relu(−9) = 0.
    // Top-right output: window [0,0,0],[3,4,0],[7,8,0] → 2·3 + 7 = 13, plus 1 = 14.
    const v = same.dataSync();
    expect(v[0]).toBeCloseTo(0, 5);
    expect(v[3]).toBeCloseTo(14, 5);
    tf.dispose([x, valid, same]);
    disposeParams(p);
  });

  it('rejects a wrong channel count with a ShapeError naming the layer', async () => {
    await useBackend(backend);
    const p = createConv2d({ name: 'disc/0', inputChannels: 3, filters: 2, kernelSize: 3, rng: 1 });
    const x = tf.zeros([1, 8, 8, 1]) as tf.Tensor4D;
    expect(() => conv2d(x, p)).toThrow(ShapeError);
    expect(() => conv2d(x, p)).toThrow("conv2d 'disc/0' input: expected shape [?, ?, ?, 3], got [1, 8, 8, 1]");
    x.dispose();
    disposeParams(p);
  });

  it('conv2dTranspose is the adjoint of conv2d with the same kernel: <conv(x), y> = <x, convT(y)>', async () => {
    await useBackend(backend);
    fc.assert(
      fc.property(
        fc.constantFrom<Padding>('same', 'valid'),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 1000 }),
        (padding, k, n, stride, inC, outC, seed) => {
          const rng = new Rng(seed);
          const tp = createConv2dTranspose({ name: 'adj', inputChannels: outC, filters: inC, kernelSize: k, useBias: false, rng });
          const side = convTransposeOutputSize(n, k, stride, padding);
          const x = rng.normalTensor([2, side, side, inC]) as tf.Tensor4D;
          const y = rng.normalTensor([2, n, n, outC]) as tf.Tensor4D;
          const convX = conv2d(x, tp, { padding, strides: stride });
          expect(convX.shape).toEqual(y.shape);
          const convTY = conv2dTranspose(y, tp, { padding, strides: stride });
          expect(convTY.shape).toEqual(x.shape);
          const lhs = dot(convX, y);
          const rhs = dot(x, convTY);
          expect(Math.abs(lhs - rhs)).toBeLessThan(1e-4 * Math.max(1, Math.abs(lhs)));
          tf.dispose([x, y, convX, convTY]);
          disposeParams(tp);
        },
      ),
      { numRuns: 25, seed: 42 },
    );
  });

  it('conv2d kernel and bias gradients equal the reference filter gradient (tfjs kernel on cpu)', async () => {
    await useBackend(backend);
    const rng = new Rng(3);
    for (const padding of ['same', 'valid'] as Padding[]) {
      for (const stride of [1, 2]) {
        const p = createConv2d({ name: 'g', inputChannels: 2, filters: 3, kernelSize: 3, rng });
        const x = rng.normalTensor([2, 6, 5, 2]) as tf.Tensor4D;
        const outShape = [2, convOutputSize(6, 3, stride, padding), convOutputSize(5, 3, stride, padding), 3];
        const w = rng.normalTensor(outShape) as tf.Tensor4D;
        expectNoLeaks(() => {
          const { value, grads } = tf.variableGrads(
            () => tf.sum(tf.mul(conv2d(x, p, { padding, strides: stride }), w)) as tf.Scalar,
            [p.kernel, p.bias!],
          );
          // Autodiff through the layer against conv2dFilterGradient (a dilated convolution on cpu
          // and wasm), and that (on cpu, which has the kernel) against tfjs's own Conv2DBackpropFilter.
          const ref = conv2dFilterGradient(x, w, p.kernel.shape, [stride, stride], padding);
          expectAllClose(grads[p.kernel.name]!, ref, 1e-4);
          if (backend === 'cpu') {
            const native = tf.grad((k: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, k as tf.Tensor4D, stride, padding), w)))(
              p.kernel,
            );
            expectAllClose(ref, native, 1e-4);
            native.dispose();
          }
          tf.tidy(() => expectAllClose(grads[p.bias!.name]!, tf.sum(w, [0, 1, 2]), 1e-4));
          tf.dispose([value, ref, ...Object.values(grads)]);
        });
        tf.dispose([x, w]);
        disposeParams(p);
      }
    }
  });

  it('conv2dTranspose kernel gradient matches finite differences', async () => {
    await useBackend(backend);
    const rng = new Rng(8);
    const p = createConv2dTranspose({ name: 'fd', inputChannels: 2, filters: 1, kernelSize: 3, rng });
    const x = rng.normalTensor([1, 3, 3, 2]) as tf.Tensor4D;
    const w = rng.normalTensor([1, 6, 6, 1]);
    const f = () => tf.tidy(() => tf.sum(tf.mul(conv2dTranspose(x, p, { strides: 2 }), w)).dataSync()[0]!);
    const { value, grads } = tf.variableGrads(
      () => tf.sum(tf.mul(conv2dTranspose(x, p, { strides: 2 }), w)) as tf.Scalar,
      [p.kernel],
    );
    const g = grads[p.kernel.name]!.dataSync();
    const k0 = p.kernel.dataSync().slice();
    // The loss is linear in the kernel, so a central difference with a large step is exact up to rounding.
    for (const idx of [0, 5, 11, 17]) {
      const plus = Float32Array.from(k0);
      plus[idx]! += 0.5;
      const minus = Float32Array.from(k0);
      minus[idx]! -= 0.5;
      tf.tidy(() => p.kernel.assign(tf.tensor(plus, p.kernel.shape)));
      const fp = f();
      tf.tidy(() => p.kernel.assign(tf.tensor(minus, p.kernel.shape)));
      const fm = f();
      expect(g[idx]!).toBeCloseTo(fp - fm, 3);
    }
    tf.dispose([x, w, value, ...Object.values(grads)]);
    disposeParams(p);
  });

  it("matches the cpu backend for 'same' cases wasm's own kernel gets wrong (1x2 kernel, stride 2, 8x8)", async () => {
    await useBackend(backend);
    const p = createConv2d({ name: 'odd', inputChannels: 2, filters: 3, kernelSize: [1, 2], useBias: false, rng: 1 });
    const x = tf.reshape(tf.range(1, 8 * 8 * 2 + 1), [1, 8, 8, 2]) as tf.Tensor4D;
    const y = conv2d(x, p, { strides: 2 });
    // Oracle: 'same' with zero total padding is exactly the 'valid' convolution here.
    const k = p.kernel.arraySync() as number[][][][];
    const xs = x.arraySync()[0]!;
    const want: number[] = [];
    for (let r = 0; r < 4; r++)
      for (let c = 0; c < 4; c++)
        for (let o = 0; o < 3; o++) {
          let sum = 0;
          for (let j = 0; j < 2; j++) for (let i = 0; i < 2; i++) sum += xs[2 * r]![2 * c + j]![i]! * k[0]![j]![i]![o]!;
          want.push(sum);
        }
    expectAllClose(y, want, 1e-5);
    tf.dispose([x, y]);
    disposeParams(p);
  });

  it('conv2dTranspose output sizes follow Keras: same n·s, valid n·s + max(k − s, 0)', async () => {
    await useBackend(backend);
    const p = createConv2dTranspose({ name: 'up', inputChannels: 4, filters: 2, kernelSize: [5, 2], rng: 0 });
    expect(p.kernel.shape).toEqual([5, 2, 2, 4]);
    const x = tf.zeros([1, 3, 4, 4]) as tf.Tensor4D;
    const same = expectOnlyReturnedTensors(() => conv2dTranspose(x, p, { strides: 2 }));
    expect(same.shape).toEqual([1, 6, 8, 2]);
    const valid = conv2dTranspose(x, p, { strides: 2, padding: 'valid' });
    expect(valid.shape).toEqual([1, 9, 8, 2]);
    const y = tf.zeros([1, 3, 4, 2]) as tf.Tensor4D;
    expect(() => conv2dTranspose(y, p)).toThrow(/conv2dTranspose 'up' input: expected shape \[\?, \?, \?, 4\]/);
    tf.dispose([x, y, same, valid]);
    disposeParams(p);
  });
});
