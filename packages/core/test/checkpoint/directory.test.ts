import { mkdtemp, readdir, readFile, rm, truncate, writeFile } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import * as tf from '@tensorflow/tfjs-core';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumOf } from '../../src/checkpoint/checksum.js';
import { CHECKPOINT_FORMAT, loadCheckpoint, saveCheckpoint } from '../../src/checkpoint/index.js';
import { directoryCheckpoint, nodeFileSystem, type CheckpointFileSystem } from '../../src/checkpoint/node/index.js';
import { CheckpointError } from '../../src/errors.js';
import { flattenParams } from '../../src/params/index.js';
import { Rng } from '../../src/random/index.js';
import { expectAllClose, TEST_BACKENDS, useBackend, withNoLeaks } from '../../src/testing.js';
import { adamStep, disposeModel, snapshot, stepDeltas, tinyModel } from './fixtures.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'helmholtz-ckpt-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/**
 * A reader that knows only the documented format (as a numpy script would): parse
 * model.json, concatenate the shards listed in `paths`, read each weight as little-endian
 * values at its running byte offset.
 */
async function readLikeNumpy(dir: string): Promise<Record<string, { shape: number[]; values: number[] }>> {
  const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8')) as {
    weightsManifest: { paths: string[]; weights: { name: string; shape: number[]; dtype: string }[] }[];
  };
  const out: Record<string, { shape: number[]; values: number[] }> = {};
  for (const group of manifest.weightsManifest) {
    const bytes = Buffer.concat(await Promise.all(group.paths.map((p) => readFile(join(dir, p)))));
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    let offset = 0;
    for (const w of group.weights) {
      const size = w.shape.reduce((a, b) => a * b, 1);
      const values: number[] = [];
      for (let i = 0; i < size; i++) {
        if (w.dtype === 'float32') values.push(view.getFloat32(offset + 4 * i, true));
        else if (w.dtype === 'int32') values.push(view.getInt32(offset + 4 * i, true));
        else values.push(view.getUint8(offset + i));
      }
      offset += size * (w.dtype === 'bool' ? 1 : 4);
      out[w.name] = { shape: w.shape, values };
    }
    expect(offset).toBe(bytes.byteLength);
  }
  return out;
}

/**
 * Makes a lock file look like the one a killed process left: its owner is a process that has
 * exited (the test's own "crash" could not remove it, and its pid is alive).
 */
async function orphanLock(path: string): Promise<void> {
  const child = spawn(process.execPath, ['-e', '']);
  const pid = child.pid!;
  await new Promise((resolve) => child.on('exit', resolve));
  await writeFile(path, JSON.stringify({ pid, host: hostname(), token: 'dead', since: new Date().toISOString() }));
}

/** A file system that fails (or "crashes": fails without cleaning up) at a chosen operation. */
function faultyFs(options: {
  failWrite?: number;
  failRename?: (from: string, to: string) => boolean;
  crash?: boolean;
}): CheckpointFileSystem {
  let writes = 0;
  return {
    ...nodeFileSystem,
    async writeFileDurably(path, data) {
      writes += 1;
      if (writes === options.failWrite) {
        // Half the bytes reach the disk, then the "power goes".
        await writeFile(path, data.subarray(0, data.length >> 1));
        throw new Error('EIO: simulated write failure');
      }
      return nodeFileSystem.writeFileDurably(path, data);
    },
    async rename(from, to) {
      if (options.failRename?.(from, to)) throw new Error('EIO: simulated rename failure');
      return nodeFileSystem.rename(from, to);
    },
    async remove(path) {
      if (options.crash) return; // a dead process cleans nothing up
      return nodeFileSystem.remove(path);
    },
  };
}

