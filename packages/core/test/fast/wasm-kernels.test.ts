import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { beforeAll, describe, expect, it } from 'vitest';
import { sampleBernoulliWith } from '../../src/fast/sample-bernoulli.js';
import { transpose2d } from '../../src/fast/transpose.js';
import { kernelsOn, laneSeeds, scratchKernels, type WasmKernels } from '../../src/fast/wasm/kernels.js';
import { kernelsOnBackend, offsetOf, wasmHeapOf, type TfjsWasmBackend } from '../../src/fast/wasm/tfjs-wasm.js';
import { Rng } from '../../src/random/rng.js';
import { useBackend } from '../../src/testing.js';

// xoshiro128+ written out from its definition (Blackman & Vigna 2018, xoshiro128plus.c), one
// generator per lane, independent of kernels.wat: words 0-3 of `seeds` are s0 of lanes 0-3,
// 4-7 s1, 8-11 s2, 12-15 s3; element k is the next output of lane k mod 4, and an output w
// becomes the uniform (w >>> 8) * 2^-24.
interface Lane {
  s0: number;
  s1: number;
  s2: number;
  s3: number;
}

function referenceUniforms(seeds: readonly number[], n: number): Float32Array {
  const lanes: Lane[] = [0, 1, 2, 3].map((l) => ({ s0: seeds[l]!, s1: seeds[4 + l]!, s2: seeds[8 + l]!, s3: seeds[12 + l]! }));
  const out = new Float32Array(n);
  for (let k = 0; k < n; k++) {
    const s = lanes[k % 4]!;
    out[k] = (((s.s0 + s.s3) >>> 0) >>> 8) * 2 ** -24;
    const t = s.s1 << 9;
    s.s2 ^= s.s0;
    s.s3 ^= s.s1;
    s.s1 ^= s.s2;
    s.s0 ^= s.s3;
    s.s2 ^= t;
    s.s3 = (s.s3 << 11) | (s.s3 >>> 21);
  }
  return out;
}

function referenceBernoulli(seeds: readonly number[], probs: Float32Array): Float32Array {
  const u = referenceUniforms(seeds, probs.length);
  return u.map((uk, k) => (uk < probs[k]! ? 1 : 0));
}

/** Index of the first element where the arrays differ (-1 if none), so a failure names it. */
function firstDifference(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) return Math.min(a.length, b.length);
  for (let i = 0; i < a.length; i++) if (!Object.is(a[i], b[i])) return i;
  return -1;
}

// Lengths around the four-lane width (the kernels finish n mod 4 elements one by one), and one
// long enough to run many whole vectors before its tail.
const LENGTHS = [0, 1, 2, 3, 4, 5, 7, 8, 1001];
// Marks memory a kernel must leave alone, before and after its output.
const SENTINEL = -7.5;
// Elements of padding on each side: 3 floats put the output off 16-byte alignment.
const PAD = 3;
// Seeds per length in the Bernoulli checks.
const TRIALS = 16;

/** Probabilities that hit the edges: 0, 1, NaN, values outside [0, 1], grid points u can equal. */
function probabilities(rng: Rng, n: number): Float32Array {
  const special = [0, 1, Number.NaN, -0.5, 1.5, 2 ** -24, 0.5, 1 - 2 ** -24];
  return Float32Array.from({ length: n }, (_, k) => (k % 5 === 4 ? special[Math.floor(k / 5) % special.length]! : rng.next()));
}

function seedsFrom(seed: number): number[] {
  const rng = new Rng(seed);
  return laneSeeds(() => rng.nextUint32());
}

describe('laneSeeds', () => {
  it('takes sixteen words in order from the source, as signed 32-bit integers', () => {
    const words = Array.from({ length: 16 }, (_, i) => (i * 0x9e3779b9 + 0x80000001) >>> 0);
    let next = 0;
    expect(laneSeeds(() => words[next++]!)).toEqual(words.map((w) => w | 0));
    expect(next).toBe(16);
  });

  it('moves an all-zero lane (xoshiro fixed point) off zero, and only that lane', () => {
    expect(laneSeeds(() => 0)).toEqual([1, 1, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]);
    // Lane 2 is zero in all four words; lanes 0, 1 and 3 have one non-zero word each.
    const words = [0, 5, 0, 0, 0, 0, 0, 0, 0, 0, 0, 6, 7, 0, 0, 0];
    let next = 0;
    const seeds = laneSeeds(() => words[next++]!);
    expect(seeds).toEqual([0, 5, 1, 0, 0, 0, 0, 0, 0, 0, 0, 6, 7, 0, 0, 0]);
    expect(Array.from(referenceUniforms(seeds, 8)).some((u) => u !== 0)).toBe(true);
  });
});

