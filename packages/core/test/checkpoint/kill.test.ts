import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as tf from '@tensorflow/tfjs-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/index.js';
import { directoryCheckpoint } from '../../src/checkpoint/node/index.js';
import { Rng } from '../../src/random/index.js';
import { useBackend } from '../../src/testing.js';
import { KILL_TEST_SHAPES } from './support/kill-test-shapes.js';

const here = dirname(fileURLToPath(import.meta.url));
const saveLoop = join(here, 'support', 'save-loop.ts');
const KILLS = 20;

/** Starts the save loop in a child process; `saved` holds the last k it reported. */
function startSaving(dir: string, first: number, count: number) {
  const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', saveLoop, dir, String(first), String(count)], {
    cwd: join(here, '..', '..'),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // `saved`: the last k reported complete, -1 before the first.
  const state = { saved: -1, stderr: '' };
  let buffered = '';
  const ready = new Promise<void>((resolve, reject) => {
    child.stdout!.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        if (line === 'ready') resolve();
        const m = /^saved (\d+)$/.exec(line);
        if (m) state.saved = Number(m[1]);
      }
    });
    child.on('exit', () => reject(new Error(`save loop exited before it was ready: ${state.stderr}`)));
  });
  child.stderr!.on('data', (chunk: Buffer) => (state.stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, state, ready, exited };
}

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'helmholtz-kill-'));
  await useBackend('cpu');
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const params = () => Object.fromEntries(KILL_TEST_SHAPES.map(([name, shape]) => [name, tf.variable(tf.zeros(shape), false)]));

/** Loads the checkpoint and returns the one value every element holds, or fails on a mix. */
async function loadUniform(dir: string, into: Record<string, tf.Variable>): Promise<number> {
  const restored = await loadCheckpoint(directoryCheckpoint(dir), { params: into, config: { kind: 'kill-test' } });
  const seen = new Set<number>();
  for (const v of Object.values(into)) {
    const [lo, hi] = await Promise.all([tf.min(v).data(), tf.max(v).data()].map((p) => p.then((d) => d[0]!)));
    seen.add(lo!);
    seen.add(hi!);
  }
  expect([...seen]).toHaveLength(1);
  const [value] = [...seen];
  expect(restored.metadata.step).toBe(value);
  return value!;
}

describe('a save killed at random moments (SIGKILL)', () => {
  it(
    `leaves the last completed save or the one in flight, never a mix, and the next save leaves no temporary directory (${KILLS} kills)`,
    async () => {
      const dir = join(root, 'ckpt');
      const into = params();
      // Save 0, from this process, so there is always a previous checkpoint.
      await saveCheckpoint(directoryCheckpoint(dir), { params: into, config: { kind: 'kill-test' }, metadata: { step: 0 } });
      const rng = new Rng(2026);
      let next = 1;
      // The value of the last checkpoint this process saved.
      let floor = 0;
      const loaded: number[] = [];
      for (let kill = 0; kill < KILLS; kill++) {
        const run = startSaving(dir, next, 0);
        await run.ready;
        // A random moment within the first few saves: writes, fsyncs, renames and removals.
        await new Promise((r) => setTimeout(r, rng.int(700)));
        run.child.kill('SIGKILL');
        await run.exited;
        const completed = run.state.saved;
        const value = await loadUniform(dir, into);
        // Never older than a save that reported completion; at most the one in flight after
        // the last report, or the one after it if its report was lost with the process.
        if (completed >= 0) expect(value).toBeGreaterThanOrEqual(completed);
        if (value !== floor) {
          expect(value).toBeGreaterThanOrEqual(next);
          expect(value).toBeLessThanOrEqual(Math.max(completed, next - 1) + 2);
        }
        loaded.push(value);
        next = Math.max(value, completed) + 1000;
        // The next save (from this process) takes over the dead lock and removes the leftovers.
        await saveCheckpoint(directoryCheckpoint(dir, { lockTimeoutMs: 5000 }), {
          params: into,
          config: { kind: 'kill-test' },
          metadata: { step: value },
        });
        floor = value;
        expect(await readdir(root)).toEqual(['ckpt']);
      }
      // The kills landed at different points: some before any save of their run completed.
      expect(new Set(loaded).size).toBeGreaterThan(1);
      tf.dispose(Object.values(into));
    },
    240_000,
  );
});

describe('two processes saving to one directory at once', () => {
  it('both finish without an error and the directory holds one whole checkpoint', async () => {
    const dir = join(root, 'shared');
    const a = startSaving(dir, 100, 8);
    const b = startSaving(dir, 200, 8);
    const [codeA, codeB] = await Promise.all([a.exited, b.exited]);
    expect({ code: codeA, stderr: a.state.stderr.replace(/=+[\s\S]*?=+\n/g, '').trim() }).toEqual({ code: 0, stderr: '' });
    expect({ code: codeB, stderr: b.state.stderr.replace(/=+[\s\S]*?=+\n/g, '').trim() }).toEqual({ code: 0, stderr: '' });
    expect([a.state.saved, b.state.saved]).toEqual([107, 207]);
    const into = params();
    expect([107, 207]).toContain(await loadUniform(dir, into));
    expect((await readdir(root)).filter((e) => e.includes('shared'))).toEqual(['shared']);
    tf.dispose(Object.values(into));
  }, 120_000);
});
