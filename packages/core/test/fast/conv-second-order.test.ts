import * as tf from '@tensorflow/tfjs-core';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ShapeError } from '../../src/errors.js';
import {
  conv2dFilterGradient,
  conv2dOp,
  conv2dTransposeOp,
  convGradientKernels,
  type Padding,
} from '../../src/fast/conv.js';
import { leakyRelu } from '../../src/layers/activations.js';
import { createVariable } from '../../src/params/tree.js';
import { Rng } from '../../src/random/rng.js';
import { expectAllClose, expectNoLeaks, maxRelativeError, TEST_BACKENDS, useBackend } from '../../src/testing.js';

// Second-order gradients through convolutions: a WGAN-GP gradient penalty (Gulrajani et al. 2017,
// eq. 3) of a small conv critic and a penalty on a generator's input gradient, differentiated
// with respect to every parameter, on cpu and wasm, against tfjs's own conv kernels on cpu
// (whose second derivatives exist for these two cases) and against finite differences.

const ALPHA = 0.2;

/** Core's leakyRelu, which has derivatives of every order (tf.leakyRelu's gradient does not). */
function leaky(x: tf.Tensor): tf.Tensor {
  return leakyRelu(x, ALPHA);
}

type Conv = (x: tf.Tensor4D, w: tf.Tensor4D, stride: number, padding: Padding) => tf.Tensor4D;
type Shape4 = [number, number, number, number];
type ConvT = (x: tf.Tensor4D, w: tf.Tensor4D, out: Shape4, stride: number, padding: Padding) => tf.Tensor4D;
type Draws = Record<string, { shape: number[]; values: Float32Array }>;

const ours: { conv: Conv; convT: ConvT } = {
  conv: (x, w, s, padding) => conv2dOp(x, w, [s, s], padding),
  convT: (x, w, out, s, padding) => conv2dTransposeOp(x, w, out, [s, s], padding),
};
const native: { conv: Conv; convT: ConvT } = {
  conv: (x, w, s, padding) => tf.conv2d(x, w, s, padding),
  convT: (x, w, out, s, padding) => tf.conv2dTranspose(x, w, out, s, padding),
};

/** Plain numbers drawn once, so every backend starts from the same parameters and inputs. */
function draws(seed: number, shapes: Record<string, number[]>, scale = 0.5): Draws {
  const rng = new Rng(seed);
  const out: Draws = {};
  for (const [name, shape] of Object.entries(shapes)) {
    const values = new Float32Array(shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < values.length; i++) values[i] = scale * rng.normal();
    out[name] = { shape, values };
  }
  return out;
}

const CRITIC = draws(11, {
  k1: [3, 3, 2, 3],
  b1: [3],
  k2: [2, 2, 3, 2],
  b2: [2],
  w3: [8, 1],
  b3: [1],
});
const CRITIC_INPUT = draws(12, { x: [2, 6, 6, 2] }, 1).x!;

type Vars = Record<string, tf.Variable>;

function variables(prefix: string, spec: Draws): Vars {
  const vars: Vars = {};
  for (const [name, { shape, values }] of Object.entries(spec)) {
    vars[name] = createVariable(tf.tensor(values, shape), `${prefix}/${name}`);
  }
  return vars;
}

/** conv 3x3 stride 2 'same' → leakyRelu → conv 2x2 'valid' → dense: a critic D(x) of shape [batch, 1]. */
function critic(x: tf.Tensor4D, v: Vars, ops: { conv: Conv }): tf.Tensor2D {
  const h1 = leaky(tf.add(ops.conv(x, v.k1 as tf.Tensor4D, 2, 'same'), v.b1!)) as tf.Tensor4D; // [b, 3, 3, 3]
  const h2 = tf.add(ops.conv(h1, v.k2 as tf.Tensor4D, 1, 'valid'), v.b2!); // [b, 2, 2, 2]
  return tf.add(tf.matMul(tf.reshape(h2, [x.shape[0], 8]), v.w3 as tf.Tensor2D), v.b3!) as tf.Tensor2D;
}