describe.each(TEST_BACKENDS)('directory checkpoints on %s', (backend) => {
  it('round trip through a directory restores every leaf and the optimizer, with no leaks', async () => {
    await useBackend(backend);
    const rng = new Rng(3);
    const x = rng.normalTensor([6, 3]) as tf.Tensor2D;
    const y = rng.normalTensor([6, 2]) as tf.Tensor2D;
    const a = tinyModel(1);
    const b = tinyModel(2);
    const adamA = tf.train.adam(0.1);
    const adamB = tf.train.adam(0.1);
    adamStep(a, adamA, x, y);
    adamStep(a, adamA, x, y);
    const dir = join(root, 'nested', 'ckpt');
    await withNoLeaks(() =>
      saveCheckpoint(directoryCheckpoint(dir, { shardBytes: 16 }), {
        params: a.params,
        config: a.config,
        state: { rng: rng.state() },
        metadata: { epoch: 1, step: 2 },
        optimizers: { adam: adamA },
      }),
    );
    const restored = await loadCheckpoint(directoryCheckpoint(dir), { params: b.params, config: b.config, optimizers: { adam: adamB } });
    expect(snapshot(b.params, flattenParams)).toEqual(snapshot(a.params, flattenParams));
    expect(restored).toMatchObject({ config: a.config, state: { rng: rng.state() }, metadata: { epoch: 1, step: 2 } });
    const [stepA, stepB] = stepDeltas([a, b], [adamA, adamB], x, y);
    expectAllClose(stepB!, stepA!, 1e-4, 1e-3);
    // Params-only loads create no tensors at all.
    const c = tinyModel(5);
    await withNoLeaks(() => loadCheckpoint(directoryCheckpoint(dir), { params: c.params, config: c.config }));
    for (const m of [a, b, c]) disposeModel(m);
    adamA.dispose();
    adamB.dispose();
    tf.dispose([x, y]);
  });

  it('model.json is the documented manifest and a numpy-style reader recovers every value', async () => {
    await useBackend(backend);
    const a = tinyModel(1);
    const dir = join(root, 'ckpt');
    // 16-byte shards cut through weights, as tfjs's shards do.
    await saveCheckpoint(directoryCheckpoint(dir, { shardBytes: 16 }), {
      params: a.params,
      config: a.config,
      metadata: { epoch: 2 },
    });
    const files = (await readdir(dir)).sort();
    // 100 bytes of weights in 16-byte shards: 7 files.
    expect(files).toEqual([...Array.from({ length: 7 }, (_, i) => `group1-shard${i + 1}of7.bin`), 'model.json']);
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    expect(manifest).toMatchObject({
      format: CHECKPOINT_FORMAT,
      generatedBy: '@helmholtz/core',
      modelTopology: {},
      userDefinedMetadata: {
        helmholtz: {
          formatVersion: 2,
          config: a.config,
          state: null,
          metadata: { epoch: 2 },
          optimizers: [],
          checksum: { algorithm: 'crc32', weightData: expect.stringMatching(/^[0-9a-f]{8}$/) },
        },
      },
    });
    // One CRC-32 per shard, recomputable by any reader.
    expect(Object.keys(manifest.checksums.shards)).toEqual(files.filter((f) => f.endsWith('.bin')));
    for (const [file, crc] of Object.entries(manifest.checksums.shards)) {
      expect(crc).toBe(checksumOf(new Uint8Array(await readFile(join(dir, file)))));
    }
    expect(manifest.weightsManifest).toHaveLength(1);
    expect(manifest.weightsManifest[0].weights[0]).toEqual({
      name: 'encoder/dense1/kernel',
      shape: [3, 2],
      dtype: 'float32',
      group: 'model',
    });
    const read = await readLikeNumpy(dir);
    for (const [path, v] of flattenParams(a.params)) {
      expect(read[path]!.shape).toEqual(v.shape);
      expect(read[path]!.values).toEqual(Array.from(v.dataSync() as ArrayLike<number>));
    }
    disposeModel(a);
  });

  it('saving over a checkpoint replaces it and leaves no temporary siblings', async () => {
    await useBackend(backend);
    const a = tinyModel(1);
    const b = tinyModel(2);
    const dir = join(root, 'ckpt');
    await saveCheckpoint(directoryCheckpoint(dir), { params: a.params, config: a.config });
    await saveCheckpoint(directoryCheckpoint(dir), { params: b.params, config: b.config });
    const c = tinyModel(3);
    await loadCheckpoint(directoryCheckpoint(dir), { params: c.params, config: c.config });
    expect(snapshot(c.params, flattenParams)).toEqual(snapshot(b.params, flattenParams));
    expect(await readdir(root)).toEqual(['ckpt']);
    for (const m of [a, b, c]) disposeModel(m);
  });
});

