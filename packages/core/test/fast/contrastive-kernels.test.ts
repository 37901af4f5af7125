import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, ShapeError } from '../../src/errors.js';
import { ADD_ROW_BIAS_KERNEL, addRowBias } from '../../src/fast/add-bias.js';
import { ADD_SCALED_DIFFERENCE_KERNEL, addScaledDifference, ROW_SUM_DIFFERENCE_KERNEL, rowSumDifference } from '../../src/fast/contrastive.js';
import { scratchKernels, type WasmKernels } from '../../src/fast/wasm/kernels.js';
import { kernelsOnBackend, offsetOf, wasmHeapOf, wasmKernelsActive, type TfjsWasmBackend } from '../../src/fast/wasm/tfjs-wasm.js';
import { Rng } from '../../src/random/rng.js';
import { TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';
import { expectOnlyReturnedTensors } from '../layers/leak-check.js';

const f32 = Math.fround;

// References in float32, rounded after every operation in the order the kernels (kernels.wat)
// compute: a reordered or double-precision kernel differs from them in the last bits.

function referenceAddColumnBias(x: Float32Array, bias: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows * cols);
  for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) out[i * cols + j] = f32(x[i * cols + j]! + bias[i]!);
  return out;
}

/** The kernel's alpha is an f32 parameter: the number is rounded to float32 on the way in. */
function referenceAddScaledDifference(w: Float32Array, p: Float32Array, q: Float32Array, alpha: number): Float32Array {
  const a = f32(alpha);
  return w.map((wk, k) => f32(wk + f32(a * f32(p[k]! - q[k]!))));
}

/**
 * Lane k of four partial sums takes columns j ≡ k (mod 4) of the first floor(cols/4)·4 columns;
 * the lanes meet as (l0 + l1) + (l2 + l3); the last cols mod 4 columns follow one by one.
 */
function referenceRowSumDifference(p: Float32Array, q: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows);
  const cols4 = cols - (cols % 4);
  for (let i = 0; i < rows; i++) {
    const lane = [0, 0, 0, 0];
    for (let j = 0; j < cols4; j++) lane[j % 4] = f32(lane[j % 4]! + f32(p[i * cols + j]! - q[i * cols + j]!));
    let sum = f32(f32(lane[0]! + lane[1]!) + f32(lane[2]! + lane[3]!));
    for (let j = cols4; j < cols; j++) sum = f32(sum + f32(p[i * cols + j]! - q[i * cols + j]!));
    out[i] = sum;
  }
  return out;
}

/** Column-by-column float32 sums: another order, to show the exact check tells orders apart. */
function sequentialRowSumDifference(p: Float32Array, q: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    let sum = 0;
    for (let j = 0; j < cols; j++) sum = f32(sum + f32(p[i * cols + j]! - q[i * cols + j]!));
    out[i] = sum;
  }
  return out;
}

/** The kernel's lanes, met left to right (((l0 + l1) + l2) + l3): a near miss of its order. */
function chainedLanesRowSumDifference(p: Float32Array, q: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(rows);
  for (let i = 0; i < rows; i++) {
    const lane = [0, 0, 0, 0];
    for (let j = 0; j < cols; j++) lane[j % 4] = f32(lane[j % 4]! + f32(p[i * cols + j]! - q[i * cols + j]!));
    out[i] = f32(f32(f32(lane[0]! + lane[1]!) + lane[2]!) + lane[3]!);
  }
  return out;
}

/**
 * Each row's float64 sum of p − q and a bound on how far a float32 sum in any order may be from
 * it: one rounding per difference and at most cols − 1 per addition, each within 2^-24 of
 * the partial result (Higham 2002, eq. 4.4), plus one subnormal step per operation.
 */
function float64RowSums(p: Float32Array, q: Float32Array, rows: number, cols: number): { sum: number; bound: number }[] {
  return Array.from({ length: rows }, (_, i) => {
    let sum = 0;
    let abs = 0;
    for (let j = 0; j < cols; j++) {
      const d = p[i * cols + j]! - q[i * cols + j]!;
      sum += d;
      abs += Math.abs(d);
    }
    return { sum, bound: (cols + 1) * 2 ** -24 * abs + 2 * cols * 2 ** -149 };
  });
}