/** mean over the batch of (‖∂ΣD/∂x̂‖₂ − 1)². */
function gradientPenalty(f: (x: tf.Tensor4D) => tf.Tensor, xHat: tf.Tensor4D): tf.Scalar {
  const g = tf.grad((x: tf.Tensor) => tf.sum(f(x as tf.Tensor4D)))(xHat);
  const norms = tf.sqrt(tf.sum(tf.square(g), [1, 2, 3]));
  return tf.mean(tf.square(tf.sub(norms, 1)));
}

interface Result {
  value: number;
  grads: Record<string, Float32Array>;
}

function penaltyGradients(penalty: () => tf.Scalar, vars: Vars): Result {
  const list = Object.values(vars);
  const { value, grads } = tf.variableGrads(penalty, list);
  const out: Result = { value: value.dataSync()[0]!, grads: {} };
  for (const [name, v] of Object.entries(vars)) {
    const g = grads[v.name];
    if (g) out.grads[name] = g.dataSync() as Float32Array;
  }
  tf.dispose([value, ...Object.values(grads)]);
  return out;
}

function criticPenalty(ops: { conv: Conv }): Result {
  const vars = variables('critic', CRITIC);
  const xHat = tf.tensor4d(CRITIC_INPUT.values, CRITIC_INPUT.shape as Shape4);
  try {
    return penaltyGradients(() => gradientPenalty((x) => critic(x, vars, ops), xHat), vars);
  } finally {
    tf.dispose([xHat, ...Object.values(vars)]);
  }
}

/** Central difference of the penalty in one entry of one parameter, the rest held fixed. */
function criticFiniteDifference(param: string, index: number, h: number): number {
  const at = (delta: number) => {
    const spec = { ...CRITIC, [param]: { ...CRITIC[param]!, values: Float32Array.from(CRITIC[param]!.values) } };
    spec[param]!.values[index]! += delta;
    const vars = variables('fd', spec);
    const xHat = tf.tensor4d(CRITIC_INPUT.values, CRITIC_INPUT.shape as Shape4);
    const value = tf.tidy(() => gradientPenalty((x) => critic(x, vars, ours), xHat).dataSync()[0]!);
    tf.dispose([xHat, ...Object.values(vars)]);
    return value;
  };
  return (at(h) - at(-h)) / (2 * h);
}

const GENERATOR = draws(21, {
  k1: [3, 3, 4, 3], // conv2dTranspose kernel [kh, kw, outC, inC]
  b1: [4],
  k2: [2, 2, 1, 4],
  b2: [1],
});
const GENERATOR_INPUT = draws(22, { z: [2, 2, 2, 3], w: [2, 5, 5, 1] }, 1);

/**
 * conv2dTranspose 3x3 stride 2 'same' → softplus → conv2dTranspose 2x2 'valid': [b, 2, 2, 3] →
 * [b, 5, 5, 1]. Softplus, not tanh: tfjs 4.22 differentiates ops that save their output (tanh,
 * sigmoid, exp, elu) only once; a second derivative silently loses their curvature term.
 */
function generator(z: tf.Tensor4D, v: Vars, ops: { convT: ConvT }): tf.Tensor4D {
  const b = z.shape[0];
  const h = tf.softplus(tf.add(ops.convT(z, v.k1 as tf.Tensor4D, [b, 4, 4, 4], 2, 'same'), v.b1!)) as tf.Tensor4D;
  return tf.add(ops.convT(h, v.k2 as tf.Tensor4D, [b, 5, 5, 1], 1, 'valid'), v.b2!) as tf.Tensor4D;
}

