import { lstat, mkdir, mkdtemp, readdir, readFile, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import * as tf from '@tensorflow/tfjs-core';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checksumOf, crc32Update } from '../../src/checkpoint/checksum.js';
import {
  loadCheckpoint,
  memoryCheckpoint,
  restoreFromArtifacts,
  saveCheckpoint,
  toCheckpointArtifacts,
} from '../../src/checkpoint/index.js';
import { lockDirectory, type HeldLock } from '../../src/checkpoint/node/directory-lock.js';
import { directoryCheckpoint, nodeFileSystem, type CheckpointFileSystem } from '../../src/checkpoint/node/index.js';
import { CheckpointError, ConfigError } from '../../src/errors.js';
import { createVariable, flattenParams } from '../../src/params/index.js';
import { Rng } from '../../src/random/index.js';
import { useBackend } from '../../src/testing.js';
import { disposeModel, snapshot, tinyModel } from './fixtures.js';

let root: string;
beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'helmholtz-lost-'));
  await useBackend('cpu');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

/** Bit-at-a-time CRC-32, the definition the table-driven one must match. */
function crc32Reference(bytes: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of bytes) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}

describe('CRC-32', () => {
  it('gives the standard check value and matches the bitwise definition on every length and split', () => {
    expect(checksumOf(new TextEncoder().encode('123456789'))).toBe('cbf43926');
    expect(checksumOf(new Uint8Array(0))).toBe('00000000');
    const rng = new Rng(5);
    for (let n = 0; n < 70; n++) {
      const bytes = Uint8Array.from({ length: n }, () => rng.int(256));
      const want = crc32Reference(bytes);
      expect(crc32Update(0, bytes)).toBe(want);
      const cut = n === 0 ? 0 : rng.int(n);
      expect(crc32Update(crc32Update(0, bytes.subarray(0, cut)), bytes.subarray(cut))).toBe(want);
    }
  });
});