/** Index of the first element where the arrays differ (-1 if none), so a failure names it. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

// Values over many binades, so that float32 rounding (and the order of additions) shows.
function spread(rng: Rng, n: number): Float32Array {
  return Float32Array.from({ length: n }, () => (rng.next() - 0.5) * 2 ** (rng.int(25) - 12));
}

// Edge values for the element-wise kernels: signed zeros, NaN, infinities, subnormals and a value
// whose sums overflow, placed every fifth element (at a different phase per array).
const SPECIAL = [0, -0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, 2 ** -149, -(2 ** -130), 3.4e38];

function withSpecials(rng: Rng, n: number, phase: number): Float32Array {
  const values = spread(rng, n);
  for (let k = phase; k < n; k += 5) values[k] = SPECIAL[(k * 3 + phase) % SPECIAL.length]!;
  return values;
}

const ROWS = [0, 1, 7];
// Columns around the four-lane width (the kernels finish cols mod 4 columns one by one), and an
// MNIST-sized row that runs many vectors before its tail.
const COLS = [0, 1, 3, 4, 5, 8, 13, 784];
const GRID = ROWS.flatMap((rows) => COLS.map((cols) => [rows, cols] as [number, number]));
const LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 13, 1001];
// 1/3 is not a float32: it shows whether alpha is rounded to float32 as tfjs's scalar is.
const ALPHAS = [0.001, -1.75, 1 / 3, 0];
// Marks memory a kernel must leave alone, around its inputs and its output.
const GUARD = -7.5;
const PAD = 3;

/** Hands out zones of memory the test may write: floats wanted in, byte offset out. */
type Allocate = (floats: number) => number;

/**
 * Writes `inputs` into memory with guards around each, runs `call` with their byte offsets and an
 * output's, and checks that inputs and guards are as written. `residue` puts array k at a float
 * index ≡ residue + k (mod 4), so every array is 16-byte aligned in one round and not in three.
 * Returns a copy of the output.
 */
function runRaw(
  kernels: WasmKernels,
  allocate: Allocate,
  inputs: Float32Array[],
  outLength: number,
  residue: number,
  call: (inputAt: number[], outAt: number) => void,
): Float32Array {
  const zone = (n: number, k: number): number => {
    let at = allocate(n + 2 * PAD + 3) / 4 + PAD;
    at += (((residue + k - at) % 4) + 4) % 4;
    return at;
  };
  const inputAt = inputs.map((v, k) => zone(v.length, k));
  const outAt = zone(outLength, inputs.length);
  const heap = () => new Float32Array(kernels.memory.buffer);
  inputs.forEach((v, k) => {
    heap().fill(GUARD, inputAt[k]! - PAD, inputAt[k]! + v.length + PAD);
    heap().set(v, inputAt[k]!);
  });
  heap().fill(GUARD, outAt - PAD, outAt + outLength + PAD);
  call(
    inputAt.map((at) => at * 4),
    outAt * 4,
  );
  const after = heap();
  const guards = [GUARD, GUARD, GUARD];
  inputs.forEach((v, k) => {
    expect(firstDifference(after.slice(inputAt[k]! - PAD, inputAt[k]! + v.length + PAD), [...guards, ...v, ...guards])).toBe(-1);
  });
  expect(Array.from(after.slice(outAt - PAD, outAt))).toEqual(guards);
  expect(Array.from(after.slice(outAt + outLength, outAt + outLength + PAD))).toEqual(guards);
  return after.slice(outAt, outAt + outLength);
}