function generatorPenalty(ops: { convT: ConvT }): Result {
  const vars = variables('generator', GENERATOR);
  const { z, w } = GENERATOR_INPUT;
  const zt = tf.tensor4d(z!.values, z!.shape as Shape4);
  const wt = tf.tensor4d(w!.values, w!.shape as Shape4);
  try {
    // The norm of ∂<G(z), w>/∂z, pushed towards 1: a path-length-style regulariser.
    return penaltyGradients(() => gradientPenalty((x) => tf.mul(generator(x, vars, ops), wt), zt), vars);
  } finally {
    tf.dispose([zt, wt, ...Object.values(vars)]);
  }
}

function expectSameGradients(a: Result, b: Result, tolerance: number): void {
  expect(Object.keys(a.grads).sort()).toEqual(Object.keys(b.grads).sort());
  expect(maxRelativeError(a.value, b.value)).toBeLessThan(tolerance);
  for (const name of Object.keys(a.grads)) {
    const err = maxRelativeError(a.grads[name]!, b.grads[name]!);
    expect(err, `gradient of ${name}`).toBeLessThan(tolerance);
  }
}

async function onBackend<T>(backend: string, fn: () => T): Promise<T> {
  await useBackend(backend);
  return expectNoLeaks(fn, `${fn.name || 'run'} on ${backend}`);
}

describe('gradient penalty of a conv critic (second order through conv2d)', () => {
  it('depends on the kernels, not the later biases; value and every gradient agree on cpu, wasm and tfjs kernels', async () => {
    const reference = await onBackend('cpu', () => criticPenalty(native));
    const cpu = await onBackend('cpu', () => criticPenalty(ours));
    const wasm = await onBackend('wasm', () => criticPenalty(ours));
    expect(reference.value).toBeGreaterThan(0.05); // the norms are not all 1: a real penalty
    // ∂D/∂x̂ does not involve b2 or b3 at all, so tfjs reports no gradient for them; b1 moves only
    // the activation's kinks, so its gradient is exactly zero.
    expect(Object.keys(reference.grads).sort()).toEqual(['b1', 'k1', 'k2', 'w3']);
    expect(Array.from(reference.grads.b1!)).toEqual([0, 0, 0]);
    expectSameGradients(cpu, reference, 1e-5);
    expectSameGradients(wasm, reference, 1e-4);
    for (const g of Object.values(wasm.grads)) expect(g.every(Number.isFinite)).toBe(true);
  });

  it('gradients match central finite differences of the penalty', async () => {
    const { grads } = await onBackend('cpu', () => criticPenalty(ours));
    await useBackend('cpu');
    for (const [param, index] of [
      ['k1', 0],
      ['k1', 40],
      ['k2', 7],
      ['w3', 5],
    ] as [string, number][]) {
      const fd = criticFiniteDifference(param, index, 1e-2);
      const analytic = grads[param]![index]!;
      expect(Math.abs(analytic), `${param}[${index}] is not trivially zero`).toBeGreaterThan(1e-2);
      expect(Math.abs(fd - analytic), `${param}[${index}]: analytic ${analytic}, finite difference ${fd}`).toBeLessThan(
        1e-3 * Math.max(1, Math.abs(analytic)),
      );
    }
  });
});

describe('penalty on a generator input gradient (second order through conv2dTranspose)', () => {
  it('every gradient agrees with tfjs kernels on cpu, on cpu and wasm', async () => {
    const reference = await onBackend('cpu', () => generatorPenalty(native));
    const cpu = await onBackend('cpu', () => generatorPenalty(ours));
    const wasm = await onBackend('wasm', () => generatorPenalty(ours));
    expect(Object.keys(reference.grads).sort()).toEqual(['b1', 'k1', 'k2']);
    // softplus is curved, so the bias before it matters this time.
    expect(reference.grads.b1!.some((g) => Math.abs(g) > 1e-3)).toBe(true);
    expectSameGradients(cpu, reference, 1e-5);
    expectSameGradients(wasm, reference, 1e-4);
  });
});

