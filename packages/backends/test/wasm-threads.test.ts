import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { ConfigError, Rng, createDense, createOptimizer, dense, disposeParams } from '@helmholtz/core';
import { maxRelativeError, withNoLeaks } from '@helmholtz/core/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { describeBackend, initBackend, type BackendDescription } from '../src/index.js';
import { rejection } from './support/rejection.js';
import { runWorkload, type WorkloadResult } from './support/wasm-threads/workload.mjs';

const packageDir = fileURLToPath(new URL('..', import.meta.url));
const support = fileURLToPath(new URL('./support/wasm-threads/', import.meta.url));
const SCENARIO = join(support, 'scenario.mjs');

const TOLERANCE = 1e-4;
// A child gets this long to start, compute and print its result (the threaded start itself gives
// up on its workers after 30 s), then this long to exit by itself.
const RESULT_TIMEOUT_MS = 45_000;
const EXIT_TIMEOUT_MS = 5_000;

/**
 * Largest error of each result against the cpu reference, relative to the reference's RMS:
 * float32 sums of hundreds of terms differ from cpu's by about 1e-6 of a result's scale, so an
 * entry that happens to be near zero would show a large relative error against a fixed floor
 * with nothing wrong; a thread computing garbage or a read through a stale view of the memory
 * is off by the order of the values themselves.
 */
function errorsAgainst(reference: readonly WorkloadResult[], results: readonly WorkloadResult[]): Record<string, number> {
  expect(results.map((r) => r.name)).toEqual(reference.map((r) => r.name));
  const errors: Record<string, number> = {};
  reference.forEach((ref, i) => {
    let squares = 0;
    for (const v of ref.values) squares += v * v;
    const rms = Math.sqrt(squares / ref.values.length);
    // All zeros would make any comparison pass.
    expect(rms, `${ref.name} is all zeros on cpu`).toBeGreaterThan(0);
    errors[ref.name] = maxRelativeError(results[i]!.values, ref.values, rms);
  });
  return errors;
}

function expectAgreement(errors: Record<string, number>, label: string): void {
  const worst = Math.max(...Object.values(errors));
  console.log(`${label}: worst error vs cpu ${worst.toExponential(2)} (relative to each result's RMS)`);
  for (const [name, err] of Object.entries(errors)) expect(err, `${label}: ${name}`).toBeLessThanOrEqual(TOLERANCE);
}

interface Plan {
  /** The file to import initBackend from; default: the built package. */
  entry?: string;
  choice?: string;
  options?: Record<string, unknown>;
  setBackendFirst?: boolean;
  workloadOut?: string;
  /** Calls before the one described (each may reject). */
  before?: { choice: string; options?: Record<string, unknown> }[];
  /** Options of further initBackend('wasm') calls after it. */
  then?: Record<string, unknown>[];
  /** Calls started at once (default 1). */
  concurrent?: number;
}

interface Listeners {
  uncaughtException: number;
  unhandledRejection: number;
}

/** What scenario.mjs prints. */
interface Scenario {
  description: BackendDescription;
  backend: string;
  availableParallelism: number;
  listenersBefore: Listeners;
  listenersAfter: Listeners;
  workerGlobal: string;
  product: { size: number; wrong: number };
  numTensors: number;
  workload: { name: string; length: number }[] | null;
  beforeErrors: string[];
  later: BackendDescription[];
  concurrentErrors: string[];
}

interface ChildRun {
  result: Scenario;
  stderr: string;
  /** From the result line to the process's exit. */
  exitLagMs: number;
}

/**
 * Runs scenario.mjs with `plan` in a fresh Node process. Rejects, after killing it, if it
 * prints nothing within RESULT_TIMEOUT_MS or is still running EXIT_TIMEOUT_MS after printing;
 * rejects if it exits with another code than 0.
 */
function runScenario(plan: Plan, env: Record<string, string | undefined> = {}): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [SCENARIO, JSON.stringify(plan)], {
      cwd: packageDir,
      env: { ...process.env, HELMHOLTZ_BACKEND: '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let printedAt: number | null = null;
    let settled = false;
    const fail = (why: string) => {
      if (settled) return;
      settled = true;
      child.kill('SIGKILL');
      reject(new Error(`scenario ${JSON.stringify(plan)} ${why}\n--- stdout:\n${stdout}\n--- stderr:\n${stderr}`));
    };
    let timer = setTimeout(() => fail(`printed no result within ${RESULT_TIMEOUT_MS / 1000} s; killed`), RESULT_TIMEOUT_MS);
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      if (printedAt === null && /^\{.*\}$/m.test(stdout)) {
        printedAt = performance.now();
        clearTimeout(timer);
        timer = setTimeout(
          () =>
            fail(
              `printed its result but had not exited ${EXIT_TIMEOUT_MS / 1000} s later: something (a referenced worker thread?) ` +
                'keeps its event loop alive; killed',
            ),
          EXIT_TIMEOUT_MS,
        );
      }
    });
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    child.on('error', (error) => fail(`could not start (${error.message})`));
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (settled) return;
      if (code !== 0) return fail(`exited with ${code ?? signal}`);
      const line = stdout.split('\n').find((l) => l.startsWith('{'));
      if (!line || printedAt === null) return fail('exited without printing its result');
      settled = true;
      resolve({ result: JSON.parse(line) as Scenario, stderr, exitLagMs: performance.now() - printedAt });
    });
  });
}