/** The raw-kernel checks, once on the scratch instance and once on the wasm backend's heap. */
function rawKernelSuite(setup: () => Promise<{ kernels: WasmKernels; allocate: Allocate; release: () => void }>): void {
  let kernels: WasmKernels;
  let allocate: Allocate;
  let release: () => void;
  beforeAll(async () => {
    ({ kernels, allocate, release } = await setup());
    expect(kernels).not.toBeNull();
  });
  afterAll(() => release());

  it.each(GRID)('addColumnBias on [%i, %i] equals x + bias[row] in float32, at every alignment', (rows, cols) => {
    for (let residue = 0; residue < 4; residue++) {
      const rng = new Rng(1000 + 100 * rows + cols + residue);
      const x = withSpecials(rng, rows * cols, residue % 5);
      const bias = withSpecials(rng, rows, 2);
      const got = runRaw(kernels, allocate, [x, bias], rows * cols, residue, ([xAt, biasAt], outAt) =>
        kernels.addColumnBias(xAt!, biasAt!, outAt, rows, cols),
      );
      expect(firstDifference(got, referenceAddColumnBias(x, bias, rows, cols))).toBe(-1);
    }
  });

  it.each(LENGTHS)('addScaledDifference(n = %i) equals w + alpha (p - q) in float32, at every alignment', (n) => {
    for (let residue = 0; residue < 4; residue++) {
      for (const alpha of ALPHAS) {
        const rng = new Rng(2000 + 10 * n + residue);
        const [w, p, q] = [withSpecials(rng, n, 0), withSpecials(rng, n, 1), withSpecials(rng, n, 3)];
        const got = runRaw(kernels, allocate, [w, p, q], n, residue, ([wAt, pAt, qAt], outAt) =>
          kernels.addScaledDifference(wAt!, pAt!, qAt!, outAt, n, alpha),
        );
        expect(firstDifference(got, referenceAddScaledDifference(w, p, q, alpha))).toBe(-1);
      }
    }
  });

  it.each(GRID)('rowSumDifference on [%i, %i] equals the four-lane float32 sum exactly and the float64 sum within rounding', (rows, cols) => {
    for (let residue = 0; residue < 4; residue++) {
      const rng = new Rng(3000 + 100 * rows + cols + residue);
      const [p, q] = [spread(rng, rows * cols), spread(rng, rows * cols)];
      const got = runRaw(kernels, allocate, [p, q], rows, residue, ([pAt, qAt], outAt) => kernels.rowSumDifference(pAt!, qAt!, outAt, rows, cols));
      expect(firstDifference(got, referenceRowSumDifference(p, q, rows, cols))).toBe(-1);
      float64RowSums(p, q, rows, cols).forEach(({ sum, bound }, i) => expect(Math.abs(got[i]! - sum)).toBeLessThanOrEqual(bound));
    }
  });

  it('rowSumDifference: the exact check tells the kernel order from a column-by-column sum and from lanes met left to right', () => {
    // Without this, a kernel summing in another order could pass the checks above by luck.
    const [rows, cols] = [7, 784];
    const rng = new Rng(3999);
    const [p, q] = [spread(rng, rows * cols), spread(rng, rows * cols)];
    const got = runRaw(kernels, allocate, [p, q], rows, 1, ([pAt, qAt], outAt) => kernels.rowSumDifference(pAt!, qAt!, outAt, rows, cols));
    expect(firstDifference(got, sequentialRowSumDifference(p, q, rows, cols))).not.toBe(-1);
    expect(firstDifference(got, chainedLanesRowSumDifference(p, q, rows, cols))).not.toBe(-1);
    expect(firstDifference(got, referenceRowSumDifference(p, q, rows, cols))).toBe(-1);
  });
}

describe('contrastive kernels on their own memory (the scratch instance)', () => {
  rawKernelSuite(async () => {
    const kernels = scratchKernels(1 << 16)!;
    // A bump allocator from byte 0: the scratch memory belongs to whoever runs a kernel now.
    let next = 0;
    const allocate: Allocate = (floats) => {
      const at = next;
      next += 4 * floats;
      scratchKernels(next);
      return at;
    };
    return { kernels, allocate, release: () => (next = 0) };
  });
});

describe('contrastive kernels on the wasm backend heap', () => {
  rawKernelSuite(async () => {
    await useBackend('wasm');
    const backend = tf.backend() as unknown as TfjsWasmBackend;
    // Zones are tensors, so the test writes only memory the backend handed out.
    const held: tf.Tensor[] = [];
    const allocate: Allocate = (floats) => {
      const t = tf.zeros([floats]);
      held.push(t);
      return offsetOf(backend, t);
    };
    return { kernels: kernelsOnBackend(backend)!, allocate, release: () => tf.dispose(held.splice(0)) };
  });
});

async function kernelNames(fn: () => tf.Tensor | tf.Tensor[]): Promise<string[]> {
  const info = await tf.profile(fn);
  tf.dispose(info.result as tf.Tensor | tf.Tensor[]);
  // Every kernel run, in order; '' is a customGrad scope.
  return info.kernels.map((k) => k.name).filter((name) => name !== '');
}

function expectSameTensor(actual: tf.Tensor, expected: tf.Tensor): void {
  expect(actual.shape).toEqual(expected.shape);
  expect(actual.dtype).toBe(expected.dtype);
  expect(firstDifference(actual.dataSync(), expected.dataSync())).toBe(-1);
}