describe('the filter gradient is differentiable too', () => {
  // P(x) = ‖∂<conv(x, W), w>/∂W‖² is quadratic in x, so a central difference with any step is
  // exact up to rounding. tfjs's own Conv2DBackpropFilter has no gradient, on any backend.
  const spec = draws(31, { x: [2, 5, 5, 2], k: [3, 3, 2, 3], w: [2, 3, 3, 3] });
  const penalty = (x: tf.Tensor4D, k: tf.Tensor4D, w: tf.Tensor4D) =>
    tf.sum(tf.square(tf.grad((kk: tf.Tensor) => tf.sum(tf.mul(conv2dOp(x, kk as tf.Tensor4D, [2, 2], 'same'), w)))(k)));
  const tensors = () =>
    ['x', 'k', 'w'].map((n) => tf.tensor4d(spec[n]!.values, spec[n]!.shape as Shape4)) as [
      tf.Tensor4D,
      tf.Tensor4D,
      tf.Tensor4D,
    ];

  it.each(TEST_BACKENDS)('∂/∂x of ‖∂L/∂W‖² matches finite differences on %s', async (backend) => {
    await useBackend(backend);
    expectNoLeaks(() => {
      const [x, k, w] = tensors();
      const g = tf.grad((xx: tf.Tensor) => penalty(xx as tf.Tensor4D, k, w))(x);
      const analytic = g.dataSync();
      for (const index of [0, 13, 27, 49, 88]) {
        const at = (delta: number) =>
          tf.tidy(() => {
            const shifted = Float32Array.from(spec.x!.values);
            shifted[index]! += delta;
            return penalty(tf.tensor4d(shifted, x.shape), k, w).dataSync()[0]!;
          });
        const fd = (at(0.5) - at(-0.5)) / 1;
        expect(Math.abs(fd - analytic[index]!)).toBeLessThan(2e-3 * Math.max(1, Math.abs(fd)));
      }
      tf.dispose([x, k, w, g]);
    });
  });
});