describe('kernels on their own memory (the scratch instance)', () => {
  let kernels: WasmKernels;
  beforeAll(() => {
    kernels = scratchKernels(1 << 16)!;
    expect(kernels).not.toBeNull();
  });

  it('grows the scratch memory to the bytes asked for, keeping one instance', () => {
    const before = kernels.memory;
    const again = scratchKernels(3 * 65536 + 1)!;
    expect(again.memory).toBe(before);
    expect(again).toBe(kernels);
    expect(again.memory.buffer.byteLength).toBeGreaterThanOrEqual(3 * 65536 + 1);
  });

  it.each(LENGTHS)('uniform(n = %i) equals plain-JS xoshiro128+ exactly and writes nothing outside its n floats', (n) => {
    const seeds = seedsFrom(100 + n);
    const base = 64;
    const view = new Float32Array(kernels.memory.buffer, base * 4, n + 2 * PAD);
    view.fill(SENTINEL);
    kernels.uniform((base + PAD) * 4, n, seeds);
    const after = new Float32Array(kernels.memory.buffer, base * 4, n + 2 * PAD);
    const got = after.slice(PAD, PAD + n);
    expect(firstDifference(got, referenceUniforms(seeds, n))).toBe(-1);
    expect(Array.from(after.slice(0, PAD))).toEqual([SENTINEL, SENTINEL, SENTINEL]);
    expect(Array.from(after.slice(PAD + n))).toEqual([SENTINEL, SENTINEL, SENTINEL]);
    // On the 2^-24 grid in [0, 1): the float32 conversion dropped no bit.
    expect(got.every((u) => u >= 0 && u < 1 && Number.isInteger(u * 2 ** 24))).toBe(true);
  });

  it.each(LENGTHS)('bernoulli(n = %i) equals u < p for the reference uniforms, leaving probs and neighbours alone', (n) => {
    // Several seeds: a sample agrees with a wrong uniform half the time.
    for (let trial = 0; trial < TRIALS; trial++) {
      const seeds = seedsFrom(200 + 16 * n + trial);
      const probs = probabilities(new Rng(n + trial), n);
      const pAt = 16;
      const outAt = pAt + n + 2 * PAD + 5;
      const mem = () => new Float32Array(kernels.memory.buffer);
      mem().fill(SENTINEL, outAt, outAt + n + 2 * PAD);
      mem().set(probs, pAt);
      kernels.bernoulli(pAt * 4, (outAt + PAD) * 4, n, seeds);
      const heap = mem();
      expect(firstDifference(heap.slice(outAt + PAD, outAt + PAD + n), referenceBernoulli(seeds, probs))).toBe(-1);
      expect(firstDifference(heap.slice(pAt, pAt + n), probs)).toBe(-1);
      expect(Array.from(heap.slice(outAt, outAt + PAD))).toEqual([SENTINEL, SENTINEL, SENTINEL]);
      expect(Array.from(heap.slice(outAt + PAD + n, outAt + n + 2 * PAD))).toEqual([SENTINEL, SENTINEL, SENTINEL]);
    }
  });

  it.each([3, 4])('bernoulli compares strictly at u = 0, 1/2, 1 - 2^-24 and 2^-24 (n = %i: tail and vector paths)', (n) => {
    // Seeds whose first outputs s0 + s3 put u exactly on chosen grid points, one per lane.
    const targets = [0, 0x80000000, 0xffffff00, 0x100];
    const u = [0, 0.5, 1 - 2 ** -24, 2 ** -24];
    const s0 = [1, 2, 3, 4];
    const seeds = [...s0, 5, 6, 7, 8, 9, 10, 11, 12, ...targets.map((t, l) => (t - s0[l]!) | 0)];
    const mem = () => new Float32Array(kernels.memory.buffer);
    kernels.uniform(0, n, seeds);
    expect(Array.from(mem().slice(0, n))).toEqual(u.slice(0, n));
    const cases: [number[], number[]][] = [
      // p = u: never a success, so p = 0 never gives 1.
      [u, [0, 0, 0, 0]],
      // The next grid point above u: always a success, so p = 1 always gives 1.
      [[2 ** -24, 0.5 + 2 ** -24, 1, 2 ** -23], [1, 1, 1, 1]],
      // Below u (below 0: -2^-24): never a success.
      [[-(2 ** -24), 0.5 - 2 ** -25, 1 - 2 ** -23, 2 ** -25], [0, 0, 0, 0]],
    ];
    for (const [probs, want] of cases) {
      mem().set(Float32Array.from(probs.slice(0, n)), 16);
      kernels.bernoulli(16 * 4, 32 * 4, n, seeds);
      expect(Array.from(mem().slice(32, 32 + n))).toEqual(want.slice(0, n));
    }
  });

  it.each([
    [0, 3],
    [3, 0],
    [1, 1],
    [1, 6],
    [6, 1],
    [4, 4],
    [5, 9],
    [8, 12],
    [13, 7],
  ])('transpose of a %i x %i matrix equals the index-swapped copy and writes nothing past it', (rows, cols) => {
    const n = rows * cols;
    const src = Float32Array.from({ length: n }, (_, i) => i + 0.25);
    const srcAt = 8;
    const dstAt = srcAt + n + 9;
    const mem = () => new Float32Array(kernels.memory.buffer);
    mem().set(src, srcAt);
    mem().fill(SENTINEL, dstAt, dstAt + n + PAD);
    kernels.transpose(srcAt * 4, dstAt * 4, rows, cols);
    const want = new Float32Array(n);
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) want[j * rows + i] = src[i * cols + j]!;
    const heap = mem();
    expect(firstDifference(heap.slice(dstAt, dstAt + n), want)).toBe(-1);
    expect(firstDifference(heap.slice(srcAt, srcAt + n), src)).toBe(-1);
    expect(Array.from(heap.slice(dstAt + n, dstAt + n + PAD))).toEqual([SENTINEL, SENTINEL, SENTINEL]);
  });
});