const BIAS_SHAPES: [number, number][] = [
  [1, 1],
  [3, 5],
  [7, 13],
  [4, 784],
  [0, 5],
  [5, 0],
];
const SHAPES: number[][] = [[], [1], [7], [1001], [3, 4], [2, 3, 5], [0], [2, 0, 3]];
const SUM_SHAPES: [number, number][] = [
  [1, 1],
  [7, 13],
  [3, 784],
  [0, 5],
  [5, 0],
];

describe.each(TEST_BACKENDS)('the ops on %s', (backend) => {
  const fast = backend === 'wasm';

  it.each(BIAS_SHAPES)('addRowBias on [%i, %i] equals tf.add(x, bias as a column) and x + bias in float32, exactly', async (rows, cols) => {
    await useBackend(backend);
    expect(wasmKernelsActive()).toBe(fast);
    const rng = new Rng(4000 + rows * 1000 + cols);
    const [xv, bv] = [withSpecials(rng, rows * cols, 1), withSpecials(rng, rows, 0)];
    const x = tf.tensor2d(xv, [rows, cols]);
    const bias = tf.tensor1d(bv);
    const ours = expectOnlyReturnedTensors(() => addRowBias(x, bias));
    const reference = tf.tidy(() => tf.add(x, tf.reshape(bias, [rows, 1])));
    expectSameTensor(ours, reference);
    expect(firstDifference(ours.dataSync(), referenceAddColumnBias(xv, bv, rows, cols))).toBe(-1);
    tf.dispose([x, bias, ours, reference]);
  });

  it.each(SHAPES.map((s) => [JSON.stringify(s), s] as const))(
    'addScaledDifference over shape %s equals tf.add(w, tf.mul(tf.sub(p, q), alpha)) and the float32 reference, exactly',
    async (_, shape) => {
      await useBackend(backend);
      const n = tf.util.sizeFromShape(shape);
      for (const alpha of ALPHAS) {
        const rng = new Rng(5000 + n);
        const [wv, pv, qv] = [withSpecials(rng, n, 0), withSpecials(rng, n, 2), withSpecials(rng, n, 4)];
        const [w, p, q] = [wv, pv, qv].map((v) => tf.tensor(v, shape));
        const ours = expectOnlyReturnedTensors(() => addScaledDifference(w!, p!, q!, alpha));
        const reference = tf.tidy(() => tf.add(w!, tf.mul(tf.sub(p!, q!), alpha)));
        expectSameTensor(ours, reference);
        expect(firstDifference(ours.dataSync(), referenceAddScaledDifference(wv, pv, qv, alpha))).toBe(-1);
        tf.dispose([w!, p!, q!, ours, reference]);
      }
    },
  );

  it.each(SUM_SHAPES)(
    `rowSumDifference on [%i, %i] equals ${fast ? 'the four-lane float32 sum' : 'tf.sum(tf.sub(p, q), 1)'} exactly, and the float64 sum within rounding`,
    async (rows, cols) => {
      await useBackend(backend);
      const rng = new Rng(6000 + rows * 1000 + cols);
      const [pv, qv] = [spread(rng, rows * cols), spread(rng, rows * cols)];
      const p = tf.tensor2d(pv, [rows, cols]);
      const q = tf.tensor2d(qv, [rows, cols]);
      const ours = expectOnlyReturnedTensors(() => rowSumDifference(p, q));
      expect(ours.shape).toEqual([rows]);
      expect(ours.dtype).toBe('float32');
      const values = ours.dataSync();
      if (fast) {
        expect(firstDifference(values, referenceRowSumDifference(pv, qv, rows, cols))).toBe(-1);
      } else {
        const reference = tf.tidy(() => tf.sum(tf.sub(p, q), 1));
        expectSameTensor(ours, reference);
        reference.dispose();
      }
      float64RowSums(pv, qv, rows, cols).forEach(({ sum, bound }, i) => expect(Math.abs(values[i]! - sum)).toBeLessThanOrEqual(bound));
      tf.dispose([p, q, ours]);
    },
  );

  it(fast ? 'runs core kernels for float32 and tfjs ops otherwise' : 'runs tfjs ops, never core kernels', async () => {
    await useBackend(backend);
    const x = tf.fill([6, 10], 0.5) as tf.Tensor2D;
    const bias = tf.fill([6], 0.25) as tf.Tensor1D;
    const xi = tf.fill([6, 10], 2, 'int32') as tf.Tensor2D;
    const bi = tf.fill([6], 3, 'int32') as tf.Tensor1D;
    expect(await kernelNames(() => addRowBias(x, bias))).toEqual(fast ? [ADD_ROW_BIAS_KERNEL] : ['Reshape', 'Add']);
    expect(await kernelNames(() => addRowBias(xi, bi))).toEqual(['Reshape', 'Add']);
    // A float32 x with an int32 bias: tf.add casts the two to one dtype.
    const mixed = await kernelNames(() => addRowBias(x, bi));
    expect(mixed).toContain('Add');
    expect(mixed).not.toContain(ADD_ROW_BIAS_KERNEL);
    expect(await kernelNames(() => addScaledDifference(x, x, x, 0.5))).toEqual(fast ? [ADD_SCALED_DIFFERENCE_KERNEL] : ['Sub', 'Multiply', 'Add']);
    expect(await kernelNames(() => rowSumDifference(x, x))).toEqual(fast ? [ROW_SUM_DIFFERENCE_KERNEL] : ['Sub', 'Sum']);
    tf.dispose([x, bias, xi, bi]);
  });

  it('addRowBias of int32 x goes through tf.add: int32 with an int32 bias, float32 with a float32 one', async () => {
    await useBackend(backend);
    const x = tf.tensor2d([1, -2, 3, 4, 5, -6], [2, 3], 'int32');
    const bi = tf.tensor1d([10, -20], 'int32');
    const bf = tf.tensor1d([0.5, -0.25]);
    const a = expectOnlyReturnedTensors(() => addRowBias(x, bi));
    expect(a.dtype).toBe('int32');
    expect(Array.from(a.dataSync())).toEqual([11, 8, 13, -16, -15, -26]);
    const b = expectOnlyReturnedTensors(() => addRowBias(x, bf));
    const reference = tf.tidy(() => tf.add(x, tf.reshape(bf, [2, 1])));
    expectSameTensor(b, reference);
    expect(b.dtype).toBe('float32');
    expect(Array.from(b.dataSync())).toEqual([1.5, -1.5, 3.5, 3.75, 4.75, -6.25]);
    tf.dispose([x, bi, bf, a, b, reference]);
  });

  it.each([
    [3, 5],
    [7, 13],
    [1, 784],
    [4, 0],
  ])('gradient of sum(addRowBias(x, b) * r) on [%i, %i] is [r, sum(r, 1)] exactly, leaving only the gradients', async (rows, cols) => {
    await useBackend(backend);
    const rng = new Rng(7000 + rows * 100 + cols);
    const x = tf.tensor2d(spread(rng, rows * cols), [rows, cols]);
    const b = tf.tensor1d(spread(rng, rows));
    // Distinct upstream values over many binades: a row sum in the wrong axis or order shows.
    const r = tf.tensor2d(spread(rng, rows * cols), [rows, cols]);
    const loss = (xs: tf.Tensor, bs: tf.Tensor) => tf.sum(tf.mul(addRowBias(xs as tf.Tensor2D, bs as tf.Tensor1D), r));
    const [dx, db] = expectOnlyReturnedTensors(() => tf.grads(loss)([x, b]));
    expectSameTensor(dx!, r);
    // Sums over no columns are 0 (tfjs-backend-wasm's Sum leaves them unwritten: not the oracle there).
    const rowSums = cols === 0 ? tf.zeros([rows]) : tf.sum(r, 1);
    expectSameTensor(db!, rowSums);
    const names = await kernelNames(() => tf.grads(loss)([x, b]));
    expect(names.includes(ADD_ROW_BIAS_KERNEL)).toBe(fast);
    tf.dispose([x, b, r, dx!, db!, rowSums]);
  });

  it('rejects bad shapes with a ShapeError naming the argument and both shapes', async () => {
    await useBackend(backend);
    const x = tf.zeros([3, 4]);
    const [row, cube] = [tf.zeros([3]), tf.zeros([3, 4, 1])];
    const [b4, b31] = [tf.zeros([4]), tf.zeros([3, 1])];
    const other = tf.zeros([4, 3]);
    await withNoLeaks(() => {
      expect(() => addRowBias(x as tf.Tensor2D, b4 as tf.Tensor1D)).toThrow(ShapeError);
      expect(() => addRowBias(x as tf.Tensor2D, b4 as tf.Tensor1D)).toThrow(/addRowBias bias: expected shape \[3\], got \[4\]/);
      expect(() => addRowBias(x as tf.Tensor2D, b31 as unknown as tf.Tensor1D)).toThrow(/addRowBias bias: expected shape \[3\], got \[3, 1\]/);
      expect(() => addRowBias(row as unknown as tf.Tensor2D, row as tf.Tensor1D)).toThrow(ShapeError);
      expect(() => addRowBias(row as unknown as tf.Tensor2D, row as tf.Tensor1D)).toThrow(/addRowBias x: .*rank 2.*got \[3\]/);
      expect(() => addRowBias(cube as unknown as tf.Tensor2D, row as tf.Tensor1D)).toThrow(/addRowBias x: .*got \[3, 4, 1\]/);

      expect(() => addScaledDifference(x, other, x, 1)).toThrow(ShapeError);
      expect(() => addScaledDifference(x, other, x, 1)).toThrow(/addScaledDifference p .*expected shape \[3, 4\], got \[4, 3\]/);
      expect(() => addScaledDifference(x, x, cube, 1)).toThrow(/addScaledDifference q .*expected shape \[3, 4\], got \[3, 4, 1\]/);

      expect(() => rowSumDifference(row as unknown as tf.Tensor2D, row as unknown as tf.Tensor2D)).toThrow(ShapeError);
      expect(() => rowSumDifference(row as unknown as tf.Tensor2D, row as unknown as tf.Tensor2D)).toThrow(/rowSumDifference p: .*rank 2.*got \[3\]/);
      expect(() => rowSumDifference(cube as unknown as tf.Tensor2D, cube as unknown as tf.Tensor2D)).toThrow(/rowSumDifference p: .*got \[3, 4, 1\]/);
      expect(() => rowSumDifference(x as tf.Tensor2D, other as tf.Tensor2D)).toThrow(/rowSumDifference q .*expected shape \[3, 4\], got \[4, 3\]/);
    });
    tf.dispose([x, row, cube, b4, b31, other]);
  });

  it('rejects an x or bias that is not a tensor, non-float32 inputs, and an alpha that is not a finite number with a ConfigError naming it', async () => {
    await useBackend(backend);
    const x = tf.zeros([2, 3]);
    const xi = tf.zeros([2, 3], 'int32');
    const xb = tf.zeros([2, 3], 'bool');
    const b2 = tf.zeros([2]);
    await withNoLeaks(() => {
      for (const notTensor of [null, undefined, 5, [[1, 2, 3]]]) {
        expect(() => addRowBias(notTensor as unknown as tf.Tensor2D, b2 as tf.Tensor1D)).toThrow(ConfigError);
        expect(() => addRowBias(notTensor as unknown as tf.Tensor2D, b2 as tf.Tensor1D)).toThrow(/"addRowBias x": expected a rank-2 tensor/);
      }
      expect(() => addRowBias(x as tf.Tensor2D, [0, 0] as unknown as tf.Tensor1D)).toThrow(ConfigError);
      expect(() => addRowBias(x as tf.Tensor2D, [0, 0] as unknown as tf.Tensor1D)).toThrow(/"addRowBias bias": expected a rank-1 tensor/);

      expect(() => addScaledDifference(xi, x, x, 1)).toThrow(ConfigError);
      expect(() => addScaledDifference(xi, x, x, 1)).toThrow(/"addScaledDifference w dtype": expected 'float32', got .*int32/);
      expect(() => addScaledDifference(x, xi, x, 1)).toThrow(/"addScaledDifference p dtype"/);
      expect(() => addScaledDifference(x, x, xb, 1)).toThrow(/"addScaledDifference q dtype": expected 'float32', got .*bool/);
      expect(() => addScaledDifference(x, [[0, 0, 0]] as unknown as tf.Tensor, x, 1)).toThrow(/"addScaledDifference p": expected a float32 tensor/);
      for (const alpha of [1e39, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '0.5', undefined, null]) {
        expect(() => addScaledDifference(x, x, x, alpha as number)).toThrow(ConfigError);
        expect(() => addScaledDifference(x, x, x, alpha as number)).toThrow(/"addScaledDifference alpha": expected a number finite in float32/);
      }

      expect(() => rowSumDifference(xi as tf.Tensor2D, x as tf.Tensor2D)).toThrow(ConfigError);
      expect(() => rowSumDifference(xi as tf.Tensor2D, x as tf.Tensor2D)).toThrow(/"rowSumDifference p dtype": expected 'float32', got .*int32/);
      expect(() => rowSumDifference(x as tf.Tensor2D, xb as tf.Tensor2D)).toThrow(/"rowSumDifference q dtype"/);
    });
    tf.dispose([x, xi, xb, b2]);
  });
});