let reference: WorkloadResult[] = [];
const scratch: string[] = [];

beforeAll(async () => {
  await initBackend('cpu');
  reference = await withNoLeaks(runWorkload, 'workload on cpu');
});

afterAll(() => {
  for (const dir of scratch) rmSync(dir, { recursive: true, force: true });
});

describe('threaded wasm in this process (threads: 2)', () => {
  let description: BackendDescription;

  beforeAll(async () => {
    description = await initBackend('wasm', { threads: 2 });
  });

  it('runs the threaded SIMD build with an XNNPACK pool of two threads, and says so', () => {
    expect(tf.getBackend()).toBe('wasm');
    expect(description.threads).toEqual({
      count: 2,
      requested: 2,
      fallback: null,
      note: 'XNNPACK thread pool of 2 threads (threaded SIMD build)',
    });
    expect(describeBackend()).toEqual(description);
  });

  it('agrees with cpu to 1e-4 on products (each transpose), a conv2d and a dense layer with their gradients, activations and reductions', async () => {
    const results = await withNoLeaks(runWorkload, 'workload on threaded wasm');
    expectAgreement(errorsAgainst(reference, results), 'wasm, 2 threads');
  });

  it('reads back tensors made before and after a 64M-float tensor grows the shared memory', async () => {
    const backend = tf.backend() as unknown as {
      wasm: { HEAPU8: Uint8Array; wasmMemory: WebAssembly.Memory };
      dataIdMap: { get(dataId: object): { memoryOffset: number } };
    };
    const { wasm } = backend;
    const offsetOf = (t: tf.Tensor) => backend.dataIdMap.get(t.dataId).memoryOffset;
    const N = 64 * 1024 * 1024;
    const early = tf.tensor1d([1, 2, 3, 4]);
    const before = wasm.wasmMemory.buffer.byteLength;
    // Too small to hold the big tensor, which therefore makes it grow.
    expect(before).toBeLessThan(4 * N);
    const big = tf.fill([N], 1.5);
    expect(wasm.wasmMemory.buffer.byteLength).toBeGreaterThan(4 * N);
    // Written from JavaScript through the module's view, past the end of the memory it had before.
    const M = 4 * 1024 * 1024;
    const lateValues = Float32Array.from({ length: M }, (_, i) => (i % 1000) - 500);
    const late = tf.tensor1d(lateValues);
    const sum = tf.add(late, tf.slice(big, [N - M], [M]));
    // Core's Bernoulli kernel writes its samples into the grown memory from its own module.
    const half = tf.fill([M], 0.5);
    const coins = new Rng(5).bernoulli(half);
    try {
      expect(offsetOf(late)).toBeGreaterThanOrEqual(before);
      expect(wasm.HEAPU8.length).toBe(wasm.wasmMemory.buffer.byteLength);
      expect(Array.from(await early.data())).toEqual([1, 2, 3, 4]);
      const lateRead = await late.data();
      expect(lateRead.every((v, i) => v === lateValues[i])).toBe(true);
      const sumRead = await sum.data();
      expect(sumRead.every((v, i) => v === lateValues[i]! + 1.5)).toBe(true);
      const bigRead = await big.data();
      expect(bigRead.length).toBe(N);
      expect([bigRead[0], bigRead[N >> 1], bigRead[N - 1]]).toEqual([1.5, 1.5, 1.5]);
      let heads = 0;
      for (const v of await coins.data()) heads += v;
      expect(Math.abs(heads / M - 0.5)).toBeLessThan(0.01);
    } finally {
      tf.dispose([early, big, late, sum, half, coins]);
    }
  });

  it("repeated training steps (core's minimize, Adam, two dense layers) keep tf.memory().numTensors unchanged and lower the loss", async () => {
    const rng = new Rng(11);
    const params = {
      hidden: createDense({ name: 'wasm-threads/hidden', inputs: 784, units: 256, rng }),
      out: createDense({ name: 'wasm-threads/out', inputs: 256, units: 10, rng }),
    };
    const x = rng.normalTensor([128, 784]);
    const target = rng.normalTensor([128, 10], 0, 0.5);
    const optimizer = createOptimizer({ kind: 'adam', learningRate: 1e-3 }, params);
    try {
      const losses = await withNoLeaks(async () => {
        const values: number[] = [];
        for (let step = 0; step < 8; step++) {
          const loss = optimizer.minimize(() =>
            tf.mean(tf.square(tf.sub(dense(dense(x as tf.Tensor2D, params.hidden, 'tanh'), params.out), target))),
          );
          values.push((await loss.data())[0]!);
          loss.dispose();
        }
        return values;
      }, 'training steps on threaded wasm');
      expect(losses.every(Number.isFinite)).toBe(true);
      expect(losses.at(-1)!).toBeLessThan(0.9 * losses[0]!);
    } finally {
      optimizer.dispose();
      disposeParams(params);
      tf.dispose([x, target]);
    }
  });
});