describe('the build for a shared memory (the threaded wasm backend heap)', () => {
  it('runs on a shared WebAssembly.Memory with the same results as the reference', () => {
    const memory = new WebAssembly.Memory({ initial: 1, maximum: 64, shared: true });
    expect(memory.buffer).toBeInstanceOf(SharedArrayBuffer);
    const kernels = kernelsOn(memory)!;
    expect(kernels).not.toBeNull();
    expect(kernels.memory).toBe(memory);

    const n = 1001;
    const seeds = seedsFrom(600);
    kernels.uniform(0, n, seeds);
    expect(firstDifference(new Float32Array(memory.buffer, 0, n), referenceUniforms(seeds, n))).toBe(-1);

    const probs = probabilities(new Rng(601), n);
    new Float32Array(memory.buffer).set(probs, 2048);
    kernels.bernoulli(2048 * 4, 4096 * 4, n, seeds);
    expect(firstDifference(new Float32Array(memory.buffer, 4096 * 4, n), referenceBernoulli(seeds, probs))).toBe(-1);

    const [rows, cols] = [7, 143];
    kernels.transpose(2048 * 4, 8192 * 4, rows, cols);
    const got = new Float32Array(memory.buffer, 8192 * 4, n);
    let misplaced = 0;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) if (!Object.is(got[j * rows + i], probs[i * cols + j])) misplaced++;
    expect(misplaced).toBe(0);
  });
});