describe('the ops on wasm after the heap grows', () => {
  it('give the reference values for tensors made before and after the growth', async () => {
    await useBackend('wasm');
    const backend = tf.backend();
    const heap = wasmHeapOf(backend)!;
    const [rows, cols] = [7, 13];
    const make = (seed: number) => {
      const rng = new Rng(seed);
      const v = { x: spread(rng, rows * cols), b: spread(rng, rows), p: spread(rng, rows * cols), q: spread(rng, rows * cols) };
      const t = { x: tf.tensor2d(v.x, [rows, cols]), b: tf.tensor1d(v.b), p: tf.tensor2d(v.p, [rows, cols]), q: tf.tensor2d(v.q, [rows, cols]) };
      return { v, t };
    };
    const check = ({ v, t }: ReturnType<typeof make>) => {
      const outs = [addRowBias(t.x, t.b), addScaledDifference(t.x, t.p, t.q, 0.3), rowSumDifference(t.p, t.q)];
      expect(firstDifference(outs[0]!.dataSync(), referenceAddColumnBias(v.x, v.b, rows, cols))).toBe(-1);
      expect(firstDifference(outs[1]!.dataSync(), referenceAddScaledDifference(v.x, v.p, v.q, 0.3))).toBe(-1);
      expect(firstDifference(outs[2]!.dataSync(), referenceRowSumDifference(v.p, v.q, rows, cols))).toBe(-1);
      tf.dispose(outs);
    };
    const old = make(8000);
    check(old);
    const bytesBefore = heap.buffer.byteLength;
    // More floats than the heap holds now, so malloc must grow it.
    const big = tf.zeros([bytesBefore / 4 + (16 << 20)]);
    expect(heap.buffer.byteLength).toBeGreaterThan(bytesBefore);
    expect(wasmHeapOf(backend)).toBe(heap);
    expect(wasmKernelsActive()).toBe(true);
    const fresh = make(8001);
    check(old);
    check(fresh);
    big.dispose();
    check(fresh);
    tf.dispose([...Object.values(old.t), ...Object.values(fresh.t)]);
  });
});