describe('a save never destroys what is not a checkpoint', () => {
  async function model() {
    const a = tinyModel(1);
    return { a, contents: { params: a.params, config: a.config } };
  }

  it('a regular file at the path is refused and kept; overwrite: true replaces it', async () => {
    const { a, contents } = await model();
    const path = join(root, 'weights');
    await writeFile(path, 'my thesis');
    await expect(saveCheckpoint(directoryCheckpoint(path), contents)).rejects.toThrow(
      /a file is at this path, not a checkpoint directory; nothing was written \(choose another path, or pass overwrite: true/,
    );
    expect(await readFile(path, 'utf8')).toBe('my thesis');
    expect(await readdir(root)).toEqual(['weights']);
    await saveCheckpoint(directoryCheckpoint(path, { overwrite: true }), contents);
    expect((await readdir(path)).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    disposeModel(a);
  });

  it("a directory of the user's files is refused and kept, naming them", async () => {
    const { a, contents } = await model();
    const path = join(root, 'results');
    await mkdir(path);
    await writeFile(join(path, 'notes.txt'), 'do not lose');
    const error = await saveCheckpoint(directoryCheckpoint(path), contents).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(/the directory is not a Helmholtz checkpoint \(it holds 'notes.txt'\) and a save would delete it/);
    expect(await readFile(join(path, 'notes.txt'), 'utf8')).toBe('do not lose');
    expect((await readdir(root)).sort()).toEqual(['results']);
    disposeModel(a);
  });

  it('a checkpoint directory that also holds a file of the user is refused; an empty directory is used', async () => {
    const { a, contents } = await model();
    const path = join(root, 'ckpt');
    await saveCheckpoint(directoryCheckpoint(path), contents);
    await writeFile(join(path, 'notes.txt'), 'mine');
    await expect(saveCheckpoint(directoryCheckpoint(path), contents)).rejects.toThrow(
      /the checkpoint directory also holds 'notes.txt', which is not part of the checkpoint/,
    );
    expect(await readFile(join(path, 'notes.txt'), 'utf8')).toBe('mine');
    const empty = join(root, 'empty');
    await mkdir(empty);
    await saveCheckpoint(directoryCheckpoint(empty), contents);
    expect((await readdir(empty)).sort()).toEqual(['group1-shard1of1.bin', 'model.json']);
    // A directory holding a manifest of another format is not ours either.
    const other = join(root, 'tfjs-model');
    await mkdir(other);
    await writeFile(join(other, 'model.json'), JSON.stringify({ format: 'layers-model', weightsManifest: [] }));
    await expect(saveCheckpoint(directoryCheckpoint(other), contents)).rejects.toThrow(/is not a Helmholtz checkpoint \(it holds 'model.json'\)/);
    disposeModel(a);
  });

  it('refuses bad options with ConfigError', () => {
    expect(() => directoryCheckpoint('')).toThrow(ConfigError);
    expect(() => directoryCheckpoint(join(root, 'x'), { overwrite: 'yes' as unknown as boolean })).toThrow(
      /directoryCheckpoint.overwrite": expected true or false/,
    );
    expect(() => directoryCheckpoint(join(root, 'x'), { lockTimeoutMs: -1 })).toThrow(/lockTimeoutMs": expected an integer >= 0/);
  });
});

describe('concurrent saves to one directory', () => {
  it('saves started together in one process all succeed, one after another, and the last one wins whole', async () => {
    const models = Array.from({ length: 6 }, (_, i) => tinyModel(10 + i));
    const path = join(root, 'ckpt');
    await Promise.all(
      models.map((m, i) => saveCheckpoint(directoryCheckpoint(path), { params: m.params, config: m.config, metadata: { step: i } })),
    );
    const c = tinyModel(99);
    const restored = await loadCheckpoint(directoryCheckpoint(path), { params: c.params, config: c.config });
    expect(restored.metadata.step).toBe(5);
    expect(snapshot(c.params, flattenParams)).toEqual(snapshot(models[5]!.params, flattenParams));
    expect(await readdir(root)).toEqual(['ckpt']);
    [...models, c].forEach(disposeModel);
  });

  it('a save waits for a lock held by a live process and says who holds it when it gives up', async () => {
    const a = tinyModel(1);
    const path = join(root, 'ckpt');
    // Our own pid is alive: this lock is not stale until nobody touches it for staleLockMs.
    await writeFile(join(root, '.ckpt.lock'), JSON.stringify({ pid: process.pid, host: 'elsewhere', token: 't', since: '2026-01-01T00:00:00.000Z' }));
    const error = await saveCheckpoint(directoryCheckpoint(path, { lockTimeoutMs: 200 }), { params: a.params, config: a.config }).catch(
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(CheckpointError);
    expect((error as Error).message).toMatch(
      new RegExp(`another save to this checkpoint, by process ${process.pid} on elsewhere \\(since 2026-01-01T00:00:00.000Z\\), still holds .*\\.ckpt\\.lock after 200 ms; nothing was written`),
    );
    expect(await readdir(root)).toEqual(['.ckpt.lock']);
    // Once nobody has touched it for staleLockMs, it is taken over.
    await new Promise((r) => setTimeout(r, 60));
    await saveCheckpoint(directoryCheckpoint(path, { staleLockMs: 50 }), { params: a.params, config: a.config });
    expect(await readdir(root)).toEqual(['ckpt']);
    disposeModel(a);
  });
});

describe('loads while saves run, links and lock takeovers', () => {
  it('a load that meets a save swapping the directory reads again instead of reporting corruption', async () => {
    const w = createVariable(tf.zeros([2000]), 'w');
    const path = join(root, 'ckpt');
    await saveCheckpoint(directoryCheckpoint(path), { params: { w }, config: {} });
    // The saver runs until the loader has read 20 times (at least 30 saves), so
    // the overlap does not depend on how fast this machine is today.
    let saving = true;
    let loads = 0;
    const saver = (async () => {
      for (let i = 1; i <= 30 || (loads < 20 && i <= 5000); i++) {
        w.assign(tf.fill([2000], i));
        await saveCheckpoint(directoryCheckpoint(path), { params: { w }, config: {}, metadata: { step: i } });
      }
      saving = false;
    })();
    const target = createVariable(tf.zeros([2000]), 't');
    while (saving) {
      const restored = await loadCheckpoint(directoryCheckpoint(path), { params: { w: target }, config: {} });
      // Whole: every value is the step the metadata names.
      const values = new Set(await target.data());
      expect([...values]).toEqual([restored.metadata.step ?? 0]);
      loads++;
    }
    await saver;
    expect(loads).toBeGreaterThanOrEqual(20);
    tf.dispose([w, target]);
  }, 60_000);

  it('a symbolic link at the path is refused (a save would replace the link, not its target)', async () => {
    const a = tinyModel(1);
    const target = join(root, 'epoch-3');
    await saveCheckpoint(directoryCheckpoint(target), { params: a.params, config: a.config });
    const link = join(root, 'latest');
    await symlink(target, link);
    await expect(saveCheckpoint(directoryCheckpoint(link), { params: a.params, config: a.config })).rejects.toThrow(
      /the path is a symbolic link; a save would replace the link, not what it points to/,
    );
    expect((await lstat(link)).isSymbolicLink()).toBe(true);
    // Loading through the link is fine.
    const b = tinyModel(2);
    await loadCheckpoint(directoryCheckpoint(link), { params: b.params, config: b.config });
    expect(snapshot(b.params, flattenParams)).toEqual(snapshot(a.params, flattenParams));
    [a, b].forEach(disposeModel);
  });

  it('a waiter does not take over a lock released and taken again between its attempt and its read', async () => {
    const lockPath = join(root, '.ckpt.lock');
    const options = { timeoutMs: 300, staleMs: 30_000 };
    const first = await lockDirectory(nodeFileSystem, lockPath, root, options);
    // The first holder's lock looks 2 s old (its heartbeat runs every staleMs / 4).
    const old = new Date(Date.now() - 2000);
    await utimes(lockPath, old, old);
    let second: HeldLock | undefined;
    const racing: CheckpointFileSystem = {
      ...nodeFileSystem,
      async readFile(p) {
        if (p === lockPath && second === undefined) {
          // Between the waiter's failed create and its read: released, and taken by another save.
          await first.release();
          second = await lockDirectory(nodeFileSystem, lockPath, root, options);
          throw Object.assign(new Error('ENOENT: no such file'), { code: 'ENOENT' });
        }
        return nodeFileSystem.readFile(p);
      },
    };
    await expect(lockDirectory(racing, lockPath, root, options)).rejects.toThrow(/still holds .*\.ckpt\.lock after 300 ms/);
    expect(await second!.stillHeld()).toBe(true);
    await second!.release();
    expect(await readdir(root)).toEqual([]);
  });
});

describe('corruption is caught on load', () => {
  it('one changed byte in a shard names the shard and assigns nothing', async () => {
    const a = tinyModel(1);
    const b = tinyModel(2);
    const path = join(root, 'ckpt');
    await saveCheckpoint(directoryCheckpoint(path, { shardBytes: 40 }), { params: a.params, config: a.config });
    const shard = join(path, 'group1-shard2of3.bin');
    const bytes = await readFile(shard);
    bytes[3] = bytes[3]! ^ 0x01;
    await writeFile(shard, bytes);
    const before = snapshot(b.params, flattenParams);
    await expect(loadCheckpoint(directoryCheckpoint(path), { params: b.params, config: b.config })).rejects.toThrow(
      /shard 'group1-shard2of3.bin' is corrupt: its CRC-32 is [0-9a-f]{8}, model.json recorded [0-9a-f]{8}; nothing was loaded/,
    );
    expect(snapshot(b.params, flattenParams)).toEqual(before);
    [a, b].forEach(disposeModel);
  });

  it('artifacts from any handler are checked against the record, and a version 2 record without a checksum is refused', async () => {
    const a = tinyModel(1);
    const b = tinyModel(2);
    const artifacts = await toCheckpointArtifacts({ params: a.params, config: a.config });
    const data = new Uint8Array((artifacts.weightData as ArrayBuffer).slice(0));
    data[data.length - 1] = data[data.length - 1]! ^ 0x80;
    await expect(restoreFromArtifacts({ ...artifacts, weightData: data.buffer }, { params: b.params, config: b.config })).rejects.toThrow(
      /the weight data is corrupt/,
    );
    const record = (artifacts.userDefinedMetadata as { helmholtz: Record<string, unknown> }).helmholtz;
    const { checksum: _dropped, ...unchecked } = record;
    await expect(
      restoreFromArtifacts({ ...artifacts, userDefinedMetadata: { helmholtz: unchecked } }, { params: b.params, config: b.config }),
    ).rejects.toThrow(/expected userDefinedMetadata.helmholtz.checksum to be \{ algorithm: "crc32"/);
    [a, b].forEach(disposeModel);
  });

  it('a version 1 checkpoint (no checksums) still loads', async () => {
    const a = tinyModel(1);
    const b = tinyModel(2);
    const path = join(root, 'v1');
    await saveCheckpoint(directoryCheckpoint(path), { params: a.params, config: a.config });
    // Rewrite the manifest as version 1 wrote it: no checksums anywhere.
    const manifest = JSON.parse(await readFile(join(path, 'model.json'), 'utf8'));
    delete manifest.checksums;
    delete manifest.userDefinedMetadata.helmholtz.checksum;
    manifest.userDefinedMetadata.helmholtz.formatVersion = 1;
    await writeFile(join(path, 'model.json'), JSON.stringify(manifest));
    await loadCheckpoint(directoryCheckpoint(path), { params: b.params, config: b.config });
    expect(snapshot(b.params, flattenParams)).toEqual(snapshot(a.params, flattenParams));
    [a, b].forEach(disposeModel);
  });
});

describe('a checkpoint of another config', () => {
  it('is refused by default when the shapes match, loads with ignoreConfig, and the choice is required', async () => {
    const a = tinyModel(1);
    const b = tinyModel(2);
    const target = memoryCheckpoint();
    // Same shapes, another setting: exactly what used to load silently.
    await saveCheckpoint(target, { params: a.params, config: { ...a.config, temperature: 0.5 } });
    const before = snapshot(b.params, flattenParams);
    await expect(loadCheckpoint(target, { params: b.params, config: { ...b.config, temperature: 1 } })).rejects.toThrow(
      /saved config does not match the model's: config.temperature: expected 1, found 0.5/,
    );
    expect(snapshot(b.params, flattenParams)).toEqual(before);
    const missingChoice = await loadCheckpoint(target, { params: b.params }).catch((e: unknown) => e);
    expect(missingChoice).toBeInstanceOf(ConfigError);
    expect((missingChoice as Error).message).toMatch(/exactly one of: the model's config/);
    await expect(
      loadCheckpoint(target, { params: b.params, config: b.config, ignoreConfig: true }),
    ).rejects.toThrow(/got "config and ignoreConfig"/);
    await loadCheckpoint(target, { params: b.params, ignoreConfig: true });
    expect(snapshot(b.params, flattenParams)).toEqual(snapshot(a.params, flattenParams));
    [a, b].forEach(disposeModel);
  });

  it('a NaN (or anything JSON would change) in the config, state or metadata is refused at save', async () => {
    const a = tinyModel(1);
    const target = memoryCheckpoint();
    await expect(saveCheckpoint(target, { params: a.params, config: { rate: Number.NaN } })).rejects.toThrow(
      /config is not plain JSON: config.rate is NaN, which JSON cannot keep/,
    );
    await expect(saveCheckpoint(target, { params: a.params, config: { sizes: [1, Infinity] } })).rejects.toThrow(/config.sizes\[1\] is Infinity/);
    await expect(saveCheckpoint(target, { params: a.params, config: { when: new Date(0) } })).rejects.toThrow(/config.when is a Date/);
    const cyclic: Record<string, unknown> = {};
    cyclic['self'] = cyclic;
    await expect(saveCheckpoint(target, { params: a.params, config: cyclic })).rejects.toThrow(/config.self refers back to an enclosing object/);
    await expect(saveCheckpoint(target, { params: a.params, config: {}, metadata: { loss: Number.NaN } })).rejects.toThrow(
      /metadata.loss is NaN/,
    );
    expect(target.artifacts).toBeNull();
    // Undefined object fields are dropped, as JSON does; that is not a loss.
    await saveCheckpoint(target, { params: a.params, config: { a: 1, b: undefined } });
    expect((target.artifacts!.userDefinedMetadata as { helmholtz: { config: unknown } }).helmholtz.config).toEqual({ a: 1 });
    disposeModel(a);
  });
});