describe('wasm threads in fresh processes (scenario.mjs on the built package)', () => {
  it('threads: 1 runs tfjs single-threaded build, says one thread was requested, and agrees with cpu', async () => {
    const out = join(mkdtempSync(join(os.tmpdir(), 'helmholtz-wasm-threads-')), 'workload.f32');
    scratch.push(join(out, '..'));
    const { result } = await runScenario({ options: { threads: 1 }, workloadOut: out });
    expect(result.description.threads).toEqual({ count: 1, requested: 1, fallback: null, note: 'single-threaded: one thread was requested' });
    const bytes = readFileSync(out);
    const all = new Float32Array(bytes.byteLength / 4);
    new Uint8Array(all.buffer).set(bytes);
    let offset = 0;
    const results = result.workload!.map(({ name, length }) => {
      const values = all.subarray(offset, offset + length);
      offset += length;
      return { name, values };
    });
    expect(offset).toBe(all.length);
    expect(result.numTensors).toBe(0);
    expectAgreement(errorsAgainst(reference, results), 'wasm, 1 thread');
  });

  it('a script that starts threaded wasm and computes exits by itself, adds no process listeners (nor does one thread) and no global Worker', async () => {
    const { result, exitLagMs } = await runScenario({ options: { threads: 2 } });
    expect(result.description.threads).toMatchObject({ count: 2, requested: 2, fallback: null });
    expect(result.product).toEqual({ size: 128 * 96, wrong: 0 });
    // Emscripten's factory adds listeners that rethrow (ending the process on any error an app
    // meant to handle itself); the threaded start removes them.
    expect(result.listenersAfter).toEqual(result.listenersBefore);
    expect(result.workerGlobal).toBe('undefined');
    // tfjs's own single-threaded start adds them too; initBackend removes those as well.
    const single = await runScenario({ options: { threads: 1 } });
    expect(single.result.description.threads.count).toBe(1);
    expect(single.result.listenersAfter).toEqual(single.result.listenersBefore);
    console.log(`threaded wasm script exited ${exitLagMs.toFixed(0)} ms after printing its result`);
  });

  it('auto picks wasm with a thread per core (os.availableParallelism()) by default', async () => {
    // No Vulkan driver: node-webgpu has no adapter on any machine, so auto reaches wasm.
    const { result } = await runScenario({ choice: 'auto' }, { VK_ICD_FILENAMES: '/nonexistent/vk_icd.json' });
    const cores = result.availableParallelism;
    expect(result.description.name).toBe('wasm');
    expect(result.description.threads).toMatchObject({ count: cores, requested: cores, fallback: null });
    expect(result.description.threads.note).toMatch(cores > 1 ? /XNNPACK thread pool of \d+ threads/ : /one thread was requested/);
    expect(result.product.wrong).toBe(0);
  });

  it('more threads than the build\'s worker pool holds: 8 run, and the fallback says so', async () => {
    const { result } = await runScenario({ options: { threads: 9 } });
    expect(result.description.threads).toMatchObject({ count: 8, requested: 9 });
    expect(result.description.threads.fallback).toContain('started 8 of the 9 threads asked for');
    expect(result.product.wrong).toBe(0);
  });

  it('two initBackend calls at once both start the threaded backend (calls run one after the other)', async () => {
    const { result } = await runScenario({ options: { threads: 2 }, concurrent: 2 });
    expect(result.concurrentErrors).toEqual([]);
    expect(result.description.threads).toMatchObject({ count: 2, requested: 2, fallback: null });
  });

  it('a later call with other threads says they are fixed; one with the threads it started with has no fallback', async () => {
    const { result } = await runScenario({ options: { threads: 2 }, then: [{ threads: 3 }, { threads: 2 }] });
    const [other, same] = result.later;
    expect(other!.threads).toMatchObject({ count: 2, requested: 3 });
    expect(other!.threads.fallback).toContain('already started in this process with 2 requested');
    expect(same!.threads).toEqual(result.description.threads);
  });

  it('what the last call before the start asked for is what starts (a failed explicit choice prepares wasm for auto first)', async () => {
    const { result } = await runScenario({ before: [{ choice: 'node-gpu', options: { threads: 2 } }], options: { threads: 1 } });
    expect(result.beforeErrors[0]).toContain('backend "node-gpu" is unavailable');
    expect(result.description.threads).toEqual({ count: 1, requested: 1, fallback: null, note: 'single-threaded: one thread was requested' });
  });

  it('a wasm backend tfjs already started with tf.setBackend stays single-threaded, and the fallback says why', async () => {
    const { result } = await runScenario({ setBackendFirst: true, options: { threads: 2 } });
    expect(result.description.threads).toMatchObject({ count: 1, requested: 2 });
    expect(result.description.threads.fallback).toMatch(/already been started in this process/);
    expect(result.description.threads.note).toContain(result.description.threads.fallback!);
    expect(result.product).toEqual({ size: 128 * 96, wrong: 0 });
  });

  describe('a copy of dist with its worker file missing or failing', () => {
    // Inside node_modules (ignored by git) so that the copy resolves tfjs-core, tfjs-backend-wasm
    // and @helmholtz/core as dist does; package.json makes its .js files ES modules there.
    let copies: string;
    const copyDist = (name: string, worker: string | null): string => {
      const dir = join(copies, name);
      cpSync(join(packageDir, 'dist'), dir, { recursive: true });
      writeFileSync(join(dir, 'package.json'), '{ "type": "module" }\n');
      const target = join(dir, 'wasm-thread-worker.cjs');
      if (worker === null) rmSync(target);
      else cpSync(worker, target);
      return join(dir, 'index.js');
    };

    beforeAll(() => {
      const modules = join(packageDir, 'node_modules');
      mkdirSync(modules, { recursive: true });
      copies = mkdtempSync(join(modules, '.wasm-threads-test-'));
      scratch.push(copies);
    });

    it('without wasm-thread-worker.cjs it starts with one thread; the fallback names the missing file', async () => {
      const entry = copyDist('missing', null);
      const { result } = await runScenario({ entry, options: { threads: 2 } });
      const { threads } = result.description;
      expect(threads).toMatchObject({ count: 1, requested: 2 });
      expect(threads.fallback).toContain(`${join(entry, '..', 'wasm-thread-worker.cjs')} is missing`);
      expect(threads.note).toBe(`single-threaded: ${threads.fallback}`);
      expect(result.product).toEqual({ size: 128 * 96, wrong: 0 });
    });

    it('a failed threaded start is tried once, even after an earlier call prepared wasm too', async () => {
      const log = join(copies, 'workers.log');
      const entry = copyDist('counting', join(support, 'failing-worker.cjs'));
      const { result } = await runScenario(
        { entry, before: [{ choice: 'node-gpu', options: { threads: 2 } }], options: { threads: 2 } },
        { HELMHOLTZ_TEST_WORKER_LOG: log },
      );
      expect(result.description.threads.fallback).toContain('a worker could not start: test');
      // Workers that started before the first failure was seen log too; all are of one pool of 8
      // (a second start would create workers 9 to 16).
      const ids = readFileSync(log, 'utf8').trim().split('\n').map(Number);
      expect(ids.length).toBeGreaterThanOrEqual(1);
      expect(Math.max(...ids)).toBeLessThanOrEqual(8);
    });

    it('a worker that reports failure gives one thread, with the worker\'s reason, and the script still exits by itself', async () => {
      const entry = copyDist('failing', join(support, 'failing-worker.cjs'));
      const { result } = await runScenario({ entry, options: { threads: 2 } });
      const { threads } = result.description;
      expect(threads).toMatchObject({ count: 1, requested: 2 });
      expect(threads.fallback).toContain('a worker could not start: test');
      expect(threads.fallback).toContain("running tfjs's single-threaded build");
      expect(result.product).toEqual({ size: 128 * 96, wrong: 0 });
    });
  });
});

describe('the threads option', () => {
  it.each([0, 1.5, -1, '2', Number.NaN, 1000, 257, Number.POSITIVE_INFINITY])(
    'threads: %s is a ConfigError naming threads, before anything starts',
    async (threads) => {
      const before = tf.getBackend();
      const error = await rejection(initBackend('wasm', { threads: threads as number }));
      expect(error).toBeInstanceOf(ConfigError);
      expect(error.message).toContain('invalid config "threads"');
      expect(error.message).toContain('a whole number of threads from 1 to 256');
      expect(tf.getBackend()).toBe(before);
    },
  );
});