describe('gradients of the contrastive kernels (wasm), against the tf-op formulas on cpu', () => {
  it('addScaledDifference, rowSumDifference and addRowBias differentiate like their formulas', async () => {
    const values = (n: number, k: number) => Array.from({ length: n }, (_, i) => Math.sin(i * k) * 0.5);
    const run = async (backend: 'cpu' | 'wasm') => {
      await tf.setBackend(backend);
      const [w, p, q] = [1, 2, 3].map((k) => tf.tensor2d(values(15, k), [3, 5])) as [tf.Tensor2D, tf.Tensor2D, tf.Tensor2D];
      const bias = tf.tensor1d([0.2, -0.1, 0.3]);
      const r = tf.tensor2d(values(15, 7), [3, 5]);
      const f = (a: tf.Tensor, b: tf.Tensor, c: tf.Tensor, d: tf.Tensor) =>
        tf.add(
          tf.sum(tf.mul(addScaledDifference(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor2D, 0.37), r)),
          tf.add(tf.sum(tf.square(rowSumDifference(b as tf.Tensor2D, c as tf.Tensor2D))), tf.sum(tf.square(addRowBias(a as tf.Tensor2D, d as tf.Tensor1D)))),
        ) as tf.Scalar;
      const grads = tf.grads(f)([w, p, q, bias]);
      const out = grads.map((g) => Array.from(g.dataSync()));
      tf.dispose([w, p, q, bias, r, ...grads]);
      return out;
    };
    const cpu = await run('cpu');
    const wasm = await run('wasm');
    cpu.forEach((g, i) => g.forEach((v, j) => expect(wasm[i]![j]).toBeCloseTo(v, 5)));
    expect(Math.max(...cpu.flat().map(Math.abs))).toBeGreaterThan(0.1);
  });
});