describe('wasm gradient forms equal the cpu kernels', () => {
  // On wasm the transposed convolution runs as sub-pixel phases and the filter gradient as a
  // dilated convolution, both on XNNPACK (cpu uses the latter too): compare them with tfjs's
  // kernels on cpu over shapes with kernels smaller than, equal to and larger than the stride.
  it('conv2dTransposeOp and conv2dFilterGradient, random shapes, both paddings', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Padding>('same', 'valid'),
        fc.tuple(fc.integer({ min: 1, max: 4 }), fc.integer({ min: 1, max: 4 })),
        fc.tuple(fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
        fc.tuple(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 0, max: 5 })),
        fc.tuple(fc.integer({ min: 1, max: 2 }), fc.integer({ min: 1, max: 3 }), fc.integer({ min: 1, max: 3 })),
        fc.integer({ min: 0, max: 1000 }),
        async (padding, [kh, kw], [sh, sw], [extraH, extraW], [batch, inC, outC], seed) => {
          const height = kh + extraH;
          const width = kw + extraW;
          const size = (n: number, k: number, s: number) => (padding === 'same' ? Math.ceil(n / s) : Math.floor((n - k) / s) + 1);
          const ySize: Shape4 = [batch, size(height, kh, sh), size(width, kw, sw), outC];
          const xShape: Shape4 = [batch, height, width, inC];
          const d = draws(seed, { x: xShape, y: ySize, k: [kh, kw, inC, outC] }, 1);
          const make = (n: string) => tf.tensor4d(d[n]!.values, d[n]!.shape as Shape4);
          const run = (impl: 'ours' | 'native') =>
            tf.tidy(() => {
              const [x, y, k] = [make('x'), make('y'), make('k')];
              const transposed =
                impl === 'ours'
                  ? conv2dTransposeOp(y, k, xShape, [sh, sw], padding)
                  : tf.conv2dTranspose(y, k, xShape, [sh, sw], padding);
              const filter =
                impl === 'ours'
                  ? conv2dFilterGradient(x, y, k.shape, [sh, sw], padding)
                  : tf.grad((kk: tf.Tensor) => tf.sum(tf.mul(tf.conv2d(x, kk as tf.Tensor4D, [sh, sw], padding), y)))(k);
              const forward = impl === 'ours' ? conv2dOp(x, k, [sh, sw], padding) : tf.conv2d(x, k, [sh, sw], padding);
              return [transposed.dataSync(), filter.dataSync(), forward.dataSync()].map((a) => Float32Array.from(a));
            });
          await useBackend('cpu');
          const want = run('native');
          await useBackend('wasm');
          const got = expectNoLeaks(() => run('ours'));
          for (let i = 0; i < 3; i++) expectAllClose(got[i]!, want[i]!, 1e-4);
        },
      ),
      { numRuns: 40, seed: 7 },
    );
  });

  it('the policy: wasm computes both gradients with Conv2D, cpu only the filter gradient', () => {
    expect(convGradientKernels('wasm')).toEqual({ input: 'Conv2D', filter: 'Conv2D' });
    expect(convGradientKernels('cpu')).toEqual({ input: 'Conv2DBackpropInput', filter: 'Conv2D' });
  });

  it('conv2dTransposeOp refuses an input that the output shape does not map to', async () => {
    await useBackend('wasm');
    const x = tf.zeros([1, 3, 3, 2]) as tf.Tensor4D;
    const k = tf.zeros([3, 3, 4, 2]) as tf.Tensor4D;
    expect(() => conv2dTransposeOp(x, k, [1, 8, 8, 4], [2, 2], 'same')).toThrow(ShapeError);
    expect(() => conv2dTransposeOp(x, k, [1, 8, 8, 4], [2, 2], 'same')).toThrow('expected shape [1, 4, 4, 2], got [1, 3, 3, 2]');
    expect(() => conv2dTransposeOp(x, k, [1, 6, 6, 5], [2, 2], 'same')).toThrow(/kernel: expected shape \[3, 3, 5, 2\]/);
    tf.dispose([x, k]);
  });
});

describe('conv fast-path arguments', () => {
  it('wrong shapes, strides and padding are typed errors naming what was expected, leaking nothing', async () => {
    await useBackend('cpu');
    const x = tf.zeros([1, 7, 7, 1]) as tf.Tensor4D;
    const w = tf.zeros([3, 3, 1, 2]) as tf.Tensor4D;
    const dyShort = tf.zeros([1, 2, 2, 2]) as tf.Tensor4D;
    const dy = tf.zeros([1, 3, 3, 2]) as tf.Tensor4D;
    const w2 = tf.zeros([3, 3, 2, 2]) as tf.Tensor4D;
    expectNoLeaks(() => {
      expect(() => conv2dFilterGradient(x, dyShort, [3, 3, 1, 2], [2, 2], 'valid')).toThrow(
        /conv2dFilterGradient dy: expected shape \[1, 3, 3, 2\], got \[1, 2, 2, 2\]/,
      );
      expect(() => conv2dFilterGradient(x, dy, [3, 3, 2, 2], [2, 2], 'valid')).toThrow(ShapeError);
      expect(() => conv2dOp(x, w2, [1, 1], 'same')).toThrow(/conv2d input: expected shape \[\?, \?, \?, 2\]/);
      expect(() => conv2dOp(x, w, [1, 1], 'SAME' as never)).toThrow(/"conv2d padding"/);
      expect(() => conv2dOp(x, w, [0, 1], 'same')).toThrow(/"conv2d strides"/);
      expect(() => conv2dTransposeOp(dy, w, [1, 7, 7, 1], [2, 2], 'full' as never)).toThrow(/"conv2dTranspose padding"/);
    });
    tf.dispose([x, w, dyShort, dy, w2]);
  });
});