describe('directory checkpoints are atomic', () => {
  async function setup() {
    await useBackend('cpu');
    const a = tinyModel(1);
    const b = tinyModel(2);
    const dir = join(root, 'ckpt');
    await saveCheckpoint(directoryCheckpoint(dir), { params: a.params, config: a.config });
    const expected = snapshot(a.params, flattenParams);
    const intact = async () => {
      const c = tinyModel(9);
      await loadCheckpoint(directoryCheckpoint(dir), { params: c.params, config: c.config });
      const values = snapshot(c.params, flattenParams);
      disposeModel(c);
      return values;
    };
    const cleanup = () => [a, b].forEach(disposeModel);
    return { a, b, dir, expected, intact, cleanup };
  }

  it('a write failing mid-save leaves the previous checkpoint intact and removes the temporary directory', async () => {
    const { b, dir, expected, intact, cleanup } = await setup();
    const handler = directoryCheckpoint(dir, { shardBytes: 16, fileSystem: faultyFs({ failWrite: 3 }) });
    const error = await saveCheckpoint(handler, { params: b.params, config: b.config }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(/writing the checkpoint failed; the previous checkpoint is unchanged: EIO/);
    expect(await intact()).toEqual(expected);
    expect(await readdir(root)).toEqual(['ckpt']);
    cleanup();
  });

  it('a crash mid-save (no cleanup) leaves only hidden siblings, never a half checkpoint under the name; the next save removes them', async () => {
    const { b, dir, expected, intact, cleanup } = await setup();
    const handler = directoryCheckpoint(dir, { shardBytes: 16, fileSystem: faultyFs({ failWrite: 2, crash: true }) });
    await expect(saveCheckpoint(handler, { params: b.params, config: b.config })).rejects.toThrow(CheckpointError);
    await orphanLock(join(root, '.ckpt.lock'));
    expect(await intact()).toEqual(expected);
    const siblings = (await readdir(root)).sort();
    expect(siblings).toHaveLength(3);
    expect(siblings[0]).toBe('.ckpt.lock');
    expect(siblings[1]).toMatch(/^\.ckpt\.tmp-/);
    expect(siblings[2]).toBe('ckpt');
    // The half-written directory has no model.json: nothing could mistake it for a checkpoint.
    expect(await readdir(join(root, siblings[1]!))).not.toContain('model.json');
    // The dead save's lock is taken over at once and its temporary directory removed.
    const started = Date.now();
    await saveCheckpoint(directoryCheckpoint(dir), { params: b.params, config: b.config });
    expect(Date.now() - started).toBeLessThan(5000);
    expect(await readdir(root)).toEqual(['ckpt']);
    expect(await intact()).toEqual(snapshot(b.params, flattenParams));
    cleanup();
  });

  it('a failing final rename puts the previous checkpoint back', async () => {
    const { b, dir, expected, intact, cleanup } = await setup();
    const handler = directoryCheckpoint(dir, { fileSystem: faultyFs({ failRename: (from) => from.includes('.tmp-') }) });
    await expect(saveCheckpoint(handler, { params: b.params, config: b.config })).rejects.toThrow(
      /replacing the checkpoint failed; the previous checkpoint is unchanged/,
    );
    expect(await intact()).toEqual(expected);
    expect(await readdir(root)).toEqual(['ckpt']);
    cleanup();
  });

  it('a crash between the two renames: the next load puts the previous checkpoint back', async () => {
    const { b, dir, expected, intact, cleanup } = await setup();
    const handler = directoryCheckpoint(dir, {
      fileSystem: faultyFs({ failRename: (from, to) => from.includes('.tmp-') || to === dir, crash: true }),
    });
    await expect(saveCheckpoint(handler, { params: b.params, config: b.config })).rejects.toThrow(CheckpointError);
    await orphanLock(join(root, '.ckpt.lock'));
    const before = (await readdir(root)).sort();
    expect(before).not.toContain('ckpt');
    expect(before.some((e) => e.startsWith('.ckpt.old-'))).toBe(true);
    expect(await intact()).toEqual(expected);
    expect(await readdir(root)).toContain('ckpt');
    // The next save finds nothing to clean but the temporary directory of the dead save.
    await saveCheckpoint(directoryCheckpoint(dir), { params: b.params, config: b.config });
    expect(await readdir(root)).toEqual(['ckpt']);
    cleanup();
  });

  it('a crash between the two renames: the next save puts the previous checkpoint back before its own swap', async () => {
    const { b, dir, cleanup } = await setup();
    const handler = directoryCheckpoint(dir, {
      fileSystem: faultyFs({ failRename: (from, to) => from.includes('.tmp-') || to === dir, crash: true }),
    });
    await expect(saveCheckpoint(handler, { params: b.params, config: b.config })).rejects.toThrow(CheckpointError);
    await orphanLock(join(root, '.ckpt.lock'));
    // A save that fails after the restore (a file where it would write) leaves the restored copy.
    const failing = directoryCheckpoint(dir, { fileSystem: faultyFs({ failWrite: 1 }) });
    await expect(saveCheckpoint(failing, { params: b.params, config: b.config })).rejects.toThrow(/writing the checkpoint failed/);
    expect(await readdir(root)).toEqual(['ckpt']);
    cleanup();
  });
});

describe('corrupt directory checkpoints give CheckpointError', () => {
  async function saved() {
    await useBackend('cpu');
    const a = tinyModel(1);
    const dir = join(root, 'ckpt');
    await saveCheckpoint(directoryCheckpoint(dir), { params: a.params, config: a.config });
    disposeModel(a);
    const b = tinyModel(2);
    return { dir, b };
  }

  it('a missing directory', async () => {
    const { b } = await saved();
    await expect(loadCheckpoint(directoryCheckpoint(join(root, 'nope')), { params: b.params, config: b.config })).rejects.toThrow(
      /checkpoint .*nope: no model.json found in the directory$/,
    );
    disposeModel(b);
  });

  it('a model.json that is not JSON', async () => {
    const { dir, b } = await saved();
    await writeFile(join(dir, 'model.json'), '{"format": "helmholtz-checkpoint", "weightsManif');
    await expect(loadCheckpoint(directoryCheckpoint(dir), { params: b.params, config: b.config })).rejects.toThrow(
      /model.json is not valid JSON/,
    );
    disposeModel(b);
  });

  it('a truncated shard, naming the bytes listed and the bytes found', async () => {
    const { dir, b } = await saved();
    const before = snapshot(b.params, flattenParams);
    await truncate(join(dir, 'group1-shard1of1.bin'), 96);
    await expect(loadCheckpoint(directoryCheckpoint(dir), { params: b.params, config: b.config })).rejects.toThrow(
      /shards group1-shard1of1.bin hold 96 bytes, but model.json lists 100 bytes for weights encoder\/dense1\/kernel \[3, 2\] float32/,
    );
    expect(snapshot(b.params, flattenParams)).toEqual(before);
    disposeModel(b);
  });

  it('a missing shard file', async () => {
    const { dir, b } = await saved();
    await rm(join(dir, 'group1-shard1of1.bin'));
    await expect(loadCheckpoint(directoryCheckpoint(dir), { params: b.params, config: b.config })).rejects.toThrow(
      /shard 'group1-shard1of1.bin' listed in model.json is missing/,
    );
    disposeModel(b);
  });

  it('a shard path that leaves the directory', async () => {
    const { dir, b } = await saved();
    const manifest = JSON.parse(await readFile(join(dir, 'model.json'), 'utf8'));
    manifest.weightsManifest[0].paths = ['../secret.bin'];
    await writeFile(join(dir, 'model.json'), JSON.stringify(manifest));
    await expect(loadCheckpoint(directoryCheckpoint(dir), { params: b.params, config: b.config })).rejects.toThrow(
      /expected a shard file name in the same directory, found "..\/secret.bin"/,
    );
    disposeModel(b);
  });
});