describe('kernels on the wasm backend heap', () => {
  let backend: TfjsWasmBackend;
  let kernels: WasmKernels;
  beforeAll(async () => {
    await useBackend('wasm');
    backend = tf.backend() as unknown as TfjsWasmBackend;
    kernels = kernelsOnBackend(backend)!;
    expect(kernels).not.toBeNull();
  });

  it('works in the backend own memory, one instance per memory', () => {
    expect(kernels.memory).toBe(wasmHeapOf(backend));
    expect(kernelsOnBackend(backend)).toBe(kernels);
    expect(kernelsOn(kernels.memory)).toBe(kernels);
    expect(kernels.memory).not.toBe(scratchKernels(0)!.memory);
  });

  // A padded tensor: the kernel writes its middle n floats in place, so reading the tensor back
  // through tfjs shows both the output and whether the padding survived.
  function padded(n: number): tf.Tensor1D {
    return tf.fill([n + 2 * PAD], SENTINEL) as tf.Tensor1D;
  }

  it.each(LENGTHS)('uniform(n = %i) in a tensor on the heap equals the reference exactly', (n) => {
    const seeds = seedsFrom(300 + n);
    const out = padded(n);
    kernels.uniform(offsetOf(backend, out) + PAD * 4, n, seeds);
    const values = out.dataSync();
    expect(firstDifference(values.slice(PAD, PAD + n), referenceUniforms(seeds, n))).toBe(-1);
    expect(Array.from(values.slice(0, PAD))).toEqual([SENTINEL, SENTINEL, SENTINEL]);
    expect(Array.from(values.slice(PAD + n))).toEqual([SENTINEL, SENTINEL, SENTINEL]);
    out.dispose();
  });

  it.each(LENGTHS)('bernoulli(n = %i) from a probs tensor into a tensor on the heap equals the reference exactly', (n) => {
    for (let trial = 0; trial < TRIALS; trial++) {
      const seeds = seedsFrom(400 + 16 * n + trial);
      const values = probabilities(new Rng(1000 + n + trial), n);
      const probs = tf.tensor1d(values);
      const out = padded(n);
      kernels.bernoulli(offsetOf(backend, probs), offsetOf(backend, out) + PAD * 4, n, seeds);
      const got = out.dataSync();
      expect(firstDifference(got.slice(PAD, PAD + n), referenceBernoulli(seeds, values))).toBe(-1);
      expect(Array.from(got.slice(0, PAD))).toEqual([SENTINEL, SENTINEL, SENTINEL]);
      expect(Array.from(got.slice(PAD + n))).toEqual([SENTINEL, SENTINEL, SENTINEL]);
      expect(firstDifference(probs.dataSync(), values)).toBe(-1);
      tf.dispose([probs, out]);
    }
  });

  it('keeps working after the heap grows: the instance imports the Memory object, not its buffer', () => {
    const heap = wasmHeapOf(backend)!;
    const bytesBefore = heap.buffer.byteLength;
    // More floats than the heap holds now, so malloc must grow it.
    const big = tf.zeros([bytesBefore / 4 + (16 << 20)]);
    big.dispose();
    expect(heap.buffer.byteLength).toBeGreaterThan(bytesBefore);
    expect(wasmHeapOf(backend)).toBe(heap);
    expect(kernelsOnBackend(backend)).toBe(kernels);

    const seeds = seedsFrom(500);
    const out = padded(1001);
    kernels.uniform(offsetOf(backend, out) + PAD * 4, 1001, seeds);
    expect(firstDifference(out.dataSync().slice(PAD, PAD + 1001), referenceUniforms(seeds, 1001))).toBe(-1);

    const values = probabilities(new Rng(501), 1001);
    const probs = tf.tensor2d(values, [7, 143]);
    const rng = new Rng(502);
    const twin = new Rng(502);
    const samples = sampleBernoulliWith(probs, () => rng.nextUint32());
    expect(firstDifference(samples.dataSync(), referenceBernoulli(laneSeeds(() => twin.nextUint32()), values))).toBe(-1);

    const t = transpose2d(probs);
    expect(firstDifference(t.dataSync(), tf.transpose(probs).dataSync())).toBe(-1);
    tf.dispose([out, probs, samples, t]);
  });
});

describe('kernels.generated.ts', () => {
  const core = fileURLToPath(new URL('../..', import.meta.url));
  const script = join(core, 'scripts', 'wasm-kernels.mjs');

  it('is what kernels.wat compiles to (scripts/wasm-kernels.mjs --check exits 0)', () => {
    const run = spawnSync(process.execPath, [script, '--check'], { cwd: core, encoding: 'utf8' });
    expect(run.stderr).toBe('');
    expect(run.status).toBe(0);
  });

  it('--check fails on a generated file that differs from the .wat', () => {
    // A copy of the script and sources with one byte of the generated file changed; node_modules
    // linked so the copy resolves wabt as the original does.
    const dir = mkdtempSync(join(tmpdir(), 'helmholtz-wasm-check-'));
    try {
      mkdirSync(join(dir, 'scripts'));
      mkdirSync(join(dir, 'src', 'fast', 'wasm'), { recursive: true });
      copyFileSync(script, join(dir, 'scripts', 'wasm-kernels.mjs'));
      const wasmDir = join(core, 'src', 'fast', 'wasm');
      copyFileSync(join(wasmDir, 'kernels.wat'), join(dir, 'src', 'fast', 'wasm', 'kernels.wat'));
      const generated = readFileSync(join(wasmDir, 'kernels.generated.ts'), 'utf8');
      writeFileSync(join(dir, 'src', 'fast', 'wasm', 'kernels.generated.ts'), generated.replace("= 'AGFzbQ", "= 'BGFzbQ"));
      symlinkSync(join(core, '..', '..', 'node_modules'), join(dir, 'node_modules'), 'dir');
      const run = spawnSync(process.execPath, [join(dir, 'scripts', 'wasm-kernels.mjs'), '--check'], { cwd: dir, encoding: 'utf8' });
      expect(run.status).toBe(1);
      expect(run.stderr).toMatch(/is not what kernels\.wat compiles to/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
